//! The compact summary a connection leaves behind when it ends: what the cross-connection
//! rules need (addresses, times, client id, SNI, how it went), a couple of hundred bytes, so a
//! capture of a million connections can still be judged across connections after every
//! record and timeline was freed.

use super::facts::{self, first_close, is_packet, mqtt_packets};
use crate::common::At;
use crate::conn::Connection;
use crate::flow::CloseHow;
use crate::proto::mqtt::parser::PacketType;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU64;

/// A finished connection as the cross-connection rules see it.
#[derive(Debug, Clone, PartialEq, Eq)]
///
/// Up to 131,072 of these are kept to the end of a run, so addresses, optional times and names
/// are stored compactly (176 bytes, not 248) and read through accessors.
pub(crate) struct ConnSummary {
    /// Report id.
    pub id: usize,
    pub capture: usize,
    pub tcp_stream: u32,
    client: Endpoint,
    server: Endpoint,
    pub syn_seen: bool,
    pub first: At,
    pub close_how: CloseHow,
    close_at: Option<Stamp>,
    client_close: Option<Stamp>,
    server_drop: Option<Stamp>,
    connect_at: Option<Stamp>,
    /// `Some(established)` when the connection spoke TLS.
    pub tls_established: Option<bool>,
    pub mqtt: bool,
    pub connack_code: Option<u8>,
    /// The CONNECT's client id followed by the ClientHello's SNI, in one allocation (16 bytes
    /// here instead of two boxes' 32; most connections have one of the two, few both).
    names: Option<Box<[u8]>>,
    /// Where the SNI starts in `names`: the client id's length.
    client_id_len: u32,
    has_client_id: bool,
    has_sni: bool,
    /// What a broker-port rule would have judged, had the port been known as a broker's
    /// (boxed: only a few connections have one).
    pub unjudged: Option<Box<Unjudged>>,
}

/// A connection the per-connection rules could not judge because its server port is not a
/// known broker port; judged at the end if the same server endpoint answered MQTT in another
/// connection of the run (`cross_learned`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Unjudged {
    /// The transport came up and the client sent nothing: `no_connect_sent` on a broker.
    Silent { up: At, end: At },
    /// A ClientHello answered by no TLS and a close: `protocol_mismatch` on a plain broker.
    TlsUnanswered { hello: At, close: At, rst: bool },
}

/// A socket address without IPv6's flow label and scope (20 bytes, not 32).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Endpoint {
    ip: IpAddr,
    port: u16,
}

/// A frame's time whose `None` costs nothing: frame numbers start at 1 (16 bytes, not 24).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    frame: NonZeroU64,
    time_ns: i64,
}

impl Stamp {
    fn new(at: At) -> Option<Stamp> {
        NonZeroU64::new(at.frame).map(|frame| Stamp {
            frame,
            time_ns: at.time_ns,
        })
    }

    fn at(self) -> At {
        At {
            frame: self.frame.get(),
            time_ns: self.time_ns,
        }
    }
}

impl ConnSummary {
    pub(crate) fn client(&self) -> SocketAddr {
        SocketAddr::new(self.client.ip, self.client.port)
    }

    pub(crate) fn server(&self) -> SocketAddr {
        SocketAddr::new(self.server.ip, self.server.port)
    }

    /// When the connection closed (first FIN or RST).
    pub(crate) fn close_at(&self) -> Option<At> {
        self.close_at.map(Stamp::at)
    }

    /// The client's first FIN or RST.
    pub(crate) fn client_close(&self) -> Option<At> {
        self.client_close.map(Stamp::at)
    }

    /// When the server dropped the connection: its DISCONNECT (5.0, e.g. 0x8E session taken
    /// over) or its first FIN/RST.
    pub(crate) fn server_drop(&self) -> Option<At> {
        self.server_drop.map(Stamp::at)
    }

    /// The client's CONNECT.
    pub(crate) fn connect_at(&self) -> Option<At> {
        self.connect_at.map(Stamp::at)
    }

    /// The CONNECT's client id, as sent.
    pub(crate) fn client_id(&self) -> Option<&[u8]> {
        let len = usize::try_from(self.client_id_len).ok()?;
        self.has_client_id
            .then(|| self.names.as_deref()?.get(..len))
            .flatten()
    }

    /// The ClientHello's server name.
    pub(crate) fn sni(&self) -> Option<&str> {
        let len = usize::try_from(self.client_id_len).ok()?;
        let bytes = self.has_sni.then(|| self.names.as_deref()?.get(len..))??;
        std::str::from_utf8(bytes).ok()
    }

    /// The attempt reached its goal: TLS established, or (plain) CONNACK 0.
    pub(crate) fn succeeded(&self) -> bool {
        match self.tls_established {
            Some(established) => established,
            None => self.connack_code == Some(0),
        }
    }

    /// The session was up: TLS established, or (plain) any CONNACK.
    pub(crate) fn session_up(&self) -> bool {
        match self.tls_established {
            Some(established) => established,
            None => self.mqtt && self.connack_code.is_some(),
        }
    }
}

