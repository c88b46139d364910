//! Boundaries of the TCP rules (issue 12: tests that can fail).

use crate::common::Side;
use crate::conn::Connection;
use crate::detect::test_support::*;
use crate::flow::TcpEvent;

fn handshake() -> Connection {
    let mut c = conn();
    tcp(&mut c, 1, 0, Side::Orig, TcpEvent::Syn);
    tcp(&mut c, 2, 1, Side::Resp, TcpEvent::SynAck);
    c
}

#[test]
fn of_two_equal_stalls_the_first_reopened_one_is_named() {
    // zero_window: a 3 s stall that reopened (frames 5-6), then a 3 s stall until the end of
    // the capture (frame 7): the longest is named, the first on a tie.
    let mut c = handshake();
    tcp(&mut c, 5, 1_000, Side::Resp, TcpEvent::ZeroWindow);
    tcp(&mut c, 6, 4_000, Side::Resp, TcpEvent::WindowOpened);
    tcp(&mut c, 7, 5_000, Side::Resp, TcpEvent::ZeroWindow);
    let f = findings_under(&c, 8_000, &crate::detect::RuleBook::builtin());
    let hit = f.iter().find(|f| f.rule == "zero_window");
    assert!(
        hit.is_some_and(|h| h.evidence.iter().map(|e| e.at.frame).collect::<Vec<_>>() == [5, 6]),
        "{f:#?}"
    );
}

/// `retransmissions` retransmissions among `packets` packets, no other event.
fn retransmitted(retransmissions: u64, packets: u64) -> Connection {
    let mut c = handshake();
    c.tcp.retransmissions = retransmissions;
    c.tcp.sides[0].packets = packets / 2;
    c.tcp.sides[1].packets = packets - packets / 2;
    c
}

#[test]
fn retransmissions_are_worth_mentioning_from_half_a_percent() {
    // tcp_retransmissions: info_rate = 0.005 of all packets.
    let f = findings(&retransmitted(5, 1_000));
    let hit = f.iter().find(|f| f.rule == "tcp_retransmissions");
    assert!(
        hit.is_some_and(|h| h.title == "5 TCP retransmission(s) (0.5% of packets)"),
        "{f:#?}"
    );
    assert!(!rules_fired(&retransmitted(4, 1_000)).contains(&"tcp_retransmissions"));
}

#[test]
fn resends_of_the_server_after_its_packet_too_big_are_not_loss() {
    // RFC 8201 §4 (IPv6 packet too big, type 2): the server's resends at the smaller size are
    // path MTU discovery, whichever side does it.
    let mut c = retransmitted(3, 20);
    icmp_then_resends(&mut c, Side::Resp, (true, 2, 0), 1_200);
    assert!(!rules_fired(&c).contains(&"tcp_retransmissions"));
}

#[test]
fn icmp_codes_name_their_kind_of_unreachable() {
    // RFC 792 (type 3 codes 1, 7, 12) and RFC 4443 §3.1 (type 1 code 3): the host is
    // unreachable; the other kinds have their own texts.
    let title = |v6: bool, icmp_type: u8, code: u8| {
        findings(&syn_then_icmp(v6, icmp_type, code))
            .into_iter()
            .find(|f| f.rule == "icmp_unreachable")
            .map(|f| f.title)
            .unwrap_or_default()
    };
    for (v6, icmp_type, code) in [(false, 3, 1), (false, 3, 7), (false, 3, 12), (true, 1, 3)] {
        let t = title(v6, icmp_type, code);
        assert!(t.contains("host unreachable"), "{code}: {t}");
    }
    assert!(title(false, 3, 3).contains("port unreachable"));
}

#[test]
fn only_the_servers_acknowledging_side_captured_is_one_sided() {
    // capture_one_sided, mirrored: a capture filter on the broker's packets only. The server's
    // ACKs moved forward over 120 bytes of the client's sequence space (RFC 9293 §3.4), so the
    // client's packets existed; the capture missed them.
    let mut c = conn();
    tcp(&mut c, 2, 1, Side::Resp, TcpEvent::SynAck);
    tcp(&mut c, 9, 3_000, Side::Resp, TcpEvent::Fin);
    c.tcp.sides[0].packets = 0;
    c.tcp.sides[1].packets = 5;
    c.tcp.sides[1].peer_seq_acked = 120;
    let f = findings(&c);
    let hit = f.iter().find(|f| f.rule == "capture_one_sided");
    assert!(
        hit.is_some_and(|h| h.title
            == "Only the server's side of this connection is in the capture"
            && h.detail
                .contains("5 packets from the server (10.0.0.1:1883)")
            && h.detail.contains("acknowledged 120 bytes of the client's")),
        "{f:#?}"
    );
}

