//! TLS rules: alerts (readable and encrypted), resets without an alert, client certificates,
//! versions, SNI, wrong protocol on a port, and handshakes that stopped without an explanation.
//! Alert semantics follow RFC 8446 §6 and RFC 5246 §7.2; which side sends which alert for a
//! given failure follows what OpenSSL 3 and mosquitto did in the lab (captures/README.md).

use super::facts::{self, duration_text, tls_events};
use super::tls13_flight::{FlightCertificate, inferred_certificate_hit};
use super::{ConnCtx, Hit};
use crate::common::{At, Side};
use crate::conn::Connection;
use crate::flow::CloseHow;
use crate::proto::tls::TlsEvent;
use crate::proto::tls::handshake::max_offered_version;
use crate::proto::tls::message::{AlertInfo, TlsSummary};
use crate::proto::tls::names::{alert_description_name, version_name};

const CLOSE_NOTIFY: u8 = 0;
const USER_CANCELED: u8 = 90;
const HANDSHAKE_FAILURE: u8 = 40;
const CERTIFICATE_REQUIRED: u8 = 116;
/// Alerts a server sends about the client's certificate (RFC 8446 §6.2).
const CLIENT_CERT_ALERTS: [u8; 8] = [42, 43, 44, 45, 46, 48, 49, 51];

/// Name of a TLS handshake/record event for text ("the server's Certificate").
fn event_name(e: &TlsEvent) -> String {
    match e {
        TlsEvent::ClientHello { .. } => "ClientHello".into(),
        TlsEvent::ServerHello { .. } => "ServerHello".into(),
        TlsEvent::HelloRetryRequest => "HelloRetryRequest".into(),
        TlsEvent::Certificate { count } => format!("Certificate ({count} certificates)"),
        TlsEvent::CertificateRequest => "CertificateRequest".into(),
        TlsEvent::ServerKeyExchange => "ServerKeyExchange".into(),
        TlsEvent::ServerHelloDone => "ServerHelloDone".into(),
        TlsEvent::ClientKeyExchange => "ClientKeyExchange".into(),
        TlsEvent::CertificateVerify => "CertificateVerify".into(),
        TlsEvent::Finished => "Finished".into(),
        TlsEvent::NewSessionTicket => "NewSessionTicket".into(),
        TlsEvent::EncryptedExtensions => "EncryptedExtensions".into(),
        TlsEvent::OtherHandshake { msg_type } => format!("handshake message {msg_type}"),
        TlsEvent::EncryptedHandshake { .. } => "encrypted handshake record".into(),
        TlsEvent::ChangeCipherSpec => "ChangeCipherSpec".into(),
        TlsEvent::Alert { .. } => "alert".into(),
        TlsEvent::ApplicationData { .. } => "application data".into(),
        TlsEvent::Heartbeat { .. } => "heartbeat".into(),
        TlsEvent::Established => "end of handshake".into(),
        TlsEvent::Truncated { .. } => "truncated record".into(),
        TlsEvent::Invalid { .. } => "non-TLS bytes".into(),
        TlsEvent::KeyUpdate => "KeyUpdate".into(),
        TlsEvent::DecryptionFailed { .. } => "record that did not decrypt".into(),
    }
}

/// The last TLS message before `frame` (not counting `Established` markers), as
/// "the server's Certificate (frame 7)".
pub(crate) fn last_message_before(conn: &Connection, frame: u64) -> Option<(At, Side, String)> {
    tls_events(conn)
        .filter(|(at, _, e)| at.frame < frame && !matches!(e, TlsEvent::Established))
        .last()
        .map(|(at, side, e)| (at, side, event_name(e)))
}

fn describe_last(conn: &Connection, frame: u64) -> String {
    match last_message_before(conn, frame) {
        Some((at, side, name)) => format!("the {}'s {name} (frame {})", conn.role(side), at.frame),
        None => "the TCP handshake, before any TLS message".into(),
    }
}

