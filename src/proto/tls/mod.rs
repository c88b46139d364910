//! TLS: record layer, handshake reassembly across records and segments, hello, certificate and
//! alert decoding, JA3/JA4, and per-connection state.
//!
//! Entry points: [`TlsSession`] (fed by `conn`/`analyze`; [`TlsSession::with_keylog`] decrypts),
//! [`sniff`] (protocol detection), and [`fuzz_session`] / [`fuzz_decrypting_session`]
//! (arbitrary bytes through a session, for fuzzing).
//!
//! Layout: `record` (framing), `handshake` (message reassembly, hellos), `certificate`
//! (Certificate messages, X.509 summaries), `fingerprint` (JA3, JA4), `names` (code point
//! names), `sniff`, `events` (the timeline vocabulary), `state` (the session; rules for
//! encryption and "established" are in its module doc; decryption inside the session in
//! `state::decrypt`), `message` (the summary types), `decrypt` (the crypto layer).

pub(crate) mod certificate;
pub mod decrypt;
pub(crate) mod events;
pub(crate) mod fingerprint;
pub(crate) mod handshake;
pub(crate) mod message;
pub(crate) mod names;
pub(crate) mod record;
pub(crate) mod sniff;
pub(crate) mod state;
#[cfg(test)]
mod test_fixtures;

pub(crate) use events::TlsEvent;
pub(crate) use sniff::sniff;
pub(crate) use state::TlsSession;

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
    feed_for_fuzzing(TlsSession::new(), seed, rest);
}

/// [`fuzz_session`] with a session that holds key-logged secrets for the ClientHello random
/// 00 01 .. 1f (the Illustrated TLS 1.2 master secret and TLS 1.3 traffic secrets), so inputs
/// seeded from those conversations reach decryption, handshake decoding of decrypted messages,
/// key switches, KeyUpdate and resynchronisation after gaps. Must never panic.
pub fn fuzz_decrypting_session(data: &[u8]) {
    let Some((&seed, rest)) = data.split_first() else {
        return;
    };
    const R: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    let mut keys = decrypt::KeyLog::new();
    keys.add_text(
        format!(
            "CLIENT_RANDOM {R} 916abf9da55973e13614ae0a3f5d3f37b023ba129aee02cc9134338127cd7049781c8e19fc1eb2a7387ac06ae237344c\n\
             SERVER_HANDSHAKE_TRAFFIC_SECRET {R} 23323da031634b241dd37d61032b62a4f450584d1f7f47983ba2f7cc0cdcc39a68f481f2b019f9403a3051908a5d1622\n\
             CLIENT_HANDSHAKE_TRAFFIC_SECRET {R} db89d2d6df0e84fed74a2288f8fd4d0959f790ff23946cdf4c26d85e51bebd42ae184501972f8d30c4a3e4a3693d0ef0\n\
             SERVER_TRAFFIC_SECRET_0 {R} 86c967fd7747a36a0685b4ed8d0e6b4c02b4ddaf3cd294aa44e9f6b0183bf911e89a189ba5dfd71fccffb5cc164901f8\n\
             CLIENT_TRAFFIC_SECRET_0 {R} 9e47af27cb60d818a9ea7d233cb5ed4cc525fcd74614fb24b0ee59acb8e5aa7ff8d88b89792114208fec291a6fa96bad\n"
        )
        .as_bytes(),
    );
    feed_for_fuzzing(
        TlsSession::with_keylog(std::sync::Arc::new(keys)),
        seed,
        rest,
    );
}

/// Feeds `rest` to `session`: `seed` picks chunk sizes and whether gaps are injected; sides
/// alternate every three chunks. Plaintext is taken after every call.
fn feed_for_fuzzing(mut session: TlsSession, seed: u8, rest: &[u8]) {
    let chunk = usize::from(seed % 64) + 1;
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
        let _ = session.take_plaintext();
    }
    let at = At::default();
    session.on_close(Side::Orig, at, &mut events);
    session.on_close(Side::Resp, at, &mut events);
    let _ = session.summary();
}
