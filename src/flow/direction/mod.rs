//! One direction of a flow: where its stream starts in sequence space, Wireshark's
//! classification of each segment (retransmission, out-of-order, keep-alive, zero-window
//! probe), the reassembler and the place of the FIN in the stream.
//!
//! Sequence numbers are compared modulo 2^32 (RFC 9293 §3.4) and turned into 64-bit stream
//! offsets relative to the delivery point, so a stream may cross 2^32 any number of times.
//! Guarantees: no panics; all arithmetic on values from the capture wraps or saturates.

use super::reassembly::{Content, Delivery, MAX_AHEAD, Reassembler, ReassemblyLimits};
use super::{FlowId, FlowSink, SideStats, TcpEvent};
use crate::common::{At, Side};
use crate::wire::TcpFlags;

/// Wireshark's out-of-order threshold when the handshake's round trip is unknown
/// (`packet-tcp.c`, `tcp_analyze_sequence_number`: 3 ms).
pub(crate) const DEFAULT_OUT_OF_ORDER_NS: i64 = 3_000_000;

/// What a segment is, as Wireshark's `tcp.analysis` sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SegmentKind {
    /// Advances the sequence space, or carries nothing that occupies it.
    Normal,
    /// Starts before the highest sequence number already seen: `tcp.analysis.retransmission`.
    Retransmission,
    /// Starts before the highest sequence number seen, but soon after it and not ending at it.
    OutOfOrder,
    /// Zero or one byte at one below the next sequence number: `tcp.analysis.keep_alive`.
    KeepAlive,
    /// One byte at the next sequence number while the peer's window is zero.
    ZeroWindowProbe,
}

/// Wireshark's window for a fast retransmission after the last duplicate ACK (20 ms).
pub(crate) const FAST_RETRANSMISSION_NS: i64 = 20_000_000;

/// The header fields the analysis needs; `payload_len` includes bytes the snaplen cut.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SegmentHeader {
    pub seq: u32,
    pub ack: u32,
    pub flags: TcpFlags,
    pub window: u16,
    pub payload_len: u32,
}

/// What one side last acknowledged and advertised (Wireshark's `lastack`, `window`,
/// `dupacknum`), seen from the other side's analysis.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct AckState {
    pub window: Option<u16>,
    /// `None` until a segment with the ACK flag (and after one without).
    pub last_ack: Option<u32>,
    pub last_ack_ns: i64,
    pub dup_acks: u32,
}

/// `a < b` in sequence space (RFC 9293 §3.4).
pub(crate) fn seq_lt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

/// The FIN of this direction: where it sits in the stream, and whether it was reported.
#[derive(Debug, Clone, Copy)]
struct FinMark {
    offset: u64,
    at: At,
    reported: bool,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Direction {
    /// Sequence number of stream offset 0: one after the SYN, else the first segment's.
    origin: Option<u32>,
    reassembler: Reassembler,
    fin: Option<FinMark>,
    /// Wireshark's `nextseq`: one past the highest sequence number seen (zero-window probes
    /// excluded), and when it last moved.
    highest_next_seq: Option<u32>,
    highest_next_seq_ns: i64,
    /// What this side last acknowledged and advertised.
    pub acks: AckState,
    pub syn_reported: bool,
    pub stats: SideStats,
    pub retransmissions: u64,
    pub missing: u64,
}

/// Hands reassembled output to the sink and counts it.
struct Output<'a, S> {
    sink: &'a mut S,
    id: FlowId,
    side: Side,
    at: At,
    stats: &'a mut SideStats,
    missing: &'a mut u64,
    gaps: u64,
}

impl<S: FlowSink> Output<'_, S> {
    fn take(&mut self, delivery: Delivery<'_>) {
        match delivery {
            Delivery::Data(bytes) => {
                if bytes.is_empty() {
                    return;
                }
                self.stats.bytes = self.stats.bytes.saturating_add(bytes.len() as u64);
                self.sink.data(self.id, self.side, bytes, self.at);
            }
            Delivery::Gap(len) => {
                if len == 0 {
                    return;
                }
                self.stats.bytes = self.stats.bytes.saturating_add(len);
                *self.missing = self.missing.saturating_add(len);
                self.gaps += 1;
                self.sink.gap(self.id, self.side, len, self.at);
            }
        }
    }
}

