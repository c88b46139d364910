//! The one place where the stages meet: reads each capture frame by frame, decodes headers,
//! tracks TCP flows, recognises and feeds TLS and MQTT sessions, and collects one
//! [`Connection`] per flow plus the facts about each capture file.
//!
//! Memory: per active flow (reassembly buffers, one partial message per direction, a capped
//! timeline); nothing grows with the number of frames.

use crate::capture::{CaptureReader, CaptureWarning, link_type_name};
use crate::common::{At, Side, Timed};
use crate::conn::{AppProtocol, Connection, Event, EventKind, infer_client};
use crate::error::Error;
use crate::flow::{FlowId, FlowLimits, FlowOpen, FlowSink, FlowTable, TcpEvent, TcpSummary};
use crate::proto::Sniffed;
use crate::proto::mqtt::{self, MqttEvent, MqttSession};
use crate::proto::tls::decrypt::KeyLog;
use crate::proto::tls::{self, TlsEvent, TlsSession};
use crate::wire::{Decoded, WireDecoder};
use std::path::Path;
use std::sync::Arc;

/// Events kept per connection timeline; more are counted, not stored, so a day-long capture of
/// one chatty connection stays small.
pub const MAX_EVENTS_PER_CONNECTION: usize = 20_000;

/// Bytes buffered per direction while the protocol is not yet recognised.
const SNIFF_LIMIT: usize = 4096;

/// Facts about one capture file.
#[derive(Debug, Clone)]
pub struct CaptureFacts {
    pub path: String,
    pub sha256: String,
    pub format: &'static str,
    pub link_types: Vec<String>,
    pub frames: u64,
    pub first_time_ns: Option<i64>,
    pub last_time_ns: Option<i64>,
    /// True when every timestamp is a whole microsecond (reports then print 6 fraction digits).
    pub microsecond_times: bool,
    pub warnings: Vec<CaptureWarning>,
    /// TLS key log text found in pcapng Decryption Secrets Blocks.
    pub embedded_secrets: Vec<Vec<u8>>,
}

/// The result of analysing one capture.
#[derive(Debug, Clone)]
pub struct CaptureAnalysis {
    pub facts: CaptureFacts,
    /// Ordered by first frame (= Wireshark `tcp.stream` order).
    pub connections: Vec<Connection>,
}

/// Analyses one capture file (`-` is stdin). `capture_index` is stored in each connection.
pub fn analyze_path(path: &Path, capture_index: usize) -> Result<CaptureAnalysis, Error> {
    analyze_path_with_keys(path, capture_index, &Arc::new(KeyLog::new()))
}

/// [`analyze_path`] decrypting TLS with `keys` (and with the capture's own pcapng secrets).
pub fn analyze_path_with_keys(
    path: &Path,
    capture_index: usize,
    keys: &Arc<KeyLog>,
) -> Result<CaptureAnalysis, Error> {
    let reader = CaptureReader::open(path)?;
    Ok(analyze_reader_with_keys(
        reader,
        &path.display().to_string(),
        capture_index,
        keys.clone(),
    ))
}

/// Analyses an opened capture to its end. Never fails: capture damage becomes warnings.
pub fn analyze_reader(reader: CaptureReader, name: &str, capture_index: usize) -> CaptureAnalysis {
    analyze_reader_with_keys(reader, name, capture_index, Arc::new(KeyLog::new()))
}

