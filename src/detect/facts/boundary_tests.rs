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
