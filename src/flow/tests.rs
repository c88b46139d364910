//! Flow table tests: stream numbering as tshark 4.0 numbers `tcp.stream` (each scenario was
//! checked against tshark 4.0.17 on a generated pcap), orientation, delivery order, gaps,
//! retransmissions, close and Zeek states.

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
        self.0.push(Rec::Open(flow.clone()));
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
                Rec::Open(o) => Some(o.clone()),
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
        let (src, dst) = if p.from_client {
            (CLIENT, SERVER)
        } else {
            (SERVER, CLIENT)
        };
        let seg = TcpSegment {
            src: src.0,
            dst: dst.0,
            src_port: src.1,
            dst_port: dst.1,
            seq: p.seq,
            ack: p.ack,
            flags: TcpFlags(p.flags),
            window: p.window,
            payload: &p.payload,
            missing_payload: p.missing,
        };
        let frame = i as u64 + 1;
        // Default spacing of one second keeps Wireshark's out-of-order rule out of the way.
        let time_ns = if p.ms != 0 {
            p.ms * 1_000_000
        } else {
            frame as i64 * 1_000_000_000
        };
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

#[test]
fn syn_with_new_sequence_after_fin_starts_a_new_stream() {
    let mut pkts = full_connection(100, 900);
    pkts.extend(full_connection(7000, 5000));
    let (streams, rec) = run(&pkts);
    assert_eq!(streams, [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1]);
    // The old flow is closed when its tuple is reused, before the new one opens.
    let order: Vec<&str> = rec
        .0
        .iter()
        .filter_map(|r| match r {
            Rec::Open(o) if o.id.0 == 1 => Some("open 1"),
            Rec::Closed(0, _) => Some("closed 0"),
            _ => None,
        })
        .collect();
    assert_eq!(order, ["closed 0", "open 1"]);
    assert_eq!(rec.summary(0).state, "SF");
    assert_eq!(rec.summary(1).state, "SF");
    assert_eq!(rec.stream(1, Side::Orig), "abcd|");
}

#[test]
fn syn_with_the_same_sequence_after_fin_stays_in_the_stream() {
    // tshark 4.0.17 keeps such a SYN in the old stream and calls it a retransmission.
    let mut pkts = full_connection(100, 900);
    pkts.extend(full_connection(100, 5000));
    let (_, rec) = run(&pkts);
    assert_eq!(rec.opens().len(), 1);
    assert_eq!(rec.stream(0, Side::Orig), "abcd|");
}

#[test]
fn syn_after_rst_with_new_sequence_starts_a_new_stream() {
    let pkts = [
        c(100, 0, S, ""),
        s(0, 101, R | A, ""),
        c(200, 0, S, ""),
        s(0, 201, R | A, ""),
    ];
    let (streams, rec) = run(&pkts);
    assert_eq!(streams, [0, 0, 1, 1]);
    assert_eq!(rec.summary(0).state, "REJ");
    assert_eq!(rec.summary(1).state, "REJ");
}

#[test]
fn syn_retransmission_after_rst_stays_in_the_stream() {
    let pkts = [
        c(100, 0, S, ""),
        s(0, 101, R | A, ""),
        c(100, 0, S, ""),
        s(0, 101, R | A, ""),
    ];
    let (streams, rec) = run(&pkts);
    assert_eq!(streams, [0, 0, 0, 0]);
    assert_eq!(rec.summary(0).retransmissions, 1);
}

#[test]
fn packets_after_close_without_syn_stay_in_the_old_stream() {
    let mut pkts = full_connection(100, 900);
    pkts.push(c(106, 902, P | A, "zz"));
    pkts.push(s(902, 108, R, ""));
    let (streams, rec) = run(&pkts);
    assert!(streams.iter().all(|&s| s == 0));
    let summary = rec.summary(0);
    assert_eq!(summary.sides[0].packets, 6);
    assert_eq!(summary.sides[1].packets, 4);
    // Data after the FIN is not part of the stream.
    assert_eq!(rec.stream(0, Side::Orig), "abcd|");
    // Both FINs came before the RST: a FIN close by the client.
    assert_eq!(summary.close.how, CloseHow::Fin);
    assert_eq!(summary.close.by, Some(Side::Orig));
    assert_eq!(summary.close.at.map(|a| a.frame), Some(6));
}