/// Summarises `conn`, which has report id `id`.
pub(crate) fn summarize(id: usize, conn: &Connection) -> ConnSummary {
    let server = facts::server(conn);
    let disconnect = mqtt_packets(conn)
        .find(|(_, side, p)| *side == server && is_packet(p.packet_type, PacketType::Disconnect))
        .map(|(at, _, _)| at);
    let server_drop = disconnect.or_else(|| first_close(conn, server).map(|(at, _)| at));
    let connect = conn.mqtt.as_ref().and_then(|m| m.connect.as_ref());
    let client_id = connect.and_then(|c| c.client_id.as_deref());
    let sni = conn
        .tls
        .as_ref()
        .and_then(|t| t.client_hello.as_ref())
        .and_then(|h| h.sni.as_deref());
    // MQTT strings carry a two-byte length (3.1.1 §1.5.3, 5.0 §1.5.4), so the length always
    // fits; a client id that did not would be left out, not cut.
    let (client_id, client_id_len) = match client_id.map(|id| (id, u32::try_from(id.len()))) {
        Some((id, Ok(len))) => (Some(id), len),
        _ => (None, 0),
    };
    let names = (client_id.is_some() || sni.is_some()).then(|| {
        let mut bytes =
            Vec::with_capacity(client_id.map_or(0, <[u8]>::len) + sni.map_or(0, str::len));
        bytes.extend_from_slice(client_id.unwrap_or_default());
        bytes.extend_from_slice(sni.unwrap_or_default().as_bytes());
        bytes.into_boxed_slice()
    });
    let endpoint = |addr: SocketAddr| Endpoint {
        ip: addr.ip(),
        port: addr.port(),
    };
    ConnSummary {
        id,
        capture: conn.capture,
        tcp_stream: conn.tcp_stream,
        client: endpoint(conn.client_addr()),
        server: endpoint(conn.server_addr()),
        syn_seen: conn.tcp.syn_seen,
        first: conn.tcp.first,
        close_how: conn.tcp.close.how,
        close_at: conn.tcp.close.at.and_then(Stamp::new),
        client_close: first_close(conn, facts::client(conn)).and_then(|(at, _)| Stamp::new(at)),
        server_drop: server_drop.and_then(Stamp::new),
        tls_established: conn.tls.as_ref().map(|t| t.established),
        mqtt: conn.mqtt.is_some(),
        connack_code: conn
            .mqtt
            .as_ref()
            .and_then(|m| m.connack.as_ref())
            .map(|a| a.code),
        connect_at: connect.and_then(|c| Stamp::new(c.at)),
        names,
        client_id_len,
        has_client_id: client_id.is_some(),
        has_sni: sni.is_some(),
        unjudged: unjudged(conn).map(Box::new),
    }
}

