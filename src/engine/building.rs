//! One connection being assembled: protocol recognition from the first bytes of each
//! direction (TLS or MQTT on any port), the TLS or MQTT session it then feeds, MQTT inside
//! decrypted TLS, and the capped event timeline. Sniffing buffers at most `SNIFF_LIMIT` bytes
//! per direction; the timeline keeps its first `TIMELINE_HEAD` and last `TIMELINE_TAIL`
//! events (what rules about the start and the end of a long connection need) and counts the
//! rest.

use crate::common::{At, PerSide, Side, Timed};
use crate::conn::{AppProtocol, Connection, Event, EventKind, infer_client};
use crate::flow::directory::EndReason;
use crate::flow::{FlowId, FlowOpen, FlowSink, TcpEvent, TcpSummary};
use crate::proto::Sniffed;
use crate::proto::dns::ResolvedBy;
use crate::proto::mqtt::{self, MqttEvent, MqttSession};
use crate::proto::tls::decrypt::KeyLog;
use crate::proto::tls::{self, TlsEvent, TlsSession};
use crate::proto::transport::{self, Passed, TransportSession};
use std::collections::VecDeque;
use std::sync::Arc;

/// Events kept from the start of a connection's timeline.
pub(crate) const TIMELINE_HEAD: usize = 1_000;
/// Events kept from the end of a connection's timeline.
pub(crate) const TIMELINE_TAIL: usize = 1_000;

/// Bytes buffered per direction while the protocol is not yet recognised.
const SNIFF_LIMIT: usize = 4096;

/// Protocol recognition state of one connection.
enum Sessions {
    /// Still looking at the first bytes; chunks kept in arrival order to replay once decided.
    Sniffing {
        chunks: Vec<(Side, At, Vec<u8>)>,
        buffered: PerSide<usize>,
        verdict: PerSide<Sniffed>,
    },
    Tls(Box<TlsSession>),
    Mqtt(Box<MqttSession>),
    Unknown,
}

/// What the decrypted application data of a TLS connection carries.
enum Inner {
    /// Nothing decrypted yet, or not enough to tell; plaintext kept to replay once decided.
    Sniffing {
        chunks: Vec<(Side, At, Vec<u8>)>,
        buffered: PerSide<usize>,
    },
    Mqtt(Box<MqttSession>),
    /// Not MQTT: plaintext is dropped.
    Other,
}

/// The transport stage in front of a protocol (PROXY header, proxy tunnel, WebSocket).
enum Stage {
    /// No byte seen yet.
    Undecided,
    Active(Box<TransportSession>),
    /// No transport: bytes go straight to the protocol (the common case, no copy).
    Pass,
}

impl Stage {
    /// Routes `data` of `side` through the stage; `None` when it passes unchanged.
    fn route(&mut self, side: Side, data: &[u8], at: At, inside_tls: bool) -> Option<Vec<Passed>> {
        if let Stage::Undecided = self {
            match data.first() {
                None => return None,
                Some(&b) if transport::may_start(b) => {
                    *self = Stage::Active(Box::new(TransportSession::new(inside_tls)));
                }
                Some(_) => *self = Stage::Pass,
            }
        }
        let Stage::Active(t) = self else {
            return None;
        };
        if t.passes(side) {
            return None;
        }
        let mut out = Vec::new();
        t.on_data(side, data, at, &mut out);
        Some(out)
    }

    /// The session's events, and the session dropped when it found nothing.
    fn drain(&mut self, into: &mut Vec<Timed<transport::TransportEvent>>) {
        if let Stage::Active(t) = self {
            into.extend(t.take_events());
            if t.inert() {
                *self = Stage::Pass;
            }
        }
    }

    fn gap(&mut self, side: Side) {
        if let Stage::Active(t) = self {
            t.on_gap(side);
        }
    }

    fn layers(&self) -> Vec<transport::Transport> {
        match self {
            Stage::Active(t) => t.layers(),
            Stage::Undecided | Stage::Pass => Vec::new(),
        }
    }
}

/// A flow being assembled into a [`Connection`].
pub(super) struct Building {
    open: FlowOpen,
    dns: Option<Box<ResolvedBy>>,
    /// Transports on the TCP bytes, then in the TLS plaintext.
    outer: Stage,
    inner_stage: Stage,
    transport_events: Vec<Timed<transport::TransportEvent>>,
    sessions: Sessions,
    events: Vec<Event>,
    /// The latest events once `events` holds `TIMELINE_HEAD`.
    tail: VecDeque<Event>,
    events_dropped: u64,
    any_payload: bool,
    tls_events: Vec<Timed<TlsEvent>>,
    mqtt_events: Vec<Timed<MqttEvent>>,
    /// Key-logged secrets for the TLS session, when there are any.
    keys: Option<Arc<KeyLog>>,
    /// MQTT inside TLS, from decrypted application data.
    inner: Inner,
}