#[test]
fn syn_retransmissions_do_not_start_streams() {
    let pkts = [c(100, 0, S, ""), c(100, 0, S, ""), c(100, 0, S, "")];
    let (streams, rec) = run(&pkts);
    assert_eq!(streams, [0, 0, 0]);
    let summary = rec.summary(0);
    assert_eq!(summary.retransmissions, 2);
    assert_eq!(
        (summary.state.as_str(), summary.history.as_str()),
        ("S0", "S")
    );
    let events = rec.events(0);
    assert_eq!(events[0], (Side::Orig, TcpEvent::Syn, 1));
    assert_eq!(
        events[1],
        (Side::Orig, TcpEvent::Retransmission { len: 0 }, 2)
    );
}

#[test]
fn syns_with_different_sequences_each_start_a_stream() {
    let pkts = [c(100, 0, S, ""), c(200, 0, S, ""), c(100, 0, S, "")];
    let (streams, _) = run(&pkts);
    assert_eq!(streams, [0, 1, 2]);
}

#[test]
fn synack_first_makes_its_receiver_the_originator() {
    let pkts = [
        s(900, 101, S | A, ""),
        c(101, 901, A, ""),
        c(101, 901, A, "hi"),
    ];
    let (_, rec) = run(&pkts);
    let open = &rec.opens()[0];
    assert_eq!(open.orig, SocketAddr::new(CLIENT.0, CLIENT.1));
    assert_eq!(open.resp, SocketAddr::new(SERVER.0, SERVER.1));
    assert!(open.syn_seen);
    assert_eq!(rec.stream(0, Side::Orig), "hi");
    assert_eq!(rec.events(0)[0], (Side::Resp, TcpEvent::SynAck, 1));
}

#[test]
fn synack_first_then_syn_with_other_sequence_starts_a_stream() {
    // The SYN-ACK acknowledges 101, so the client's base_seq is 100.
    let (streams, _) = run(&[
        s(900, 101, S | A, ""),
        c(101, 901, A, ""),
        c(5000, 0, S, ""),
    ]);
    assert_eq!(streams, [0, 0, 1]);
    let (streams, _) = run(&[s(900, 101, S | A, ""), c(100, 0, S, "")]);
    assert_eq!(streams, [0, 0]);
}

#[test]
fn midstream_first_sender_is_the_originator() {
    let pkts = [s(900, 102, P | A, "pong"), c(102, 904, P | A, "ping")];
    let (_, rec) = run(&pkts);
    let open = &rec.opens()[0];
    assert_eq!(open.orig, SocketAddr::new(SERVER.0, SERVER.1));
    assert!(!open.syn_seen);
    assert_eq!(rec.stream(0, Side::Orig), "pong");
    assert_eq!(rec.stream(0, Side::Resp), "ping");
    let summary = rec.summary(0);
    assert_eq!(
        (summary.state.as_str(), summary.history.as_str()),
        ("OTH", "Dd")
    );
    assert!(!summary.syn_seen);
}

#[test]
fn midstream_then_syn_follows_wireshark_base_seq() {
    // base_seq of a mid-stream direction is one below its first sequence number.
    let first = [c(100, 900, P | A, "ab"), s(900, 102, A, "")];
    let mut same = first.to_vec();
    same.push(c(99, 0, S, ""));
    assert_eq!(run(&same).0, [0, 0, 0]);
    let mut other = first.to_vec();
    other.push(c(100, 0, S, ""));
    assert_eq!(run(&other).0, [0, 0, 1]);
    // A direction only acknowledged so far has base_seq = ack - 1.
    assert_eq!(run(&[s(900, 102, A, ""), c(101, 0, S, "")]).0, [0, 0]);
    assert_eq!(run(&[s(900, 102, A, ""), c(102, 0, S, "")]).0, [0, 1]);
    // Without the ACK flag the acknowledgment number is not used.
    assert_eq!(run(&[s(900, 102, P, "x"), c(5000, 0, S, "")]).0, [0, 0]);
}

