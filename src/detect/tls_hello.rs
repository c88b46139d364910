//! TLS rules about what the hellos show: the wrong protocol on a port, old versions, and SNI
//! (RFC 6066 §3, RFC 8996).

use super::facts::{self, tls_events};
use super::ports::BrokerTransport;
use super::tls::{handshake_done, tls_of};
use super::{ConnCtx, Hit};
use crate::common::At;
use crate::conn::{AppProtocol, EventKind};
use crate::proto::tls::TlsEvent;
use crate::proto::tls::handshake::max_offered_version;
use crate::proto::tls::names::version_name;
use crate::proto::transport::{Transport, TransportEvent};

/// TLS spoken to a plain MQTT listener, plain MQTT to a TLS listener, or neither protocol on
/// a broker port (1883, 8883, `--broker-port`). On a plain port, a ClientHello answered by a
/// close and no TLS is a plain listener that read it as a bad packet. On a broker port declared
/// without saying which, a bare FIN or RST within `max_plain_close_s` counts too: a TLS server
/// that refuses sends an alert first, and mosquitto resets (the ClientHello's unread bytes make
/// the kernel send RST). On a TLS port a RST right after the ClientHello stays the middlebox
/// story (`rst_without_alert`).
/// A PROXY protocol header (from a load balancer) that the server closed on without a byte of
/// answer: it does not expect PROXY protocol (mosquitto 2.0: "disconnected due to protocol
/// error", then a RST).
fn proxy_header_unexpected(ctx: &ConnCtx, server_close: Option<(At, bool)>) -> Option<Hit> {
    let conn = ctx.conn;
    let Some(Transport::ProxyProtocol { version, .. }) = conn.transport.first() else {
        return None;
    };
    let header_at = conn.events.iter().find_map(|e| match &e.kind {
        EventKind::Transport(t) if matches!(**t, TransportEvent::ProxyHeader { .. }) => Some(e.at),
        _ => None,
    })?;
    let server = facts::server(conn);
    let (close_at, _) = server_close?;
    let quick = facts::secs_between(header_at, close_at) <= ctx.threshold("max_plain_close_s");
    if server.of(&conn.tcp.sides).bytes > 0 || !quick {
        return None;
    }
    Some(
        Hit::new()
            .variant("proxy_header_unexpected")
            .var("port", conn.server_addr().port())
            .var("version", version)
            .at(header_at, format!("PROXY protocol v{version} header"))
            .at(close_at, "server closes without answering"),
    )
}

pub(crate) fn protocol_mismatch(ctx: &ConnCtx) -> Vec<Hit> {
    let conn = ctx.conn;
    let port = conn.server_addr().port();
    let transport = ctx.broker_port();
    let server = facts::server(conn);
    let server_close = facts::first_close(conn, server);
    if let Some(hit) = proxy_header_unexpected(ctx, server_close) {
        return vec![hit];
    }
    match conn.protocol {
        AppProtocol::Tls => {
            let Some(tls) = tls_of(conn) else {
                return vec![];
            };
            let server_tls = facts::spoke_tls(conn, server);
            let server_invalid = tls_events(conn)
                .any(|(_, side, e)| side == server && matches!(e, TlsEvent::Invalid { .. }));
            let quick_close = |hello_at| {
                server_close.is_some_and(|(at, _)| {
                    facts::secs_between(hello_at, at) <= ctx.threshold("max_plain_close_s")
                })
            };
            let plain_listener = |hello_at| match transport {
                Some(BrokerTransport::Plain) => server_invalid || server_close.is_some(),
                Some(BrokerTransport::Either) => server_invalid || quick_close(hello_at),
                Some(BrokerTransport::Tls) | None => false,
            };
            let tls_port = transport == Some(BrokerTransport::Tls) || matches!(port, 443 | 8443);
            if let Some(hello) = &tls.client_hello
                && !server_tls
                && (plain_listener(hello.at) || server_invalid && !tls_port)
            {
                let mut hit = Hit::new()
                    .variant(if transport.is_some() {
                        "tls_to_plain"
                    } else {
                        "tls_to_other"
                    })
                    .var("port", port)
                    .at(hello.at, "ClientHello from client");
                if let Some((at, _)) = server_close {
                    hit = hit.at(at, "server closed without a TLS answer");
                }
                return vec![hit];
            }
            let client_invalid = tls_events(conn)
                .find(|(_, side, e)| *side == conn.client && matches!(e, TlsEvent::Invalid { .. }));
            if tls.client_hello.is_none()
                && conn.tcp.syn_seen
                && let Some((at, _, _)) = client_invalid
            {
                return vec![
                    Hit::new()
                        .variant("plain_to_tls")
                        .var("port", port)
                        .at(at, "client bytes are not TLS"),
                ];
            }
            vec![]
        }
        AppProtocol::Mqtt => {
            let Some(m) = &conn.mqtt else { return vec![] };
            let Some(connect) = &m.connect else {
                return vec![];
            };
            let server_spoke = facts::mqtt_packets(conn).any(|(_, side, _)| side == server);
            if transport == Some(BrokerTransport::Tls)
                && !server_spoke
                && m.connack.is_none()
                && server_close.is_some()
            {
                let mut hit = Hit::new()
                    .variant("plain_to_tls")
                    .var("port", port)
                    .at(connect.at, "plain MQTT CONNECT from client");
                if let Some((at, _)) = server_close {
                    hit = hit.at(at, "server closed");
                }
                return vec![hit];
            }
            vec![]
        }
        AppProtocol::Unknown if transport.is_some() => {
            vec![
                Hit::new()
                    .variant("neither")
                    .var("port", port)
                    .at(conn.tcp.first, "first packet"),
            ]
        }
        _ => vec![],
    }
}

