//! Transports between TCP (or decrypted TLS) and the application protocol: a PROXY protocol
//! header in front of a connection, an HTTP CONNECT or SOCKS tunnel through a proxy, and MQTT
//! over WebSockets. [`TransportSession`] takes a connection's ordered bytes per side, reads the
//! preambles, and hands on the bytes that belong to the protocol inside (unmasked WebSocket
//! payload, the tunnel after the proxy said yes), with events and a summary per layer.
//!
//! Guarantees: it only engages when the client's first bytes are a preamble (`PROXY `, the
//! PROXY v2 signature, `CONNECT `, `GET ` with an Upgrade to websocket, a SOCKS4/5 greeting),
//! none of which can begin TLS or a valid MQTT packet, so ordinary connections pass untouched;
//! it buffers at most `HEAD_LIMIT` bytes per side while reading a preamble; a proxy or upgrade
//! refusal stops the bytes of both sides (what follows is an error page, not the tunnel).

pub(crate) mod http;
mod parse;
pub(crate) mod proxy_header;
pub(crate) mod socks;
mod summary;
pub(crate) mod websocket;

pub(crate) use parse::Parse;
pub(crate) use summary::{Transport, TransportEvent};

use crate::common::{At, PerSide, Side, Timed};
use websocket::{WsDecoder, WsNote};

/// Bytes a preamble (HTTP head, SOCKS messages) may take before it is given up.
const HEAD_LIMIT: usize = 16 * 1024;

/// Bytes of one side handed on to the protocol inside, with the time of their last piece.
pub(crate) type Passed = (Side, At, Vec<u8>);

/// True when a direction's first bytes can start a preamble this module reads. Cheap: it lets
/// a connection whose first byte rules every preamble out skip the transport stage entirely.
pub(crate) fn may_start(first: u8) -> bool {
    matches!(first, b'P' | b'\r' | b'C' | b'G' | 4 | 5)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Reading the client's first bytes.
    Detect,
    HttpConnect,
    WebSocket,
    Socks5,
    Socks4,
    /// No (further) preamble: bytes pass.
    Pass,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Reading a preamble message.
    Head,
    Pass,
    Frames,
    /// Refused or broken: bytes are dropped.
    Drop,
}

/// The transport layers of one connection (or of one TLS session's plaintext).
#[derive(Debug)]
pub(crate) struct TransportSession {
    kind: Kind,
    client: Option<Side>,
    held: PerSide<Vec<u8>>,
    mode: PerSide<Mode>,
    /// SOCKS messages read so far per side.
    socks_step: PerSide<u8>,
    socks_method: Option<u8>,
    ws: PerSide<Option<WsDecoder>>,
    proxy_header_seen: bool,
    inside_tls: bool,
    layers: Vec<Transport>,
    events: Vec<Timed<TransportEvent>>,
}

impl TransportSession {
    /// `inside_tls`: the bytes are a TLS session's plaintext (WebSockets over TLS).
    pub(crate) fn new(inside_tls: bool) -> Self {
        TransportSession {
            kind: Kind::Detect,
            client: None,
            held: PerSide::default(),
            mode: PerSide::both(Mode::Head),
            socks_step: PerSide::default(),
            socks_method: None,
            ws: PerSide::default(),
            proxy_header_seen: false,
            inside_tls,
            layers: Vec::new(),
            events: Vec::new(),
        }
    }

    /// True when `side`'s bytes pass unchanged: the caller may hand them on itself.
    pub(crate) fn passes(&self, side: Side) -> bool {
        self.mode[side] == Mode::Pass
    }

    /// True when nothing was found and everything passes: the session can be dropped.
    pub(crate) fn inert(&self) -> bool {
        self.kind == Kind::Pass && self.layers.is_empty() && self.mode == PerSide::both(Mode::Pass)
    }

    /// The layers found, outermost first, with their outcome so far.
    pub(crate) fn layers(&self) -> Vec<Transport> {
        let mut layers = self.layers.clone();
        for layer in &mut layers {
            if let Transport::Websocket {
                client_frames,
                server_frames,
                ..
            } = layer
            {
                let client = self.client.unwrap_or(Side::Orig);
                let count = |s: Side| self.ws[s].as_ref().map_or(0, |d| d.frames);
                *client_frames = count(client);
                *server_frames = count(client.other());
            }
        }
        layers
    }

    pub(crate) fn take_events(&mut self) -> Vec<Timed<TransportEvent>> {
        std::mem::take(&mut self.events)
    }