#[test]
fn reverse_syn_with_new_sequence_starts_a_stream() {
    let mut pkts = full_connection(100, 900);
    pkts.push(s(3000, 0, S, ""));
    let (streams, rec) = run(&pkts);
    assert_eq!(streams.last(), Some(&1));
    // The new flow's originator is the old responder.
    assert_eq!(rec.opens()[1].orig, SocketAddr::new(SERVER.0, SERVER.1));
}

#[test]
fn classic_conn_states_through_the_table() {
    let cases: Vec<(&str, Vec<Pkt>, &str, &str)> = vec![
        ("lone SYN", vec![c(1, 0, S, "")], "S0", "S"),
        (
            "SYN answered by RST",
            vec![c(1, 0, S, ""), s(0, 2, R | A, "")],
            "REJ",
            "Sr",
        ),
        ("normal", full_connection(100, 900), "SF", "ShADaFf"),
        (
            "originator aborts",
            vec![
                c(1, 0, S, ""),
                s(9, 2, S | A, ""),
                c(2, 10, A, ""),
                c(2, 10, R | A, ""),
            ],
            "RSTO",
            "ShAR",
        ),
        (
            "responder aborts",
            vec![
                c(1, 0, S, ""),
                s(9, 2, S | A, ""),
                c(2, 10, A, ""),
                c(2, 10, P | A, "x"),
                s(10, 3, R | A, ""),
            ],
            "RSTR",
            "ShADr",
        ),
        (
            "SYN then FIN",
            vec![c(1, 0, S, ""), c(2, 0, F, "")],
            "SH",
            "SF",
        ),
        (
            "midstream",
            vec![c(1, 9, P | A, "x"), s(9, 2, A, "")],
            "OTH",
            "Da",
        ),
    ];
    for (name, pkts, state, history) in cases {
        let (_, rec) = run(&pkts);
        let summary = rec.summary(0);
        assert_eq!(summary.state, state, "{name}");
        assert_eq!(summary.history, history, "{name}");
    }
}

#[test]
fn out_of_order_data_is_delivered_when_the_hole_fills() {
    let pkts = [
        c(100, 0, S, "").at_ms(1),
        s(900, 101, S | A, "").at_ms(2),
        c(101, 901, A, "").at_ms(3),
        c(105, 901, P | A, "efgh").at_ms(1000),
        c(109, 901, P | A, "ijkl").at_ms(1001),
        c(101, 901, P | A, "abcd").at_ms(2000),
    ];
    let (_, rec) = run(&pkts);
    let data: Vec<(Vec<u8>, u64)> = rec
        .0
        .iter()
        .filter_map(|r| match r {
            Rec::Data(0, Side::Orig, d, f) => Some((d.clone(), *f)),
            _ => None,
        })
        .collect();
    // Everything is delivered at frame 6, the one that filled the hole.
    assert_eq!(data, [(b"abcd".to_vec(), 6), (b"efghijkl".to_vec(), 6)]);
    // Long after the highest segment (beyond the handshake's 2 ms round trip): Wireshark calls
    // the filler a retransmission.
    assert_eq!(rec.summary(0).retransmissions, 1);
}

#[test]
fn filler_right_after_is_out_of_order_not_a_retransmission() {
    let pkts = [
        c(100, 0, S, "").at_ms(1),
        s(900, 101, S | A, "").at_ms(2),
        c(101, 901, A, "").at_ms(3),
        c(105, 901, P | A, "efgh").at_ms(1000),
        c(101, 901, P | A, "abcd").at_ms(1001),
    ];
    let (_, rec) = run(&pkts);
    assert_eq!(rec.summary(0).retransmissions, 0);
    assert_eq!(rec.stream(0, Side::Orig), "abcdefgh");
}

