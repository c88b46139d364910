//! Tests of the tcp state module.

use super::*;

const S: u8 = TcpFlags::SYN;
const A: u8 = TcpFlags::ACK;
const F: u8 = TcpFlags::FIN;
const R: u8 = TcpFlags::RST;

/// `(side, flags, seq, payload length)`
type Packet = (Side, u8, u32, u32);

/// Plays packets and returns (conn_state, history).
fn play(packets: &[Packet], bytes: (u64, u64)) -> (&'static str, String) {
    let mut z = ZeekTracker::new();
    for &(side, flags, seq, len) in packets {
        z.on_segment(side, TcpFlags(flags), seq, len);
    }
    (z.conn_state(bytes.0, bytes.1), z.history().to_string())
}

use Side::{Orig as O, Resp as P};

/// (name, packets, payload bytes per side, conn_state, history)
type Case = (
    &'static str,
    &'static [Packet],
    (u64, u64),
    &'static str,
    &'static str,
);

/// Plays each case's packets after `prefix` and checks its conn_state and history.
fn check_cases(prefix: &[Packet], cases: &[Case]) {
    for (name, packets, bytes, state, history) in cases {
        let (got_state, got_history) = play(&[prefix, packets].concat(), *bytes);
        assert_eq!(got_state, *state, "{name}");
        assert_eq!(got_history, *history, "{name}");
    }
}

/// SYN (sequence 1), SYN+ACK (sequence 9), ACK: what the established cases start with.
const HANDSHAKE: [Packet; 3] = [(O, S, 1, 0), (P, S | A, 9, 0), (O, A, 2, 0)];

#[test]
fn classic_connection_states() {
    check_cases(
        &[],
        &[
            ("lone SYN", &[(O, S, 1, 0)], (0, 0), "S0", "S"),
            (
                "SYN answered by RST",
                &[(O, S, 1, 0), (P, R | A, 0, 0)],
                (0, 0),
                "REJ",
                "Sr",
            ),
            (
                "SYN then FIN, no answer",
                &[(O, S, 1, 0), (O, F, 2, 0)],
                (0, 0),
                "SH",
                "SF",
            ),
            (
                "SYN then RST, no answer",
                &[(O, S, 1, 0), (O, R, 2, 0)],
                (0, 0),
                "RSTOS0",
                "SR",
            ),
            (
                "SYN+ACK then RST from the responder, SYN missed",
                &[(P, S | A, 9, 0), (P, R, 10, 0)],
                (0, 0),
                "RSTRH",
                "hr",
            ),
            (
                "SYN+ACK then FIN from the responder",
                &[(P, S | A, 9, 0), (P, F | A, 10, 0)],
                (0, 0),
                "SHR",
                "hf",
            ),
            (
                "midstream data, not closed",
                &[(O, A, 100, 10), (P, A, 500, 0)],
                (10, 0),
                "OTH",
                "Da",
            ),
        ],
    );
}

#[test]
fn connection_states_after_the_handshake() {
    // The packets of each case follow the handshake.
    check_cases(
        &HANDSHAKE,
        &[
            (
                "normal establishment and termination",
                &[
                    (O, A, 2, 5),
                    (P, A, 10, 3),
                    (O, F | A, 7, 0),
                    (P, F | A, 13, 0),
                    (O, A, 8, 0),
                ],
                (5, 3),
                "SF",
                "ShADdFf",
            ),
            (
                "established, originator aborts",
                &[(O, R, 2, 0)],
                (0, 0),
                "RSTO",
                "ShAR",
            ),
            (
                "established, responder aborts",
                &[(P, R, 10, 0)],
                (0, 0),
                "RSTR",
                "ShAr",
            ),
            ("established, not terminated", &[], (0, 0), "S1", "ShA"),
            (
                "originator closes, no reply",
                &[(O, F | A, 2, 0)],
                (0, 0),
                "S2",
                "ShAF",
            ),
            (
                "responder closes, no reply",
                &[(P, F | A, 10, 0)],
                (0, 0),
                "S3",
                "ShAf",
            ),
            (
                "FIN exchange then RST stays SF",
                &[(O, F | A, 2, 0), (P, F | A, 10, 0), (O, R, 3, 0)],
                (0, 0),
                "SF",
                "ShAFfR",
            ),
        ],
    );
}

#[test]
fn repeated_syn_with_same_sequence_is_one_letter() {
    let (state, history) = play(&[(O, S, 1, 0), (O, S, 1, 0), (O, S, 1, 0)], (0, 0));
    assert_eq!((state, history.as_str()), ("S0", "S"));
}

#[test]
fn rst_with_new_sequence_adds_a_letter_again() {
    let (_, history) = play(&[(O, S, 1, 0), (P, R | A, 0, 0), (P, R | A, 5, 0)], (0, 0));
    assert_eq!(history, "Srr");
}

#[test]
fn multi_flag_packets_get_i_and_q() {
    let (_, history) = play(&[(O, S | F, 1, 0), (P, F | R, 1, 0)], (0, 0));
    assert_eq!(history, "Qi");
}

#[test]
fn scaled_letters_at_one_ten_hundred() {
    let mut z = ZeekTracker::new();
    for _ in 0..100 {
        z.on_retransmission(Side::Orig);
    }
    z.on_zero_window(Side::Resp);
    z.on_gap(Side::Resp);
    assert_eq!(z.history(), "TTTwg");
}

#[test]
fn history_is_capped() {
    let mut z = ZeekTracker::new();
    for seq in 0..1000 {
        z.on_segment(Side::Resp, TcpFlags(R), seq, 0);
    }
    assert_eq!(z.history().len(), MAX_HISTORY);
}

#[test]
fn syn_then_rst_pattern() {
    assert!(history_is_syn_then_rst("SR"));
    assert!(history_is_syn_then_rst("^SdR"));
    // Zeek's pattern is case-sensitive: the responder's letters do not stop it.
    assert!(history_is_syn_then_rst("ShR"));
    assert!(!history_is_syn_then_rst("SAR"));
    assert!(!history_is_syn_then_rst("DR"));
    assert!(!history_is_syn_then_rst("S"));
}
