//! Per-connection MQTT session: frames each direction's ordered bytes into packets, decodes
//! them, keeps the connection summary and emits events.
//!
//! Guarantees: memory per direction is bounded (an incomplete packet is buffered only up to
//! [`MAX_BUFFERED`]; a larger one is decoded from its first [`HEAD_BYTES`] and the rest of its
//! body skipped unstored; resynchronisation looks at most [`RESYNC_WINDOW`] bytes at a time).
//! A gap is a capture artifact, never a violation: the partial packet is dropped and the
//! direction resynchronises on the next plausible fixed header (a `Resync` event). Nothing here
//! panics on any input.

use super::event::{MqttEvent, PacketSummary};
use super::message::{ConnackInfo, ConnectInfo, DisconnectInfo, MqttSummary, WillInfo};
use super::parser::{Body, Framing, Packet, PacketType, Version, frame, parse_packet};
use super::sniff::{Plausibility, plausible};
use crate::common::{At, Side, Timed};

/// Largest packet held whole in memory.
pub const MAX_BUFFERED: usize = 1 << 20;
/// Bytes of a larger packet decoded before its body is skipped (topic, ids, properties).
pub const HEAD_BYTES: usize = 64 * 1024;
/// Bytes examined at once while looking for a packet start after a gap.
pub const RESYNC_WINDOW: usize = 16 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum VersionSource {
    /// No packet yet.
    Unknown,
    /// 3.1.1 assumed for lack of evidence (the layouts of 3.1 and 3.1.1 agree).
    Default,
    /// Inferred from a v5-only layout (CONNACK with properties, DISCONNECT with a reason).
    Guessed,
    /// From the CONNECT protocol level.
    Connect,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Mode {
    Framing,
    /// Skipping the unstored rest of a large packet, whose event is emitted when it ends.
    Skipping {
        remaining: u64,
        pending: Box<PacketSummary>,
    },
    /// Looking for a plausible fixed header; `skipped` bytes dropped so far. `announce`: emit a
    /// `Resync` event even when nothing was skipped (after a gap, not at a mid-stream start).
    Resync {
        skipped: u64,
        announce: bool,
    },
}

#[derive(Debug, Clone)]
struct Direction {
    mode: Mode,
    /// An incomplete packet (Framing) or bytes under examination (Resync).
    buf: Vec<u8>,
}

impl Default for Direction {
    fn default() -> Self {
        Direction {
            mode: Mode::Framing,
            buf: Vec::new(),
        }
    }
}

/// What one step of `on_data` did.
struct Step {
    consumed: usize,
    /// Bytes taken earlier that must be examined again before the rest of the input.
    replay: Option<Vec<u8>>,
}

impl Step {
    fn consumed(consumed: usize) -> Step {
        Step {
            consumed,
            replay: None,
        }
    }
}

/// One MQTT connection, fed with each direction's ordered bytes.
#[derive(Debug, Clone)]
pub struct MqttSession {
    dirs: [Direction; 2],
    version: Version,
    version_source: VersionSource,
    summary: MqttSummary,
}

impl Default for MqttSession {
    fn default() -> Self {
        Self::new()
    }
}

impl MqttSession {
    pub fn new() -> Self {
        MqttSession {
            dirs: [Direction::default(), Direction::default()],
            version: Version::V3_1_1,
            version_source: VersionSource::Unknown,
            summary: MqttSummary::default(),
        }
    }

    /// A session for a connection whose start was not captured: each direction may begin
    /// inside a packet, so both first look for a plausible packet start (bytes skipped before
    /// it are reported as a `Resync`; a direction that starts on a boundary reports nothing).
    pub fn new_midstream() -> Self {
        let mut session = Self::new();
        for dir in &mut session.dirs {
            dir.mode = Mode::Resync {
                skipped: 0,
                announce: false,
            };
        }
        session
    }

    pub fn summary(&self) -> &MqttSummary {
        &self.summary
    }

    /// The version bodies are decoded with (from CONNECT, else guessed).
    pub fn version(&self) -> Version {
        self.version
    }

    pub fn on_data(&mut self, side: Side, data: &[u8], at: At, out: &mut Vec<Timed<MqttEvent>>) {
        // Bytes a step hands back to be examined again (after a resync, the bytes behind the
        // packet start it found) are processed before the rest of the input, in a loop rather
        // than by recursion so that no input can exhaust the stack.
        let mut input = data;
        let mut replay: Vec<u8> = Vec::new();
        let mut replay_pos = 0;
        loop {
            let from_replay = replay_pos < replay.len();
            let source = if from_replay {
                replay.get(replay_pos..).unwrap_or(&[])
            } else {
                input
            };
            if source.is_empty() {
                break;
            }
            let step = match self.dirs[side.index()].mode {
                Mode::Skipping { .. } => self.skip(side, source, at, out),
                Mode::Resync { .. } => self.resync(side, source, at, out),
                Mode::Framing => self.framing(side, source, at, out),
            };
            // Every step consumes at least one byte; `min` keeps positions in bounds.
            let consumed = step.consumed.max(1).min(source.len());
            if from_replay {
                replay_pos += consumed;
            } else {
                input = input.get(consumed..).unwrap_or(&[]);
            }
            if let Some(mut again) = step.replay {
                again.extend_from_slice(replay.get(replay_pos..).unwrap_or(&[]));
                replay = again;
                replay_pos = 0;
            }
        }
    }

    /// Bytes missing from the capture in one direction (a capture artifact).
    pub fn on_gap(&mut self, side: Side, len: u64, at: At, out: &mut Vec<Timed<MqttEvent>>) {
        let dir = &mut self.dirs[side.index()];
        let mode = std::mem::replace(&mut dir.mode, Mode::Framing);
        match mode {
            Mode::Skipping { remaining, pending } if len < remaining => {
                // The gap lies inside a body we skip anyway: still in step.
                dir.mode = Mode::Skipping {
                    remaining: remaining - len,
                    pending,
                };
            }
            Mode::Skipping { pending, .. } => {
                self.record_packet(side, *pending, at, out);
                self.dirs[side.index()].mode = Mode::Resync {
                    skipped: 0,
                    announce: true,
                };
            }
            Mode::Resync { skipped, .. } => {
                dir.mode = Mode::Resync {
                    skipped: skipped + dir.buf.len() as u64,
                    announce: true,
                };
                dir.buf.clear();
            }
            Mode::Framing => {
                dir.mode = Mode::Resync {
                    skipped: dir.buf.len() as u64,
                    announce: true,
                };
                dir.buf.clear();
            }
        }
    }

    /// The direction ended (FIN, RST or end of capture).
    pub fn on_close(&mut self, side: Side, at: At, out: &mut Vec<Timed<MqttEvent>>) {
        let dir = &mut self.dirs[side.index()];
        let mode = std::mem::replace(&mut dir.mode, Mode::Framing);
        let buf = std::mem::take(&mut dir.buf);
        let event = match mode {
            Mode::Framing if buf.is_empty() => None,
            Mode::Framing => {
                let packet_type = buf.first().map_or("RESERVED", |&b| {
                    PacketType::from_first_byte(b).name(self.version)
                });
                let declared = match frame(&buf) {
                    Framing::Complete { total_len, .. } => total_len as u64,
                    _ => 0,
                };
                Some(MqttEvent::Unfinished {
                    packet_type,
                    received: buf.len() as u64,
                    declared,
                })
            }
            Mode::Skipping { remaining, pending } => {
                let received =
                    u64::from(pending.remaining_len.unwrap_or(0)).saturating_sub(remaining);
                Some(MqttEvent::Unfinished {
                    packet_type: pending.packet_type,
                    received,
                    declared: received + remaining,
                })
            }
            Mode::Resync { skipped, .. } => {
                let skipped = skipped + buf.len() as u64;
                (skipped > 0).then_some(MqttEvent::Resync {
                    skipped,
                    resumed: false,
                })
            }
        };
        if let Some(event) = event {
            out.push(Timed { at, side, event });
        }
    }

    /// Framing mode: frames and decodes packets from the input (zero-copy when a packet lies
    /// whole in it), buffering only an incomplete one.
    fn framing(
        &mut self,
        side: Side,
        input: &[u8],
        at: At,
        out: &mut Vec<Timed<MqttEvent>>,
    ) -> Step {
        let i = side.index();
        if self.dirs[i].buf.is_empty() {
            match frame(input) {
                Framing::Complete { total_len, .. } if total_len <= input.len() => {
                    let packet = input.get(..total_len).unwrap_or(&[]);
                    self.handle_packet(side, packet, at, out);
                    return Step::consumed(total_len);
                }
                Framing::Complete { total_len, .. }
                    if total_len > MAX_BUFFERED && input.len() >= HEAD_BYTES =>
                {
                    let head = input.get(..HEAD_BYTES).unwrap_or(&[]);
                    self.start_skipping(side, head, total_len, at, out);
                    return Step::consumed(HEAD_BYTES);
                }
                Framing::Invalid(why) => {
                    self.unframeable(side, input.first().copied(), why, at, out);
                    return Step::consumed(1);
                }
                _ => {}
            }
        }
        // Gather the fixed header, then the packet (or the head of a large one), in the buffer.
        let mut consumed = 0;
        loop {
            let dir = &mut self.dirs[i];
            let (target, total_len) = match frame(&dir.buf) {
                Framing::NeedMore => (dir.buf.len() + 1, None),
                Framing::Complete { total_len, .. } if total_len > MAX_BUFFERED => {
                    (HEAD_BYTES, Some(total_len))
                }
                Framing::Complete { total_len, .. } => (total_len, Some(total_len)),
                Framing::Invalid(why) => {
                    // Only header bytes are buffered here (at most five): drop the first and
                    // examine the others again while resynchronising.
                    let mut buffered = std::mem::take(&mut dir.buf);
                    let first = buffered.first().copied();
                    let behind = buffered.split_off(1.min(buffered.len()));
                    self.unframeable(side, first, why, at, out);
                    return Step {
                        consumed,
                        replay: Some(behind),
                    };
                }
            };
            let want = target.saturating_sub(dir.buf.len());
            let take = want.min(input.len().saturating_sub(consumed));
            dir.buf
                .extend_from_slice(input.get(consumed..consumed + take).unwrap_or(&[]));
            consumed += take;
            if dir.buf.len() < target {
                return Step::consumed(consumed); // input exhausted
            }
            if let Some(total_len) = total_len {
                let buf = std::mem::take(&mut dir.buf);
                if total_len > buf.len() {
                    self.start_skipping(side, &buf, total_len, at, out);
                } else {
                    self.handle_packet(side, &buf, at, out);
                }
                // Keep the allocation for the next incomplete packet unless it grew large.
                if buf.capacity() <= 64 * 1024 {
                    let dir = &mut self.dirs[i];
                    dir.buf = buf;
                    dir.buf.clear();
                }
                return Step::consumed(consumed);
            }
        }
    }

    /// The fixed header cannot be framed: a violation, then look for the next packet start.
    fn unframeable(
        &mut self,
        side: Side,
        first: Option<u8>,
        why: &'static str,
        at: At,
        out: &mut Vec<Timed<MqttEvent>>,
    ) {
        let packet_type = first.map(|b| PacketType::from_first_byte(b).name(self.version));
        self.summary.violations += 1;
        out.push(Timed {
            at,
            side,
            event: MqttEvent::Violation {
                packet_type,
                what: format!("{why} (MQTT 3.1.1 §2.2.3, 5.0 §1.5.5)"),
            },
        });
        self.dirs[side.index()].mode = Mode::Resync {
            skipped: 1,
            announce: true,
        };
    }

    fn start_skipping(
        &mut self,
        side: Side,
        head: &[u8],
        total_len: usize,
        at: At,
        out: &mut Vec<Timed<MqttEvent>>,
    ) {
        let packet = self.decode(head);
        let summary = self.observe(side, &packet, at, out);
        self.dirs[side.index()].mode = Mode::Skipping {
            remaining: total_len.saturating_sub(head.len()) as u64,
            pending: Box::new(summary),
        };
    }

    fn skip(&mut self, side: Side, input: &[u8], at: At, out: &mut Vec<Timed<MqttEvent>>) -> Step {
        let dir = &mut self.dirs[side.index()];
        let Mode::Skipping { remaining, .. } = &mut dir.mode else {
            return Step::consumed(0);
        };
        let take = (*remaining).min(input.len() as u64);
        *remaining -= take;
        if *remaining == 0
            && let Mode::Skipping { pending, .. } = std::mem::replace(&mut dir.mode, Mode::Framing)
        {
            self.record_packet(side, *pending, at, out);
        }
        Step::consumed(take as usize)
    }

    /// Resync mode: gathers up to a window of bytes and looks for a plausible packet start;
    /// once found, the bytes from there are handed back for framing.
    fn resync(
        &mut self,
        side: Side,
        input: &[u8],
        at: At,
        out: &mut Vec<Timed<MqttEvent>>,
    ) -> Step {
        let dir = &mut self.dirs[side.index()];
        let take = RESYNC_WINDOW.saturating_sub(dir.buf.len()).min(input.len());
        dir.buf.extend_from_slice(input.get(..take).unwrap_or(&[]));
        let window_full = dir.buf.len() >= RESYNC_WINDOW;
        let mut found = None;
        let mut undecided = None;
        for offset in 0..dir.buf.len() {
            match plausible(dir.buf.get(offset..).unwrap_or(&[])) {
                Plausibility::Yes { .. } => {
                    found = Some(offset);
                    break;
                }
                Plausibility::NeedMore if !window_full => {
                    undecided = Some(offset);
                    break;
                }
                _ => {}
            }
        }
        let Mode::Resync { skipped, announce } = &mut dir.mode else {
            return Step::consumed(take);
        };
        match (found, undecided) {
            (Some(offset), _) => {
                let total_skipped = *skipped + offset as u64;
                let announce = *announce || total_skipped > 0;
                let from_start = dir.buf.split_off(offset);
                dir.buf = Vec::new();
                dir.mode = Mode::Framing;
                if announce {
                    out.push(Timed {
                        at,
                        side,
                        event: MqttEvent::Resync {
                            skipped: total_skipped,
                            resumed: true,
                        },
                    });
                }
                Step {
                    consumed: take,
                    replay: Some(from_start),
                }
            }
            (None, Some(offset)) => {
                *skipped += offset as u64;
                dir.buf.drain(..offset);
                Step::consumed(take)
            }
            (None, None) => {
                *skipped += dir.buf.len() as u64;
                dir.buf.clear();
                Step::consumed(take)
            }
        }
    }

    /// A complete packet: decode, update the summary, emit events.
    fn handle_packet(&mut self, side: Side, bytes: &[u8], at: At, out: &mut Vec<Timed<MqttEvent>>) {
        let packet = self.decode(bytes);
        let summary = self.observe(side, &packet, at, out);
        self.record_packet(side, summary, at, out);
    }

    /// Decodes with the session's version; while the version is only assumed, a body that
    /// decodes cleanly only as the other layout switches the guess.
    fn decode<'a>(&mut self, bytes: &'a [u8]) -> Packet<'a> {
        let packet_type = bytes.first().map(|&b| PacketType::from_first_byte(b));
        if let Some(version) = self.version_hint(bytes, packet_type) {
            self.version = version;
            self.version_source = VersionSource::Guessed;
        }
        let packet = parse_packet(bytes, self.version);
        if matches!(
            self.version_source,
            VersionSource::Unknown | VersionSource::Default
        ) && packet_type != Some(PacketType::Connect)
        {
            self.version_source = VersionSource::Default;
            if !packet.violations.is_empty() {
                let other = if self.version.is_v5() {
                    Version::V3_1_1
                } else {
                    Version::V5
                };
                let alternative = parse_packet(bytes, other);
                if alternative.violations.is_empty() {
                    self.version = other;
                    self.version_source = VersionSource::Guessed;
                    return alternative;
                }
            }
        }
        packet
    }

    /// Layouts that exist only in 5.0, used before any CONNECT was seen.
    fn version_hint(&self, bytes: &[u8], packet_type: Option<PacketType>) -> Option<Version> {
        if matches!(
            self.version_source,
            VersionSource::Connect | VersionSource::Guessed
        ) {
            return None;
        }
        let Framing::Complete {
            header_len,
            total_len,
        } = frame(bytes)
        else {
            return None;
        };
        let body_len = total_len - header_len;
        match packet_type? {
            // 3.x CONNACK is exactly 2 bytes; 5.0 adds a property length (§3.2.2.3).
            PacketType::Connack if body_len >= 3 => Some(Version::V5),
            // 3.x DISCONNECT is empty; 5.0 may carry a reason code (§3.14.2.1).
            PacketType::Disconnect if body_len >= 1 => Some(Version::V5),
            PacketType::Auth => Some(Version::V5),
            _ => None,
        }
    }

    /// Updates the summary from a decoded packet and emits its violations; returns the
    /// packet's event details (emitted by `record_packet` once the packet is complete).
    fn observe(
        &mut self,
        side: Side,
        packet: &Packet<'_>,
        at: At,
        out: &mut Vec<Timed<MqttEvent>>,
    ) -> PacketSummary {
        if let Body::Connect(connect) = &packet.body {
            if self.summary.connect.is_some() {
                self.summary.violations += 1;
                out.push(Timed {
                    at,
                    side,
                    event: MqttEvent::Violation {
                        packet_type: Some("CONNECT"),
                        what: "a second CONNECT on one network connection \
                               (MQTT 3.1.1 §3.1, 5.0 §3.1)"
                            .to_string(),
                    },
                });
            } else {
                self.on_connect(side, connect, at);
            }
        }
        let summary = PacketSummary::from_packet(packet, self.version);
        let s = &mut self.summary;
        if s.client_side.is_none() {
            if packet.packet_type.client_only() {
                s.client_side = Some(side);
            } else if packet.packet_type.server_only() {
                s.client_side = Some(side.other());
            }
        }
        match &packet.body {
            Body::Connack(c) if s.connack.is_none() => {
                if let Some(code) = c.code {
                    s.connack = Some(ConnackInfo {
                        at,
                        code,
                        session_present: c.session_present(),
                    });
                }
            }
            // A 5.0 DISCONNECT of remaining length 0 keeps `reason_code: None` (absent on the
            // wire; MQTT 5.0 §3.14.2.1 reads it as 0x00 normal disconnection).
            Body::Reason(r)
                if packet.packet_type == PacketType::Disconnect && s.disconnect.is_none() =>
            {
                s.disconnect = Some(DisconnectInfo {
                    at,
                    side,
                    reason_code: r.reason,
                });
            }
            Body::Empty
                if packet.packet_type == PacketType::Disconnect && s.disconnect.is_none() =>
            {
                s.disconnect = Some(DisconnectInfo {
                    at,
                    side,
                    reason_code: None,
                });
            }
            _ => {}
        }
        if self.version_source != VersionSource::Connect {
            s.protocol_version = Some(self.version.level());
            s.version_guessed = true;
        }
        for violation in &packet.violations {
            s.violations += 1;
            out.push(Timed {
                at,
                side,
                event: MqttEvent::Violation {
                    packet_type: Some(summary.packet_type),
                    what: violation.to_string(),
                },
            });
        }
        summary
    }

    /// The first CONNECT: version, client side and the connect summary.
    fn on_connect(&mut self, side: Side, c: &super::parser::Connect<'_>, at: At) {
        if let Some(version) = c.level.and_then(Version::from_level) {
            self.version = version;
            self.version_source = VersionSource::Connect;
            self.summary.protocol_version = Some(version.level());
            self.summary.version_guessed = false;
        }
        // The sender of CONNECT is the client (MQTT 5.0 §3.1), whatever was guessed before.
        self.summary.client_side = Some(side);
        self.summary.connect = Some(ConnectInfo {
            at,
            protocol_name: c.protocol_name.unwrap_or_default().to_vec(),
            level: c.level.unwrap_or(0),
            client_id: c.client_id.unwrap_or_default().to_vec(),
            keep_alive: c.keep_alive.unwrap_or(0),
            clean_start: c.clean_start().unwrap_or(false),
            username: c.username.map(<[u8]>::to_vec),
            password: c.password.map(<[u8]>::to_vec),
            password_len: c.password.map(<[u8]>::len),
            will: c.will.as_ref().map(|w| WillInfo {
                topic: w.topic.unwrap_or_default().to_vec(),
                qos: w.qos,
                retain: w.retain,
                payload_len: w.payload.map_or(0, <[u8]>::len),
            }),
        });
    }

    /// Counts a finished packet and emits its event.
    fn record_packet(
        &mut self,
        side: Side,
        summary: PacketSummary,
        at: At,
        out: &mut Vec<Timed<MqttEvent>>,
    ) {
        *self.summary.packets.entry(summary.packet_type).or_insert(0) += 1;
        self.summary.last_activity[side.index()] = Some(at);
        out.push(Timed {
            at,
            side,
            event: MqttEvent::Packet(summary),
        });
    }
}

#[cfg(test)]
#[path = "state_tests.rs"]
mod tests;
