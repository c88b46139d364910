//! `tcp.stream` numbering, port reuse and orientation.

use super::*;

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

/// A SYN with sequence 100 refused by a RST, then a SYN with `second_isn`, refused too.
fn refused_twice(second_isn: u32) -> [Pkt; 4] {
    [
        c(100, 0, S, ""),
        s(0, 101, R | A, ""),
        c(second_isn, 0, S, ""),
        s(0, second_isn + 1, R | A, ""),
    ]
}

#[test]
fn syn_after_rst_with_new_sequence_starts_a_new_stream() {
    let (streams, rec) = run(&refused_twice(200));
    assert_eq!(streams, [0, 0, 1, 1]);
    assert_eq!(rec.summary(0).state, "REJ");
    assert_eq!(rec.summary(1).state, "REJ");
}

#[test]
fn syn_retransmission_after_rst_stays_in_the_stream() {
    let (streams, rec) = run(&refused_twice(100));
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
    // SYN, SYN-ACK and ACK, then `rest`.
    let established = |rest: &[Pkt]| {
        let handshake = [c(1, 0, S, ""), s(9, 2, S | A, ""), c(2, 10, A, "")];
        [&handshake[..], rest].concat()
    };
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
            established(&[c(2, 10, R | A, "")]),
            "RSTO",
            "ShAR",
        ),
        (
            "responder aborts",
            established(&[c(2, 10, P | A, "x"), s(10, 3, R | A, "")]),
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
