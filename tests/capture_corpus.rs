//! Every capture in the shared corpus against tshark 4.0.17's stored decode
//! (`tshark-4.0.17.jsonl`) and the manifest: frame count, TCP segment count, first frame time
//! and capture duration (capinfos), a warning exactly when tshark calls the file damaged, and
//! the file's SHA-256. Skips with a notice when the corpus is missing.

// Not library code: here a panic is how a failure shows (see [lints.clippy] in Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use mqpcap::capture::CaptureReader;
use mqpcap::wire::{Decoded, WireDecoder};
use std::path::PathBuf;

/// Top-level protocols tshark lists for frames that carry no TCP segment.
const NOT_TCP_PROTOCOLS: &[&str] = &["ICMP", "ICMPv6", "UDP", "DNS", "ARP", "MDNS", "NTP", "DHCP"];

struct Expected {
    path: PathBuf,
    frames: u64,
    tcp_frames: u64,
    /// capinfos "First packet time" (UTC) and "Capture duration" (latest minus earliest).
    first_time: String,
    duration: String,
    /// The container ends in a cut or corrupt record (tshark's "damaged or corrupt").
    damaged_tail: bool,
    sha256: String,
}

fn expectations() -> Option<Vec<Expected>> {
    let mut out = Vec::new();
    for capture in common::corpus_captures()? {
        let record = &capture.tshark;
        let Some(frames) = record["frames_tshark"].as_u64() else {
            panic!("{}: no frames_tshark in the stored decode", capture.local)
        };
        let Some(protocols) = record["top_protocols"].as_object() else {
            panic!("{}: no top_protocols in the stored decode", capture.local)
        };
        let tcp_frames = protocols
            .iter()
            .filter(|(name, _)| !NOT_TCP_PROTOCOLS.contains(&name.as_str()))
            .map(|(name, count)| match count.as_u64() {
                Some(n) => n,
                None => panic!("{}: top_protocols {name} is {count}", capture.local),
            })
            .sum();
        let capinfos = |field: &str| {
            record["capinfos"][field]
                .as_str()
                .unwrap_or_default()
                .to_string()
        };
        out.push(Expected {
            path: capture.path,
            frames,
            tcp_frames,
            first_time: capinfos("First packet time"),
            duration: capinfos("Capture duration"),
            damaged_tail: record["container"]["truncated_tail"].as_bool() == Some(true),
            sha256: capture.sha256,
        });
    }
    Some(out)
}

/// A time as capinfos prints it: UTC, microseconds.
fn capinfos_time(time_ns: i64) -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day] [hour]:[minute]:[second].[subsecond digits:6]"
    );
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(time_ns))
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}

#[test]
fn corpus_frames_tcp_counts_and_times_equal_tshark() {
    // `corpus_captures` said so (visibly) when the corpus is absent.
    let Some(expected) = expectations() else {
        return;
    };
    assert!(!expected.is_empty());
    let mut failures = Vec::new();
    for file in &expected {
        let mut reader = match CaptureReader::open(&file.path) {
            Ok(r) => r,
            Err(e) => {
                failures.push(format!("{e}"));
                continue;
            }
        };
        let mut decoder = WireDecoder::new();
        let mut tcp_frames = 0u64;
        let mut times: Vec<i64> = Vec::new();
        while let Some(frame) = reader.next_frame() {
            times.push(frame.time_ns);
            if let Decoded::Tcp(_) =
                decoder.decode(frame.number, frame.link_type, frame.data, frame.orig_len)
            {
                tcp_frames += 1;
            }
        }
        let got = (reader.frames_read(), tcp_frames);
        if got != (file.frames, file.tcp_frames) {
            failures.push(format!(
                "{}: frames/tcp {:?}, tshark {:?}; warnings {:?}",
                file.path.display(),
                got,
                (file.frames, file.tcp_frames),
                reader.warnings()
            ));
        }
        let warned = !reader.warnings().is_empty();
        if warned != file.damaged_tail {
            failures.push(format!(
                "{}: warnings {:?}, tshark damaged tail {}",
                file.path.display(),
                reader.warnings(),
                file.damaged_tail
            ));
        }
        let hash = reader.sha256_hex();
        if hash != file.sha256 {
            failures.push(format!("{}: sha256 {hash}", file.path.display()));
        }
        let first = times.first().map(|t| capinfos_time(*t)).unwrap_or_default();
        let earliest = times.iter().min().copied().unwrap_or(0);
        let latest = times.iter().max().copied().unwrap_or(0);
        let span = latest - earliest;
        let duration = format!(
            "{}.{:06} seconds",
            span / 1_000_000_000,
            (span % 1_000_000_000) / 1_000
        );
        // capinfos gave nothing for a file it calls damaged (bug-1450-04): nothing to compare.
        if !file.first_time.is_empty()
            && (first.as_str(), duration.as_str())
                != (file.first_time.as_str(), file.duration.as_str())
        {
            failures.push(format!(
                "{}: first/duration {first:?} {duration:?}, capinfos {:?} {:?}",
                file.path.display(),
                file.first_time,
                file.duration
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