#[test]
fn retransmitted_and_overlapping_data_is_delivered_once() {
    let pkts = [
        c(100, 0, S, ""),
        s(900, 101, S | A, ""),
        c(101, 901, P | A, "abcd"),
        c(101, 901, P | A, "abcd"),
        c(103, 901, P | A, "XXef"),
    ];
    let (_, rec) = run(&pkts);
    assert_eq!(rec.stream(0, Side::Orig), "abcdef");
    let summary = rec.summary(0);
    assert_eq!(summary.retransmissions, 2);
    assert_eq!(summary.sides[0].bytes, 6);
    assert!(summary.history.contains('T'));
}

#[test]
fn hole_acked_by_the_peer_becomes_a_gap() {
    let pkts = [
        c(100, 0, S, ""),
        s(900, 101, S | A, ""),
        c(101, 901, P | A, "ab"),
        c(105, 901, P | A, "ef"),
        s(901, 107, A, ""),
        c(107, 901, P | A, "gh"),
    ];
    let (_, rec) = run(&pkts);
    assert_eq!(rec.stream(0, Side::Orig), "ab<2>efgh");
    assert!(rec.0.contains(&Rec::Gap(0, Side::Orig, 2, 5)));
    let summary = rec.summary(0);
    assert_eq!(summary.missing_bytes, 2);
    assert_eq!(summary.sides[0].bytes, 8);
    assert!(summary.history.contains('G'));
}

#[test]
fn acked_unseen_tail_becomes_a_gap() {
    let pkts = [
        c(100, 0, S, ""),
        s(900, 101, S | A, ""),
        c(101, 901, P | A, "ab"),
        s(901, 113, A, ""),
    ];
    let (_, rec) = run(&pkts);
    assert_eq!(rec.stream(0, Side::Orig), "ab<10>");
}

#[test]
fn fin_after_a_hole_waits_for_the_data_or_the_ack() {
    // The FIN arrives before a retransmission fills the hole: the data still gets through and
    // the FIN is reported after it.
    let pkts = [
        c(100, 0, S, ""),
        s(900, 101, S | A, ""),
        c(101, 901, P | A, "ab"),
        c(105, 901, F | A, "ef"),
        c(103, 901, P | A, "cd"),
    ];
    let (_, rec) = run(&pkts);
    assert_eq!(rec.stream(0, Side::Orig), "abcdef|");
    let fin = rec
        .events(0)
        .into_iter()
        .find(|(_, e, _)| *e == TcpEvent::Fin);
    // Reported at the FIN's own frame.
    assert_eq!(fin, Some((Side::Orig, TcpEvent::Fin, 4)));

    // When the peer acknowledges the FIN, the hole is lost.
    let pkts = [
        c(100, 0, S, ""),
        s(900, 101, S | A, ""),
        c(101, 901, P | A, "ab"),
        c(105, 901, F | A, "ef"),
        s(901, 108, A, ""),
    ];
    let (_, rec) = run(&pkts);
    assert_eq!(rec.stream(0, Side::Orig), "ab<2>ef|");
}

#[test]
fn rst_after_a_hole_declares_it_lost() {
    let pkts = [
        c(100, 0, S, ""),
        s(900, 101, S | A, ""),
        c(101, 901, P | A, "ab"),
        c(105, 901, P | A, "ef"),
        c(107, 901, R, ""),
    ];
    let (_, rec) = run(&pkts);
    assert_eq!(rec.stream(0, Side::Orig), "ab<2>ef");
    let close = rec.summary(0).close;
    assert_eq!(
        (close.how, close.by, close.at.map(|a| a.frame)),
        (CloseHow::Rst, Some(Side::Orig), Some(5))
    );
}

#[test]
fn rst_after_one_fin_is_a_rst_close() {
    let pkts = [
        c(100, 0, S, ""),
        s(900, 101, S | A, ""),
        c(101, 901, A, ""),
        c(101, 901, F | A, ""),
        s(901, 102, R | A, ""),
    ];
    let (_, rec) = run(&pkts);
    let close = rec.summary(0).close;
    assert_eq!((close.how, close.by), (CloseHow::Rst, Some(Side::Resp)));
}