#[test]
fn a_stall_still_open_at_the_end_outranks_a_shorter_reopened_one() {
    // zero_window: a 2.5 s stall that reopened (frames 5-6), then one from frame 7 that lasts
    // 6 s to the end of the capture: the longest is what the text names (RFC 9293 §3.8.6.1:
    // the reader stopped for 6 s, not 2.5 s).
    let mut c = handshake();
    tcp(&mut c, 5, 1_000, Side::Resp, TcpEvent::ZeroWindow);
    tcp(&mut c, 6, 3_500, Side::Resp, TcpEvent::WindowOpened);
    tcp(&mut c, 7, 4_000, Side::Resp, TcpEvent::ZeroWindow);
    let f = findings_under(&c, 10_000, &crate::detect::RuleBook::builtin());
    let hit = f.iter().find(|f| f.rule == "zero_window");
    assert!(
        hit.is_some_and(
            |h| h.title == "The server stopped reading for 6.000 s (zero window)"
                && h.detail.contains("had not opened it again")
                && h.evidence.iter().map(|e| e.at.frame).collect::<Vec<_>>() == [7]
        ),
        "{f:#?}"
    );
}

#[test]
fn icmp_network_codes_say_there_is_no_route() {
    // RFC 792 type 3 code 0 (net unreachable), RFC 1122 §3.2.2.1 codes 6 (destination network
    // unknown) and 11 (network unreachable for TOS), RFC 4443 §3.1 type 1 code 0 (no route to
    // destination): a router has no route to the broker's network.
    for (v6, icmp_type, code) in [(false, 3, 0), (false, 3, 6), (false, 3, 11), (true, 1, 0)] {
        let f = findings(&syn_then_icmp(v6, icmp_type, code));
        let hit = f.iter().find(|f| f.rule == "icmp_unreachable");
        assert!(
            hit.is_some_and(|h| h.title.starts_with("No route to the broker's network")
                && h.title.contains("network unreachable")),
            "{v6} {code}: {f:#?}"
        );
    }
}

#[test]
fn an_icmp_error_points_at_the_packet_it_answers_and_at_itself() {
    // icmp_unreachable evidence: the client's first packet (its SYN, frame 1) comes before the
    // ICMP error that answers it (frame 2, RFC 792: the error quotes the offending datagram);
    // both are named, each once.
    let f = findings(&syn_then_icmp(false, 3, 1));
    let frames: Vec<u64> = f
        .iter()
        .find(|f| f.rule == "icmp_unreachable")
        .map(|h| h.evidence.iter().map(|e| e.at.frame).collect())
        .unwrap_or_default();
    assert_eq!(frames, [1, 2], "{f:#?}");
}

#[test]
fn a_syn_unanswered_for_exactly_the_minimum_wait_is_reported() {
    // syn_unanswered: no finding *below* min_wait_s = 1.0 (rules/tcp.toml: "less than this
    // after the first SYN"); a capture that went on exactly 1 s after the SYN is enough.
    let mut c = conn();
    tcp(&mut c, 1, 0, Side::Orig, TcpEvent::Syn);
    c.tcp.sides[1].packets = 0;
    assert_eq!(rules_fired_until(&c, 1_000), ["syn_unanswered"]);
    assert!(rules_fired_until(&c, 999).is_empty());
}

#[test]
fn of_two_reopened_stalls_the_longer_is_named_even_when_it_comes_second() {
    // zero_window: the client stopped reading for 1 s (frames 5-6, ordinary flow control under
    // min_stall_s = 2.0), then for 3 s (frames 7-8); the longest stall is the one the text names
    // (RFC 9293 §3.8.6.1: the reader was stuck for 3 s), whatever its place.
    let mut c = handshake();
    tcp(&mut c, 5, 1_000, Side::Orig, TcpEvent::ZeroWindow);
    tcp(&mut c, 6, 2_000, Side::Orig, TcpEvent::WindowOpened);
    tcp(&mut c, 7, 3_000, Side::Orig, TcpEvent::ZeroWindow);
    tcp(&mut c, 8, 6_000, Side::Orig, TcpEvent::WindowOpened);
    let f = findings_under(&c, 9_000, &crate::detect::RuleBook::builtin());
    let hit = f.iter().find(|f| f.rule == "zero_window");
    assert!(
        hit.is_some_and(
            |h| h.title == "The client stopped reading for 3.000 s (zero window)"
                && h.evidence.iter().map(|e| e.at.frame).collect::<Vec<_>>() == [7, 8]
        ),
        "{f:#?}"
    );
}

/// After the handshake, the client's last packet at frame 9 (0.9 s), then the server's
/// retransmissions of 20 bytes at the given frames and times, nothing more from the client.
fn server_retransmits(tries: &[(u64, i64)]) -> Connection {
    let mut c = handshake();
    c.tcp.sides[0].last = Some(at(9, 900));
    for &(frame, ms) in tries {
        tcp(
            &mut c,
            frame,
            ms,
            Side::Resp,
            TcpEvent::Retransmission { len: 20 },
        );
    }
    c
}

