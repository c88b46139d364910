//! Prints `number time_ns src_port dst_port payload_len` per frame of a capture, then its
//! warnings, link types and SHA-256, for a diff against tshark when a corpus frame or TCP count
//! disagrees (tests/capture_corpus.rs). A developer aid, not a test:
//!
//!     cargo run --example dump_frames -- CAPTURE > ours.tsv
//!     tshark -r CAPTURE -T fields -e frame.number -e frame.time_epoch -e tcp.srcport \
//!         -e tcp.dstport -e tcp.len > theirs.tsv

// Not library code: here a panic is how a failure shows (see [lints.clippy] in Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use mqpcap::capture::CaptureReader;
use mqpcap::wire::{Decoded, WireDecoder};
use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: dump_frames CAPTURE");
        return ExitCode::from(2);
    };
    let mut reader = match CaptureReader::open(Path::new(&path)) {
        Ok(reader) => reader,
        Err(e) => {
            eprintln!("dump_frames: {e}");
            return ExitCode::from(2);
        }
    };
    let mut decoder = WireDecoder::new();
    while let Some(frame) = reader.next_frame() {
        let time = format!(
            "{}.{:09}",
            frame.time_ns.div_euclid(1_000_000_000),
            frame.time_ns.rem_euclid(1_000_000_000)
        );
        match decoder.decode(frame.number, frame.link_type, frame.data, frame.orig_len) {
            Decoded::Tcp(s) => println!(
                "{}\t{}\t{}\t{}\t{}",
                frame.number,
                time,
                s.src_port,
                s.dst_port,
                s.payload.len() + s.missing_payload as usize
            ),
            _ => println!("{}\t{}\t\t\t", frame.number, time),
        }
    }
    eprintln!("warnings: {:?}", reader.warnings());
    eprintln!("link types: {:?}", reader.link_types());
    eprintln!("sha256: {}", reader.sha256_hex());
    ExitCode::SUCCESS
}
