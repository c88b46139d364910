//! Builders of small connection records for rule unit tests (times in milliseconds after a
//! fixed start, frames given explicitly).

use super::{ConnSummary, Finding, RuleBook, connection_findings, cross_findings, summarize};
use crate::common::{At, Side};
use crate::conn::{AppProtocol, ClientBasis, Connection, Event, EventKind};
use crate::flow::{Close, CloseHow, SideStats, TcpEvent, TcpSummary};
use crate::proto::mqtt::MqttEvent;
use crate::proto::mqtt::event::PacketSummary;
use crate::proto::mqtt::message::{ConnackInfo, ConnectInfo, MqttSummary};
use crate::proto::tls::TlsEvent;
use crate::proto::tls::message::{ClientHelloInfo, TlsSummary};
use std::net::SocketAddr;

/// 2027-01-15T08:00:00Z.
pub(crate) const T0_NS: i64 = 1_800_000_000_000_000_000;

pub(crate) fn at(frame: u64, ms: i64) -> At {
    At {
        frame,
        time_ns: T0_NS + ms * 1_000_000,
    }
}

pub(crate) fn conn() -> Connection {
    conn_between(
        SocketAddr::from(([10, 0, 0, 2], 50000)),
        SocketAddr::from(([10, 0, 0, 1], 1883)),
    )
}

pub(crate) fn conn_between(client: SocketAddr, server: SocketAddr) -> Connection {
    let stats = SideStats {
        packets: 1,
        bytes: 0,
        last: None,
        peer_seq_acked: 0,
    };
    Connection {
        capture: 0,
        tcp_stream: 0,
        endpoints: [client, server],
        client: Side::Orig,
        client_basis: ClientBasis::Syn,
        protocol: AppProtocol::None,
        tcp: TcpSummary {
            state: "OTH".into(),
            history: String::new(),
            syn_seen: false,
            retransmissions: 0,
            missing_bytes: 0,
            close: Close {
                how: CloseHow::None,
                by: None,
                at: None,
            },
            first: at(1, 0),
            last: at(1, 0),
            sides: [stats, stats],
        },
        tls: None,
        transport: Vec::new(),
        dns: None,
        mqtt: None,
        events: Vec::new(),
        events_dropped: 0,
        ended_by: crate::flow::directory::EndReason::EndOfCapture,
        continues: None,
    }
}

fn push(c: &mut Connection, at: At, side: Side, kind: EventKind) {
    c.events.push(Event { at, side, kind });
    c.events.sort_by_key(|e| e.at.frame);
    if at.frame > c.tcp.last.frame {
        c.tcp.last = at;
    }
}

/// Adds a TCP event; a FIN or RST also sets `close` if it is the first.
pub(crate) fn tcp(c: &mut Connection, frame: u64, ms: i64, side: Side, event: TcpEvent) {
    let when = at(frame, ms);
    if matches!(event, TcpEvent::Fin | TcpEvent::Rst) && c.tcp.close.how == CloseHow::None {
        c.tcp.close = Close {
            how: if event == TcpEvent::Rst {
                CloseHow::Rst
            } else {
                CloseHow::Fin
            },
            by: Some(side),
            at: Some(when),
        };
    }
    if event == TcpEvent::Syn {
        c.tcp.syn_seen = true;
    }
    push(c, when, side, EventKind::Tcp(event));
}

pub(crate) fn tls(c: &mut Connection, frame: u64, ms: i64, side: Side, event: TlsEvent) {
    push(c, at(frame, ms), side, EventKind::Tls(event));
}

pub(crate) fn mqtt(c: &mut Connection, frame: u64, ms: i64, side: Side, p: PacketSummary) {
    let when = at(frame, ms);
    if let Some(m) = c.mqtt.as_mut() {
        *m.packets.entry(p.packet_type).or_insert(0) += 1;
        m.last_activity[side.index()] = Some(when);
    }
    push(
        c,
        when,
        side,
        EventKind::Mqtt(MqttEvent::Packet(Box::new(p))),
    );
}