/// The handshake completed: the decoder saw it (both Finished, or data both ways), or, in TLS
/// 1.3 without keys, the client sent its encrypted flight after the ServerHello and the server
/// then sent application data (tickets or MQTT), which it does only after the client's
/// Finished verified (RFC 8446 §4.4.4, §4.6.1).
pub(crate) fn handshake_done(conn: &Connection) -> bool {
    let Some(tls) = conn.tls.as_ref() else {
        return false;
    };
    if tls.established {
        return true;
    }
    let Some(sh) = tls.server_hello.as_ref().filter(|s| s.version == 0x0304) else {
        return false;
    };
    let client_flight = tls_events(conn).find(|(at, side, e)| {
        *side == conn.client
            && at.frame > sh.at.frame
            && matches!(e, TlsEvent::EncryptedHandshake { .. })
    });
    let Some((flight_at, _, _)) = client_flight else {
        return false;
    };
    tls_events(conn).any(|(at, side, e)| {
        side != conn.client
            && at.frame > flight_at.frame
            && matches!(e, TlsEvent::ApplicationData { .. })
    })
}

pub(crate) fn tls_of(conn: &Connection) -> Option<&TlsSummary> {
    conn.tls.as_ref()
}

fn alert_name(a: &AlertInfo) -> Option<String> {
    a.description.map(alert_description_name)
}

/// Picks the most specific variant present in the rule data among `keys`.
fn pick(ctx: &ConnCtx, keys: &[String]) -> Option<String> {
    keys.iter()
        .find(|k| ctx.rule.variants.contains_key(k.as_str()))
        .cloned()
}

/// Readable alerts that end or damage a session. close_notify and user_canceled are normal
/// closure (RFC 8446 §6.1). A warning-level alert the handshake survives is info only.
pub(crate) fn tls_alert(ctx: &ConnCtx) -> Vec<Hit> {
    let conn = ctx.conn;
    let Some(tls) = tls_of(conn) else {
        return vec![];
    };
    let mut hits = Vec::new();
    for a in tls.alerts.iter().filter(|a| !a.encrypted) {
        let Some(desc) = a.description else { continue };
        if desc == CLOSE_NOTIFY || desc == USER_CANCELED {
            continue;
        }
        let name = alert_description_name(desc);
        let from = conn.role(a.side);
        let mut keys = Vec::new();
        if a.level == Some(1) {
            keys.push(if tls.established {
                "warning_survived".to_string()
            } else {
                "warning_level".to_string()
            });
        } else {
            if desc == HANDSHAKE_FAILURE && from == "server" {
                if tls.server_hello.is_none() {
                    keys.push("handshake_failure_after_client_hello".into());
                } else if client_sent_empty_certificate(tls, a.side.other()) {
                    keys.push("handshake_failure_after_empty_client_cert".into());
                }
            }
            keys.push(format!("{name}_from_{from}"));
            keys.push(name.clone());
        }
        let sni = tls
            .client_hello
            .as_ref()
            .and_then(|c| c.sni.clone())
            .unwrap_or_else(|| "(none)".into());
        let offered = tls
            .client_hello
            .as_ref()
            .map(|c| version_name(max_offered_version(c)))
            .unwrap_or_else(|| "?".into());
        let mut hit = Hit::new()
            .var("description", &name)
            .var("code", desc)
            .var("from", from)
            .var("to", conn.role(a.side.other()))
            .var("frame", a.at.frame)
            .var("after", describe_last(conn, a.at.frame))
            .var("sni", sni)
            .var("offered", offered)
            .var("chain", chain_note(conn, tls))
            .alert(Some(name.clone()), from)
            .at(
                a.at,
                format!("{} alert {name} from {from}", level_word(a.level)),
            );
        if let Some(k) = pick(ctx, &keys) {
            hit = hit.variant(k);
        }
        if let Some((at, side, msg)) = last_message_before(conn, a.at.frame) {
            hit = hit.at(at, format!("{msg} from {} just before", conn.role(side)));
        }
        hits.push(hit);
    }
    hits
}

