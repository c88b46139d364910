//! Tests of the direction module.

use super::*;

fn flags(bits: u8) -> TcpFlags {
    TcpFlags(bits)
}
const A: u8 = TcpFlags::ACK;
const S: u8 = TcpFlags::SYN;
const F: u8 = TcpFlags::FIN;

#[test]
fn sequence_comparison_wraps() {
    assert!(seq_lt(1, 2));
    assert!(seq_lt(u32::MAX, 0));
    assert!(!seq_lt(0, u32::MAX));
    assert!(!seq_lt(5, 5));
}

#[test]
fn classification_follows_wireshark() {
    let ms = 1_000_000;
    // (seq, flags, len, peer window zero, time in ms, expected)
    let steps: &[(u32, u8, u32, bool, i64, SegmentKind)] = &[
        (100, S, 0, false, 0, SegmentKind::Normal),
        (100, S, 0, false, 1000, SegmentKind::Retransmission),
        (101, A, 10, false, 2000, SegmentKind::Normal),
        (101, A, 10, false, 3000, SegmentKind::Retransmission),
        // Keep-alive: zero or one byte at next - 1.
        (110, A, 0, false, 4000, SegmentKind::KeepAlive),
        (110, A, 1, false, 5000, SegmentKind::KeepAlive),
        // Jump ahead, then the hole filled right away: out of order.
        (121, A, 10, false, 6000, SegmentKind::Normal),
        (111, A, 10, false, 6001, SegmentKind::OutOfOrder),
        // Zero-window probe does not advance nextseq; a second probe is a probe again.
        (131, A, 1, true, 7000, SegmentKind::ZeroWindowProbe),
        (131, A, 1, true, 8000, SegmentKind::ZeroWindowProbe),
        (131, A, 5, false, 9000, SegmentKind::Normal),
        (136, F | A, 0, false, 10000, SegmentKind::Normal),
        (136, F | A, 0, false, 11000, SegmentKind::Retransmission),
    ];
    let mut d = Direction::default();
    for (i, &(seq, bits, len, zero, t, want)) in steps.iter().enumerate() {
        let peer = AckState {
            window: Some(if zero { 0 } else { 100 }),
            ..AckState::default()
        };
        let got = d.classify(
            header(seq, bits, len),
            &peer,
            t * ms,
            DEFAULT_OUT_OF_ORDER_NS,
        );
        assert_eq!(got, want, "step {i}");
    }
}

fn header(seq: u32, bits: u8, payload_len: u32) -> SegmentHeader {
    SegmentHeader {
        seq,
        ack: 0,
        flags: flags(bits),
        window: 100,
        payload_len,
    }
}

#[test]
fn data_the_peer_already_acknowledged_is_a_spurious_retransmission() {
    let mut d = Direction::default();
    let mut peer = AckState::default();
    d.classify(header(100, S, 0), &peer, 0, DEFAULT_OUT_OF_ORDER_NS);
    // The peer acknowledged bytes 101..111 that the capture never showed.
    peer.last_ack = Some(111);
    let kind = d.classify(header(101, A, 10), &peer, 1, DEFAULT_OUT_OF_ORDER_NS);
    assert_eq!(kind, SegmentKind::Retransmission);
    let kind = d.classify(header(111, A, 10), &peer, 2, DEFAULT_OUT_OF_ORDER_NS);
    assert_eq!(kind, SegmentKind::Normal);
}

#[test]
fn filler_after_duplicate_acks_is_a_fast_retransmission() {
    let ms = 1_000_000;
    let mut d = Direction::default();
    let mut peer = Direction::default();
    d.classify(header(100, A, 10), &peer.acks, 0, DEFAULT_OUT_OF_ORDER_NS);
    d.classify(header(120, A, 10), &peer.acks, ms, DEFAULT_OUT_OF_ORDER_NS);
    let ack = |n: u32| SegmentHeader {
        seq: 500,
        ack: 110,
        flags: flags(A),
        window: 100,
        payload_len: n,
    };
    for _ in 0..3 {
        peer.note_ack(ack(0), ms);
        peer.classify(ack(0), &d.acks, ms, DEFAULT_OUT_OF_ORDER_NS);
    }
    assert_eq!(peer.acks.dup_acks, 2);
    // Within the out-of-order threshold, but the duplicate ACKs make it a retransmission.
    let kind = d.classify(
        header(110, A, 10),
        &peer.acks,
        2 * ms,
        DEFAULT_OUT_OF_ORDER_NS,
    );
    assert_eq!(kind, SegmentKind::Retransmission);
}

#[test]
fn clip_trims_before_start_and_after_fin() {
    let data = b"abcdef";
    assert_eq!(
        clip(-2, Content::Data(data), None),
        Some((0, Content::Data(&b"cdef"[..])))
    );
    assert_eq!(clip(-6, Content::Data(data), None), None);
    assert_eq!(
        clip(2, Content::Data(data), Some(5)),
        Some((2, Content::Data(&b"abc"[..])))
    );
    assert_eq!(clip(5, Content::Data(data), Some(5)), None);
    assert_eq!(
        clip(3, Content::Missing(10), Some(8)),
        Some((3, Content::Missing(5)))
    );
}