pub(crate) fn mqtt_violation(c: &mut Connection, frame: u64, ms: i64, side: Side) {
    if let Some(m) = c.mqtt.as_mut() {
        m.violations += 1;
    }
    let v = MqttEvent::Violation {
        packet_type: Some("PUBLISH"),
        what: "QoS 3 (MQTT 3.1.1 §3.3.1.2)".into(),
    };
    push(c, at(frame, ms), side, EventKind::Mqtt(v));
}

/// A TLS attempt to 10.0.0.1:`port`: SYN, SYN-ACK, then the client's ClientHello (frame 4,
/// offering `version`, SNI `sni`); nothing more.
pub(crate) fn tls_client_hello(port: u16, sni: Option<&str>, version: u16) -> Connection {
    let mut c = conn();
    c.endpoints[1] = SocketAddr::from(([10, 0, 0, 1], port));
    c.protocol = AppProtocol::Tls;
    tcp(&mut c, 1, 0, Side::Orig, TcpEvent::Syn);
    tcp(&mut c, 2, 1, Side::Resp, TcpEvent::SynAck);
    let hello = TlsEvent::ClientHello {
        max_version: version,
        sni: sni.map(String::from),
        sslv2_format: false,
    };
    tls(&mut c, 4, 2, Side::Orig, hello);
    c.tls = Some(TlsSummary {
        client_side: Some(Side::Orig),
        client_hello: Some(ClientHelloInfo {
            at: at(4, 2),
            legacy_version: 0x0303,
            versions: vec![version],
            sni: sni.map(String::from),
            ..ClientHelloInfo::default()
        }),
        client_hello_count: 1,
        ..TlsSummary::default()
    });
    c
}

/// The client's SYN (frame 1), then an ICMP error (`v6`, `icmp_type`, `code`) about it at
/// frame 2; nothing from the server.
pub(crate) fn syn_then_icmp(v6: bool, icmp_type: u8, code: u8) -> Connection {
    let mut c = conn();
    tcp(&mut c, 1, 0, Side::Orig, TcpEvent::Syn);
    tcp(
        &mut c,
        2,
        1,
        Side::Orig,
        TcpEvent::Icmp {
            v6,
            icmp_type,
            code,
        },
    );
    c.tcp.sides[1].packets = 0;
    c
}

pub(crate) fn packet(packet_type: &'static str) -> PacketSummary {
    PacketSummary {
        packet_type,
        ..PacketSummary::default()
    }
}

/// A plain MQTT 3.1.1 session: handshake, CONNECT (keep-alive 60, id `dev-1`), CONNACK 0.
pub(crate) fn established_plain() -> Connection {
    let mut c = conn();
    c.protocol = AppProtocol::Mqtt;
    tcp(&mut c, 1, 0, Side::Orig, TcpEvent::Syn);
    tcp(&mut c, 2, 1, Side::Resp, TcpEvent::SynAck);
    c.mqtt = Some(MqttSummary {
        client_side: Some(Side::Orig),
        protocol_version: Some(4),
        connect: Some(ConnectInfo {
            at: at(4, 3),
            protocol_name: b"MQTT".to_vec(),
            level: 4,
            client_id: Some(b"dev-1".to_vec()),
            keep_alive: 60,
            clean_start: true,
            username: None,
            password: None,
            password_len: None,
            will: None,
        }),
        connack: Some(ConnackInfo {
            at: at(6, 4),
            code: 0,
            session_present: false,
        }),
        ..MqttSummary::default()
    });
    let mut connect = packet("CONNECT");
    connect.client_id = Some(crate::common::BytesText::new(b"dev-1"));
    connect.keep_alive = Some(60);
    mqtt(&mut c, 4, 3, Side::Orig, connect);
    let mut ack = packet("CONNACK");
    ack.reason_codes = vec![0];
    mqtt(&mut c, 6, 4, Side::Resp, ack);
    c
}