/// Who is writing: the flow, the side and the frame deliveries are attributed to.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Writer {
    pub id: FlowId,
    pub side: Side,
    pub at: At,
}

impl Direction {
    /// Classifies a segment of this direction and advances Wireshark's `nextseq`
    /// (`packet-tcp.c`, `tcp_analyze_sequence_number`; checks in the order that reproduces tshark
    /// 4.0.17: keep-alive, fast retransmission, spurious retransmission, out-of-order,
    /// retransmission).
    /// `peer` is what the other side last acknowledged and advertised; `out_of_order_ns` is the
    /// out-of-order threshold.
    pub(crate) fn classify(
        &mut self,
        seg: SegmentHeader,
        peer: &AckState,
        now_ns: i64,
        out_of_order_ns: i64,
    ) -> SegmentKind {
        let SegmentHeader {
            seq,
            flags,
            payload_len,
            ..
        } = seg;
        if flags.rst() {
            // A RST is never a retransmission, but tshark moves `nextseq` with it.
            self.advance_next_seq(seq.wrapping_add(payload_len), now_ns);
            return SegmentKind::Normal;
        }
        let occupies = payload_len
            .wrapping_add(u32::from(flags.syn()))
            .wrapping_add(u32::from(flags.fin()));
        let control = flags.syn() || flags.fin();
        // Wireshark keeps `nextseq` as a plain number where 0 means unknown: a stream whose
        // highest sequence number wraps to exactly 0 is "unknown" to it as well.
        let next = self.highest_next_seq.filter(|&n| n != 0);
        // tshark 4.0.17 never calls data starting one byte below `nextseq` a retransmission
        // unless the peer had acknowledged all of it (checked on generated captures).
        let not_advanced = next.is_some_and(|next| {
            seq_lt(seq, next) && !(payload_len > 0 && seq == next.wrapping_sub(1))
        });
        let at_next = |delta: u32| next.is_some_and(|next| seq == next.wrapping_sub(delta));
        // The spurious check needs no `nextseq`: the peer's acknowledgment is enough.
        let peer_acked_past = peer
            .last_ack
            .is_some_and(|acked| acked != 0 && !seq_lt(acked, seq.wrapping_add(payload_len)));
        let since_next = now_ns.saturating_sub(self.highest_next_seq_ns);
        let since_peer_ack = now_ns.saturating_sub(peer.last_ack_ns);
        let kind = if payload_len <= 1 && !control && at_next(1) {
            SegmentKind::KeepAlive
        } else if payload_len == 1 && !control && at_next(0) && peer.window == Some(0) {
            SegmentKind::ZeroWindowProbe
        } else if payload_len == 0 && !control {
            SegmentKind::Normal
        } else if not_advanced
            && peer.dup_acks >= 2
            && peer.last_ack == Some(seq)
            && since_peer_ack < FAST_RETRANSMISSION_NS
        {
            // Fast retransmission (RFC 5681 §3.2) after duplicate ACKs.
            SegmentKind::Retransmission
        } else if payload_len > 0 && peer_acked_past {
            // Wireshark's spurious retransmission: data the peer had already acknowledged.
            SegmentKind::Retransmission
        } else if not_advanced
            && since_next < out_of_order_ns
            && next.is_some_and(|next| next != seq.wrapping_add(occupies))
        {
            SegmentKind::OutOfOrder
        } else if not_advanced {
            SegmentKind::Retransmission
        } else {
            SegmentKind::Normal
        };
        if kind != SegmentKind::ZeroWindowProbe {
            self.advance_next_seq(seq.wrapping_add(occupies), now_ns);
        }
        kind
    }

