//! Every capture in the shared corpus against tshark 4.0.17's stored decode
//! (`tshark-4.0.17.jsonl`) and the manifest: frame count, TCP segment count, first frame time
//! and capture duration (capinfos), a warning exactly when tshark calls the file damaged, and
//! the file's SHA-256. Skips with a notice when the corpus is missing.

mod common;

use mqpcap::capture::CaptureReader;
use mqpcap::wire::{Decoded, WireDecoder};
use std::path::{Path, PathBuf};

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus");

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
        let frames = record["frames_tshark"].as_u64().unwrap_or(0);
        let tcp_frames = record["top_protocols"]
            .as_object()
            .map(|protocols| {
                protocols
                    .iter()
                    .filter(|(name, _)| !NOT_TCP_PROTOCOLS.contains(&name.as_str()))
                    .map(|(_, count)| count.as_u64().unwrap_or(0))
                    .sum()
            })
            .unwrap_or(0);
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
    let Some(expected) = expectations() else {
        eprintln!("skipped: corpus not found at {CORPUS}");
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

/// Developer aid: `MQPCAP_DUMP=file cargo test --test capture_corpus dump -- --ignored --nocapture`
/// prints `number time_ns src_port dst_port payload_len` per frame, for a diff against
/// `tshark -T fields -e frame.number -e frame.time_epoch -e tcp.srcport -e tcp.dstport -e tcp.len`.
#[test]
#[ignore]
fn dump() {
    let Ok(path) = std::env::var("MQPCAP_DUMP") else {
        return;
    };
    let mut reader = CaptureReader::open(Path::new(&path)).expect("open");
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
}

/// Developer aid: `MQPCAP_MUTATE=N cargo test --release --test capture_corpus mutation_smoke --
/// --ignored` runs N random byte mutations of every corpus capture through the reader and the
/// decoder (a poor man's fuzzer for machines without cargo-fuzz).
#[test]
#[ignore]
fn mutation_smoke() {
    let rounds: u64 = std::env::var("MQPCAP_MUTATE")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(200);
    let Some(expected) = expectations() else {
        eprintln!("skipped: corpus not found at {CORPUS}");
        return;
    };
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for file in expected {
        let Ok(original) = std::fs::read(&file.path) else {
            continue;
        };
        if original.len() > 1_000_000 {
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
        }
    }
}