#[test]
fn exactly_the_minimum_of_retransmissions_into_silence_is_an_unresponsive_peer() {
    // peer_unresponsive: "at least min_retransmissions tries" (its doc comment; 3.0 in
    // rules/tcp.toml): three tries into 9 s of silence (over min_silence_s = 5.0) are enough,
    // two are not, however long the silence after them.
    let book = crate::detect::RuleBook::builtin();
    let three = server_retransmits(&[(20, 1_000), (21, 2_000), (22, 4_000)]);
    let f = findings_under(&three, 10_000, &book);
    let hit = f.iter().find(|f| f.rule == "peer_unresponsive");
    assert!(
        hit.is_some_and(|h| h.title
            == "The client stopped answering: the server retransmitted 3 time(s) over 9.000 s"),
        "{f:#?}"
    );
    let two = server_retransmits(&[(20, 1_000), (21, 2_000)]);
    let f = findings_under(&two, 10_000, &book);
    assert!(!f.iter().any(|f| f.rule == "peer_unresponsive"), "{f:#?}");
}

#[test]
fn a_rst_after_the_last_retransmission_is_the_sender_giving_up() {
    // peer_unresponsive, variant gave_up: the server's RST (frame 23) comes after its last
    // retransmission (frame 22): its TCP ran out of retries and aborted the connection (RFC
    // 9293 §3.8.3: past R2 it closes the connection; §3.10.5: an abort sends a RST).
    let mut c = server_retransmits(&[(20, 1_000), (21, 2_000), (22, 4_000)]);
    tcp(&mut c, 23, 8_000, Side::Resp, TcpEvent::Rst);
    let f = findings_under(&c, 10_000, &crate::detect::RuleBook::builtin());
    let hit = f.iter().find(|f| f.rule == "peer_unresponsive");
    assert!(
        hit.is_some_and(|h| h.detail.contains("the server gave up with a RST")
            && h.evidence
                .iter()
                .any(|e| e.at.frame == 23 && e.note == "the server gives up (RST)")),
        "{f:#?}"
    );
}

#[test]
fn with_every_retransmission_worth_mentioning_none_is_still_nothing_to_report() {
    // tcp_retransmissions with an overlay (`--rules DIR`, rules/README.md) setting
    // info_rate = 0: any retransmitted segment is worth an info, but a connection without one
    // (0 of 20 packets), or whose only resends are path MTU discovery (RFC 1191 §6.5, not
    // loss), has no retransmission to report.
    let Ok(dir) = tempfile::tempdir() else {
        panic!("no temporary directory")
    };
    let rule = "[tcp_retransmissions]\nseverity = \"info\"\n\
                title = \"{count} TCP retransmission(s) ({percent}% of packets)\"\n\
                detail = \"D\"\nremedy = \"R\"\n\
                [tcp_retransmissions.thresholds]\ninfo_rate = 0.0\n";
    std::fs::write(dir.path().join("mine.toml"), rule).expect("overlay written");
    let book = crate::detect::RuleBook::builtin().with_dir(dir.path());
    let Ok(book) = book else { panic!("{book:?}") };
    let fired_under = |c: &Connection| {
        let end = (c.tcp.last.time_ns - T0_NS) / 1_000_000;
        findings_under(c, end, &book)
    };
    // The overlay is in force: a single retransmission among 20 packets is reported.
    let f = fired_under(&retransmitted(1, 20));
    assert!(
        f.iter()
            .any(|f| f.rule == "tcp_retransmissions" && f.title.starts_with("1 TCP")),
        "{f:#?}"
    );
    let f = fired_under(&retransmitted(0, 20));
    assert!(!f.iter().any(|f| f.rule == "tcp_retransmissions"), "{f:#?}");
    let mut pmtud = retransmitted(3, 20);
    icmp_then_resends(&mut pmtud, Side::Orig, (false, 3, 4), 1_200);
    let f = fired_under(&pmtud);
    assert!(!f.iter().any(|f| f.rule == "tcp_retransmissions"), "{f:#?}");
}

#[test]
fn the_silence_of_a_peer_ends_where_the_sender_gave_up() {
    // peer_unresponsive: the silence runs from the first retransmission to the sender's RST,
    // not over the linger the engine watches a reset record for. Retries over 0.6 s and a RST
    // at 2 s are 1 s of silence, under min_silence_s = 5.0, however late the capture ends.
    let book = crate::detect::RuleBook::builtin();
    let mut quick = server_retransmits(&[(20, 1_000), (21, 1_200), (22, 1_600)]);
    tcp(&mut quick, 23, 2_000, Side::Resp, TcpEvent::Rst);
    let f = findings_under(&quick, 7_000, &book);
    assert!(!f.iter().any(|f| f.rule == "peer_unresponsive"), "{f:#?}");
    // Given up after 7 s of silence: the span is those 7 s, not the 9 s to the capture's end.
    let mut slow = server_retransmits(&[(20, 1_000), (21, 2_000), (22, 4_000)]);
    tcp(&mut slow, 23, 8_000, Side::Resp, TcpEvent::Rst);
    let f = findings_under(&slow, 10_000, &book);
    assert!(
        f.iter()
            .any(|f| f.rule == "peer_unresponsive" && f.title.ends_with("3 time(s) over 7.000 s")),
        "{f:#?}"
    );
}