#[test]
fn sequence_numbers_wrap_around() {
    let isn = u32::MAX - 2;
    let pkts = [
        c(isn, 0, S, ""),
        s(900, isn.wrapping_add(1), S | A, ""),
        c(isn.wrapping_add(1), 901, P | A, "abcd"),
        c(isn.wrapping_add(9), 901, P | A, "ijkl"),
        c(isn.wrapping_add(5), 901, P | A, "efgh"),
        c(isn.wrapping_add(13), 901, F | A, ""),
        s(901, isn.wrapping_add(14), F | A, ""),
    ];
    let (_, rec) = run(&pkts);
    assert_eq!(rec.stream(0, Side::Orig), "abcdefghijkl|");
    assert_eq!(rec.summary(0).state, "SF");
    assert_eq!(rec.summary(0).missing_bytes, 0);
}

#[test]
fn keep_alive_is_an_event_not_data() {
    let pkts = [
        c(100, 0, S, ""),
        s(900, 101, S | A, ""),
        c(101, 901, P | A, "abcd"),
        s(901, 105, A, ""),
        c(104, 901, A, ""),
        c(104, 901, A, "d"),
    ];
    let (_, rec) = run(&pkts);
    assert_eq!(rec.stream(0, Side::Orig), "abcd");
    let keep_alives = rec
        .events(0)
        .iter()
        .filter(|(_, e, _)| *e == TcpEvent::KeepAlive)
        .count();
    assert_eq!(keep_alives, 2);
    assert_eq!(rec.summary(0).retransmissions, 0);
}

#[test]
fn zero_window_and_window_probes() {
    let pkts = [
        c(100, 0, S, ""),
        s(900, 101, S | A, ""),
        c(101, 901, A, ""),
        s(901, 101, A, "").window(0),
        c(101, 901, A, "a"),
        c(101, 901, A, "a"),
        s(901, 101, A, "").window(100),
        c(101, 901, A, "abcd"),
    ];
    let (_, rec) = run(&pkts);
    assert_eq!(rec.stream(0, Side::Orig), "abcd");
    let summary = rec.summary(0);
    // Wireshark flags neither probe nor the data after them as retransmissions.
    assert_eq!(summary.retransmissions, 0);
    assert!(summary.history.contains('w'));
    assert!(
        rec.events(0)
            .contains(&(Side::Resp, TcpEvent::ZeroWindow, 4))
    );
}

#[test]
fn snaplen_cut_payload_becomes_a_gap() {
    let pkts = [
        c(100, 0, S, ""),
        s(900, 101, S | A, ""),
        c(101, 901, P | A, "ab").missing(6),
        c(109, 901, P | A, "xy"),
    ];
    let (_, rec) = run(&pkts);
    assert_eq!(rec.stream(0, Side::Orig), "ab<6>xy");
    assert_eq!(rec.summary(0).missing_bytes, 6);
    assert_eq!(rec.summary(0).sides[0].bytes, 10);
}

#[test]
fn too_much_buffered_data_declares_the_hole_lost() {
    let limits = FlowLimits {
        max_buffered_per_side: 200,
        max_holes: 64,
    };
    let big = "x".repeat(100);
    let pkts = [
        c(100, 0, S, ""),
        c(111, 0, P | A, &big),
        c(211, 0, P | A, &big),
    ];
    let (_, rec) = run_with(limits, &pkts);
    assert_eq!(rec.stream(0, Side::Orig), format!("<10>{big}{big}"));
    // Reported at the frame that pushed the buffer over its limit.
    assert!(rec.0.contains(&Rec::Gap(0, Side::Orig, 10, 3)));
}