/// The profile's `min_tls_version` ("1.2", "1.3") as a code point.
fn profile_min_version(ctx: &ConnCtx) -> u16 {
    match ctx.profile.limits.min_tls_version.as_deref() {
        Some("1.3") => 0x0304,
        _ => 0x0303,
    }
}

/// RFC 8996 deprecates TLS 1.0 and 1.1; a profile may require more (`min_tls_version`).
pub(crate) fn low_tls_version(ctx: &ConnCtx) -> Vec<Hit> {
    let Some(tls) = tls_of(ctx.conn) else {
        return vec![];
    };
    let min = profile_min_version(ctx);
    if let Some(sh) = &tls.server_hello
        && sh.version < min
    {
        return vec![
            Hit::new()
                .variant("chosen")
                .var("version", version_name(sh.version))
                .at(sh.at, "ServerHello"),
        ];
    }
    if let Some(ch) = &tls.client_hello {
        let max = max_offered_version(ch);
        if max < min {
            return vec![
                Hit::new()
                    .variant("offered")
                    .var("version", version_name(max))
                    .var("min", version_name(min))
                    .at(ch.at, "ClientHello"),
            ];
        }
    }
    vec![]
}

/// No server_name extension (RFC 6066 §3). Cloud brokers route and pick certificates by SNI.
pub(crate) fn sni_missing(ctx: &ConnCtx) -> Vec<Hit> {
    let Some(ch) = tls_of(ctx.conn).and_then(|t| t.client_hello.as_ref()) else {
        return vec![];
    };
    if ch.sni.is_some() || ch.sslv2_format {
        return vec![];
    }
    let mut hit = Hit::new()
        .var("server_ip", ctx.conn.server_addr().ip())
        .at(ch.at, "ClientHello without server_name");
    if ctx.profile.limits.sni_required == Some(true) {
        hit = hit.variant("required").var("platform", &ctx.profile.title);
    } else if handshake_done(ctx.conn) {
        hit = hit.variant("established");
    }
    vec![hit]
}

/// RFC 6066 §3: "Literal IPv4 and IPv6 addresses are not permitted in HostName."
pub(crate) fn sni_ip_literal(ctx: &ConnCtx) -> Vec<Hit> {
    let Some(ch) = tls_of(ctx.conn).and_then(|t| t.client_hello.as_ref()) else {
        return vec![];
    };
    let Some(sni) = &ch.sni else { return vec![] };
    if sni.parse::<std::net::IpAddr>().is_err() {
        return vec![];
    }
    vec![
        Hit::new()
            .var("sni", sni)
            .at(ch.at, format!("ClientHello with server_name {sni}")),
    ]
}