/// What the visible server chain says about a trust failure: a lone certificate without its
/// issuing CA (a likely missing intermediate), or a self-signed certificate. Servers normally
/// do not send the root, so a longer chain says nothing by itself.
fn chain_note(conn: &Connection, tls: &TlsSummary) -> String {
    let server = conn.client.other();
    let Some(msg) = tls.certificates.iter().find(|m| m.side == server) else {
        return String::new();
    };
    let Some(last) = msg.chain.last().filter(|c| c.parse_error.is_none()) else {
        return String::new();
    };
    if msg.chain.len() != 1 {
        return String::new();
    }
    if last.issuer == last.subject {
        return format!(
            " The server sent a self-signed certificate ({}).",
            last.subject
        );
    }
    format!(
        " The server sent only its own certificate, issued by {}, and no CA certificate: if that issuer is an intermediate CA, the device cannot build the chain to its root (a chain file missing from the broker configuration).",
        last.issuer
    )
}

fn level_word(level: Option<u8>) -> &'static str {
    match level {
        Some(1) => "warning",
        Some(2) => "fatal",
        _ => "unknown-level",
    }
}

fn client_sent_empty_certificate(tls: &TlsSummary, client: Side) -> bool {
    tls.certificates
        .iter()
        .any(|m| m.side == client && m.chain.is_empty())
}

fn fatal_from(tls: &TlsSummary, side: Side, descs: &[u8]) -> Option<AlertInfo> {
    tls.alerts
        .iter()
        .find(|a| {
            a.side == side && !a.encrypted && a.description.is_some_and(|d| descs.contains(&d))
        })
        .cloned()
}

/// The server asked for a certificate (CertificateRequest) and the client sent none (an empty
/// Certificate, RFC 5246 §7.4.6), or the server said certificate_required (RFC 8446 §4.4.2.4).
pub(crate) fn client_cert_missing(ctx: &ConnCtx) -> Vec<Hit> {
    let conn = ctx.conn;
    let Some(tls) = tls_of(conn) else {
        return vec![];
    };
    let (client, server) = (facts::client(conn), facts::server(conn));
    let required = fatal_from(tls, server, &[CERTIFICATE_REQUIRED]);
    let empty = tls
        .certificates
        .iter()
        .find(|m| m.side == client && m.chain.is_empty());
    let Some(request) = tls.certificate_request else {
        if let Some(a) = required {
            return vec![Hit::new().at(a.at, "certificate_required alert from server")];
        }
        // TLS 1.3 without keys: the request and the answer are encrypted; sizes still tell.
        if let Some(hit) = inferred_certificate_hit(ctx, FlightCertificate::Empty) {
            return vec![hit];
        }
        // The platform authenticates by certificate but this (test) server did not ask: the
        // client sent none, visible in TLS <= 1.2 where Certificate messages are plaintext.
        let visible = tls
            .server_hello
            .as_ref()
            .is_some_and(|s| s.version <= 0x0303);
        let sent = tls.certificates.iter().any(|m| m.side == client);
        if ctx.profile.limits.client_cert_required == Some(true)
            && visible
            && !sent
            && let Some(sh) = &tls.server_hello
        {
            return vec![
                Hit::new()
                    .variant("profile_requires")
                    .var("platform", &ctx.profile.title)
                    .at(sh.at, "ServerHello; no client Certificate follows"),
            ];
        }
        return vec![];
    };
    let Some(empty) = empty else {
        return match required {
            Some(a) => vec![
                Hit::new()
                    .at(request, "CertificateRequest from server")
                    .at(a.at, "certificate_required alert from server"),
            ],
            None => vec![],
        };
    };
    let mut hit = Hit::new()
        .at(request, "CertificateRequest from server")
        .at(empty.at, "empty Certificate from client");
    if let Some(a) = fatal_from(tls, server, &[HANDSHAKE_FAILURE, CERTIFICATE_REQUIRED]) {
        hit = hit.at(a.at, "fatal alert from server");
    }
    vec![hit]
}