impl Building {
    pub(super) fn new(open: FlowOpen, dns: Option<Box<ResolvedBy>>) -> Self {
        Building {
            open,
            dns,
            outer: Stage::Undecided,
            inner_stage: Stage::Undecided,
            transport_events: Vec::new(),
            sessions: Sessions::Sniffing {
                chunks: Vec::new(),
                buffered: PerSide::both(0),
                verdict: PerSide::both(Sniffed::NeedMore),
            },
            events: Vec::new(),
            tail: VecDeque::new(),
            events_dropped: 0,
            any_payload: false,
            tls_events: Vec::new(),
            mqtt_events: Vec::new(),
            keys: None,
            inner: Inner::Sniffing {
                chunks: Vec::new(),
                buffered: PerSide::both(0),
            },
        }
    }

    /// Key-logged secrets (the run's, plus pcapng blocks seen so far). Keys from a block that
    /// appeared after the connection started still apply to it until its ServerHello.
    pub(super) fn offer_keys(&mut self, keys: Arc<KeyLog>) {
        if self
            .keys
            .as_ref()
            .is_some_and(|old| Arc::ptr_eq(old, &keys))
        {
            return;
        }
        if let Sessions::Tls(s) = &mut self.sessions {
            s.offer_keylog(keys.clone());
        }
        self.keys = Some(keys);
    }

    /// In-order stream bytes of `side`.
    pub(super) fn data(&mut self, side: Side, data: &[u8], at: At) {
        self.any_payload |= !data.is_empty();
        match self.outer.route(side, data, at, false) {
            None => self.feed(side, data, at),
            Some(passed) => {
                self.outer.drain(&mut self.transport_events);
                self.drain_protocol_events();
                for (side, at, bytes) in passed {
                    self.feed(side, &bytes, at);
                }
            }
        }
    }

    /// A TCP happening: into the timeline, and a FIN or RST closes that side's sessions.
    pub(super) fn tcp_event(&mut self, side: Side, event: TcpEvent, at: At) {
        let closes = matches!(event, TcpEvent::Fin | TcpEvent::Rst);
        // Gaps arrive through `gap`, with their length.
        if !matches!(event, TcpEvent::Gap { .. }) {
            self.push(at, side, EventKind::Tcp(event));
        }
        if closes {
            self.close(side, at);
        }
    }

    fn push(&mut self, at: At, side: Side, kind: EventKind) {
        let event = Event { at, side, kind };
        if self.events.capacity() == 0 {
            // Most records of a flood or a scan hold one event: room for one, not Vec's four.
            self.events.reserve_exact(1);
        }
        if self.events.len() < TIMELINE_HEAD {
            self.events.push(event);
            return;
        }
        if self.tail.len() >= TIMELINE_TAIL {
            self.tail.pop_front();
            self.events_dropped += 1;
        }
        self.tail.push_back(event);
    }

    /// Moves the sessions' new events into the timeline. The three queues keep their
    /// capacity (taking them fresh made an allocation per packet, 5 per connection), up to
    /// [`KEPT_QUEUE`] events: one segment of thousands of tiny packets must not leave every
    /// live connection holding that much.
    fn drain_protocol_events(&mut self) {
        let mut transport_events = std::mem::take(&mut self.transport_events);
        for t in transport_events.drain(..) {
            self.push(t.at, t.side, EventKind::Transport(Box::new(t.event)));
        }
        self.transport_events = kept(transport_events);
        let mut tls_events = std::mem::take(&mut self.tls_events);
        for t in tls_events.drain(..) {
            self.push(t.at, t.side, EventKind::Tls(t.event));
        }
        self.tls_events = kept(tls_events);
        let mut mqtt_events = std::mem::take(&mut self.mqtt_events);
        for m in mqtt_events.drain(..) {
            self.push(m.at, m.side, EventKind::Mqtt(m.event));
        }
        self.mqtt_events = kept(mqtt_events);
    }

    fn feed(&mut self, side: Side, data: &[u8], at: At) {
        match &mut self.sessions {
            Sessions::Tls(s) => {
                s.on_data(side, data, at, &mut self.tls_events);
                let plaintext = s.take_plaintext();
                for (side, at, bytes) in plaintext {
                    self.feed_inner(side, &bytes, at);
                }
            }
            Sessions::Mqtt(s) => s.on_data(side, data, at, &mut self.mqtt_events),
            Sessions::Unknown => {}
            Sessions::Sniffing {
                chunks,
                buffered,
                verdict,
            } => {
                keep_prefix(chunks, buffered, side, at, data);
                verdict[side] = sniff(&side_bytes(chunks, side));
                self.decide(false);
            }
        }
        self.drain_protocol_events();
    }

