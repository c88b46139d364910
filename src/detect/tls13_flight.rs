//! What a TLS 1.3 handshake refused after the client's second flight shows without keys.
//!
//! In TLS 1.3 everything after the ServerHello is encrypted, CertificateRequest and the
//! client's Certificate included (RFC 8446 §4.3.2, §4.4.2). Record sizes still tell: when the
//! server asked for a certificate, the client's second flight starts with its Certificate
//! message, and an empty one (no certificate to send) is 8 bytes: a 25-byte record once the
//! inner content type (1) and the AEAD tag (16) are added, where a Finished alone is at least
//! 53 (§4.4.4, SHA-256) and a Certificate with a real chain hundreds. OpenSSL sends each
//! message of the flight in its own record, so the first record's size is the Certificate's.
//!
//! A refusal is the server's answer to that flight: an encrypted alert or a close, before any
//! application data of its own (an accepted client gets session tickets first).

use super::facts::{self, secs_between, tls_events};
use super::tls::tls_of;
use super::{ConnCtx, Hit};
use crate::common::At;
use crate::conn::Connection;
use crate::proto::tls::TlsEvent;

/// A TLS 1.3 client flight the server refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RefusedFlight {
    /// The flight's first record: where it is and its length.
    pub first_record: (At, u64),
    /// Records and bytes of the whole flight.
    pub records: usize,
    pub bytes: u64,
    /// The server's refusal: its encrypted alert, else its close.
    pub refusal: At,
    pub by_alert: bool,
}

/// The client's second flight of a TLS 1.3 handshake without keys, when the server refused it
/// within `max_delay_s`; `None` when decrypted (the messages are then read, not inferred), not
/// TLS 1.3, or not refused.
pub(crate) fn refused_client_flight(conn: &Connection, max_delay_s: f64) -> Option<RefusedFlight> {
    let tls = tls_of(conn)?;
    let hello = tls.server_hello.as_ref().filter(|s| s.version == 0x0304)?;
    if tls.decrypted {
        return None;
    }
    let (client, server) = (facts::client(conn), facts::server(conn));
    let record_len = |e: &TlsEvent| match e {
        TlsEvent::EncryptedHandshake { len } | TlsEvent::ApplicationData { len } => {
            Some(u64::from(*len))
        }
        _ => None,
    };
    // The server's flight (encrypted, after its ServerHello), then the client's answer.
    let after_hello = || tls_events(conn).filter(move |(at, _, _)| at.frame >= hello.at.frame);
    let server_flight_end = after_hello()
        .filter(|(_, side, e)| *side == server && matches!(e, TlsEvent::EncryptedHandshake { .. }))
        .map(|(at, _, _)| at)
        .last()?;
    let flight: Vec<(At, u64)> = after_hello()
        .filter(|(at, side, _)| *side == client && at.frame >= server_flight_end.frame)
        .filter_map(|(at, _, e)| record_len(e).map(|len| (at, len)))
        .collect();
    let &first_record = flight.first()?;
    // An accepted client gets application data (tickets, CONNACK) before any refusal.
    let served = after_hello().any(|(at, side, e)| {
        side == server && at.frame > first_record.0.frame && record_len(e).is_some()
    });
    if served {
        return None;
    }
    let alert = tls
        .alerts
        .iter()
        .find(|a| a.side == server && a.encrypted && a.at.frame > first_record.0.frame)
        .map(|a| a.at);
    let close = facts::first_close(conn, server)
        .map(|(at, _)| at)
        .filter(|at| at.frame > first_record.0.frame);
    let (refusal, by_alert) = match (alert, close) {
        (Some(a), _) => (a, true),
        (None, Some(c)) => (c, false),
        (None, None) => return None,
    };
    if secs_between(first_record.0, refusal) > max_delay_s {
        return None;
    }
    let records = flight
        .iter()
        .filter(|(at, _)| at.frame < refusal.frame)
        .count()
        .max(1);
    let bytes = flight
        .iter()
        .filter(|(at, _)| at.frame < refusal.frame)
        .map(|(_, len)| len)
        .sum();
    Some(RefusedFlight {
        first_record,
        records,
        bytes,
        refusal,
        by_alert,
    })
}

/// What the first record of a refused flight says about the client's certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FlightCertificate {
    /// An empty Certificate: the server asked, the client had none to send.
    Empty,
    /// A Certificate with a chain.
    Sent,
}

/// The inferred hit for `client_cert_missing` (`Empty`) or `client_cert_rejected` (`Sent`) on
/// a refused TLS 1.3 flight, with the sizes as evidence; `None` when the sizes say otherwise
/// or nothing was refused.
pub(crate) fn inferred_certificate_hit(ctx: &ConnCtx, want: FlightCertificate) -> Option<Hit> {
    let flight = refused_client_flight(ctx.conn, ctx.threshold("max_refusal_delay_s"))?;
    let (at, len) = flight.first_record;
    let seen = if len <= ctx.threshold("max_empty_certificate_record") as u64 {
        FlightCertificate::Empty
    } else if len >= ctx.threshold("min_certificate_record") as u64 {
        FlightCertificate::Sent
    } else {
        return None;
    };
    if seen != want {
        return None;
    }
    let what = match seen {
        FlightCertificate::Empty => "the size of an empty Certificate",
        FlightCertificate::Sent => "the size of a Certificate with a chain",
    };
    let refusal = if flight.by_alert {
        "an encrypted alert"
    } else {
        "closing the connection"
    };
    Some(
        Hit::new()
            .variant("inferred_tls13")
            .inferred()
            .var("record_len", len)
            .var("records", flight.records)
            .var("bytes", flight.bytes)
            .var("refusal", refusal)
            .var("frame", flight.refusal.frame)
            .at(
                at,
                format!("client's first encrypted record: {len} bytes, {what}"),
            )
            .at(flight.refusal, format!("server refuses with {refusal}")),
    )
}
