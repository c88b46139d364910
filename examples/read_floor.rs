//! The floor of reading a capture: open, read every frame, decode headers down to TCP, hash the
//! input; no flow tracking, no protocols, no rules, no output. What `mqpcap analyze` costs on
//! top of this is the analysis. A measuring aid for BENCHMARKS.md, not a test:
//!
//!     cargo run --release --example read_floor -- target/bench/fleet.pcap

// Not library code: here a panic is how a failure shows (see [lints.clippy] in Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use mqpcap::capture::CaptureReader;
use mqpcap::wire::{Decoded, WireDecoder};
use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: read_floor CAPTURE");
        return ExitCode::from(2);
    };
    let started = std::time::Instant::now();
    let mut reader = match CaptureReader::open(Path::new(&path)) {
        Ok(reader) => reader,
        Err(e) => {
            eprintln!("read_floor: {e}");
            return ExitCode::from(2);
        }
    };
    let mut decoder = WireDecoder::new();
    let (mut tcp, mut bytes) = (0u64, 0u64);
    while let Some(frame) = reader.next_frame() {
        bytes += frame.data.len() as u64;
        if let Decoded::Tcp(_) =
            decoder.decode(frame.number, frame.link_type, frame.data, frame.orig_len)
        {
            tcp += 1;
        }
    }
    let hash = reader.sha256_hex();
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{} frames, {tcp} TCP, {bytes} captured bytes in {seconds:.3} s ({:.0} MB/s), sha256 {hash}",
        reader.frames_read(),
        bytes as f64 / seconds / 1e6,
    );
    ExitCode::SUCCESS
}
