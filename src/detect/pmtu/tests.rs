//! `pmtu_blackhole` thresholds and path MTU discovery resends (issue 12: tests that can fail).

use crate::common::Side;
use crate::conn::Connection;
use crate::detect::test_support::*;
use crate::flow::TcpEvent;

/// A plain connection whose client sent 5000 bytes of which the server acknowledged 2000 (its
/// SYN-ACK's 1 then bytes: `peer_seq_acked` 2001), then retransmitted `lens` from frame 10.
fn retransmitting(lens: &[u32]) -> Connection {
    let mut c = conn();
    tcp(&mut c, 1, 0, Side::Orig, TcpEvent::Syn);
    tcp(&mut c, 2, 1, Side::Resp, TcpEvent::SynAck);
    c.tcp.sides[0].bytes = 5_000;
    c.tcp.sides[1].peer_seq_acked = 2_001;
    for (i, &len) in lens.iter().enumerate() {
        let i = i as u64;
        tcp(
            &mut c,
            10 + i,
            200 * (i as i64 + 1),
            Side::Orig,
            TcpEvent::Retransmission { len },
        );
    }
    c
}

fn blackhole(c: &Connection) -> bool {
    findings(c)
        .iter()
        .any(|f| f.rule == "pmtu_blackhole" || f.merged.contains(&"pmtu_blackhole"))
}

#[test]
fn three_full_size_retransmissions_are_a_blackhole_two_are_not() {
    // min_retransmissions = 3, min_segment = 1000 (RFC 2923 §2.1).
    let c = retransmitting(&[1_400, 1_400, 1_400]);
    let f = findings(&c);
    let hit = f.iter().find(|f| f.rule == "pmtu_blackhole");
    assert!(
        hit.is_some_and(|h| h.title.contains("1400-byte")
            && h.evidence.iter().map(|e| e.at.frame).collect::<Vec<_>>() == [10, 12]),
        "{f:#?}"
    );
    assert!(!blackhole(&retransmitting(&[1_400, 1_400])));
}

#[test]
fn small_retransmissions_are_loss_not_a_blackhole() {
    // 999 bytes is under min_segment: not a full-size segment.
    assert!(blackhole(&retransmitting(&[1_000, 1_000, 1_000])));
    assert!(!blackhole(&retransmitting(&[999, 999, 999])));
}

#[test]
fn a_segment_larger_than_what_is_outstanding_was_acknowledged() {
    // 3000 bytes outstanding: a 3001-byte segment cannot be among them.
    assert!(blackhole(&retransmitting(&[3_000, 3_000, 3_000])));
    assert!(!blackhole(&retransmitting(&[3_001, 3_001, 3_001])));
}

#[test]
fn resends_after_a_fragmentation_needed_icmp_are_not_loss() {
    // RFC 1191 §6.5: after ICMP type 3 code 4 the sender resends smaller: path MTU discovery.
    let mut c = conn();
    tcp(&mut c, 1, 0, Side::Orig, TcpEvent::Syn);
    tcp(&mut c, 2, 1, Side::Resp, TcpEvent::SynAck);
    icmp_then_resends(&mut c, Side::Orig, (false, 3, 4), 500);
    c.tcp.retransmissions = 3;
    c.tcp.sides[0].packets = 10;
    c.tcp.sides[1].packets = 10;
    assert!(!rules_fired(&c).contains(&"tcp_retransmissions"));
    // The same resends without the ICMP are loss (3 of 20 packets).
    c.events
        .retain(|e| !matches!(e.kind, crate::conn::EventKind::Tcp(TcpEvent::Icmp { .. })));
    assert!(rules_fired(&c).contains(&"tcp_retransmissions"));
}