/// The client sent a certificate and the server answered with a certificate alert.
pub(crate) fn client_cert_rejected(ctx: &ConnCtx) -> Vec<Hit> {
    let conn = ctx.conn;
    let Some(tls) = tls_of(conn) else {
        return vec![];
    };
    let (client, server) = (facts::client(conn), facts::server(conn));
    let Some(cert) = tls
        .certificates
        .iter()
        .find(|m| m.side == client && !m.chain.is_empty())
    else {
        // TLS 1.3 without keys: the certificate is encrypted; the flight's size still tells.
        return inferred_certificate_hit(ctx, FlightCertificate::Sent)
            .into_iter()
            .collect();
    };
    let Some(alert) = fatal_from(tls, server, &CLIENT_CERT_ALERTS) else {
        return vec![];
    };
    let name = alert_name(&alert).unwrap_or_default();
    let leaf = cert.chain.first();
    vec![
        Hit::new()
            .var("description", &name)
            .var(
                "subject",
                leaf.map(|c| c.subject.clone()).unwrap_or_default(),
            )
            .var("issuer", leaf.map(|c| c.issuer.clone()).unwrap_or_default())
            .at(cert.at, "client Certificate")
            .at(alert.at, format!("{name} alert from server")),
    ]
}

/// An alert record that could not be read ended the handshake (TLS 1.2 after CCS, TLS 1.3
/// after ServerHello). After an established session a lone encrypted alert is the normal
/// close_notify and is not reported. Nor is one on a connection whose handshake is not in the
/// capture (it started mid-stream): no handshake is there to end, and a 2-byte alert under
/// any suite (26 bytes with AES-GCM in TLS 1.2) at the end of a session is its close_notify.
pub(crate) fn encrypted_alert(ctx: &ConnCtx) -> Vec<Hit> {
    let conn = ctx.conn;
    let Some(tls) = tls_of(conn) else {
        return vec![];
    };
    let handshake_unseen = tls.client_hello.is_none() && tls.server_hello.is_none();
    if handshake_done(conn) || handshake_unseen || ctx.found("tls_alert") {
        return vec![];
    }
    let Some(a) = tls.alerts.iter().find(|a| a.encrypted) else {
        return vec![];
    };
    let from = conn.role(a.side);
    // TLS 1.3: a client that already sent its encrypted Finished and then a short encrypted
    // record is closing (close_notify); a client rejecting the server sends its alert instead
    // of its Finished (RFC 8446 §4.4.4, §6). `<=`: the records of one segment are in order, so
    // a Finished in the alert's own frame came before it.
    let own_flight_sent = tls_events(conn).any(|(at, side, e)| {
        side == a.side
            && at.frame <= a.at.frame
            && tls
                .server_hello
                .as_ref()
                .is_some_and(|s| at.frame > s.at.frame)
            && matches!(e, TlsEvent::EncryptedHandshake { .. })
    });
    if a.side == conn.client && own_flight_sent {
        return vec![];
    }
    let tls13 = tls
        .server_hello
        .as_ref()
        .is_some_and(|s| s.version == 0x0304);
    let client_finished = tls_events(conn).any(|(at, side, e)| {
        at.frame < a.at.frame
            && side == conn.client
            && matches!(e, TlsEvent::EncryptedHandshake { .. } | TlsEvent::Finished)
    });
    let mut keys = vec![];
    if tls13 && from == "server" && client_finished {
        keys.push("tls13_server_after_client_finished".to_string());
    }
    // The client answered the server's flight with an alert instead of its Finished.
    if tls13 && from == "client" && !client_finished {
        keys.push("tls13_client_after_server_flight".to_string());
    }
    keys.push(format!("from_{from}"));
    let version = tls
        .server_hello
        .as_ref()
        .map(|s| version_name(s.version))
        .unwrap_or_else(|| "?".into());
    let mut hit = Hit::new()
        .var("from", from)
        .var("frame", a.at.frame)
        .var("record_len", a.record_len)
        .var("version", version)
        .var("after", describe_last(conn, a.at.frame))
        .alert(None, from)
        .at(
            a.at,
            format!("encrypted alert ({} bytes) from {from}", a.record_len),
        );
    if let Some(close) = conn.tcp.close.at {
        hit = hit.at(close, "connection closed");
    }
    if let Some(k) = pick(ctx, &keys) {
        hit = hit.variant(k);
    }
    vec![hit]
}