    fn advance_next_seq(&mut self, end: u32, now_ns: i64) {
        if self
            .highest_next_seq
            .is_none_or(|next| next == 0 || seq_lt(next, end))
        {
            self.highest_next_seq = Some(end);
            self.highest_next_seq_ns = now_ns;
        }
    }

    /// Records what this side acknowledges and advertises, counting duplicate ACKs as
    /// Wireshark does (no data, no SYN/FIN/RST, same nonzero window, same ACK, sequence number
    /// at `nextseq`). Call before [`Direction::classify`] for the same segment.
    pub(crate) fn note_ack(&mut self, seg: SegmentHeader, now_ns: i64) {
        let SegmentHeader {
            seq,
            ack,
            flags,
            window,
            payload_len,
        } = seg;
        if flags.rst() {
            return;
        }
        let ack = flags.ack().then_some(ack);
        let duplicate = payload_len == 0
            && !flags.syn()
            && !flags.fin()
            && window != 0
            && self.acks.window == Some(window)
            && ack.is_some()
            && self.acks.last_ack == ack
            && self.highest_next_seq == Some(seq);
        self.acks.dup_acks = if duplicate {
            self.acks.dup_acks.saturating_add(1)
        } else {
            0
        };
        self.acks.window = Some(window);
        self.acks.last_ack = ack;
        self.acks.last_ack_ns = now_ns;
    }

    /// Sets where the stream starts, from the first segment that is not a RST.
    pub(crate) fn init_origin(&mut self, seq: u32, syn: bool) {
        if self.origin.is_none() {
            self.origin = Some(if syn { seq.wrapping_add(1) } else { seq });
        }
    }

    /// Stream offset of `seq`, unwrapped around the delivery point (negative: before the
    /// stream's start). `None` until the origin is known.
    fn offset_of(&self, seq: u32) -> Option<i64> {
        let origin = self.origin?;
        let next = self.reassembler.next_offset();
        let next_seq = origin.wrapping_add(next as u32);
        let delta = i64::from(seq.wrapping_sub(next_seq) as i32);
        Some(
            i64::try_from(next)
                .unwrap_or(i64::MAX)
                .saturating_add(delta),
        )
    }

    /// Adds a segment's payload (`data` then `missing` bytes cut by the snaplen) starting at
    /// sequence number `seq`. Data beyond this side's FIN is ignored (RFC 9293 §3.10.7.4: no
    /// data follows a FIN). Returns the number of new bytes and of gaps declared (snaplen cuts,
    /// limits).
    pub(crate) fn add_payload<S: FlowSink>(
        &mut self,
        seq: u32,
        data: &[u8],
        missing: u32,
        limits: ReassemblyLimits,
        w: Writer,
        sink: &mut S,
    ) -> (u64, u64) {
        let Some(start) = self.offset_of(seq) else {
            return (0, 0);
        };
        let fin_cap = self.fin.map(|f| f.offset);
        let mut fresh = 0;
        let pieces = [
            (start, Content::Data(data)),
            (
                start.saturating_add(data.len() as i64),
                Content::Missing(u64::from(missing)),
            ),
        ];
        let gaps = self.with_output(w, sink, |reassembler, out| {
            for (offset, content) in pieces {
                if let Some((offset, content)) = clip(offset, content, fin_cap) {
                    fresh += reassembler.insert(offset, content, &mut |d| out(d));
                }
            }
            reassembler.enforce(limits, &mut |d| out(d));
        });
        (fresh, gaps)
    }

    /// Records this side's first FIN, sent with a segment at `seq` carrying `payload_len`
    /// bytes (after the SYN, if any). Later FINs are retransmissions.
    pub(crate) fn mark_fin(&mut self, seq: u32, payload_len: u32, at: At) {
        if self.fin.is_some() {
            return;
        }
        if let Some(start) = self.offset_of(seq) {
            // A FIN behind bytes already delivered ends the stream where it stands.
            let offset = (start.saturating_add(i64::from(payload_len)).max(0) as u64)
                .max(self.reassembler.next_offset());
            self.reassembler.truncate_at(offset);
            self.fin = Some(FinMark {
                offset,
                at,
                reported: false,
            });
        }
    }