#[test]
fn finish_flushes_with_gaps_first_and_closes_in_flow_order() {
    let other = (IpAddr::V4(Ipv4Addr::new(10, 0, 0, 3)), 50000);
    let mut table = FlowTable::new(FlowLimits::default());
    let mut rec = Recorder::default();
    let seg = |src: (IpAddr, u16), seq: u32, payload: &'static [u8]| TcpSegment {
        src: src.0,
        dst: SERVER.0,
        src_port: src.1,
        dst_port: SERVER.1,
        seq,
        ack: 0,
        flags: TcpFlags(A),
        window: 100,
        payload,
        missing_payload: 0,
    };
    table.on_segment(at(1, 1), &seg(CLIENT, 100, b"ab"), &mut rec);
    table.on_segment(at(2, 2), &seg(other, 500, b"zz"), &mut rec);
    table.on_segment(at(3, 3), &seg(CLIENT, 105, b"fg"), &mut rec);
    table.finish(&mut rec);
    assert_eq!(rec.stream(0, Side::Orig), "ab<3>fg");
    let closed: Vec<u32> = rec
        .0
        .iter()
        .filter_map(|r| match r {
            Rec::Closed(i, _) => Some(*i),
            _ => None,
        })
        .collect();
    assert_eq!(closed, [0, 1]);
    // The flush is attributed to the flow's last frame.
    assert!(rec.0.contains(&Rec::Gap(0, Side::Orig, 3, 3)));
    // Finishing twice closes nothing twice.
    table.finish(&mut rec);
    assert_eq!(
        rec.0
            .iter()
            .filter(|r| matches!(r, Rec::Closed(..)))
            .count(),
        2
    );
}

#[test]
fn summary_counts_packets_bytes_and_times() {
    let (_, rec) = run(&full_connection(100, 900));
    let summary = rec.summary(0);
    assert_eq!(summary.first.frame, 1);
    assert_eq!(summary.last.frame, 8);
    assert_eq!(summary.sides[0].packets, 5);
    assert_eq!(summary.sides[1].packets, 3);
    assert_eq!(summary.sides[0].bytes, 4);
    assert_eq!(summary.sides[1].bytes, 0);
    assert_eq!(summary.sides[1].last.map(|a| a.frame), Some(7));
    assert!(summary.syn_seen);
    assert_eq!(summary.close.how, CloseHow::Fin);
}

#[test]
fn syn_with_data_delivers_the_data() {
    let pkts = [c(100, 0, S, "tfo"), s(900, 104, S | A, "")];
    let (_, rec) = run(&pkts);
    assert_eq!(rec.stream(0, Side::Orig), "tfo");
}

#[test]
fn synack_and_fin_retransmissions_are_counted() {
    let pkts = [
        c(100, 0, S, ""),
        s(900, 101, S | A, ""),
        s(900, 101, S | A, ""),
        c(101, 901, A, ""),
        c(101, 901, F | A, ""),
        c(101, 901, F | A, ""),
        s(901, 102, F | A, ""),
    ];
    let (_, rec) = run(&pkts);
    let summary = rec.summary(0);
    assert_eq!(summary.retransmissions, 2);
    // Zeek's T letter is for data retransmissions only.
    assert_eq!(summary.history, "ShAFf");
    assert_eq!(summary.missing_bytes, 0);
    let fins = rec
        .events(0)
        .iter()
        .filter(|(_, e, _)| *e == TcpEvent::Fin)
        .count();
    assert_eq!(fins, 2);
}

#[test]
fn both_directions_reassemble_independently() {
    let pkts = [
        c(100, 0, S, ""),
        s(900, 101, S | A, ""),
        c(105, 901, P | A, "EFGH"),
        s(905, 101, P | A, "efgh"),
        c(101, 901, P | A, "ABCD"),
        s(901, 101, P | A, "abcd"),
        c(109, 909, F | A, ""),
        s(909, 110, F | A, ""),
    ];
    let (_, rec) = run(&pkts);
    assert_eq!(rec.stream(0, Side::Orig), "ABCDEFGH|");
    assert_eq!(rec.stream(0, Side::Resp), "abcdefgh|");
    let summary = rec.summary(0);
    assert_eq!((summary.sides[0].bytes, summary.sides[1].bytes), (8, 8));
    assert_eq!(summary.state, "SF");
}

#[test]
fn syn_then_rst_without_answer_is_rstos0() {
    let (_, rec) = run(&[c(100, 0, S, ""), c(101, 0, R, "")]);
    let summary = rec.summary(0);
    assert_eq!(
        (summary.state.as_str(), summary.history.as_str()),
        ("RSTOS0", "SR")
    );
    assert_eq!(summary.close.how, CloseHow::Rst);
}

