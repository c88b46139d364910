//! TLS: record layer, handshake reassembly across records and segments, hello, certificate and
//! alert decoding, JA3/JA4, and per-connection state.
//!
//! Entry points: [`TlsSession`] (fed by `conn`/`analyze`), [`sniff`] (protocol detection), and
//! [`fuzz_session`] (arbitrary bytes through a session, for fuzzing).
//!
//! Layout: `record` (framing), `handshake` (message reassembly, hellos), `certificate`
//! (Certificate messages, X.509 summaries), `fingerprint` (JA3, JA4), `names` (code point
//! names), `sniff`, `events` (the timeline vocabulary), `state` (the session; rules for
//! encryption and "established" are in its module doc), `message` (the summary types).

pub mod certificate;
pub mod decrypt;
pub mod events;
pub mod fingerprint;
pub mod handshake;
pub mod message;
pub mod names;
pub mod record;
pub mod sniff;
pub mod state;
#[cfg(test)]
mod test_fixtures;

pub use events::TlsEvent;
pub use sniff::sniff;
pub use state::TlsSession;

use crate::common::{At, Side};

/// Feeds arbitrary bytes to a fresh session: the first byte picks chunk sizes (and whether
/// gaps are injected), the rest is split between the two sides three chunks at a time. The
/// standalone parsers get the same bytes. For fuzz targets; must never panic.
pub fn fuzz_session(data: &[u8]) {
    let Some((&seed, rest)) = data.split_first() else {
        return;
    };
    let _ = sniff(rest);
    let _ = handshake::parse_client_hello(rest);
    let _ = handshake::parse_server_hello(rest);
    let _ = handshake::parse_sslv2_client_hello(rest);
    let _ = certificate::parse_certificate_tls12(rest);
    let _ = certificate::parse_certificate_tls13(rest);
    let chunk = usize::from(seed % 64) + 1;
    let mut session = TlsSession::new();
    let mut events = Vec::new();
    for (n, piece) in rest.chunks(chunk).enumerate() {
        let side = if (n / 3) % 2 == 0 {
            Side::Orig
        } else {
            Side::Resp
        };
        let at = At {
            frame: n as u64 + 1,
            time_ns: 0,
        };
        if seed & 0x80 != 0 && n % 7 == 6 {
            session.on_gap(side, 1, at, &mut events);
        }
        session.on_data(side, piece, at, &mut events);
    }
    let at = At::default();
    session.on_close(Side::Orig, at, &mut events);
    session.on_close(Side::Resp, at, &mut events);
    let _ = session.summary();
}
