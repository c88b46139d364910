//! MQTT 3.1, 3.1.1 and 5.0: a zero-copy decoder that keeps every field (reserved codes and
//! unknown properties included) and records violations instead of failing, and per-connection
//! state.
//!
//! - [`parser`]: framing on the fixed header ([`parser::frame`]) and packet decoding
//!   ([`parser::parse_packet`]), pure functions over `&[u8]`; bodies in `body`, properties in
//!   [`properties`].
//! - [`reason`]: names of return and reason codes.
//! - [`mod@sniff`]: is this direction MQTT? ([`sniff::sniff`]).
//! - [`state`]: the per-connection session ([`MqttSession`]) and its [`MqttEvent`]s.
//! - [`message`]: the plain-data summary other stages read.
//!
//! Decisions worth knowing:
//! - Packet type names are tshark's (`mqtt.msgtype`): type 0, and type 15 before 5.0, count as
//!   `RESERVED`.
//! - A 5.0 DISCONNECT of remaining length 0 is recorded with `reason_code: None` (absent on the
//!   wire); MQTT 5.0 §3.14.2.1 reads it as 0x00 normal disconnection.
//! - 3.x CONNACK code 0 is named `success` like 5.0's; the refusals keep the 3.1.1 names
//!   (`unacceptable_protocol_version`, `identifier_rejected`, ...).
//! - Without CONNECT the version is guessed: a v5-only layout (CONNACK longer than 2, DISCONNECT
//!   with a reason, AUTH) locks 5.0; otherwise 3.1.1, switched to 5.0 (and back) when only the
//!   other layout decodes a packet cleanly. tshark decodes such captures as 3.1.1, so a 5.0
//!   PUBLISH seen mid-stream has a payload one byte shorter here (the property length).
//! - A packet counts when its last byte arrives (the frame tshark shows it in); one cut by a gap
//!   in its skipped body still counts, one cut by the end of the stream is `Unfinished`.

mod body;
#[cfg(test)]
mod corpus_tests;
pub(crate) mod event;
#[cfg(test)]
mod fixtures;
pub(crate) mod message;
pub(crate) mod packet;
pub(crate) mod parser;
#[cfg(test)]
mod parser_tests;
pub(crate) mod properties;
mod reader;
pub(crate) mod reason;
pub(crate) mod sniff;
pub(crate) mod state;
#[cfg(test)]
mod tables_tests;

pub(crate) use event::MqttEvent;
pub(crate) use parser::{Framing, Version, frame, parse_packet};
pub(crate) use sniff::sniff;
pub(crate) use state::MqttSession;

/// Fuzz entry point: frames and decodes arbitrary bytes as every version, then feeds them to a
/// session in uneven pieces from both sides. Must never panic.
pub fn fuzz_bytes(data: &[u8]) {
    use crate::common::{At, Side};
    let _ = frame(data);
    for version in [Version::V3_1, Version::V3_1_1, Version::V5] {
        let _ = parse_packet(data, version);
    }
    let _ = sniff(data);
    let mut session = MqttSession::new();
    let mut out = Vec::new();
    let mut rest = data;
    let mut step = 0usize;
    while !rest.is_empty() {
        // Piece sizes taken from the data itself so the fuzzer explores splits too.
        let first = rest.first().copied().unwrap_or(0);
        let len = (usize::from(first) % 17 + 1).min(rest.len());
        let (piece, tail) = rest.split_at(len);
        let side = if step % 3 == 2 {
            Side::Resp
        } else {
            Side::Orig
        };
        let at = At {
            frame: step as u64,
            time_ns: 0,
        };
        if first == 0xff {
            session.on_gap(side, u64::from(len as u32), at, &mut out);
        } else {
            session.on_data(side, piece, at, &mut out);
        }
        rest = tail;
        step += 1;
    }
    session.on_close(Side::Orig, At::default(), &mut out);
    session.on_close(Side::Resp, At::default(), &mut out);
    let _ = session.summary();
}
