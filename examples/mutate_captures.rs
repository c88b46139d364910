//! A poor man's fuzzer for machines without cargo-fuzz: ROUNDS random byte mutations (and
//! truncations) of every capture given (files, or directories of them; files over 1 MB are
//! left out) through the capture reader and the wire decoder. A panic is the finding; make it
//! a named regression test. A developer aid, not a test:
//!
//!     cargo run --release --example mutate_captures -- 200 ../shared/corpus captures

// Not library code: here a panic is how a failure shows (see [lints.clippy] in Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Capture files under `path` (itself when it is a file), sorted.
fn captures(path: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    if path.is_file() {
        out.push(path.to_path_buf());
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    entries.sort();
    for entry in entries {
        if entry.is_dir() {
            captures(&entry, out)?;
        } else if entry
            .extension()
            .is_some_and(|e| e == "pcap" || e == "pcapng" || e == "cap")
        {
            out.push(entry);
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let rounds: Option<u64> = args.next().and_then(|n| n.parse().ok());
    let paths: Vec<String> = args.collect();
    let Some(rounds) = rounds.filter(|_| !paths.is_empty()) else {
        eprintln!("usage: mutate_captures ROUNDS CAPTURE_OR_DIR...");
        return ExitCode::from(2);
    };
    let mut files = Vec::new();
    for path in &paths {
        if let Err(e) = captures(Path::new(path), &mut files) {
            eprintln!("mutate_captures: {path}: {e}");
            return ExitCode::from(2);
        }
    }
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let (mut mutated, mut skipped) = (0u64, 0usize);
    for file in &files {
        let original = match std::fs::read(file) {
            Ok(bytes) => bytes,
            Err(e) => {
                eprintln!("mutate_captures: {}: {e}", file.display());
                return ExitCode::from(2);
            }
        };
        if original.is_empty() || original.len() > 1_000_000 {
            skipped += 1;
            continue;
        }
        for _ in 0..rounds {
            let mut bytes = original.clone();
            for _ in 0..(1 + next() % 8) {
                let at = (next() % bytes.len() as u64) as usize;
                if let Some(b) = bytes.get_mut(at) {
                    *b = next() as u8;
                }
            }
            if next() % 4 == 0 {
                bytes.truncate((next() % bytes.len() as u64) as usize);
            }
            mqpcap::capture::fuzz_read(&bytes);
            mutated += 1;
        }
    }
    println!(
        "{mutated} mutated captures read without a panic ({} files, {skipped} left out)",
        files.len()
    );
    ExitCode::SUCCESS
}
