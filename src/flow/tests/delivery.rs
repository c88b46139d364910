//! Delivery order, gaps, retransmissions, close and Zeek states.

use super::*;

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
    let pkts = handshake_then([
        c(101, 901, P | A, "abcd"),
        c(101, 901, P | A, "abcd"),
        c(103, 901, P | A, "XXef"),
    ]);
    let (_, rec) = run(&pkts);
    assert_eq!(rec.stream(0, Side::Orig), "abcdef");
    let summary = rec.summary(0);
    assert_eq!(summary.retransmissions, 2);
    assert_eq!(summary.sides[0].bytes, 6);
    assert!(summary.history.contains('T'));
}

#[test]
fn hole_acked_by_the_peer_becomes_a_gap() {
    let pkts = handshake_then([
        c(101, 901, P | A, "ab"),
        c(105, 901, P | A, "ef"),
        s(901, 107, A, ""),
        c(107, 901, P | A, "gh"),
    ]);
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
    let pkts = handshake_then([c(101, 901, P | A, "ab"), s(901, 113, A, "")]);
    let (_, rec) = run(&pkts);
    assert_eq!(rec.stream(0, Side::Orig), "ab<10>");
}

#[test]
fn fin_after_a_hole_waits_for_the_data_or_the_ack() {
    // The FIN arrives before a retransmission fills the hole: the data still gets through and
    // the FIN is reported after it.
    let pkts = handshake_then([
        c(101, 901, P | A, "ab"),
        c(105, 901, F | A, "ef"),
        c(103, 901, P | A, "cd"),
    ]);
    let (_, rec) = run(&pkts);
    assert_eq!(rec.stream(0, Side::Orig), "abcdef|");
    let fin = rec
        .events(0)
        .into_iter()
        .find(|(_, e, _)| *e == TcpEvent::Fin);
    // Reported at the FIN's own frame.
    assert_eq!(fin, Some((Side::Orig, TcpEvent::Fin, 4)));

    // When the peer acknowledges the FIN, the hole is lost.
    let pkts = handshake_then([
        c(101, 901, P | A, "ab"),
        c(105, 901, F | A, "ef"),
        s(901, 108, A, ""),
    ]);
    let (_, rec) = run(&pkts);
    assert_eq!(rec.stream(0, Side::Orig), "ab<2>ef|");
}

#[test]
fn rst_after_a_hole_declares_it_lost() {
    let pkts = handshake_then([
        c(101, 901, P | A, "ab"),
        c(105, 901, P | A, "ef"),
        c(107, 901, R, ""),
    ]);
    let (_, rec) = run(&pkts);
    assert_eq!(rec.stream(0, Side::Orig), "ab<2>ef");
    let close = rec.summary(0).close;
    assert_eq!(
        (close.how, close.by, close.at.map(|a| a.frame)),
        (CloseHow::Rst, Some(Side::Orig), Some(5))
    );
}

#[test]
fn a_rst_answering_a_fin_leaves_the_fin_as_the_close() {
    let pkts = handshake_then([
        c(101, 901, A, ""),
        c(101, 901, F | A, ""),
        s(901, 102, R | A, ""),
    ]);
    let (_, rec) = run(&pkts);
    let close = rec.summary(0).close;
    assert_eq!((close.how, close.by), (CloseHow::Fin, Some(Side::Orig)));
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
    let pkts = handshake_then([
        c(101, 901, P | A, "abcd"),
        s(901, 105, A, ""),
        c(104, 901, A, ""),
        c(104, 901, A, "d"),
    ]);
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
    let pkts = handshake_then([
        c(101, 901, A, ""),
        s(901, 101, A, "").window(0),
        c(101, 901, A, "a"),
        c(101, 901, A, "a"),
        s(901, 101, A, "").window(100),
        c(101, 901, A, "abcd"),
    ]);
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
    let pkts = handshake_then([
        c(101, 901, P | A, "ab").missing(6),
        c(109, 901, P | A, "xy"),
    ]);
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
fn acknowledged_peer_sequence_space_is_summed_per_side() {
    // Client: first ACK acknowledges the SYN-ACK (si + 1), last the server's FIN (si + 2).
    let (_, rec) = run(&full_connection(100, 900));
    let summary = rec.summary(0);
    assert_eq!(summary.sides[0].peer_seq_acked, 1);
    // Server: from the SYN (ci + 1) to the FIN (ci + 6): 4 bytes and the FIN.
    assert_eq!(summary.sides[1].peer_seq_acked, 5);
    // The client's packets alone (a one-sided capture) still show what the server sent,
    // across sequence wrap-around.
    let si = u32::MAX - 1;
    let client_only = [
        c(100, 0, S, ""),
        c(101, si.wrapping_add(1), A, ""),
        c(101, si.wrapping_add(1), P | A, "abcd"),
        c(105, si.wrapping_add(2), F | A, ""),
    ];
    let (_, rec) = run(&client_only);
    let summary = rec.summary(0);
    assert_eq!(summary.sides[1].packets, 0);
    assert_eq!(summary.sides[0].peer_seq_acked, 1);
}

#[test]
fn syn_with_data_delivers_the_data() {
    let pkts = [c(100, 0, S, "tfo"), s(900, 104, S | A, "")];
    let (_, rec) = run(&pkts);
    assert_eq!(rec.stream(0, Side::Orig), "tfo");
}

#[test]
fn synack_and_fin_retransmissions_are_counted() {
    let pkts = handshake_then([
        s(900, 101, S | A, ""),
        c(101, 901, A, ""),
        c(101, 901, F | A, ""),
        c(101, 901, F | A, ""),
        s(901, 102, F | A, ""),
    ]);
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
    let pkts = handshake_then([
        c(105, 901, P | A, "EFGH"),
        s(905, 101, P | A, "efgh"),
        c(101, 901, P | A, "ABCD"),
        s(901, 101, P | A, "abcd"),
        c(109, 909, F | A, ""),
        s(909, 110, F | A, ""),
    ]);
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