    /// Ordered bytes of `side`; what belongs to the protocol inside goes to `out`.
    pub(crate) fn on_data(&mut self, side: Side, data: &[u8], at: At, out: &mut Vec<Passed>) {
        match self.mode[side] {
            Mode::Pass => push(out, side, at, data.to_vec()),
            Mode::Drop => {}
            Mode::Frames => self.frames(side, data, at, out),
            Mode::Head => {
                self.held[side].extend_from_slice(data);
                self.advance(side, at, out);
            }
        }
    }

    /// Bytes of `side` are missing: framing cannot be followed across a hole, and a preamble
    /// with a hole in it cannot be read.
    pub(crate) fn on_gap(&mut self, side: Side) {
        match self.mode[side] {
            Mode::Frames => {
                self.mode[side] = Mode::Drop;
                self.ws[side] = None;
            }
            Mode::Head => {
                self.held[side].clear();
                self.mode[side] = Mode::Pass;
                self.kind = Kind::Pass;
            }
            Mode::Pass | Mode::Drop => {}
        }
    }

    fn event(&mut self, side: Side, at: At, event: TransportEvent) {
        self.events.push(Timed { at, side, event });
    }

    fn advance(&mut self, side: Side, at: At, out: &mut Vec<Passed>) {
        loop {
            while self.kind == Kind::Detect {
                if !self.detect(side, at, out) {
                    return;
                }
            }
            // A side may have waited for the other (a SOCKS reply before the request is read).
            let progressed = [side, side.other()]
                .into_iter()
                .any(|s| self.mode[s] == Mode::Head && self.step(s, at, out));
            if !progressed {
                break;
            }
        }
        for s in [side, side.other()] {
            if self.mode[s] == Mode::Head && self.held[s].len() > HEAD_LIMIT {
                self.event(
                    s,
                    at,
                    TransportEvent::Invalid {
                        what: "preamble too long",
                    },
                );
                self.pass_all(at, out);
            }
        }
    }

    /// Picks the transport from the client's first bytes. False while it cannot tell yet.
    fn detect(&mut self, side: Side, at: At, out: &mut Vec<Passed>) -> bool {
        let client = *self.client.get_or_insert(side);
        if side != client && self.held[client].is_empty() {
            // The other side spoke first: not a client-first preamble.
            self.pass_all(at, out);
            return false;
        }
        let bytes = &self.held[client];
        let Some(&first) = bytes.first() else {
            return false;
        };
        // The bytes so far agree with `word` (as far as either goes).
        let starts = |word: &[u8]| bytes.iter().zip(word).all(|(b, w)| b == w);
        let full = |word: &[u8]| bytes.len() >= word.len();
        self.kind = if !self.proxy_header_seen && proxy_header::may_start(bytes) {
            match proxy_header::parse(bytes) {
                Parse::NeedMore => return false,
                Parse::Invalid(what) => {
                    self.event(client, at, TransportEvent::Invalid { what });
                    Kind::Pass
                }
                Parse::Complete { len, message } => {
                    let source = message.source.map(|a| a.to_string());
                    let destination = message.destination.map(|a| a.to_string());
                    self.layers.push(Transport::ProxyProtocol {
                        version: message.version,
                        source: source.clone(),
                        destination: destination.clone(),
                        frame: at.frame,
                    });
                    self.event(
                        client,
                        at,
                        TransportEvent::ProxyHeader {
                            version: message.version,
                            source,
                            destination,
                        },
                    );
                    self.held[client].drain(..len);
                    self.proxy_header_seen = true;
                    // Another preamble (or the protocol) may follow.
                    return !self.held[client].is_empty();
                }
            }
        } else if starts(b"CONNECT ") {
            if !full(b"CONNECT ") {
                return false;
            }
            Kind::HttpConnect
        } else if starts(b"GET ") {
            if !full(b"GET ") {
                return false;
            }
            Kind::WebSocket
        } else if first == 5 {
            match socks::greeting(bytes) {
                Parse::NeedMore if bytes.len() < 2 + 16 => return false,
                Parse::Complete { message, .. }
                    if message
                        .iter()
                        .all(|&m| m <= 9 || (0x80..=0xfe).contains(&m)) =>
                {
                    Kind::Socks5
                }
                _ => Kind::Pass,
            }
        } else if first == 4 {
            match bytes.get(1) {
                None => return false,
                Some(1 | 2) => Kind::Socks4,
                Some(_) => Kind::Pass,
            }
        } else {
            Kind::Pass
        };
        if self.kind == Kind::Pass {
            self.pass_all(at, out);
            return false;
        }
        true
    }

