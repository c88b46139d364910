//! Small questions the rules ask of a connection record and its timeline (who sent the first
//! SYN, when did the server first close, which MQTT packets each side sent), answered once
//! here so each rule stays a few lines.

use crate::common::{At, Side};
use crate::conn::{Connection, EventKind};
use crate::flow::TcpEvent;
use crate::proto::mqtt::event::PacketSummary;
use crate::proto::mqtt::parser::PacketType;
use crate::proto::mqtt::{MqttEvent, Version};
use crate::proto::tls::TlsEvent;

pub(crate) fn client(conn: &Connection) -> Side {
    conn.client
}
pub(crate) fn server(conn: &Connection) -> Side {
    conn.client.other()
}

/// TCP events of one side, in frame order.
pub(crate) fn tcp_events(conn: &Connection, side: Side) -> impl Iterator<Item = (At, &TcpEvent)> {
    conn.events.iter().filter_map(move |e| match &e.kind {
        EventKind::Tcp(t) if e.side == side => Some((e.at, t)),
        _ => None,
    })
}

pub(crate) fn first_tcp(conn: &Connection, side: Side, want: fn(&TcpEvent) -> bool) -> Option<At> {
    tcp_events(conn, side)
        .find(|(_, t)| want(t))
        .map(|(at, _)| at)
}

pub(crate) fn count_tcp(conn: &Connection, side: Side, want: fn(&TcpEvent) -> bool) -> usize {
    tcp_events(conn, side).filter(|(_, t)| want(t)).count()
}

pub(crate) fn is_syn(t: &TcpEvent) -> bool {
    matches!(t, TcpEvent::Syn)
}
pub(crate) fn is_syn_ack(t: &TcpEvent) -> bool {
    matches!(t, TcpEvent::SynAck)
}
pub(crate) fn is_rst(t: &TcpEvent) -> bool {
    matches!(t, TcpEvent::Rst)
}
pub(crate) fn is_close(t: &TcpEvent) -> bool {
    matches!(t, TcpEvent::Fin | TcpEvent::Rst)
}

/// The first FIN or RST of `side`.
pub(crate) fn first_close(conn: &Connection, side: Side) -> Option<(At, bool)> {
    tcp_events(conn, side)
        .find(|(_, t)| is_close(t))
        .map(|(at, t)| (at, is_rst(t)))
}

/// The TCP three-way handshake completed (or the connection was seen mid-stream with data
/// both ways, which implies it).
pub(crate) fn transport_up(conn: &Connection) -> bool {
    let syn_ack = first_tcp(conn, server(conn), is_syn_ack).is_some();
    let both_spoke = conn.tcp.sides.iter().all(|s| s.packets > 0);
    syn_ack || (!conn.tcp.syn_seen && both_spoke)
}

/// TLS events with their side.
pub(crate) fn tls_events(conn: &Connection) -> impl Iterator<Item = (At, Side, &TlsEvent)> {
    conn.events.iter().filter_map(|e| match &e.kind {
        EventKind::Tls(t) => Some((e.at, e.side, t)),
        _ => None,
    })
}

/// `side` sent something that parsed as TLS (not bytes that are not TLS, nor a cut record).
pub(crate) fn spoke_tls(conn: &Connection, side: Side) -> bool {
    tls_events(conn).any(|(_, s, e)| {
        s == side && !matches!(e, TlsEvent::Invalid { .. } | TlsEvent::Truncated { .. })
    })
}

/// MQTT packets with their side.
pub(crate) fn mqtt_packets(conn: &Connection) -> impl Iterator<Item = (At, Side, &PacketSummary)> {
    conn.events.iter().filter_map(|e| match &e.kind {
        EventKind::Mqtt(MqttEvent::Packet(p)) => Some((e.at, e.side, &**p)),
        _ => None,
    })
}

/// The type of a packet from the name the decoder gave it ([`PacketType::name`], the one
/// list of names); `None` for `RESERVED` (type 0, and type 15 before MQTT 5.0).
pub(crate) fn packet_type(name: &str) -> Option<PacketType> {
    (1..=15u8)
        .map(|n| PacketType::from_first_byte(n << 4))
        .find(|t| t.name(Version::V5) == name)
}

/// Whether the decoder's name `name` is that of packet type `t` ([`PacketType::name`]): one
/// string comparison, where [`packet_type`] tries every type in turn (rules ask this of every
/// packet of every connection; the search was a percent of a fleet run).
pub(crate) fn is_packet(name: &str, t: PacketType) -> bool {
    t.name(Version::V5) == name
}

/// MQTT events of any kind with their side.
pub(crate) fn mqtt_events(conn: &Connection) -> impl Iterator<Item = (At, Side, &MqttEvent)> {
    conn.events.iter().filter_map(|e| match &e.kind {
        EventKind::Mqtt(m) => Some((e.at, e.side, m)),
        _ => None,
    })
}

/// Seconds between two times, for text.
pub(crate) fn secs_between(from: At, to: At) -> f64 {
    to.time_ns.saturating_sub(from.time_ns) as f64 / 1e9
}

/// `1.234 s`, `12.3 s`, `250 ms`.
pub(crate) fn duration_text(secs: f64) -> String {
    if secs < 1.0 {
        format!("{:.0} ms", secs * 1000.0)
    } else if secs < 10.0 {
        format!("{secs:.3} s")
    } else {
        format!("{secs:.1} s")
    }
}

/// Capture time in whole seconds (for certificate and JWT comparisons).
pub(crate) fn unix_secs(at: At) -> i64 {
    at.time_ns.div_euclid(1_000_000_000)
}

/// Text for bytes that are usually UTF-8 (client ids, topics).
pub(crate) fn text_of(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => format!("{} bytes (not UTF-8)", bytes.len()),
    }
}

#[cfg(test)]
mod boundary_tests;
