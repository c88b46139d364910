//! One TCP connection: orientation, both directions, the Zeek state, and the events it reports.
//!
//! Per segment, in this order: counters, Zeek history and state, SYN/SYN-ACK (first per side),
//! zero window, Wireshark's classification (keep-alive, retransmission), the payload into the
//! reassembler, the FIN's place, the acknowledgment (holes the peer ACKed past are lost), and a
//! RST (ends both streams: every hole is lost). A FIN is reported when its direction's stream
//! reaches it, never before the data it follows. Guarantees: no panics on any segment.

use super::direction::{DEFAULT_OUT_OF_ORDER_NS, Direction, SegmentHeader, SegmentKind, Writer};
use super::reassembly::ReassemblyLimits;
use super::tcp_state::ZeekTracker;
use super::{Close, CloseHow, FlowId, FlowOpen, FlowSink, TcpEvent, TcpSummary};
use crate::common::{At, PerSide, Side};
use crate::wire::TcpSegment;

#[derive(Debug, Clone)]
pub(crate) struct FlowTracker {
    id: FlowId,
    syn_seen: bool,
    first: At,
    last: At,
    dirs: PerSide<Direction>,
    zeek: ZeekTracker,
    /// Time of the latest SYN without ACK, and the handshake's round trip (SYN to the first
    /// ACK after it), which Wireshark uses as its out-of-order threshold.
    last_syn_ns: Option<i64>,
    first_rtt_ns: Option<i64>,
    first_fin: Option<(Side, At)>,
    first_rst: Option<(Side, At)>,
    /// Per side: the first and the furthest acknowledgment number it sent.
    ack_span: PerSide<Option<(u32, u32)>>,
    /// Per side: its last window advertisement was zero.
    window_closed: PerSide<bool>,
    limits: ReassemblyLimits,
}

impl FlowTracker {
    /// A flow opened by the stream directory (`open` says which side is `Side::Orig`).
    pub(crate) fn new(open: &FlowOpen, limits: ReassemblyLimits) -> Self {
        Self {
            id: open.id,
            syn_seen: open.syn_seen,
            first: open.at,
            last: open.at,
            dirs: Default::default(),
            zeek: ZeekTracker::new(),
            last_syn_ns: None,
            first_rtt_ns: None,
            first_fin: None,
            first_rst: None,
            ack_span: PerSide::default(),
            window_closed: PerSide::default(),
            limits,
        }
    }

    pub(crate) fn id(&self) -> FlowId {
        self.id
    }

    pub(crate) fn on_segment<S: FlowSink>(
        &mut self,
        at: At,
        side: Side,
        seg: &TcpSegment<'_>,
        sink: &mut S,
    ) {
        let flags = seg.flags;
        let (me, peer) = (side, side.other());
        let id = self.id;
        self.last = at;
        let stats = &mut self.dirs[me].stats;
        stats.packets = stats.packets.saturating_add(1);
        stats.last = Some(at);
        if flags.ack() && !flags.rst() {
            let span = self.ack_span[me].get_or_insert((seg.ack, seg.ack));
            // Forward in sequence space (RFC 9293 §3.4: comparisons modulo 2^32).
            if (seg.ack.wrapping_sub(span.1) as i32) > 0 {
                span.1 = seg.ack;
            }
        }

        let captured = u32::try_from(seg.payload.len()).unwrap_or(u32::MAX);
        let payload_len = captured.saturating_add(seg.missing_payload);
        self.zeek.on_segment(side, flags, seg.seq, payload_len);

        // Handshake round trip, Wireshark's `tcp.analysis.initial_rtt`.
        if flags.syn() && !flags.ack() {
            self.last_syn_ns = Some(at.time_ns);
        } else if flags.ack() && !flags.syn() && self.first_rtt_ns.is_none() {
            self.first_rtt_ns = self.last_syn_ns.map(|t| at.time_ns.saturating_sub(t));
        }

        if flags.syn() && !self.dirs[me].syn_reported {
            self.dirs[me].syn_reported = true;
            let event = if flags.ack() {
                TcpEvent::SynAck
            } else {
                TcpEvent::Syn
            };
            sink.tcp_event(id, side, event, at);
        }
        if seg.window == 0 && !flags.rst() {
            self.zeek.on_zero_window(side);
            self.window_closed[me] = true;
            sink.tcp_event(id, side, TcpEvent::ZeroWindow, at);
        } else if self.window_closed[me] && !flags.rst() {
            // The end of a stall: `zero_window` measures from the first zero to here.
            self.window_closed[me] = false;
            sink.tcp_event(id, side, TcpEvent::WindowOpened, at);
        }

        let header = SegmentHeader {
            seq: seg.seq,
            ack: seg.ack,
            flags,
            window: seg.window,
            payload_len,
        };
        let threshold = self
            .first_rtt_ns
            .filter(|&rtt| rtt > 0)
            .unwrap_or(DEFAULT_OUT_OF_ORDER_NS);
        let peer_acks = self.dirs[peer].acks;
        // This side's ACK bookkeeping first: it compares with the `nextseq` before this segment.
        self.dirs[me].note_ack(header, at.time_ns);
        let kind = self.dirs[me].classify(header, &peer_acks, at.time_ns, threshold);
        match kind {
            SegmentKind::KeepAlive => sink.tcp_event(id, side, TcpEvent::KeepAlive, at),
            SegmentKind::Retransmission => {
                let dir = &mut self.dirs[me];
                dir.retransmissions = dir.retransmissions.saturating_add(1);
                if payload_len > 0 {
                    self.zeek.on_retransmission(side);
                }
                sink.tcp_event(id, side, TcpEvent::Retransmission { len: payload_len }, at);
            }
            SegmentKind::Normal | SegmentKind::OutOfOrder | SegmentKind::ZeroWindowProbe => {}
        }

        let writer = Writer { id, side, at };
        if !flags.rst() {
            let data_seq = seg.seq.wrapping_add(u32::from(flags.syn()));
            let dir = &mut self.dirs[me];
            dir.init_origin(seg.seq, flags.syn());
            if kind != SegmentKind::KeepAlive {
                let (_, gaps) = dir.add_payload(
                    data_seq,
                    seg.payload,
                    seg.missing_payload,
                    self.limits,
                    writer,
                    sink,
                );
                self.note_gaps(side, gaps);
            }
            if flags.fin() {
                self.dirs[me].mark_fin(data_seq, payload_len, at);
                self.first_fin.get_or_insert((side, at));
            }
            self.dirs[me].report_fin_if_reached(id, side, sink);
            if flags.ack() {
                let peer_writer = Writer {
                    side: side.other(),
                    ..writer
                };
                let gaps = self.dirs[peer].acknowledged(seg.ack, peer_writer, sink);
                self.note_gaps(side.other(), gaps);
                self.dirs[peer].report_fin_if_reached(id, side.other(), sink);
            }
        } else {
            if self.first_rst.is_none() {
                self.first_rst = Some((side, at));
            }
            // A RST ends both streams: nothing missing will be retransmitted any more.
            for s in [side, side.other()] {
                self.close_out_side(s, at, sink);
            }
            sink.tcp_event(id, side, TcpEvent::Rst, at);
        }
    }