    /// Every side passes from now on, with what it held.
    fn pass_all(&mut self, at: At, out: &mut Vec<Passed>) {
        self.kind = Kind::Pass;
        for side in [Side::Orig, Side::Resp] {
            if self.mode[side] == Mode::Head {
                self.mode[side] = Mode::Pass;
                let held = std::mem::take(&mut self.held[side]);
                if !held.is_empty() {
                    push(out, side, at, held);
                }
            }
        }
    }

    /// Both sides stop: the proxy or server refused.
    fn drop_all(&mut self) {
        self.mode = PerSide::both(Mode::Drop);
        self.held = PerSide::default();
        self.ws = PerSide::default();
    }

    /// `side` finished its preamble: what follows passes (or is framed).
    fn open(&mut self, side: Side, mode: Mode, len: usize, at: At, out: &mut Vec<Passed>) {
        let held = std::mem::take(&mut self.held[side]);
        let rest = held.get(len..).unwrap_or_default();
        self.mode[side] = mode;
        if mode == Mode::Frames {
            self.ws[side] = Some(WsDecoder::new(Some(side) == self.client));
        }
        if !rest.is_empty() {
            self.on_data(side, rest, at, out);
        }
    }

    /// Reads one preamble message of `side`. False when it needs more bytes.
    fn step(&mut self, side: Side, at: At, out: &mut Vec<Passed>) -> bool {
        let from_client = Some(side) == self.client;
        match (self.kind, from_client) {
            (Kind::HttpConnect | Kind::WebSocket, true) => self.http_request(side, at, out),
            (Kind::HttpConnect | Kind::WebSocket, false) => self.http_response(side, at, out),
            (Kind::Socks5, true) => self.socks5_client(side, at, out),
            (Kind::Socks5, false) => self.socks5_server(side, at, out),
            (Kind::Socks4, true) => self.socks4_client(side, at, out),
            (Kind::Socks4, false) => self.socks4_server(side, at, out),
            (Kind::Detect | Kind::Pass, _) => false,
        }
    }

    fn invalid(&mut self, side: Side, at: At, what: &'static str, out: &mut Vec<Passed>) -> bool {
        self.event(side, at, TransportEvent::Invalid { what });
        self.pass_all(at, out);
        false
    }

    fn http_request(&mut self, side: Side, at: At, out: &mut Vec<Passed>) -> bool {
        let (len, head) = match http::request_head(&self.held[side]) {
            Parse::NeedMore => return false,
            Parse::Invalid(what) => return self.invalid(side, at, what, out),
            Parse::Complete { len, message } => (len, message),
        };
        if self.kind == Kind::HttpConnect {
            self.layers.push(Transport::HttpConnect {
                target: head.target.clone(),
                request_frame: at.frame,
                status: None,
                reason: None,
                reply_frame: None,
            });
            self.event(
                side,
                at,
                TransportEvent::HttpConnect {
                    target: head.target,
                },
            );
            self.open(side, Mode::Pass, len, at, out);
            return true;
        }
        if !head
            .upgrade
            .as_deref()
            .is_some_and(|u| u.eq_ignore_ascii_case("websocket"))
        {
            // A plain HTTP request: not a transport this module reads.
            self.pass_all(at, out);
            return false;
        }
        self.layers.push(Transport::Websocket {
            target: head.target.clone(),
            offered_protocols: head.websocket_protocol.clone(),
            inside_tls: self.inside_tls,
            upgrade_frame: at.frame,
            status: None,
            reason: None,
            protocol: None,
            reply_frame: None,
            client_frames: 0,
            server_frames: 0,
            close_code: None,
        });
        self.event(
            side,
            at,
            TransportEvent::WebsocketUpgrade {
                target: head.target,
                protocols: head.websocket_protocol,
            },
        );
        self.open(side, Mode::Frames, len, at, out);
        true
    }

    fn http_response(&mut self, side: Side, at: At, out: &mut Vec<Passed>) -> bool {
        // The answer is read once the request is: a server speaking first is not this.
        let client_done = self.client.is_some_and(|c| self.mode[c] != Mode::Head);
        if !client_done {
            return false;
        }
        let (len, head) = match http::response_head(&self.held[side]) {
            Parse::NeedMore => return false,
            Parse::Invalid(what) => return self.invalid(side, at, what, out),
            Parse::Complete { len, message } => (len, message),
        };
        let accepted;
        match self.layers.last_mut() {
            Some(Transport::HttpConnect {
                status,
                reason,
                reply_frame,
                ..
            }) => {
                accepted = (200..300).contains(&head.status);
                *status = Some(head.status);
                *reason = Some(head.reason.clone());
                *reply_frame = Some(at.frame);
                self.event(
                    side,
                    at,
                    TransportEvent::HttpConnectReply {
                        status: head.status,
                        reason: head.reason,
                    },
                );
            }
            Some(Transport::Websocket {
                status,
                reason,
                protocol,
                reply_frame,
                ..
            }) => {
                accepted = head.status == 101;
                *status = Some(head.status);
                *reason = Some(head.reason.clone());
                *protocol = head.websocket_protocol.clone();
                *reply_frame = Some(at.frame);
                self.event(
                    side,
                    at,
                    TransportEvent::WebsocketUpgradeReply {
                        status: head.status,
                        reason: head.reason,
                        protocol: head.websocket_protocol,
                    },
                );
            }
            _ => return false,
        }
        if accepted {
            let mode = if self.kind == Kind::WebSocket {
                Mode::Frames
            } else {
                Mode::Pass
            };
            self.open(side, mode, len, at, out);
        } else {
            self.drop_all();
        }
        true
    }

