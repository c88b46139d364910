//! Helpers shared by the session tests (`tests`) and the decryption tests (`decrypt_tests`):
//! positions, event kinds, hand-made records and fuzz inputs.

use super::*;
use crate::proto::tls::test_fixtures::{Conversation, unhex};

/// A position at `frame`, at time zero.
pub(super) fn at(frame: u64) -> At {
    At { frame, time_ns: 0 }
}

/// The side of a conversation's payload, the client being the originator.
pub(super) fn side_of(is_client: bool) -> Side {
    if is_client { Side::Orig } else { Side::Resp }
}

/// The `type` of each event as the JSON report names it.
pub(super) fn kinds(events: &[Timed<TlsEvent>]) -> Vec<String> {
    events
        .iter()
        .map(|e| {
            let json = serde_json::to_value(&e.event).unwrap_or_default();
            json["type"].as_str().unwrap_or("?").to_string()
        })
        .collect()
}

/// A TLS 1.2 record (RFC 5246 §6.2.1) of `content_type` carrying `body`.
pub(super) fn record(content_type: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![
        content_type,
        3,
        3,
        (body.len() >> 8) as u8,
        body.len() as u8,
    ];
    out.extend_from_slice(body);
    out
}

/// A handshake message (RFC 8446 §4) of `msg_type` carrying `body`.
pub(super) fn handshake(msg_type: u8, body: &[u8]) -> Vec<u8> {
    let len = body.len();
    let mut out = vec![msg_type, (len >> 16) as u8, (len >> 8) as u8, len as u8];
    out.extend_from_slice(body);
    out
}

/// A selector byte (0) for the fuzz entry points, then every payload of `conversation` in order.
pub(super) fn fuzz_input(conversation: Conversation) -> Vec<u8> {
    let mut data = vec![0u8];
    for &(_, _, hex) in conversation {
        data.extend_from_slice(&unhex(hex));
    }
    data
}
