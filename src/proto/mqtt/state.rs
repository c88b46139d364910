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
use super::message::MqttSummary;
use super::parser::{Framing, PacketType, Version, frame};
use super::sniff::{Plausibility, plausible};
use crate::common::{At, PerSide, Side, Timed};

/// Largest packet held whole in memory.
pub(crate) const MAX_BUFFERED: usize = 1 << 20;
/// Bytes of a larger packet decoded before its body is skipped (topic, ids, properties).
pub(crate) const HEAD_BYTES: usize = 64 * 1024;
/// Bytes examined at once while looking for a packet start after a gap.
pub(crate) const RESYNC_WINDOW: usize = 16 * 1024;

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
pub(crate) struct MqttSession {
    dirs: PerSide<Direction>,
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
    pub(crate) fn new() -> Self {
        MqttSession {
            dirs: PerSide::default(),
            version: Version::V3_1_1,
            version_source: VersionSource::Unknown,
            summary: MqttSummary::default(),
        }
    }

    /// A session for a connection whose start was not captured: each direction may begin
    /// inside a packet, so both first look for a plausible packet start (bytes skipped before
    /// it are reported as a `Resync`; a direction that starts on a boundary reports nothing).
    pub(crate) fn new_midstream() -> Self {
        let mut session = Self::new();
        for dir in &mut session.dirs {
            dir.mode = Mode::Resync {
                skipped: 0,
                announce: false,
            };
        }
        session
    }

    pub(crate) fn summary(&self) -> &MqttSummary {
        &self.summary
    }

    /// The summary, when the session is over.
    pub(crate) fn into_summary(self) -> MqttSummary {
        self.summary
    }

    #[cfg(test)]
    /// The version bodies are decoded with (from CONNECT, else guessed).
    pub(crate) fn version(&self) -> Version {
        self.version
    }

    pub(crate) fn on_data(
        &mut self,
        side: Side,
        data: &[u8],
        at: At,
        out: &mut Vec<Timed<MqttEvent>>,
    ) {
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
            let step = match self.dirs[side].mode {
                Mode::Skipping { .. } => self.skip(side, source, at, out),
                Mode::Resync { .. } => self.resync(side, source, at, out),
                Mode::Framing => self.framing(side, source, at, out),
            };
            // A step either consumes input or hands bytes back (which then shrink), so the loop
            // always progresses; `min` keeps positions in bounds.
            let consumed = if step.replay.is_some() {
                step.consumed
            } else {
                step.consumed.max(1)
            }
            .min(source.len());
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
    pub(crate) fn on_gap(&mut self, side: Side, len: u64, at: At, out: &mut Vec<Timed<MqttEvent>>) {
        let dir = &mut self.dirs[side];
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
                self.dirs[side].mode = Mode::Resync {
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
    pub(crate) fn on_close(&mut self, side: Side, at: At, out: &mut Vec<Timed<MqttEvent>>) {
        let dir = &mut self.dirs[side];
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
                let body_len = u64::from(pending.remaining_len.unwrap_or(0));
                let header_len = 1 + match body_len {
                    0..=127 => 1,
                    128..=16_383 => 2,
                    16_384..=2_097_151 => 3,
                    _ => 4,
                };
                let declared = header_len + body_len;
                Some(MqttEvent::Unfinished {
                    packet_type: pending.packet_type,
                    received: declared.saturating_sub(remaining),
                    declared,
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
        if self.dirs[side].buf.is_empty() {
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
            let dir = &mut self.dirs[side];
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
                    let dir = &mut self.dirs[side];
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
        self.dirs[side].mode = Mode::Resync {
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
        self.dirs[side].mode = Mode::Skipping {
            remaining: total_len.saturating_sub(head.len()) as u64,
            pending: Box::new(summary),
        };
    }

    fn skip(&mut self, side: Side, input: &[u8], at: At, out: &mut Vec<Timed<MqttEvent>>) -> Step {
        let dir = &mut self.dirs[side];
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
        let dir = &mut self.dirs[side];
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
}

mod summary;

#[cfg(test)]
mod tests;