    fn socks5_client(&mut self, side: Side, at: At, out: &mut Vec<Passed>) -> bool {
        let bytes = &self.held[side];
        match self.socks_step[side] {
            0 => match socks::greeting(bytes) {
                Parse::NeedMore => false,
                Parse::Invalid(what) => self.invalid(side, at, what, out),
                Parse::Complete { len, .. } => {
                    self.layers.push(Transport::socks(5));
                    self.held[side].drain(..len);
                    self.socks_step[side] = 1;
                    true
                }
            },
            _ if bytes.first() == Some(&1) => match socks::auth_request(bytes) {
                Parse::NeedMore => false,
                Parse::Invalid(what) => self.invalid(side, at, what, out),
                Parse::Complete { len, .. } => {
                    self.held[side].drain(..len);
                    true
                }
            },
            _ => match socks::request_or_reply5(bytes) {
                Parse::NeedMore => false,
                Parse::Invalid(what) => self.invalid(side, at, what, out),
                Parse::Complete { len, message } => {
                    self.socks_request(5, message.address, side, at);
                    self.open(side, Mode::Pass, len, at, out);
                    true
                }
            },
        }
    }

    fn socks_request(&mut self, v: u8, address: String, side: Side, at: At) {
        if let Some(Transport::Socks {
            target,
            request_frame,
            ..
        }) = self.layers.last_mut()
        {
            *target = Some(address.clone());
            *request_frame = Some(at.frame);
        }
        self.event(
            side,
            at,
            TransportEvent::SocksRequest {
                version: v,
                target: address,
            },
        );
    }

    /// The server's last SOCKS message: `granted` opens the tunnel, anything else ends it.
    fn socks_reply(&mut self, v: u8, code: u8, granted: bool, side: Side, at: At) {
        let meaning = if v == 5 {
            socks::reply5_name(code)
        } else {
            socks::reply4_name(code)
        };
        if let Some(Transport::Socks {
            reply,
            reply_meaning,
            reply_frame,
            ..
        }) = self.layers.last_mut()
        {
            *reply = Some(code);
            *reply_meaning = Some(meaning);
            *reply_frame = Some(at.frame);
        }
        self.event(
            side,
            at,
            TransportEvent::SocksReply {
                version: v,
                code,
                granted,
                meaning,
            },
        );
    }

    fn socks5_server(&mut self, side: Side, at: At, out: &mut Vec<Passed>) -> bool {
        let bytes = &self.held[side];
        match (self.socks_step[side], self.socks_method) {
            (0, _) => match socks::method_choice(bytes) {
                Parse::NeedMore => false,
                Parse::Invalid(what) => self.invalid(side, at, what, out),
                Parse::Complete { len, message } => {
                    self.held[side].drain(..len);
                    self.socks_step[side] = 1;
                    self.socks_method = Some(message);
                    if let Some(Transport::Socks { method, .. }) = self.layers.last_mut() {
                        *method = Some(message);
                    }
                    if message == 0xff {
                        // RFC 1928 §3: no acceptable method; the client must close.
                        self.socks_reply(5, 0xff, false, side, at);
                        self.drop_all();
                    }
                    true
                }
            },
            (1, Some(2)) => match socks::auth_reply(bytes) {
                Parse::NeedMore => false,
                Parse::Invalid(what) => self.invalid(side, at, what, out),
                Parse::Complete { len, message } => {
                    self.held[side].drain(..len);
                    self.socks_step[side] = 2;
                    if message != 0 {
                        // RFC 1929 §2: a non-zero status means the credentials were refused.
                        self.socks_reply(5, 0xfe, false, side, at);
                        self.drop_all();
                    }
                    true
                }
            },
            _ => match socks::request_or_reply5(bytes) {
                Parse::NeedMore => false,
                Parse::Invalid(what) => self.invalid(side, at, what, out),
                Parse::Complete { len, message } => {
                    let granted = message.code == 0;
                    self.socks_reply(5, message.code, granted, side, at);
                    if granted {
                        self.open(side, Mode::Pass, len, at, out);
                    } else {
                        self.drop_all();
                    }
                    true
                }
            },
        }
    }

