//! Boundaries of the shared facts (issue 12: tests that can fail).

use super::*;
use crate::detect::test_support::*;

#[test]
fn durations_switch_to_one_decimal_at_ten_seconds() {
    assert_eq!(duration_text(0.25), "250 ms");
    assert_eq!(duration_text(9.9994), "9.999 s");
    assert_eq!(duration_text(10.0), "10.0 s");
}

#[test]
fn a_connection_seen_mid_stream_is_up_only_if_both_sides_sent() {
    // No SYN captured (mid-stream): data both ways implies the handshake happened.
    let mut c = conn();
    assert!(transport_up(&c));
    c.tcp.sides[1].packets = 0;
    assert!(!transport_up(&c));
}

#[test]
fn a_reset_answering_a_connection_seen_mid_stream_is_no_refused_connection() {
    // is_syn: connection_refused is a SYN answered by a RST (RFC 9293 §3.10.7.2). Here the
    // capture starts mid-stream: the client's first captured segment is a FIN, the server
    // answers with a RST. No SYN was seen, so nothing says a connection attempt was refused.
    use crate::common::Side;
    use crate::flow::TcpEvent;
    let mut c = conn();
    tcp(&mut c, 3, 0, Side::Orig, TcpEvent::Fin);
    tcp(&mut c, 4, 1, Side::Resp, TcpEvent::Rst);
    let fired = rules_fired(&c);
    assert!(!fired.contains(&"connection_refused"), "{fired:?}");
    // The same RST right after the client's SYN is one.
    let mut c = conn();
    tcp(&mut c, 1, 0, Side::Orig, TcpEvent::Syn);
    tcp(&mut c, 2, 1, Side::Resp, TcpEvent::Rst);
    let fired = rules_fired(&c);
    assert!(fired.contains(&"connection_refused"), "{fired:?}");
}

#[test]
fn is_packet_agrees_with_the_search_by_name() {
    // is_packet compares one name where packet_type searches them all: the same answer for
    // every decoder name (MQTT 5.0 §2.1.2's types 1 to 15) and for names of no type.
    let names: Vec<&str> = (0..=15u8)
        .map(|n| PacketType::from_first_byte(n << 4).name(Version::V5))
        .chain(["RESERVED", "", "connect"])
        .collect();
    let mut matched = 0;
    for name in &names {
        for n in 1..=15u8 {
            let t = PacketType::from_first_byte(n << 4);
            let same = packet_type(name) == Some(t);
            assert_eq!(is_packet(name, t), same, "{name} as {t:?}");
            matched += usize::from(same);
        }
    }
    assert_eq!(matched, 15, "each type is found by its own name");
}