/// [`analyze_reader`] decrypting TLS with `keys`. Secrets from pcapng Decryption Secrets Blocks
/// are added as the blocks appear (pcapng §4.7 puts them before the packets they apply to), so
/// connections whose TLS session starts after a block can use them.
pub fn analyze_reader_with_keys(
    mut reader: CaptureReader,
    name: &str,
    capture_index: usize,
    keys: Arc<KeyLog>,
) -> CaptureAnalysis {
    let mut decoder = WireDecoder::new();
    let mut flows = FlowTable::new(FlowLimits::default());
    let mut collector = Collector::new(capture_index, keys);
    let mut secrets_seen = 0;
    let mut first_time_ns = None;
    let mut last_time_ns = None;
    let mut microsecond_times = true;
    let mut unsupported: Vec<u32> = Vec::new();
    let mut link_warnings: Vec<CaptureWarning> = Vec::new();

    let mut malformed: Option<(u64, String)> = None;
    let mut malformed_count = 0u64;

    loop {
        // A DSB read before this frame applies to it already; a TLS session takes new secrets
        // until its ServerHello (see `Collector::data`).
        let secrets = reader.decryption_secrets();
        if secrets.len() > secrets_seen {
            collector.add_secrets(secrets.get(secrets_seen..).unwrap_or_default());
            secrets_seen = secrets.len();
        }
        let Some(frame) = reader.next_frame() else {
            break;
        };
        first_time_ns.get_or_insert(frame.time_ns);
        last_time_ns = Some(frame.time_ns);
        microsecond_times &= frame.time_ns.rem_euclid(1000) == 0;
        let at = At {
            frame: frame.number,
            time_ns: frame.time_ns,
        };
        match decoder.decode(frame.number, frame.link_type, frame.data, frame.orig_len) {
            Decoded::Tcp(segment) => {
                flows.on_segment(at, &segment, &mut collector);
            }
            Decoded::UnsupportedLinkType(link) if !unsupported.contains(&link) => {
                unsupported.push(link);
                link_warnings.push(CaptureWarning {
                    kind: "unsupported_link_type",
                    frame: Some(frame.number),
                    message: format!(
                        "link type {} ({link}) is not supported; its frames are skipped",
                        link_type_name(link)
                    ),
                });
            }
            Decoded::Malformed(why) => {
                malformed_count += 1;
                malformed.get_or_insert((frame.number, why));
            }
            Decoded::NotTcp | Decoded::FragmentHeld | Decoded::UnsupportedLinkType(_) => {}
        }
    }
    flows.finish(&mut collector);

    let mut warnings = reader.warnings().to_vec();
    warnings.extend(link_warnings);
    if let Some((frame, why)) = malformed {
        // One warning for all of them: a damaged capture can have thousands.
        warnings.push(CaptureWarning {
            kind: "malformed_frame",
            frame: Some(frame),
            message: format!(
                "{malformed_count} frame(s) could not be decoded down to TCP; the first: {why}"
            ),
        });
    }
    let facts = CaptureFacts {
        path: name.to_string(),
        sha256: reader.sha256_hex(),
        format: reader.format().name(),
        link_types: reader
            .link_types()
            .iter()
            .map(|&l| link_type_name(l))
            .collect(),
        frames: reader.frames_read(),
        first_time_ns,
        last_time_ns,
        microsecond_times,
        warnings,
        embedded_secrets: reader.decryption_secrets().to_vec(),
    };
    let mut connections = collector.finished;
    connections.sort_by_key(|c| (c.tcp.first.frame, c.tcp_stream));
    CaptureAnalysis { facts, connections }
}

/// Runs the whole pipeline, report model included, on arbitrary bytes (for fuzz targets).
pub fn fuzz_analyze(data: &[u8]) {
    let input: Box<dyn std::io::Read + Send> = Box::new(std::io::Cursor::new(data.to_vec()));
    if let Ok(reader) = CaptureReader::from_read("fuzz", input) {
        let analysis = analyze_reader(reader, "fuzz", 0);
        let _ = crate::report::model::build(&[analysis], Default::default());
    }
}

/// Protocol recognition state of one connection.
enum Sessions {
    /// Still looking at the first bytes; chunks kept in arrival order to replay once decided.
    Sniffing {
        chunks: Vec<(Side, At, Vec<u8>)>,
        buffered: [usize; 2],
        verdict: [Sniffed; 2],
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
        buffered: [usize; 2],
    },
    Mqtt(Box<MqttSession>),
    /// Not MQTT: plaintext is dropped.
    Other,
}

/// A flow being assembled into a [`Connection`].
struct Building {
    open: FlowOpen,
    sessions: Sessions,
    events: Vec<Event>,
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
    fn push(&mut self, at: At, side: Side, kind: EventKind) {
        if self.events.len() < MAX_EVENTS_PER_CONNECTION {
            self.events.push(Event { at, side, kind });
        } else {
            self.events_dropped += 1;
        }
    }