/// See [`Unjudged`]; the same conditions as the per-connection rules, minus the port.
fn unjudged(conn: &Connection) -> Option<Unjudged> {
    use crate::conn::AppProtocol;
    let (client, server) = (facts::client(conn), facts::server(conn));
    if !conn.tcp.syn_seen || conn.tcp.missing_bytes > 0 || !facts::transport_up(conn) {
        return None;
    }
    match conn.protocol {
        AppProtocol::None if client.of(&conn.tcp.sides).bytes == 0 => {
            let up = facts::first_tcp(conn, server, facts::is_syn_ack).unwrap_or(conn.tcp.first);
            let end = conn.tcp.close.at.unwrap_or(conn.tcp.last);
            Some(Unjudged::Silent { up, end })
        }
        AppProtocol::Tls => {
            let tls = conn.tls.as_ref()?;
            let hello = tls.client_hello.as_ref()?;
            let server_tls = facts::spoke_tls(conn, server);
            let (close, rst) = first_close(conn, server)?;
            (!server_tls && close.frame > hello.at.frame).then_some(Unjudged::TlsUnanswered {
                hello: hello.at,
                close,
                rst,
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::{Unjudged, summarize};
    use crate::common::Side;
    use crate::conn::Connection;
    use crate::detect::test_support::*;
    use crate::flow::TcpEvent;
    use crate::proto::tls::TlsEvent;

    #[test]
    fn a_summary_stays_compact() {
        // Kept by the hundred thousand: growth here is memory on every large run.
        assert!(std::mem::size_of::<super::ConnSummary>() <= 176);
    }

    #[test]
    fn the_server_drops_with_its_own_disconnect_or_close_never_the_clients() {
        // A client's DISCONNECT then FINs: the server "dropped" the connection only with its
        // own FIN (frame 12), not at the client's DISCONNECT (frame 10).
        let mut ended = established_plain();
        normal_end(&mut ended, 10, 20);
        assert_eq!(
            summarize(0, &ended).server_drop().map(|a| a.frame),
            Some(12)
        );
        // A 5.0 server's DISCONNECT (e.g. 0x8E session taken over) is the drop (5.0 §3.14).
        let mut taken_over = established_plain();
        mqtt(&mut taken_over, 10, 20, Side::Resp, packet("DISCONNECT"));
        tcp(&mut taken_over, 11, 21, Side::Resp, TcpEvent::Fin);
        let s = summarize(0, &taken_over);
        assert_eq!(s.server_drop().map(|a| a.frame), Some(10));
        assert_eq!(s.close_at().map(|a| a.frame), Some(11));
    }

    #[test]
    fn the_client_id_and_the_sni_share_one_box_and_read_back_apart() {
        let with_id = |c: &mut Connection, id: Option<&[u8]>| {
            if let Some(connect) = c.mqtt.as_mut().and_then(|m| m.connect.as_mut()) {
                connect.client_id = id.map(<[u8]>::to_vec);
            }
        };
        // A plain session: a client id, no SNI; an empty client id is still one (§3.1.3.1).
        let mut plain = established_plain();
        with_id(&mut plain, Some(b"dev-7"));
        let s = summarize(0, &plain);
        assert_eq!((s.client_id(), s.sni()), (Some(&b"dev-7"[..]), None));
        with_id(&mut plain, Some(b""));
        let s = summarize(0, &plain);
        assert_eq!((s.client_id(), s.sni()), (Some(&b""[..]), None));
        with_id(&mut plain, None);
        let s = summarize(0, &plain);
        assert_eq!((s.client_id(), s.sni()), (None, None));
        // TLS: an SNI alone, then both (a decrypted session that sent CONNECT).
        let mut tls = tls_client_hello(8883, Some("broker.example"), 0x0303);
        let s = summarize(0, &tls);
        assert_eq!((s.client_id(), s.sni()), (None, Some("broker.example")));
        tls.mqtt = established_plain().mqtt;
        with_id(&mut tls, Some(b"dev-7"));
        let s = summarize(0, &tls);
        assert_eq!(
            (s.client_id(), s.sni()),
            (Some(&b"dev-7"[..]), Some("broker.example"))
        );
        let s = summarize(0, &tls_client_hello(8883, Some(""), 0x0303));
        assert_eq!((s.client_id(), s.sni()), (None, Some("")));
    }

    #[test]
    fn a_plain_session_succeeded_only_when_its_connack_accepted_it() {
        // ConnSummary::succeeded: a plain attempt reaches its goal with CONNACK 0 (MQTT 3.1.1
        // §3.2.2.3: 0x00 Connection Accepted). A CONNACK 5 (not authorized) is a session that
        // came up, and an attempt that failed.
        let accepted = summarize(0, &established_plain());
        assert!(accepted.succeeded(), "{accepted:?}");
        let mut c = established_plain();
        if let Some(ack) = c.mqtt.as_mut().and_then(|m| m.connack.as_mut()) {
            ack.code = 5;
        }
        let refused = summarize(0, &c);
        assert!(refused.session_up() && !refused.succeeded(), "{refused:?}");
    }

    #[test]
    fn a_tls_attempt_succeeded_only_when_its_handshake_completed() {
        // ConnSummary::succeeded: with TLS the goal is an established session (RFC 8446 §4.4.4:
        // both Finished messages); a ClientHello the server never completed is a failure.
        let hello_only = summarize(0, &client_hello_on(8883));
        assert_eq!(hello_only.tls_established, Some(false), "{hello_only:?}");
        assert!(!hello_only.succeeded(), "{hello_only:?}");
    }

    /// A TLS 1.2 ClientHello to `port`, nothing more.
    fn client_hello_on(port: u16) -> Connection {
        tls_client_hello(port, None, 0x0303)
    }

    #[test]
    fn a_client_hello_closed_on_without_tls_is_left_for_a_learned_plain_broker() {
        // unjudged, TlsUnanswered: on port 1884 (no broker port) a ClientHello the server
        // closes on without any TLS record is what a plain MQTT listener does with it (it reads
        // a bad packet and closes: MQTT 3.1.1 §4.8), to judge at the end if the endpoint
        // answered MQTT elsewhere. A server that answered with a ServerHello spoke TLS: no
        // protocol mismatch to judge.
        let mut plain = client_hello_on(1884);
        tcp(&mut plain, 5, 3, Side::Resp, TcpEvent::Fin);
        let s = summarize(0, &plain);
        assert_eq!(
            s.unjudged.as_deref(),
            Some(&Unjudged::TlsUnanswered {
                hello: at(4, 2),
                close: at(5, 3),
                rst: false
            }),
            "{s:?}"
        );
        let mut answered = client_hello_on(1884);
        tls(
            &mut answered,
            5,
            3,
            Side::Resp,
            TlsEvent::ServerHello {
                version: 0x0303,
                cipher_suite: 0xc030,
            },
        );
        tcp(&mut answered, 6, 4, Side::Resp, TcpEvent::Fin);
        let s = summarize(0, &answered);
        assert_eq!(s.unjudged, None, "{s:?}");
    }
}