    /// Chooses the protocol once one side is recognised. With `at_end`, a direction whose
    /// bytes are still ambiguous (a lone PINGREQ, say) is judged on what there is.
    fn decide(&mut self, at_end: bool) {
        let Sessions::Sniffing {
            chunks, verdict, ..
        } = &mut self.sessions
        else {
            return;
        };
        let (orig, resp) = (verdict.orig, verdict.resp);
        let chosen = if orig == Sniffed::Tls || resp == Sniffed::Tls {
            Some(AppProtocol::Tls)
        } else if orig == Sniffed::Mqtt || resp == Sniffed::Mqtt {
            Some(AppProtocol::Mqtt)
        } else if orig == Sniffed::NeedMore || resp == Sniffed::NeedMore {
            if at_end {
                let mqtt_framed = [Side::Orig, Side::Resp].iter().all(|&s| {
                    let bytes = side_bytes(chunks, s);
                    bytes.is_empty() || is_complete_mqtt_run(&bytes)
                });
                let any = chunks.iter().any(|c| !c.2.is_empty());
                Some(if any && mqtt_framed {
                    AppProtocol::Mqtt
                } else {
                    AppProtocol::Unknown
                })
            } else {
                None
            }
        } else if orig == Sniffed::Unknown || resp == Sniffed::Unknown {
            Some(AppProtocol::Unknown)
        } else {
            None
        };
        let Some(chosen) = chosen else { return };
        let replay = std::mem::take(chunks);
        self.sessions = match chosen {
            AppProtocol::Tls => Sessions::Tls(Box::new(match &self.keys {
                Some(keys) => TlsSession::with_keylog(keys.clone()),
                None => TlsSession::new(),
            })),
            // A capture that starts mid-connection may start inside a packet.
            AppProtocol::Mqtt if self.open.syn_seen => Sessions::Mqtt(Box::default()),
            AppProtocol::Mqtt => Sessions::Mqtt(Box::new(MqttSession::new_midstream())),
            AppProtocol::Unknown | AppProtocol::None => Sessions::Unknown,
        };
        for (side, at, bytes) in replay {
            self.feed(side, &bytes, at);
        }
    }

    /// Decrypted application data of the TLS session, through its transport stage (MQTT over
    /// WebSockets over TLS).
    fn feed_inner(&mut self, side: Side, data: &[u8], at: At) {
        match self.inner_stage.route(side, data, at, true) {
            None => self.feed_inner_protocol(side, data, at),
            Some(passed) => {
                self.inner_stage.drain(&mut self.transport_events);
                for (side, at, bytes) in passed {
                    self.feed_inner_protocol(side, &bytes, at);
                }
            }
        }
    }

    /// Decrypted application data past its transports: MQTT when it sniffs as MQTT.
    fn feed_inner_protocol(&mut self, side: Side, data: &[u8], at: At) {
        match &mut self.inner {
            Inner::Mqtt(s) => s.on_data(side, data, at, &mut self.mqtt_events),
            Inner::Other => {}
            Inner::Sniffing { chunks, buffered } => {
                keep_prefix(chunks, buffered, side, at, data);
                let verdicts = [Side::Orig, Side::Resp].map(|s| {
                    let bytes = side_bytes(chunks, s);
                    if bytes.is_empty() {
                        Sniffed::NeedMore
                    } else {
                        mqtt::sniff(&bytes)
                    }
                });
                self.decide_inner(verdicts, false);
            }
        }
    }

    /// Picks the inner protocol: MQTT when a side sniffs as MQTT, else not MQTT once a side is
    /// clearly something else (or, with `at_end`, when the bytes are not whole MQTT packets).
    fn decide_inner(&mut self, verdicts: [Sniffed; 2], at_end: bool) {
        let Inner::Sniffing { chunks, .. } = &mut self.inner else {
            return;
        };
        let mqtt = if verdicts.contains(&Sniffed::Mqtt) {
            true
        } else if verdicts.contains(&Sniffed::Unknown) {
            false
        } else if at_end {
            let any = chunks.iter().any(|c| !c.2.is_empty());
            any && [Side::Orig, Side::Resp]
                .iter()
                .all(|&s| is_complete_mqtt_run(&side_bytes(chunks, s)))
        } else {
            return;
        };
        let replay = std::mem::take(chunks);
        if mqtt {
            self.inner = Inner::Mqtt(Box::default());
            for (side, at, bytes) in replay {
                self.feed_inner_protocol(side, &bytes, at);
            }
        } else {
            self.inner = Inner::Other;
        }
    }

