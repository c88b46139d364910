//! Prints `frame stream retransmission(0/1)` per TCP frame of a capture, for a diff against
//! tshark when a corpus stream numbering disagrees (tests/flow_corpus.rs). A developer aid, not
//! a test:
//!
//!     cargo run --example dump_flows -- CAPTURE > ours.tsv
//!     tshark -r CAPTURE -T fields -e frame.number -e tcp.stream \
//!         -e tcp.analysis.retransmission > theirs.tsv

// Not library code: here a panic is how a failure shows (see [lints.clippy] in Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use mqpcap::capture::CaptureReader;
use mqpcap::common::{At, Side};
use mqpcap::flow::{FlowId, FlowLimits, FlowOpen, FlowSink, FlowTable, TcpEvent, TcpSummary};
use std::collections::BTreeSet;
use std::path::Path;
use std::process::ExitCode;

/// Frames that carried a retransmission.
#[derive(Default)]
struct Retransmitted(BTreeSet<u64>);

impl FlowSink for Retransmitted {
    fn open(&mut self, _flow: &FlowOpen) {}
    fn data(&mut self, _id: FlowId, _side: Side, _data: &[u8], _at: At) {}
    fn gap(&mut self, _id: FlowId, _side: Side, _len: u64, _at: At) {}
    fn tcp_event(&mut self, _id: FlowId, _side: Side, event: TcpEvent, at: At) {
        if let TcpEvent::Retransmission { .. } = event {
            self.0.insert(at.frame);
        }
    }
    fn closed(&mut self, _id: FlowId, _summary: TcpSummary) {}
}

fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: dump_flows CAPTURE");
        return ExitCode::from(2);
    };
    let mut reader = match CaptureReader::open(Path::new(&path)) {
        Ok(reader) => reader,
        Err(e) => {
            eprintln!("dump_flows: {e}");
            return ExitCode::from(2);
        }
    };
    let mut table = FlowTable::new(FlowLimits::default());
    let mut sink = Retransmitted::default();
    let streams = table.feed_capture(&mut reader, &mut sink);
    for (frame, stream) in streams {
        let stream = stream.0;
        let retransmitted = sink.0.contains(&frame);
        println!("{frame}\t{stream}\t{}", u8::from(retransmitted));
    }
    ExitCode::SUCCESS
}