/// A RST ended the connection before the TLS handshake completed, and neither side sent an
/// alert: typical of middleboxes and of TLS stacks that drop the socket. A RST after
/// close_notify or after an MQTT DISCONNECT is normal teardown and never this finding.
pub(crate) fn rst_without_alert(ctx: &ConnCtx) -> Vec<Hit> {
    let conn = ctx.conn;
    let Some(tls) = tls_of(conn) else {
        return vec![];
    };
    // "Right after" the handshake: it completed but the server never sent application data
    // (no CONNACK, no ticket) before the reset.
    let server = facts::server(conn);
    let right_after = handshake_done(conn) && server.of(&tls.app_data).records == 0;
    if conn.tcp.close.how != CloseHow::Rst
        || (handshake_done(conn) && !right_after)
        || !tls.alerts.is_empty()
    {
        return vec![];
    }
    if conn.mqtt.as_ref().is_some_and(|m| m.disconnect.is_some()) {
        return vec![];
    }
    let (Some(rst), Some(by)) = (conn.tcp.close.at, conn.tcp.close.by) else {
        return vec![];
    };
    let Some(hello) = tls.client_hello.as_ref() else {
        return vec![];
    };
    let by_role = conn.role(by);
    let last = last_message_before(conn, rst.frame);
    let after_hello_only = last
        .as_ref()
        .is_some_and(|(_, side, name)| *side == conn.client && name == "ClientHello");
    let mut hit = Hit::new()
        .var("by", by_role)
        .var("frame", rst.frame)
        .var("after", describe_last(conn, rst.frame))
        .var(
            "since_hello",
            duration_text(facts::secs_between(hello.at, rst)),
        )
        .var("sni", hello.sni.clone().unwrap_or_else(|| "(none)".into()))
        .at(hello.at, "ClientHello")
        .at(rst, format!("RST from {by_role}"));
    if after_hello_only && by_role == "server" {
        hit = hit.variant("server_after_client_hello");
    } else if right_after {
        hit = hit.variant("after_handshake");
    } else {
        hit = hit.variant(format!("by_{by_role}"));
    }
    vec![hit]
}

/// The handshake did not complete and nothing more specific explains it.
pub(crate) fn handshake_incomplete(ctx: &ConnCtx) -> Vec<Hit> {
    let conn = ctx.conn;
    let Some(tls) = tls_of(conn) else {
        return vec![];
    };
    let Some(hello) = tls.client_hello.as_ref() else {
        return vec![];
    };
    if handshake_done(conn) {
        return vec![];
    }
    let explained = [
        "tls_alert",
        "encrypted_alert",
        "rst_without_alert",
        "protocol_mismatch",
        "client_cert_missing",
        "client_cert_rejected",
        "connection_refused",
        "syn_unanswered",
    ];
    if explained.iter().any(|r| ctx.found(r)) {
        return vec![];
    }
    let end = conn.tcp.close.at.unwrap_or(conn.tcp.last);
    let mut hit = Hit::new()
        .var("after", describe_last(conn, end.frame + 1))
        .var(
            "since_hello",
            duration_text(facts::secs_between(hello.at, end)),
        )
        .at(hello.at, "ClientHello");
    match (conn.tcp.close.how, conn.tcp.close.by) {
        (CloseHow::None, _) => hit = hit.variant("capture_ended").at(end, "last packet"),
        (how, by) => {
            let how = if how == CloseHow::Rst { "RST" } else { "FIN" };
            let by = by.map(|s| conn.role(s)).unwrap_or("?");
            hit = hit
                .var("how", how)
                .var("by", by)
                .at(end, format!("{how} from {by}"));
        }
    }
    vec![hit]
}

#[cfg(test)]
mod tests;
