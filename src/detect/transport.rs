//! Rules on the layers in front of MQTT: a proxy that refused the tunnel (HTTP CONNECT status,
//! SOCKS reply) and a WebSocket upgrade that failed (not 101, or 101 without the `mqtt`
//! subprotocol that MQTT over WebSockets requires: MQTT 5.0 §6.0, 3.1.1 §6).

use super::{ConnCtx, Hit};
use crate::common::At;
use crate::conn::{Connection, EventKind};
use crate::proto::transport::{Transport, TransportEvent};

/// The first transport event matching `pick`, with where it happened.
fn event_at(conn: &Connection, pick: impl Fn(&TransportEvent) -> bool) -> Option<At> {
    conn.events.iter().find_map(|e| match &e.kind {
        EventKind::Transport(t) if pick(t) => Some(e.at),
        _ => None,
    })
}

pub(crate) fn proxy_refused(ctx: &ConnCtx) -> Vec<Hit> {
    let conn = ctx.conn;
    let Some(layer) = conn
        .transport
        .iter()
        .find(|l| !matches!(l, Transport::Websocket { .. }) && l.refused() == Some(true))
    else {
        return vec![];
    };
    let proxy = conn.server_addr();
    match layer {
        Transport::HttpConnect {
            target,
            status,
            reason,
            ..
        } => {
            let status = status.unwrap_or_default();
            let mut hit = Hit::new()
                .variant("http")
                .var("target", target)
                .var("status", status)
                .var("reason", reason.as_deref().unwrap_or(""))
                .var("proxy", proxy);
            if let Some(at) = event_at(conn, |t| matches!(t, TransportEvent::HttpConnect { .. })) {
                hit = hit.at(at, format!("CONNECT {target}"));
            }
            if let Some(at) = event_at(conn, |t| {
                matches!(t, TransportEvent::HttpConnectReply { .. })
            }) {
                hit = hit.at(at, format!("proxy answers {status}"));
            }
            vec![hit]
        }
        Transport::Socks {
            version,
            target,
            reply,
            reply_meaning,
            ..
        } => {
            let code = reply.unwrap_or_default();
            let mut hit = Hit::new()
                .variant("socks")
                .var("version", version)
                .var("target", target.as_deref().unwrap_or("(no request sent)"))
                .var("code", code)
                .var("meaning", reply_meaning.unwrap_or("refused"))
                .var("proxy", proxy);
            if let Some(at) = event_at(conn, |t| matches!(t, TransportEvent::SocksRequest { .. })) {
                hit = hit.at(at, format!("SOCKS{version} CONNECT request"));
            }
            if let Some(at) = event_at(conn, |t| matches!(t, TransportEvent::SocksReply { .. })) {
                hit = hit.at(at, format!("SOCKS{version} reply code {code}"));
            }
            vec![hit]
        }
        Transport::ProxyProtocol { .. } | Transport::Websocket { .. } => vec![],
    }
}

pub(crate) fn websocket_upgrade_failed(ctx: &ConnCtx) -> Vec<Hit> {
    let conn = ctx.conn;
    let Some(Transport::Websocket {
        target,
        offered_protocols,
        status: Some(status),
        reason,
        protocol,
        ..
    }) = conn
        .transport
        .iter()
        .find(|l| matches!(l, Transport::Websocket { .. }) && l.refused() == Some(true))
    else {
        return vec![];
    };
    let mut hit = Hit::new()
        .var("target", target)
        .var("status", status)
        .var("reason", reason.as_deref().unwrap_or(""))
        .var("offered", offered_protocols.as_deref().unwrap_or("none"))
        .var("chosen", protocol.as_deref().unwrap_or("none"))
        .var("server", conn.server_addr());
    if *status == 101 {
        hit = hit.variant("no_subprotocol");
    }
    if let Some(at) = event_at(conn, |t| {
        matches!(t, TransportEvent::WebsocketUpgrade { .. })
    }) {
        hit = hit.at(at, format!("GET {target} (Upgrade: websocket)"));
    }
    if let Some(at) = event_at(conn, |t| {
        matches!(t, TransportEvent::WebsocketUpgradeReply { .. })
    }) {
        hit = hit.at(at, format!("server answers {status}"));
    }
    vec![hit]
}

#[cfg(test)]
mod tests;
