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
        let mut c = conn();
        tcp(&mut c, 1, 0, Side::Orig, TcpEvent::Syn);
        tcp(
            &mut c,
            2,
            1,
            Side::Orig,
            TcpEvent::Icmp {
                v6,
                icmp_type,
                code,
            },
        );
        c.tcp.sides[1].packets = 0;
        findings(&c)
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