/// Checks what any sequence of segments must give: every flow opened is closed once; per side,
/// delivered plus gapped bytes equal the summary's byte count and gaps equal the missing
/// bytes; at most one FIN per side and nothing delivered after it.
#[derive(Default)]
struct Checker {
    opened: Vec<u32>,
    closed: Vec<u32>,
    /// Per (flow, side): bytes, gap bytes, FIN reported.
    sides: std::collections::HashMap<(u32, Side), (u64, u64, bool)>,
    problems: Vec<String>,
}

impl FlowSink for Checker {
    fn open(&mut self, flow: &FlowOpen) {
        self.opened.push(flow.id.0);
    }
    fn data(&mut self, id: FlowId, side: Side, data: &[u8], _at: At) {
        let entry = self.sides.entry((id.0, side)).or_default();
        if entry.2 {
            self.problems
                .push(format!("flow {} {side:?}: data after FIN", id.0));
        }
        entry.0 += data.len() as u64;
    }
    fn gap(&mut self, id: FlowId, side: Side, len: u64, _at: At) {
        let entry = self.sides.entry((id.0, side)).or_default();
        if entry.2 {
            self.problems
                .push(format!("flow {} {side:?}: gap after FIN", id.0));
        }
        entry.0 += len;
        entry.1 += len;
    }
    fn tcp_event(&mut self, id: FlowId, side: Side, event: TcpEvent, _at: At) {
        if event == TcpEvent::Fin {
            let entry = self.sides.entry((id.0, side)).or_default();
            if entry.2 {
                self.problems
                    .push(format!("flow {} {side:?}: second FIN", id.0));
            }
            entry.2 = true;
        }
    }
    fn closed(&mut self, id: FlowId, summary: TcpSummary) {
        self.closed.push(id.0);
        let mut missing = 0;
        for side in [Side::Orig, Side::Resp] {
            let (bytes, gaps, _) = self.sides.get(&(id.0, side)).copied().unwrap_or_default();
            missing += gaps;
            if summary.sides[side.index()].bytes != bytes {
                self.problems
                    .push(format!("flow {} {side:?}: byte count", id.0));
            }
        }
        if summary.missing_bytes != missing {
            self.problems.push(format!("flow {}: missing bytes", id.0));
        }
    }
}

#[test]
fn random_segment_sequences_keep_the_sink_contract() {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let flag_choices = [S, S | A, A, P | A, F | A, R, R | A, F, A, P | A];
    for _round in 0..300 {
        let mut table = FlowTable::new(FlowLimits {
            max_buffered_per_side: 2000,
            max_holes: 3,
        });
        let mut checker = Checker::default();
        let mut last = [1000u32, 5000u32];
        for frame in 1..200u64 {
            let r = next();
            let from_client = r & 1 == 0;
            let (me, peer) = if from_client { (0, 1) } else { (1, 0) };
            let step = (r >> 8) % 100;
            let seq = last[me].wrapping_add(step as u32).wrapping_sub(30);
            let len = ((r >> 20) % 40) as usize;
            let payload = vec![b'x'; len];
            last[me] = seq.wrapping_add(len as u32);
            let ack = last[peer]
                .wrapping_add(((r >> 30) % 60) as u32)
                .wrapping_sub(20);
            let (src, dst) = if from_client {
                (CLIENT, SERVER)
            } else {
                (SERVER, CLIENT)
            };
            let seg = TcpSegment {
                src: src.0,
                dst: dst.0,
                src_port: src.1,
                dst_port: dst.1,
                seq,
                ack,
                flags: TcpFlags(flag_choices[((r >> 40) % 10) as usize]),
                window: if r % 29 == 0 { 0 } else { 500 },
                payload: &payload,
                missing_payload: if r % 31 == 0 { 7 } else { 0 },
            };
            let time_ns = frame as i64 * (((r >> 50) % 5) as i64 + 1) * 1_000_000;
            table.on_segment(at(frame, time_ns), &seg, &mut checker);
        }
        table.finish(&mut checker);
        let mut closed = checker.closed.clone();
        closed.sort_unstable();
        assert_eq!(checker.opened, closed, "every flow closed once");
        assert!(checker.problems.is_empty(), "{:?}", checker.problems);
    }
}
