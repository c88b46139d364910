//! The compact summary a connection leaves behind when it ends: what the cross-connection
//! rules need (addresses, times, client id, SNI, how it went), a couple of hundred bytes, so a
//! capture of a million connections can still be judged across connections after every
//! record and timeline was freed.

use super::facts::{self, first_close, mqtt_packets};
use crate::common::At;
use crate::conn::Connection;
use crate::flow::CloseHow;
use std::net::SocketAddr;

/// A finished connection as the cross-connection rules see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnSummary {
    /// Report id.
    pub id: usize,
    pub capture: usize,
    pub tcp_stream: u32,
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub syn_seen: bool,
    pub first: At,
    pub close_how: CloseHow,
    pub close_at: Option<At>,
    /// The client's first FIN or RST.
    pub client_close: Option<At>,
    /// When the server dropped the connection: its DISCONNECT (5.0, e.g. 0x8E session taken
    /// over) or its first FIN/RST.
    pub server_drop: Option<At>,
    /// `Some(established)` when the connection spoke TLS.
    pub tls_established: Option<bool>,
    pub mqtt: bool,
    pub connack_code: Option<u8>,
    pub connect_at: Option<At>,
    pub client_id: Option<Box<[u8]>>,
    pub sni: Option<Box<str>>,
}

impl ConnSummary {
    /// The attempt reached its goal: TLS established, or (plain) CONNACK 0.
    pub fn succeeded(&self) -> bool {
        match self.tls_established {
            Some(established) => established,
            None => self.connack_code == Some(0),
        }
    }

    /// The session was up: TLS established, or (plain) any CONNACK.
    pub fn session_up(&self) -> bool {
        match self.tls_established {
            Some(established) => established,
            None => self.mqtt && self.connack_code.is_some(),
        }
    }
}

/// Summarises `conn`, which has report id `id`.
pub fn summarize(id: usize, conn: &Connection) -> ConnSummary {
    let server = facts::server(conn);
    let disconnect = mqtt_packets(conn)
        .find(|(_, side, p)| *side == server && p.packet_type == "DISCONNECT")
        .map(|(at, _, _)| at);
    let server_drop = disconnect.or_else(|| first_close(conn, server).map(|(at, _)| at));
    let connect = conn.mqtt.as_ref().and_then(|m| m.connect.as_ref());
    ConnSummary {
        id,
        capture: conn.capture,
        tcp_stream: conn.tcp_stream,
        client: conn.client_addr(),
        server: conn.server_addr(),
        syn_seen: conn.tcp.syn_seen,
        first: conn.tcp.first,
        close_how: conn.tcp.close.how,
        close_at: conn.tcp.close.at,
        client_close: first_close(conn, facts::client(conn)).map(|(at, _)| at),
        server_drop,
        tls_established: conn.tls.as_ref().map(|t| t.established),
        mqtt: conn.mqtt.is_some(),
        connack_code: conn
            .mqtt
            .as_ref()
            .and_then(|m| m.connack.as_ref())
            .map(|a| a.code),
        connect_at: connect.map(|c| c.at),
        client_id: connect.and_then(|c| c.client_id.as_deref()).map(Box::from),
        sni: conn
            .tls
            .as_ref()
            .and_then(|t| t.client_hello.as_ref())
            .and_then(|h| h.sni.as_deref())
            .map(Box::from),
    }
}
