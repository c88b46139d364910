//! The flow table: finds a segment's connection by its address and port pair, numbers
//! connections as Wireshark 4.0 numbers `tcp.stream`, and closes a connection when its tuple
//! is reused.
//!
//! Numbering (checked against tshark 4.0.17): a stream per address/port pair, in order of first
//! frame; a SYN without ACK whose sequence number differs from its direction's `base_seq` starts
//! the next stream on the same pair (`packet-tcp.c`, `dissect_tcp`), whether or not the old
//! connection was closed. Anything else, including segments after a FIN or RST, stays in the
//! current stream. Guarantees: no panics; the table holds one small record per stream seen
//! (reassembly buffers are bounded by [`FlowLimits`] and emptied when a stream ends).

use super::reassembly::ReassemblyLimits;
use super::tracker::FlowTracker;
use super::{FlowId, FlowLimits, FlowSink};
use crate::common::At;
use crate::wire::TcpSegment;
use std::collections::HashMap;
use std::net::SocketAddr;

/// An address/port pair in a canonical order, so both directions find the same flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct PairKey(SocketAddr, SocketAddr);

impl PairKey {
    fn new(a: SocketAddr, b: SocketAddr) -> Self {
        if a <= b { PairKey(a, b) } else { PairKey(b, a) }
    }
}

/// All TCP connections of one capture.
#[derive(Debug, Default)]
pub struct FlowTable {
    limits: FlowLimits,
    /// The current flow of each pair, as an index into `flows`.
    current: HashMap<PairKey, usize>,
    /// Every flow by [`FlowId`]; `None` once closed (tuple reused, or finished).
    flows: Vec<Option<Box<FlowTracker>>>,
}

impl FlowTable {
    pub fn new(limits: FlowLimits) -> Self {
        Self {
            limits,
            current: HashMap::new(),
            flows: Vec::new(),
        }
    }

    /// Number of flows seen so far (the next [`FlowId`]).
    pub fn flow_count(&self) -> usize {
        self.flows.len()
    }

    /// Feeds one TCP segment of frame `at`. Calls the sink: `open` (first segment of a new
    /// flow), `tcp_event`, `data`, `gap`, and `closed` for a flow whose tuple is reused by a
    /// new connection. Returns the flow the segment belongs to (its `tcp.stream`).
    pub fn on_segment(&mut self, at: At, seg: &TcpSegment<'_>, sink: &mut impl FlowSink) -> FlowId {
        let src = SocketAddr::new(seg.src, seg.src_port);
        let dst = SocketAddr::new(seg.dst, seg.dst_port);
        let key = PairKey::new(src, dst);
        let existing = self.current.get(&key).copied();
        let index = match existing {
            Some(index) => {
                let reused = self
                    .flows
                    .get(index)
                    .and_then(|f| f.as_deref())
                    .is_some_and(|f| f.starts_new_connection(f.side_of(src), seg));
                if reused {
                    self.close_flow(index, sink);
                    self.open_flow(key, at, seg, sink)
                } else {
                    index
                }
            }
            None => self.open_flow(key, at, seg, sink),
        };
        if let Some(Some(flow)) = self.flows.get_mut(index) {
            let side = flow.side_of(src);
            flow.on_segment(at, side, seg, sink);
        }
        FlowId(u32::try_from(index).unwrap_or(u32::MAX))
    }

    /// End of capture: flushes every flow (held data after holes is delivered, gaps first),
    /// then calls `closed` for it, in [`FlowId`] order. The table is empty afterwards.
    pub fn finish(&mut self, sink: &mut impl FlowSink) {
        for index in 0..self.flows.len() {
            self.close_flow(index, sink);
        }
        self.current.clear();
    }

    fn open_flow(
        &mut self,
        key: PairKey,
        at: At,
        seg: &TcpSegment<'_>,
        sink: &mut impl FlowSink,
    ) -> usize {
        let index = self.flows.len();
        let id = FlowId(u32::try_from(index).unwrap_or(u32::MAX));
        let limits = ReassemblyLimits {
            max_buffered: self.limits.max_buffered_per_side,
            max_holes: self.limits.max_holes,
        };
        let (flow, open) = FlowTracker::new(id, at, seg, limits);
        sink.open(&open);
        self.flows.push(Some(Box::new(flow)));
        self.current.insert(key, index);
        index
    }

    fn close_flow(&mut self, index: usize, sink: &mut impl FlowSink) {
        if let Some(slot) = self.flows.get_mut(index)
            && let Some(mut flow) = slot.take()
        {
            flow.finish(sink);
            sink.closed(flow.id(), flow.summary());
        }
    }
}
