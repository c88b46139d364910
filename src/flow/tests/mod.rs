//! Flow table tests, with a recording sink and a segment builder: stream numbering as tshark 4.0
//! numbers `tcp.stream` (each scenario was checked against tshark 4.0.17 on a generated pcap)
//! and orientation in `numbering`; delivery order, gaps, retransmissions, close and Zeek states
//! in `delivery`; the sink contract under random segments in `contract`.

mod contract;
mod delivery;
mod numbering;

use super::*;
use crate::wire::{TcpFlags, TcpSegment};
use std::net::{IpAddr, Ipv4Addr};

const A: u8 = TcpFlags::ACK;
const S: u8 = TcpFlags::SYN;
const F: u8 = TcpFlags::FIN;
const R: u8 = TcpFlags::RST;
const P: u8 = TcpFlags::PSH;

const CLIENT: (IpAddr, u16) = (IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 40000);
const SERVER: (IpAddr, u16) = (IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)), 1883);

/// A segment to feed: who sends it, and its header fields.
#[derive(Clone)]
struct Pkt {
    from_client: bool,
    seq: u32,
    ack: u32,
    flags: u8,
    window: u16,
    payload: Vec<u8>,
    missing: u32,
    /// Milliseconds since the capture start.
    ms: i64,
}

fn c(seq: u32, ack: u32, flags: u8, payload: &str) -> Pkt {
    Pkt {
        from_client: true,
        seq,
        ack,
        flags,
        window: 1000,
        payload: payload.as_bytes().to_vec(),
        missing: 0,
        ms: 0,
    }
}

fn s(seq: u32, ack: u32, flags: u8, payload: &str) -> Pkt {
    Pkt {
        from_client: false,
        ..c(seq, ack, flags, payload)
    }
}

impl Pkt {
    fn at_ms(mut self, ms: i64) -> Self {
        self.ms = ms;
        self
    }
    fn window(mut self, window: u16) -> Self {
        self.window = window;
        self
    }
    fn missing(mut self, missing: u32) -> Self {
        self.missing = missing;
        self
    }
    /// The segment as the flow table receives it, between `CLIENT` and `SERVER`.
    fn segment(&self) -> TcpSegment<'_> {
        let (src, dst) = if self.from_client {
            (CLIENT, SERVER)
        } else {
            (SERVER, CLIENT)
        };
        TcpSegment {
            src: src.0,
            dst: dst.0,
            src_port: src.1,
            dst_port: dst.1,
            seq: self.seq,
            ack: self.ack,
            flags: TcpFlags(self.flags),
            window: self.window,
            payload: &self.payload,
            missing_payload: self.missing,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Rec {
    Open(FlowOpen),
    Data(u32, Side, Vec<u8>, u64),
    Gap(u32, Side, u64, u64),
    Event(u32, Side, TcpEvent, u64),
    Closed(u32, TcpSummary),
}

#[derive(Default)]
struct Recorder(Vec<Rec>);

impl FlowSink for Recorder {
    fn open(&mut self, flow: &FlowOpen) {
        self.0.push(Rec::Open(*flow));
    }
    fn data(&mut self, id: FlowId, side: Side, data: &[u8], at: At) {
        self.0.push(Rec::Data(id.0, side, data.to_vec(), at.frame));
    }
    fn gap(&mut self, id: FlowId, side: Side, len: u64, at: At) {
        self.0.push(Rec::Gap(id.0, side, len, at.frame));
    }
    fn tcp_event(&mut self, id: FlowId, side: Side, event: TcpEvent, at: At) {
        self.0.push(Rec::Event(id.0, side, event, at.frame));
    }
    fn closed(&mut self, id: FlowId, summary: TcpSummary) {
        self.0.push(Rec::Closed(id.0, summary));
    }
}

impl Recorder {
    /// The stream of one side as text, gaps shown as `<n>` and the FIN as `|`.
    fn stream(&self, id: u32, side: Side) -> String {
        let mut text = String::new();
        for rec in &self.0 {
            match rec {
                Rec::Data(i, s, d, _) if *i == id && *s == side => {
                    text.push_str(&String::from_utf8_lossy(d))
                }
                Rec::Gap(i, s, n, _) if *i == id && *s == side => text.push_str(&format!("<{n}>")),
                Rec::Event(i, s, TcpEvent::Fin, _) if *i == id && *s == side => text.push('|'),
                _ => {}
            }
        }
        text
    }

    fn opens(&self) -> Vec<FlowOpen> {
        self.0
            .iter()
            .filter_map(|r| match r {
                Rec::Open(o) => Some(*o),
                _ => None,
            })
            .collect()
    }

    fn summary(&self, id: u32) -> TcpSummary {
        let found = self.0.iter().find_map(|r| match r {
            Rec::Closed(i, s) if *i == id => Some(s.clone()),
            _ => None,
        });
        found.unwrap_or_else(|| panic!("flow {id} not closed"))
    }

    fn events(&self, id: u32) -> Vec<(Side, TcpEvent, u64)> {
        self.0
            .iter()
            .filter_map(|r| match r {
                Rec::Event(i, s, e, f) if *i == id => Some((*s, e.clone(), *f)),
                _ => None,
            })
            .collect()
    }
}

/// Feeds the packets as frames 1, 2, ... and returns the stream of each and the recording
/// (after `finish`).
fn run_with(limits: FlowLimits, pkts: &[Pkt]) -> (Vec<u32>, Recorder) {
    let mut table = FlowTable::new(limits);
    let mut rec = Recorder::default();
    let mut streams = Vec::new();
    for (i, p) in pkts.iter().enumerate() {
        let frame = i as u64 + 1;
        // Default spacing of one second keeps Wireshark's out-of-order rule out of the way.
        let time_ns = if p.ms != 0 {
            p.ms * 1_000_000
        } else {
            frame as i64 * 1_000_000_000
        };
        let seg = p.segment();
        streams.push(table.on_segment(at(frame, time_ns), &seg, &mut rec).0);
    }
    table.finish(&mut rec);
    (streams, rec)
}

fn at(frame: u64, time_ns: i64) -> At {
    At { frame, time_ns }
}

fn run(pkts: &[Pkt]) -> (Vec<u32>, Recorder) {
    run_with(FlowLimits::default(), pkts)
}

/// The client's SYN (sequence 100) and the server's SYN-ACK (sequence 900), then `rest`.
fn handshake_then<const N: usize>(rest: [Pkt; N]) -> Vec<Pkt> {
    let mut pkts = vec![c(100, 0, S, ""), s(900, 101, S | A, "")];
    pkts.extend(rest);
    pkts
}

/// SYN, SYN-ACK, ACK, 4 bytes from the client, ACK, FIN, FIN, ACK.
fn full_connection(client_isn: u32, server_isn: u32) -> Vec<Pkt> {
    let (ci, si) = (client_isn, server_isn);
    vec![
        c(ci, 0, S, ""),
        s(si, ci + 1, S | A, ""),
        c(ci + 1, si + 1, A, ""),
        c(ci + 1, si + 1, P | A, "abcd"),
        s(si + 1, ci + 5, A, ""),
        c(ci + 5, si + 1, F | A, ""),
        s(si + 1, ci + 6, F | A, ""),
        c(ci + 6, si + 2, A, ""),
    ]
}