/// Ends a plain session the normal way: client DISCONNECT then FINs.
pub(crate) fn normal_end(c: &mut Connection, frame: u64, ms: i64) {
    mqtt(c, frame, ms, Side::Orig, packet("DISCONNECT"));
    if let Some(m) = c.mqtt.as_mut() {
        m.disconnect = Some(crate::proto::mqtt::message::DisconnectInfo {
            at: at(frame, ms),
            side: Side::Orig,
            reason_code: None,
        });
    }
    tcp(c, frame + 1, ms + 1, Side::Orig, TcpEvent::Fin);
    tcp(c, frame + 2, ms + 2, Side::Resp, TcpEvent::Fin);
}

pub(crate) fn findings_with(
    connections: Vec<Connection>,
    end_ms: i64,
    book: &RuleBook,
) -> Detection {
    let last_frame = connections
        .iter()
        .map(|c| c.tcp.last.frame)
        .max()
        .unwrap_or(1);
    detect(&connections, at(last_frame, end_ms), book)
}

pub(crate) fn findings(c: &Connection) -> Vec<Finding> {
    let end_ms = (c.tcp.last.time_ns - T0_NS) / 1_000_000;
    findings_until(c, end_ms)
}

fn findings_until(c: &Connection, end_ms: i64) -> Vec<Finding> {
    findings_under(c, end_ms, &RuleBook::builtin())
}

/// The findings of one connection watched until `end_ms`, judged with `book` (a profile,
/// broker ports).
pub(crate) fn findings_under(c: &Connection, end_ms: i64, book: &RuleBook) -> Vec<Finding> {
    findings_with(vec![c.clone()], end_ms, book)
        .per_connection
        .into_iter()
        .flatten()
        .collect()
}

pub(crate) fn rules_fired(c: &Connection) -> Vec<&'static str> {
    findings(c).iter().map(|f| f.rule).collect()
}

pub(crate) fn rules_fired_until(c: &Connection, end_ms: i64) -> Vec<&'static str> {
    findings_until(c, end_ms).iter().map(|f| f.rule).collect()
}

pub(crate) fn severity_of(f: &[Finding], rule: &str) -> Option<&'static str> {
    f.iter().find(|f| f.rule == rule).map(|f| f.severity.name())
}

/// Rules fired with warning or error severity (what makes a connection unhealthy).
pub(crate) fn problems(c: &Connection) -> Vec<&'static str> {
    findings(c)
        .iter()
        .filter(|f| f.severity >= super::Severity::Warning)
        .map(|f| f.rule)
        .collect()
}

/// Findings of a run: per connection (indexed by report id) and across connections.
#[derive(Debug, Clone, Default)]
pub(crate) struct Detection {
    pub per_connection: Vec<Vec<Finding>>,
    pub cross: Vec<Finding>,
}

/// Runs every rule over `connections` (report ids = their positions), all watched until
/// `observed_until`: the whole of detection for tests. The engine calls
/// [`connection_findings`] as each connection ends and [`cross_findings`] at the end.
pub(crate) fn detect(connections: &[Connection], observed_until: At, book: &RuleBook) -> Detection {
    let per_connection = connections
        .iter()
        .enumerate()
        .map(|(id, conn)| connection_findings(id, conn, observed_until, book))
        .collect();
    let summaries: Vec<ConnSummary> = connections
        .iter()
        .enumerate()
        .map(|(id, conn)| summarize(id, conn))
        .collect();
    Detection {
        per_connection,
        cross: cross_findings(&summaries, book, 1),
    }
}

/// An ICMP error (`(v6, type, code)`, frame 5) about `side`'s segments, then three resends of
/// `len` bytes from that side (frames 6 to 8): path-MTU discovery when it says "too big".
pub(crate) fn icmp_then_resends(c: &mut Connection, side: Side, icmp: (bool, u8, u8), len: u32) {
    let (v6, icmp_type, code) = icmp;
    tcp(
        c,
        5,
        10,
        side,
        TcpEvent::Icmp {
            v6,
            icmp_type,
            code,
        },
    );
    for frame in 6..9 {
        tcp(
            c,
            frame,
            frame as i64 * 10,
            side,
            TcpEvent::Retransmission { len },
        );
    }
}