    fn drain_protocol_events(&mut self) {
        let tls_events = std::mem::take(&mut self.tls_events);
        for t in tls_events {
            self.push(t.at, t.side, EventKind::Tls(t.event));
        }
        let mqtt_events = std::mem::take(&mut self.mqtt_events);
        for m in mqtt_events {
            self.push(m.at, m.side, EventKind::Mqtt(m.event));
        }
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
                let i = side.index();
                if buffered[i] < SNIFF_LIMIT {
                    let take = data.len().min(SNIFF_LIMIT - buffered[i]);
                    chunks.push((side, at, data[..take].to_vec()));
                    buffered[i] += take;
                }
                verdict[i] = sniff(&side_bytes(chunks, side));
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
        let (orig, resp) = (verdict[0], verdict[1]);
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

    /// Decrypted application data of the TLS session: MQTT when it sniffs as MQTT.
    fn feed_inner(&mut self, side: Side, data: &[u8], at: At) {
        match &mut self.inner {
            Inner::Mqtt(s) => s.on_data(side, data, at, &mut self.mqtt_events),
            Inner::Other => {}
            Inner::Sniffing { chunks, buffered } => {
                let i = side.index();
                if buffered[i] < SNIFF_LIMIT {
                    let take = data.len().min(SNIFF_LIMIT - buffered[i]);
                    chunks.push((side, at, data.get(..take).unwrap_or_default().to_vec()));
                    buffered[i] += take;
                }
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
                self.feed_inner(side, &bytes, at);
            }
        } else {
            self.inner = Inner::Other;
        }
    }

    fn gap(&mut self, side: Side, len: u64, at: At) {
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
                buffered[side.index()] = 0;
                verdict[side.index()] = Sniffed::NeedMore;
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

    fn into_connection(mut self, capture: usize, tcp: TcpSummary) -> Connection {
        self.decide(true);
        self.decide_inner([Sniffed::NeedMore; 2], true);
        self.drain_protocol_events();
        let endpoints = [self.open.orig, self.open.resp];
        let inner_mqtt = match &self.inner {
            Inner::Mqtt(m) => Some(m.summary().clone()),
            Inner::Sniffing { .. } | Inner::Other => None,
        };
        let (protocol, tls, mqtt) = match self.sessions {
            Sessions::Tls(s) => (AppProtocol::Tls, Some(s.summary().clone()), inner_mqtt),
            Sessions::Mqtt(s) => (AppProtocol::Mqtt, None, Some(s.summary().clone())),
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
            events: self.events,
            events_dropped: self.events_dropped,
        }
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
            mqtt::Framing::Complete { total_len, .. } if total_len <= bytes.len() => {
                bytes = &bytes[total_len..];
            }
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

/// The [`FlowSink`] that turns flow callbacks into connections.
struct Collector {
    capture: usize,
    /// Key-logged secrets: the `--keylog` files plus the capture's DSBs seen so far.
    keys: Arc<KeyLog>,
    /// Indexed by `FlowId` (dense, in creation order); `None` once finished.
    active: Vec<Option<Building>>,
    finished: Vec<Connection>,
}

impl Collector {
    fn new(capture: usize, keys: Arc<KeyLog>) -> Self {
        Collector {
            capture,
            keys,
            active: Vec::new(),
            finished: Vec::new(),
        }
    }

    /// Adds the key log text of newly read Decryption Secrets Blocks (a new shared copy, made
    /// only when a block appears).
    fn add_secrets(&mut self, texts: &[Vec<u8>]) {
        let mut keys = KeyLog::clone(&self.keys);
        for text in texts {
            keys.add_text(text);
        }
        self.keys = Arc::new(keys);
    }

    fn building(&mut self, id: FlowId) -> Option<&mut Building> {
        self.active.get_mut(id.0 as usize).and_then(Option::as_mut)
    }
}

impl FlowSink for Collector {
    fn open(&mut self, flow: &FlowOpen) {
        let index = flow.id.0 as usize;
        if self.active.len() <= index {
            self.active.resize_with(index + 1, || None);
        }
        self.active[index] = Some(Building {
            open: flow.clone(),
            sessions: Sessions::Sniffing {
                chunks: Vec::new(),
                buffered: [0, 0],
                verdict: [Sniffed::NeedMore, Sniffed::NeedMore],
            },
            events: Vec::new(),
            events_dropped: 0,
            any_payload: false,
            tls_events: Vec::new(),
            mqtt_events: Vec::new(),
            keys: None,
            inner: Inner::Sniffing {
                chunks: Vec::new(),
                buffered: [0, 0],
            },
        });
    }

    fn data(&mut self, id: FlowId, side: Side, data: &[u8], at: At) {
        let keys = (!self.keys.is_empty()).then(|| self.keys.clone());
        if let Some(b) = self.building(id) {
            // Keys from a DSB that appeared after the connection started still apply to it
            // until its ServerHello.
            let newer = match (&keys, &b.keys) {
                (Some(k), Some(old)) => !Arc::ptr_eq(k, old),
                (Some(_), None) => true,
                (None, _) => false,
            };
            if let (true, Some(k)) = (newer, keys) {
                if let Sessions::Tls(s) = &mut b.sessions {
                    s.offer_keylog(k.clone());
                }
                b.keys = Some(k);
            }
            b.any_payload |= !data.is_empty();
            b.feed(side, data, at);
        }
    }

    fn gap(&mut self, id: FlowId, side: Side, len: u64, at: At) {
        if let Some(b) = self.building(id) {
            b.push(at, side, EventKind::Tcp(TcpEvent::Gap { len }));
            b.gap(side, len, at);
        }
    }

    fn tcp_event(&mut self, id: FlowId, side: Side, event: TcpEvent, at: At) {
        if let Some(b) = self.building(id) {
            let closes = matches!(event, TcpEvent::Fin | TcpEvent::Rst);
            if !matches!(event, TcpEvent::Gap { .. }) {
                b.push(at, side, EventKind::Tcp(event));
            }
            if closes {
                b.close(side, at);
            }
        }
    }

    fn closed(&mut self, id: FlowId, summary: TcpSummary) {
        let taken = self.active.get_mut(id.0 as usize).and_then(Option::take);
        if let Some(b) = taken {
            let conn = b.into_connection(self.capture, summary);
            self.finished.push(conn);
        }
    }
}
