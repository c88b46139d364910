//! The text of a connection's cells in the human formats: TCP, TLS and MQTT facts in a few
//! short lines each, and the layers in front of the protocol (proxy, WebSocket, DNS name).

use super::model::{BytesText, ConnectionReport, TimelineEvent};
use crate::proto::transport::Transport;

/// IPv6 addresses in brackets so the port stays readable.
pub(super) fn host(ip: &str) -> String {
    if ip.contains(':') {
        format!("[{ip}]")
    } else {
        ip.to_string()
    }
}

/// `2026-11-22T05:18:58.123456Z` -> `2026-11-22 05:18:58.123`.
pub(super) fn clock(rfc3339: &str) -> String {
    let mut s = rfc3339.replacen('T', " ", 1);
    if let Some(dot) = s.find('.') {
        s.truncate((dot + 4).min(s.len()));
    }
    s.trim_end_matches('Z').to_string()
}

pub(super) fn tcp_cell(c: &ConnectionReport) -> String {
    let tcp = &c.tcp;
    let mut lines = vec![format!("{} {}", tcp.state, tcp.history)];
    let closed = match (serde_plain(&tcp.close.how).as_str(), tcp.close.by) {
        ("none", _) => "open at end".to_string(),
        (how, Some(by)) => format!("{how} by {by}"),
        (how, None) => how.to_string(),
    };
    let frame = tcp
        .close
        .frame
        .map(|f| format!(" #{f}"))
        .unwrap_or_default();
    lines.push(format!("{closed}{frame}"));
    if !tcp.handshake_seen {
        lines.push("mid-stream".into());
    }
    if tcp.retransmissions > 0 {
        lines.push(format!("{} retrans", tcp.retransmissions));
    }
    if tcp.missing_bytes > 0 {
        lines.push(format!("{} B missing", tcp.missing_bytes));
    }
    lines.join("\n")
}

pub(super) fn tls_cell(c: &ConnectionReport) -> String {
    let Some(tls) = &c.tls else {
        return match serde_plain(&c.protocol).as_str() {
            "unknown" => "(not TLS/MQTT)".into(),
            _ => String::new(),
        };
    };
    let mut lines = Vec::new();
    if let Some(ch) = &tls.client_hello {
        lines.push(format!("SNI {}", ch.sni.as_deref().unwrap_or("-")));
        lines.push(format!("offers {}", ch.max_version));
    }
    if let Some(sh) = &tls.server_hello {
        lines.push(format!("{} {}", sh.version, sh.cipher_suite));
    }
    for a in &tls.alerts {
        let what = if a.encrypted {
            format!("encrypted alert ({} B)", a.record_len)
        } else {
            format!(
                "{} {}",
                a.level.unwrap_or("?"),
                a.description.as_deref().unwrap_or("?")
            )
        };
        lines.push(format!("{what} from {} #{}", a.from, a.frame));
    }
    if tls.established {
        lines.push("established".into());
    }
    lines.join("\n")
}

pub(super) fn mqtt_cell(c: &ConnectionReport) -> String {
    let Some(m) = &c.mqtt else {
        return String::new();
    };
    let mut lines = Vec::new();
    let version = match m.protocol_version {
        Some(3) => "3.1",
        Some(4) => "3.1.1",
        Some(5) => "5.0",
        _ => "?",
    };
    let guessed = if m.version_guessed { "~" } else { "" };
    match &m.connect {
        Some(connect) => lines.push(format!(
            "v{guessed}{version} id {} ka {}s",
            connect
                .client_id
                .as_ref()
                .map_or_else(|| "?".to_string(), BytesText::display),
            connect.keep_alive
        )),
        None => lines.push(format!("v{guessed}{version} (no CONNECT seen)")),
    }
    if let Some(user) = m.connect.as_ref().and_then(|c| c.username.as_ref()) {
        lines.push(format!("user {}", user.display()));
    }
    if let Some(ack) = &m.connack {
        lines.push(format!("CONNACK {} {}", ack.code, ack.name));
    }
    match &m.disconnect {
        Some(d) => lines.push(format!(
            "DISCONNECT by {}{}",
            d.from,
            d.reason_code
                .map(|r| format!(" rc {r}"))
                .unwrap_or_default()
        )),
        None => lines.push("no DISCONNECT".into()),
    }
    let total: u64 = m.packets.values().sum();
    lines.push(format!("{total} packets"));
    lines.join("\n")
}

