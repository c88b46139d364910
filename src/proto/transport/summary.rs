//! What the transport layers report: timeline events and one summary per layer found
//! (docs/contract.md, `transport` and the `transport` event layer).

use serde::Serialize;

/// A transport happening, stamped by the caller with frame and side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum TransportEvent {
    /// A PROXY protocol header (v1 text or v2 binary) naming the original connection.
    ProxyHeader {
        version: u8,
        source: Option<String>,
        destination: Option<String>,
    },
    /// `CONNECT host:port` to an HTTP proxy (RFC 9110 §9.3.6).
    HttpConnect {
        target: String,
    },
    HttpConnectReply {
        status: u16,
        reason: String,
    },
    /// A SOCKS CONNECT request (SOCKS4/4a or RFC 1928 §4).
    SocksRequest {
        version: u8,
        target: String,
    },
    /// The SOCKS server's answer: RFC 1928 §6 REP (0xff: no acceptable authentication
    /// method, 0xfe: user/password refused, RFC 1929) or SOCKS4 CD (90 granted).
    SocksReply {
        version: u8,
        code: u8,
        granted: bool,
        meaning: &'static str,
    },
    /// An HTTP GET with `Upgrade: websocket` (RFC 6455 §4.1).
    WebsocketUpgrade {
        target: String,
        protocols: Option<String>,
    },
    WebsocketUpgradeReply {
        status: u16,
        reason: String,
        protocol: Option<String>,
    },
    /// A Close frame (RFC 6455 §5.5.1) and its status code (§7.4.1).
    WebsocketClose {
        code: Option<u16>,
    },
    /// A breach of RFC 6455 framing or of MQTT's use of it (MQTT 5.0 §6).
    WebsocketViolation {
        what: &'static str,
    },
    /// A preamble that started like one but broke: the bytes pass on unread.
    Invalid {
        what: &'static str,
    },
}

/// One layer between TCP (or TLS) and the protocol inside, outermost first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum Transport {
    ProxyProtocol {
        version: u8,
        source: Option<String>,
        destination: Option<String>,
        frame: u64,
    },
    HttpConnect {
        target: String,
        request_frame: u64,
        status: Option<u16>,
        reason: Option<String>,
        reply_frame: Option<u64>,
    },
    Socks {
        version: u8,
        target: Option<String>,
        request_frame: Option<u64>,
        /// SOCKS5: the authentication method the server chose.
        method: Option<u8>,
        reply: Option<u8>,
        reply_meaning: Option<&'static str>,
        reply_frame: Option<u64>,
    },
    Websocket {
        target: String,
        offered_protocols: Option<String>,
        inside_tls: bool,
        upgrade_frame: u64,
        status: Option<u16>,
        reason: Option<String>,
        protocol: Option<String>,
        reply_frame: Option<u64>,
        client_frames: u64,
        server_frames: u64,
        close_code: Option<u16>,
    },
}

impl Transport {
    /// A SOCKS layer whose request and reply are still to come.
    pub(crate) fn socks(version: u8) -> Self {
        Transport::Socks {
            version,
            target: None,
            request_frame: None,
            method: None,
            reply: None,
            reply_meaning: None,
            reply_frame: None,
        }
    }

    /// True when the proxy or the server said no (or has not said yes yet at the end).
    pub(crate) fn refused(&self) -> Option<bool> {
        match self {
            Transport::ProxyProtocol { .. } => None,
            Transport::HttpConnect { status, .. } => status.map(|s| !(200..300).contains(&s)),
            Transport::Socks { version, reply, .. } => {
                reply.map(|r| if *version == 5 { r != 0 } else { r != 90 })
            }
            Transport::Websocket {
                status, protocol, ..
            } => status.map(|s| {
                s != 101
                    || !protocol.as_deref().is_some_and(|p| {
                        p.eq_ignore_ascii_case("mqtt") || p.eq_ignore_ascii_case("mqttv3.1")
                    })
            }),
        }
    }
}