    /// The peer acknowledged everything before `ack`: bytes before it that were never seen
    /// are lost to the capture (Wireshark's "ACKed segment that wasn't captured"). Returns the
    /// number of gaps declared.
    pub(crate) fn acknowledged<S: FlowSink>(&mut self, ack: u32, w: Writer, sink: &mut S) -> u64 {
        let Some(acked) = self.offset_of(ack) else {
            return 0;
        };
        let next = self.reassembler.next_offset();
        let Ok(mut target) = u64::try_from(acked) else {
            return 0;
        };
        if target <= next || target - next > MAX_AHEAD {
            return 0;
        }
        if let Some(fin) = self.fin {
            // The FIN takes one sequence number, acknowledged but not a byte of data.
            target = target.min(fin.offset);
        }
        self.skip_to(target, w, sink)
    }

    /// Ends the stream: every hole is lost, held data is delivered, and the stream runs up to
    /// the FIN if one was sent. Returns the number of gaps declared.
    pub(crate) fn close_out<S: FlowSink>(&mut self, w: Writer, sink: &mut S) -> u64 {
        let mut gaps = self.with_output(w, sink, |r, out| r.flush(&mut |d| out(d)));
        if let Some(fin) = self.fin {
            gaps += self.skip_to(fin.offset, w, sink);
        }
        gaps
    }

    fn skip_to<S: FlowSink>(&mut self, target: u64, w: Writer, sink: &mut S) -> u64 {
        self.with_output(w, sink, |r, out| r.skip_to(target, &mut |d| out(d)))
    }

    fn with_output<S: FlowSink>(
        &mut self,
        w: Writer,
        sink: &mut S,
        f: impl FnOnce(&mut Reassembler, &mut dyn FnMut(Delivery<'_>)),
    ) -> u64 {
        let Self {
            reassembler,
            stats,
            missing,
            ..
        } = self;
        let mut out = Output {
            sink,
            id: w.id,
            side: w.side,
            at: w.at,
            stats,
            missing,
            gaps: 0,
        };
        f(reassembler, &mut |d| out.take(d));
        out.gaps
    }

    /// Reports the FIN once the stream has reached it, so a FIN never overtakes data.
    pub(crate) fn report_fin_if_reached<S: FlowSink>(
        &mut self,
        id: FlowId,
        side: Side,
        sink: &mut S,
    ) {
        if let Some(fin) = &mut self.fin
            && !fin.reported
            && self.reassembler.next_offset() >= fin.offset
        {
            fin.reported = true;
            sink.tcp_event(id, side, TcpEvent::Fin, fin.at);
        }
    }
}

/// Places content at a signed stream offset: drops what lies before the stream's start and
/// what lies at or beyond `cap` (the FIN).
fn clip(offset: i64, content: Content<'_>, cap: Option<u64>) -> Option<(u64, Content<'_>)> {
    let len = match content {
        Content::Data(d) => d.len() as u64,
        Content::Missing(n) => n,
    };
    let skip = if offset < 0 { offset.unsigned_abs() } else { 0 };
    if skip >= len {
        return None;
    }
    let start = u64::try_from(offset.max(0)).unwrap_or(0);
    let mut keep = len - skip;
    if let Some(cap) = cap {
        keep = keep.min(cap.saturating_sub(start));
    }
    if keep == 0 {
        return None;
    }
    let content = match content {
        Content::Data(d) => {
            let from = usize::try_from(skip).unwrap_or(usize::MAX);
            let to = usize::try_from(skip + keep).unwrap_or(usize::MAX);
            Content::Data(d.get(from..to)?)
        }
        Content::Missing(_) => Content::Missing(keep),
    };
    Some((start, content))
}

#[cfg(test)]
mod tests;