    /// `len` bytes of `side` are missing from the capture: into the timeline, and every session
    /// of that side resynchronises after them.
    pub(super) fn gap(&mut self, side: Side, len: u64, at: At) {
        self.push(at, side, EventKind::Tcp(TcpEvent::Gap { len }));
        self.outer.gap(side);
        self.inner_stage.gap(side);
        match &mut self.sessions {
            Sessions::Tls(s) => {
                s.on_gap(side, len, at, &mut self.tls_events);
                if let Inner::Mqtt(m) = &mut self.inner {
                    m.on_gap(side, len, at, &mut self.mqtt_events);
                }
            }
            Sessions::Mqtt(s) => s.on_gap(side, len, at, &mut self.mqtt_events),
            Sessions::Unknown => {}
            Sessions::Sniffing {
                chunks,
                buffered,
                verdict,
            } => {
                // Bytes before a hole cannot be continued: sniff again from after it.
                chunks.retain(|c| c.0 != side);
                buffered[side] = 0;
                verdict[side] = Sniffed::NeedMore;
            }
        }
        self.drain_protocol_events();
    }

    fn close(&mut self, side: Side, at: At) {
        match &mut self.sessions {
            Sessions::Tls(s) => {
                s.on_close(side, at, &mut self.tls_events);
                if let Inner::Mqtt(m) = &mut self.inner {
                    m.on_close(side, at, &mut self.mqtt_events);
                }
            }
            Sessions::Mqtt(s) => s.on_close(side, at, &mut self.mqtt_events),
            Sessions::Unknown | Sessions::Sniffing { .. } => {}
        }
        self.drain_protocol_events();
    }

    /// The finished record. `ended_by` and `continues` (a report id) come from the engine.
    pub(super) fn into_connection(
        mut self,
        capture: usize,
        tcp: TcpSummary,
        ended_by: EndReason,
        continues: Option<usize>,
    ) -> Connection {
        self.decide(true);
        self.decide_inner([Sniffed::NeedMore; 2], true);
        self.drain_protocol_events();
        let endpoints = [self.open.orig, self.open.resp];
        let mut transport = self.outer.layers();
        transport.extend(self.inner_stage.layers());
        let inner_mqtt = match self.inner {
            Inner::Mqtt(m) => Some(m.into_summary()),
            Inner::Sniffing { .. } | Inner::Other => None,
        };
        let (protocol, tls, mqtt) = match self.sessions {
            Sessions::Tls(s) => (AppProtocol::Tls, Some(s.into_summary()), inner_mqtt),
            Sessions::Mqtt(s) => (AppProtocol::Mqtt, None, Some(s.into_summary())),
            Sessions::Unknown if self.any_payload => (AppProtocol::Unknown, None, None),
            Sessions::Unknown | Sessions::Sniffing { .. } => (AppProtocol::None, None, None),
        };
        let (client, client_basis) = infer_client(
            tcp.syn_seen,
            tls.as_ref().and_then(|t| t.client_side),
            mqtt.as_ref().and_then(|m| m.client_side),
            &endpoints,
        );
        // Protocol events were produced as bytes became contiguous; keep one frame order.
        self.events.extend(self.tail);
        self.events.sort_by_key(|e| e.at.frame);
        Connection {
            capture,
            tcp_stream: self.open.id.0,
            endpoints,
            client,
            client_basis,
            protocol,
            tcp,
            tls,
            mqtt,
            transport,
            dns: self.dns,
            events: self.events,
            events_dropped: self.events_dropped,
            ended_by,
            continues,
        }
    }
}

/// A flow's [`FlowSink`] calls, delivered to its one [`Building`] (the flow id is implied).
pub(super) struct BuildingSink<'a> {
    pub building: &'a mut Building,
    /// Key-logged secrets to offer before data, when there are any.
    pub keys: Option<&'a Arc<KeyLog>>,
}

impl FlowSink for BuildingSink<'_> {
    fn open(&mut self, _flow: &FlowOpen) {}
    fn data(&mut self, _id: FlowId, side: Side, data: &[u8], at: At) {
        if let Some(keys) = self.keys {
            self.building.offer_keys(keys.clone());
        }
        self.building.data(side, data, at);
    }
    fn gap(&mut self, _id: FlowId, side: Side, len: u64, at: At) {
        self.building.gap(side, len, at);
    }
    fn tcp_event(&mut self, _id: FlowId, side: Side, event: TcpEvent, at: At) {
        self.building.tcp_event(side, event, at);
    }
    fn closed(&mut self, _id: FlowId, _summary: TcpSummary) {}
}