    fn socks4_client(&mut self, side: Side, at: At, out: &mut Vec<Passed>) -> bool {
        match socks::request4(&self.held[side]) {
            Parse::NeedMore => false,
            Parse::Invalid(what) => self.invalid(side, at, what, out),
            Parse::Complete { len, message } => {
                self.layers.push(Transport::socks(4));
                self.socks_request(4, message, side, at);
                self.open(side, Mode::Pass, len, at, out);
                true
            }
        }
    }

    fn socks4_server(&mut self, side: Side, at: At, out: &mut Vec<Passed>) -> bool {
        if self.layers.is_empty() {
            return false;
        }
        match socks::reply4(&self.held[side]) {
            Parse::NeedMore => false,
            Parse::Invalid(what) => self.invalid(side, at, what, out),
            Parse::Complete { len, message } => {
                let granted = message == 90;
                self.socks_reply(4, message, granted, side, at);
                if granted {
                    self.open(side, Mode::Pass, len, at, out);
                } else {
                    self.drop_all();
                }
                true
            }
        }
    }

    fn frames(&mut self, side: Side, data: &[u8], at: At, out: &mut Vec<Passed>) {
        let Some(decoder) = self.ws[side].as_mut() else {
            return;
        };
        let (mut payload, mut notes) = (Vec::new(), Vec::new());
        decoder.decode(data, &mut payload, &mut notes);
        if !payload.is_empty() {
            push(out, side, at, payload);
        }
        for note in notes {
            let event = match note {
                WsNote::Close { code } => {
                    if let Some(Transport::Websocket { close_code, .. }) = self
                        .layers
                        .iter_mut()
                        .rev()
                        .find(|l| matches!(l, Transport::Websocket { .. }))
                        && close_code.is_none()
                    {
                        *close_code = code;
                    }
                    TransportEvent::WebsocketClose { code }
                }
                WsNote::TextFrame => TransportEvent::WebsocketViolation {
                    what: "text frame (MQTT must use binary frames)",
                },
                WsNote::MaskingWrong { masked: true } => TransportEvent::WebsocketViolation {
                    what: "server frame masked",
                },
                WsNote::MaskingWrong { masked: false } => TransportEvent::WebsocketViolation {
                    what: "client frame not masked",
                },
                WsNote::Invalid(what) => {
                    self.mode[side] = Mode::Drop;
                    TransportEvent::WebsocketViolation { what }
                }
            };
            self.event(side, at, event);
        }
    }
}

/// Appends `bytes` to `out`, merged with the previous piece of the same side.
fn push(out: &mut Vec<Passed>, side: Side, at: At, bytes: Vec<u8>) {
    if let Some(last) = out.last_mut()
        && last.0 == side
    {
        last.1 = at;
        last.2.extend_from_slice(&bytes);
        return;
    }
    out.push((side, at, bytes));
}

/// Fuzz entry: arbitrary bytes through the parsers alone, then split into chunks for alternating
/// sides of a session (the first byte picks the chunk size and whether it is TLS plaintext).
/// Must never panic, and never buffer past `HEAD_LIMIT` plus one chunk.
pub fn fuzz_session(data: &[u8]) {
    let _ = proxy_header::parse(data);
    let _ = http::request_head(data);
    let _ = http::response_head(data);
    let _ = socks::greeting(data);
    let _ = socks::request_or_reply5(data);
    let _ = socks::request4(data);
    let _ = socks::reply4(data);
    let _ = websocket::frame_header(data);
    let Some((&control, rest)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(control & 0x3f) + 1;
    let mut session = TransportSession::new(control & 0x40 != 0);
    let mut out = Vec::new();
    for (n, piece) in rest.chunks(chunk).enumerate() {
        let side = if n % 3 == 2 { Side::Resp } else { Side::Orig };
        let at = At {
            frame: n as u64 + 1,
            time_ns: 0,
        };
        if control & 0x80 != 0 && n == 5 {
            session.on_gap(side);
        }
        session.on_data(side, piece, at, &mut out);
        assert!(session.held.iter().all(|h| h.len() <= HEAD_LIMIT + chunk));
        out.clear();
    }
    let _ = session.layers();
    let _ = session.take_events();
}

#[cfg(test)]
mod tests;
