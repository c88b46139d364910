//! The per-connection record: TCP summary, optional TLS and MQTT summaries, and the event
//! timeline with frame numbers and times. This is what rules read and what reports serialise.
//!
//! Sides are kept as TCP saw them (`Side::Orig` = SYN sender or first sender); `client` says
//! which of them is the client, decided once the whole connection has been seen.

use crate::common::{At, Side};
use crate::flow::directory::EndReason;
use crate::flow::{TcpEvent, TcpSummary};
use crate::proto::dns::ResolvedBy;
use crate::proto::mqtt::MqttEvent;
use crate::proto::mqtt::message::MqttSummary;
use crate::proto::tls::TlsEvent;
use crate::proto::tls::message::TlsSummary;
use crate::proto::transport::{Transport, TransportEvent};
use serde::Serialize;
use std::net::SocketAddr;

/// The application protocol recognised on a connection from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum AppProtocol {
    Tls,
    Mqtt,
    /// Bytes flowed but matched neither TLS nor MQTT.
    Unknown,
    /// No payload byte in either direction.
    None,
}

/// One layer's event in a connection timeline.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "layer", content = "what", rename_all = "snake_case")]
pub(crate) enum EventKind {
    Tcp(TcpEvent),
    Tls(TlsEvent),
    Mqtt(MqttEvent),
    /// PROXY header, proxy tunnel, WebSocket (boxed: rare, and larger than the others).
    Transport(Box<TransportEvent>),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Event {
    pub at: At,
    pub side: Side,
    pub kind: EventKind,
}

/// Why the client side was chosen, most certain first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ClientBasis {
    Syn,
    ClientHello,
    MqttConnect,
    EphemeralPort,
}

#[derive(Debug, Clone)]
pub(crate) struct Connection {
    /// Index of the capture in the run.
    pub capture: usize,
    /// Wireshark's `tcp.stream`.
    pub tcp_stream: u32,
    /// Endpoints by TCP side, indexed by `Side::index`.
    pub endpoints: [SocketAddr; 2],
    pub client: Side,
    pub client_basis: ClientBasis,
    pub protocol: AppProtocol,
    pub tcp: TcpSummary,
    pub tls: Option<TlsSummary>,
    pub mqtt: Option<MqttSummary>,
    /// Layers between TCP and the protocol (PROXY header, proxy tunnel, WebSocket), outermost
    /// first; those inside TLS last.
    pub transport: Vec<Transport>,
    /// The capture's DNS lookup that gave the server's address, when it holds one.
    pub dns: Option<Box<ResolvedBy>>,
    /// Ordered by frame; capped (see `events_dropped`).
    pub events: Vec<Event>,
    /// Events not kept because the timeline reached its cap (the first and the last ones are
    /// kept, those in between counted here).
    pub events_dropped: u64,
    /// Why the record ended.
    pub ended_by: EndReason,
    /// Report id of the earlier record of the same stream, when this one continues it.
    pub continues: Option<usize>,
}

impl Connection {
    pub(crate) fn client_addr(&self) -> SocketAddr {
        *self.client.of(&self.endpoints)
    }
    pub(crate) fn server_addr(&self) -> SocketAddr {
        *self.client.other().of(&self.endpoints)
    }
    /// "client" or "server" for a TCP side.
    pub(crate) fn role(&self, side: Side) -> &'static str {
        role_of(self.client, side)
    }
}

/// "client" or "server" for a TCP side, given the client's side.
pub(crate) fn role_of(client: Side, side: Side) -> &'static str {
    if side == client { "client" } else { "server" }
}

/// Picks the client side: the SYN sender; else the ClientHello sender; else the CONNECT sender
/// (or the side sending client-only MQTT packets); else the side with the higher port, since
/// clients use ephemeral ports (RFC 6335 §6) and servers well-known or registered ones.
pub(crate) fn infer_client(
    syn_seen: bool,
    tls_client: Option<Side>,
    mqtt_client: Option<Side>,
    endpoints: &[SocketAddr; 2],
) -> (Side, ClientBasis) {
    if syn_seen {
        return (Side::Orig, ClientBasis::Syn);
    }
    if let Some(side) = tls_client {
        return (side, ClientBasis::ClientHello);
    }
    if let Some(side) = mqtt_client {
        return (side, ClientBasis::MqttConnect);
    }
    let side = if endpoints[1].port() > endpoints[0].port() {
        Side::Resp
    } else {
        Side::Orig
    };
    (side, ClientBasis::EphemeralPort)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eps(a: u16, b: u16) -> [SocketAddr; 2] {
        [
            SocketAddr::from(([10, 0, 0, 2], a)),
            SocketAddr::from(([10, 0, 0, 1], b)),
        ]
    }

    #[test]
    fn syn_sender_is_client_whatever_the_protocols_say() {
        let got = infer_client(true, Some(Side::Resp), Some(Side::Resp), &eps(1883, 50000));
        assert_eq!(got, (Side::Orig, ClientBasis::Syn));
    }

    #[test]
    fn mid_stream_uses_client_hello_then_connect_then_ports() {
        assert_eq!(
            infer_client(false, Some(Side::Resp), None, &eps(1, 2)).0,
            Side::Resp
        );
        assert_eq!(
            infer_client(false, None, Some(Side::Resp), &eps(1, 2)).0,
            Side::Resp
        );
        assert_eq!(
            infer_client(false, None, None, &eps(1883, 51000)),
            (Side::Resp, ClientBasis::EphemeralPort)
        );
        assert_eq!(
            infer_client(false, None, None, &eps(51000, 1883)).0,
            Side::Orig
        );
    }
}