/// Keeps `data` for replay once the protocol is decided, up to `SNIFF_LIMIT` bytes per side.
/// Events an emptied protocol queue may keep room for between deliveries.
const KEPT_QUEUE: usize = 32;

/// `queue` (empty) with its capacity, unless that is more than [`KEPT_QUEUE`] events.
fn kept<T>(queue: Vec<T>) -> Vec<T> {
    if queue.capacity() > KEPT_QUEUE {
        Vec::new()
    } else {
        queue
    }
}

fn keep_prefix(
    chunks: &mut Vec<(Side, At, Vec<u8>)>,
    buffered: &mut PerSide<usize>,
    side: Side,
    at: At,
    data: &[u8],
) {
    if buffered[side] < SNIFF_LIMIT {
        let take = data.len().min(SNIFF_LIMIT - buffered[side]);
        chunks.push((side, at, data.get(..take).unwrap_or_default().to_vec()));
        buffered[side] += take;
    }
}

/// All bytes buffered so far for one side, in order.
fn side_bytes(chunks: &[(Side, At, Vec<u8>)], side: Side) -> Vec<u8> {
    chunks
        .iter()
        .filter(|c| c.0 == side)
        .flat_map(|c| c.2.iter().copied())
        .collect()
}

/// True when `bytes` split exactly into whole MQTT packets by their fixed headers: the last
/// resort for a direction too short for the sniffer to be sure (a lone `c0 00` PINGREQ).
fn is_complete_mqtt_run(mut bytes: &[u8]) -> bool {
    while !bytes.is_empty() {
        match mqtt::frame(bytes) {
            mqtt::Framing::Complete { total_len, .. } => match bytes.get(total_len..) {
                Some(rest) => bytes = rest,
                None => return false,
            },
            _ => return false,
        }
    }
    true
}

/// TLS first: a TLS record header is unambiguous, while MQTT's is a single type byte.
fn sniff(bytes: &[u8]) -> Sniffed {
    match tls::sniff(bytes) {
        Sniffed::Tls => Sniffed::Tls,
        tls_verdict => match (tls_verdict, mqtt::sniff(bytes)) {
            (_, Sniffed::Mqtt) => Sniffed::Mqtt,
            (Sniffed::NeedMore, _) | (_, Sniffed::NeedMore) => Sniffed::NeedMore,
            _ => Sniffed::Unknown,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A CONNECT from the client and a CONNACK from the server reach the record's timeline
    /// (through the session's event queue, drained into the timeline).
    #[test]
    fn protocol_events_reach_the_timeline() {
        let open = FlowOpen {
            id: crate::flow::FlowId(0),
            orig: std::net::SocketAddr::from(([10, 0, 0, 2], 40000)),
            resp: std::net::SocketAddr::from(([10, 0, 0, 1], 1883)),
            syn_seen: true,
            at: At {
                frame: 1,
                time_ns: 0,
            },
        };
        let mut building = Building::new(open, None);
        // CONNECT 3.1.1, empty client id, keep-alive 60; then CONNACK accepted.
        let connect = [0x10, 12, 0, 4, b'M', b'Q', b'T', b'T', 4, 0x02, 0, 60, 0, 0];
        building.data(
            Side::Orig,
            &connect,
            At {
                frame: 4,
                time_ns: 3,
            },
        );
        building.data(
            Side::Resp,
            &[0x20, 2, 0, 0],
            At {
                frame: 5,
                time_ns: 4,
            },
        );
        let limits = crate::flow::FlowLimits::default().reassembly();
        let tcp = crate::flow::tracker::FlowTracker::new(&open, limits).summary();
        let conn = building.into_connection(0, tcp, EndReason::EndOfCapture, None);
        let frames: Vec<u64> = conn
            .events
            .iter()
            .filter(|e| matches!(e.kind, EventKind::Mqtt(_)))
            .map(|e| e.at.frame)
            .collect();
        assert_eq!(frames, [4, 5]);
        assert_eq!(conn.protocol, AppProtocol::Mqtt);
    }

    #[test]
    fn an_emptied_queue_keeps_only_modest_room() {
        let modest: Vec<u64> = Vec::with_capacity(KEPT_QUEUE);
        assert_eq!(kept(modest).capacity(), KEPT_QUEUE);
        let burst: Vec<u64> = Vec::with_capacity(KEPT_QUEUE * 1000);
        assert_eq!(kept(burst).capacity(), 0);
    }
}