    /// End of capture (or tuple reuse): every hole is lost, held data and FINs are delivered.
    pub(crate) fn finish<S: FlowSink>(&mut self, sink: &mut S) {
        let at = self.last;
        for side in [Side::Orig, Side::Resp] {
            self.close_out_side(side, at, sink);
        }
    }

    fn close_out_side<S: FlowSink>(&mut self, side: Side, at: At, sink: &mut S) {
        let writer = Writer {
            id: self.id,
            side,
            at,
        };
        let gaps = self.dirs[side].close_out(writer, sink);
        self.note_gaps(side, gaps);
        self.dirs[side].report_fin_if_reached(self.id, side, sink);
    }

    fn note_gaps(&mut self, side: Side, gaps: u64) {
        for _ in 0..gaps {
            self.zeek.on_gap(side);
        }
    }

    /// How the connection ended: by the first close signal, FIN or RST, and its sender. A RST
    /// that answers a FIN (a peer that had stopped reading, RFC 9293 §3.6.1) does not change
    /// who closed; the RSTs stay visible in the history and the timeline. A segment carrying
    /// both flags counts as a RST.
    fn close(&self) -> Close {
        let first = match (self.first_fin, self.first_rst) {
            (Some(fin), Some(rst)) if fin.1.frame < rst.1.frame => Some((CloseHow::Fin, fin)),
            (_, Some(rst)) => Some((CloseHow::Rst, rst)),
            (Some(fin), None) => Some((CloseHow::Fin, fin)),
            (None, None) => None,
        };
        match first {
            Some((how, (by, at))) => Close {
                how,
                by: Some(by),
                at: Some(at),
            },
            None => Close {
                how: CloseHow::None,
                by: None,
                at: None,
            },
        }
    }

    pub(crate) fn summary(&self) -> TcpSummary {
        let PerSide { orig: o, resp: r } = &self.dirs;
        TcpSummary {
            state: self
                .zeek
                .conn_state(o.stats.bytes, r.stats.bytes)
                .to_string(),
            history: self.zeek.history().to_string(),
            syn_seen: self.syn_seen,
            retransmissions: o.retransmissions.saturating_add(r.retransmissions),
            missing_bytes: o.missing.saturating_add(r.missing),
            close: self.close(),
            first: self.first,
            last: self.last,
            sides: [Side::Orig, Side::Resp].map(|side| {
                let mut stats = self.dirs[side].stats;
                stats.peer_seq_acked = self.ack_span[side]
                    .map_or(0, |(first, high)| u64::from(high.wrapping_sub(first)));
                stats
            }),
        }
    }
}
