//! TCP stream numbering over every capture in the shared corpus, against tshark 4.0.17: the
//! number of flows equals the stored `tcp_streams`, and, when tshark is installed, every TCP
//! frame's flow equals its `tcp.stream` and per-stream retransmission counts are compared with
//! `tcp.analysis.retransmission`. Skips with a notice when the corpus is missing.

// Not library code: here a panic is how a failure shows (see [lints.clippy] in Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use mqpcap::capture::CaptureReader;
use mqpcap::common::{At, Side};
use mqpcap::flow::{FlowId, FlowLimits, FlowOpen, FlowSink, FlowTable, TcpEvent, TcpSummary};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const TSHARK: &str = "/usr/bin/tshark";

/// Counts retransmission events per flow.
#[derive(Default)]
struct Counter {
    retransmissions: BTreeMap<u32, u64>,
    closed: u64,
}

impl FlowSink for Counter {
    fn open(&mut self, _flow: &FlowOpen) {}
    fn data(&mut self, _id: FlowId, _side: Side, _data: &[u8], _at: At) {}
    fn gap(&mut self, _id: FlowId, _side: Side, _len: u64, _at: At) {}
    fn tcp_event(&mut self, id: FlowId, _side: Side, event: TcpEvent, _at: At) {
        if let TcpEvent::Retransmission { .. } = event {
            *self.retransmissions.entry(id.0).or_default() += 1;
        }
    }
    fn closed(&mut self, _id: FlowId, _summary: TcpSummary) {
        self.closed += 1;
    }
}

/// (path, tshark's tcp_streams) for every capture of the corpus.
fn captures() -> Option<Vec<(PathBuf, u64)>> {
    let mut out = Vec::new();
    for capture in common::corpus_captures()? {
        let Some(streams) = capture.tshark["tcp_streams"].as_u64() else {
            panic!(
                "{}: no tcp_streams in the stored tshark decode",
                capture.local
            );
        };
        out.push((capture.path, streams));
    }
    Some(out)
}

/// Our flow of every TCP frame, and retransmissions per flow.
fn our_streams(path: &Path) -> (BTreeMap<u64, u32>, Counter, usize) {
    let mut reader = CaptureReader::open(path).expect("corpus capture opens");
    let mut table = FlowTable::new(FlowLimits::default());
    let mut sink = Counter::default();
    let frames: BTreeMap<u64, u32> = table
        .feed_capture(&mut reader, &mut sink)
        .into_iter()
        .map(|(frame, id)| (frame, id.0))
        .collect();
    let flows = table.flow_count();
    table.finish(&mut sink);
    assert_eq!(
        sink.closed as usize,
        flows,
        "{}: closed once per flow",
        path.display()
    );
    (frames, sink, flows)
}

/// tshark's `tcp.stream` of every TCP frame and retransmissions per stream (the caller checks
/// that tshark is installed); tshark failing to run fails the test.
fn tshark_streams(path: &Path) -> (BTreeMap<u64, u32>, BTreeMap<u32, u64>) {
    let output = match Command::new(TSHARK)
        .arg("-r")
        .arg(path)
        .args(["-T", "fields", "-e", "frame.number", "-e", "tcp.stream"])
        .args(["-e", "tcp.analysis.retransmission"])
        .output()
    {
        Ok(output) => output,
        Err(e) => panic!("cannot run {TSHARK} on {}: {e}", path.display()),
    };
    let text = String::from_utf8_lossy(&output.stdout);
    let mut frames = BTreeMap::new();
    let mut retransmissions = BTreeMap::new();
    for line in text.lines() {
        let mut fields = line.split('\t');
        let number = fields.next().and_then(|f| f.parse::<u64>().ok());
        // A frame with TCP inside ICMP lists no stream; tunnels may list several: take the first.
        let stream = fields
            .next()
            .and_then(|f| f.split(',').next())
            .and_then(|f| f.parse::<u32>().ok());
        let retransmitted = fields.next().is_some_and(|f| !f.is_empty());
        if let (Some(number), Some(stream)) = (number, stream) {
            frames.insert(number, stream);
            if retransmitted {
                *retransmissions.entry(stream).or_insert(0) += 1;
            }
        }
    }
    (frames, retransmissions)
}

#[test]
fn corpus_flows_match_tshark_tcp_streams() {
    // `corpus_captures` said so (visibly) when the corpus is absent.
    let Some(captures) = captures() else {
        return;
    };
    assert!(!captures.is_empty());
    let tshark = Path::new(TSHARK).exists();
    if !tshark {
        common::skipped(&format!(
            "{TSHARK} not installed: flow counts checked, per-frame streams not compared"
        ));
    }
    let mut failures = Vec::new();
    let mut retransmission_notes = Vec::new();
    let (mut frames_compared, mut ours_total, mut theirs_total) = (0usize, 0u64, 0u64);
    for (path, expected_streams) in &captures {
        let name = path.display();
        let (ours, counter, flows) = our_streams(path);
        if flows as u64 != *expected_streams {
            failures.push(format!(
                "{name}: {flows} flows, tshark {expected_streams} streams"
            ));
        }
        if !tshark {
            continue;
        }
        let (theirs, their_retransmissions) = tshark_streams(path);
        for (frame, stream) in &theirs {
            match ours.get(frame) {
                Some(ours) if ours == stream => frames_compared += 1,
                other => failures.push(format!(
                    "{name}: frame {frame} in stream {other:?}, tshark {stream}"
                )),
            }
        }
        for frame in ours.keys().filter(|f| !theirs.contains_key(f)) {
            failures.push(format!("{name}: frame {frame} is TCP to us, not to tshark"));
        }
        ours_total += counter.retransmissions.values().sum::<u64>();
        theirs_total += their_retransmissions.values().sum::<u64>();
        if counter.retransmissions != their_retransmissions {
            retransmission_notes.push(format!(
                "{name}: retransmissions per stream {:?}, tshark {:?}",
                counter.retransmissions, their_retransmissions
            ));
        }
    }
    eprintln!(
        "{} captures; {frames_compared} TCP frames in tshark's stream; retransmissions {ours_total}, tshark {theirs_total}",
        captures.len()
    );
    for note in &retransmission_notes {
        eprintln!("{note}");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        !tshark || frames_compared > 0,
        "tshark put no frame of the corpus in a TCP stream"
    );
}