/// The serde name of a unit enum value (`fin`, `unknown`), for cells.
pub(super) fn serde_plain<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

/// What stands between the client and the protocol: the DNS name it looked up, a PROXY header,
/// a proxy tunnel, a WebSocket. Empty for a direct connection without a DNS lookup.
pub(super) fn via_lines(c: &ConnectionReport) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(dns) = &c.dns {
        lines.push(format!("DNS {} (#{})", dns.name, dns.answer_frame));
    }
    for t in &c.transport {
        lines.push(match t {
            Transport::ProxyProtocol {
                version, source, ..
            } => format!(
                "PROXY v{version} header{}",
                source
                    .as_deref()
                    .map(|s| format!(" for {s}"))
                    .unwrap_or_default()
            ),
            Transport::HttpConnect { target, status, .. } => format!(
                "HTTP proxy to {target}: {}",
                status.map_or_else(|| "no answer".to_string(), |s| s.to_string())
            ),
            Transport::Socks {
                version,
                target,
                reply_meaning,
                ..
            } => format!(
                "SOCKS{version} to {}: {}",
                target.as_deref().unwrap_or("?"),
                reply_meaning.unwrap_or("no answer")
            ),
            Transport::Websocket {
                target,
                status,
                protocol,
                inside_tls,
                ..
            } => format!(
                "{} {target}: {}{}",
                if *inside_tls { "wss" } else { "ws" },
                status.map_or_else(|| "no answer".to_string(), |s| s.to_string()),
                protocol
                    .as_deref()
                    .map(|p| format!(" ({p})"))
                    .unwrap_or_default()
            ),
        });
    }
    lines
}

/// A short label for an event: layer and type, with the detail that matters most.
pub(super) fn event_label(e: &TimelineEvent) -> String {
    let value = serde_json::to_value(&e.kind).unwrap_or_default();
    let what = value.get("what").unwrap_or(&serde_json::Value::Null);
    let kind = what["type"].as_str().unwrap_or("?");
    let detail = match kind {
        "packet" => what["packet_type"].as_str().map(str::to_string),
        "alert" if what["encrypted"] == true => Some("(encrypted)".to_string()),
        "alert" => what["description"]
            .as_u64()
            .and_then(|d| u8::try_from(d).ok())
            .map(crate::proto::tls::names::alert_description_name),
        "retransmission" | "gap" | "application_data" => {
            what["len"].as_u64().map(|l| format!("{l} B"))
        }
        "icmp" => Some(format!(
            "ICMP {}/{}",
            what["icmp_type"].as_u64().unwrap_or(0),
            what["code"].as_u64().unwrap_or(0)
        )),
        "http_connect_reply" | "websocket_upgrade_reply" => {
            what["status"].as_u64().map(|s| s.to_string())
        }
        "socks_reply" => what["code"].as_u64().map(|c| format!("code {c}")),
        "other_handshake" => what["msg_type"]
            .as_u64()
            .and_then(|t| u8::try_from(t).ok())
            .map(crate::proto::tls::names::handshake_type_name),
        _ => None,
    };
    match (kind, detail) {
        ("packet", Some(p)) => match what["reason"].as_str() {
            Some(reason) if p != "CONNECT" && p != "PUBLISH" => format!("{p} {reason}"),
            _ => p,
        },
        (k, Some(d)) => format!("{k} {d}"),
        (k, None) => k.replace('_', " "),
    }
}

/// `812 B`, `4.2 kB`, `120.0 MB`, `1.00 GB` (decimal units, as file managers show them).
pub(super) fn size_text(bytes: u64) -> String {
    let b = bytes as f64;
    if bytes < 1_000 {
        format!("{bytes} B")
    } else if bytes < 1_000_000 {
        format!("{:.1} kB", b / 1e3)
    } else if bytes < 1_000_000_000 {
        format!("{:.1} MB", b / 1e6)
    } else {
        format!("{:.2} GB", b / 1e9)
    }
}

/// Client and server (`ip:port`, IPv6 in brackets), then what stands between them
/// ([`via_lines`]): the lines of a connection's endpoints cell.
pub(super) fn endpoint_lines(c: &ConnectionReport) -> Vec<String> {
    let mut lines = vec![
        format!("{}:{}", host(&c.client.ip), c.client.port),
        format!("-> {}:{}", host(&c.server.ip), c.server.port),
    ];
    lines.extend(via_lines(c));
    lines
}
