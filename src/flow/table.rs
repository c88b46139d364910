//! The single-threaded flow table: the [`StreamDirectory`] routes each segment to its
//! connection record and a [`FlowTracker`] per record tracks it, calling a [`FlowSink`].
//!
//! Numbering is the directory's (Wireshark 4.0's `tcp.stream`). With the default unbounded
//! limits every record is a whole stream, as in round 1; the streaming engine uses the same
//! two parts with caps and timeouts, spread over threads. Guarantees: no panics; reassembly
//! buffers are bounded by [`FlowLimits`] and emptied when a record ends.

use super::directory::{DirectoryLimits, Ended, StreamDirectory};
use super::reassembly::ReassemblyLimits;
use super::tracker::FlowTracker;
use super::{FlowId, FlowLimits, FlowOpen, FlowSink};
use crate::common::At;
use crate::wire::TcpSegment;
use std::collections::HashMap;

/// All TCP connections of one capture.
#[derive(Debug)]
pub struct FlowTable {
    limits: ReassemblyLimits,
    directory: StreamDirectory,
    /// Live records by record id.
    live: HashMap<u32, Box<FlowTracker>>,
    ended: Vec<Ended>,
}

impl Default for FlowTable {
    fn default() -> Self {
        Self::new(FlowLimits::default())
    }
}

impl FlowTable {
    pub fn new(limits: FlowLimits) -> Self {
        Self {
            limits: limits.reassembly(),
            directory: StreamDirectory::new(DirectoryLimits::unbounded()),
            live: HashMap::new(),
            ended: Vec::new(),
        }
    }

    /// Decodes every frame of `reader` and feeds its TCP segments to the table (the sink is
    /// not finished: call [`FlowTable::finish`]). Returns each TCP frame's number and flow, in
    /// frame order: the whole-capture path of tests, fuzz entries and developer tools.
    pub fn feed_capture(
        &mut self,
        reader: &mut crate::capture::CaptureReader,
        sink: &mut impl FlowSink,
    ) -> Vec<(u64, FlowId)> {
        let mut decoder = crate::wire::WireDecoder::new();
        let mut frames = Vec::new();
        while let Some(frame) = reader.next_frame() {
            let at = At {
                frame: frame.number,
                time_ns: frame.time_ns,
            };
            if let crate::wire::Decoded::Tcp(seg) =
                decoder.decode(frame.number, frame.link_type, frame.data, frame.orig_len)
            {
                frames.push((frame.number, self.on_segment(at, &seg, sink)));
            }
        }
        frames
    }

    /// Number of streams seen so far (the next [`FlowId`]).
    pub fn flow_count(&self) -> usize {
        self.directory.streams() as usize
    }

    /// Feeds one TCP segment of frame `at`. Calls the sink: `open` (first segment of a new
    /// flow), `tcp_event`, `data`, `gap`, and `closed` for a flow whose tuple is reused by a
    /// new connection. Returns the flow the segment belongs to (its `tcp.stream`).
    pub(crate) fn on_segment(
        &mut self,
        at: At,
        seg: &TcpSegment<'_>,
        sink: &mut impl FlowSink,
    ) -> FlowId {
        let route = self.directory.route(at, seg, &mut self.ended);
        self.close_ended(sink);
        if let Some(open) = route.opened {
            let open = FlowOpen {
                id: FlowId(open.stream),
                orig: open.orig,
                resp: open.resp,
                syn_seen: open.syn_seen,
                at: open.at,
            };
            sink.open(&open);
            self.live
                .insert(route.record, Box::new(FlowTracker::new(&open, self.limits)));
        }
        match self.live.get_mut(&route.record) {
            Some(flow) => {
                flow.on_segment(at, route.side, seg, sink);
                flow.id()
            }
            None => FlowId(u32::MAX),
        }
    }

    /// End of capture: flushes every flow (held data after holes is delivered, gaps first),
    /// then calls `closed` for it, in [`FlowId`] order. The table is empty afterwards.
    pub fn finish(&mut self, sink: &mut impl FlowSink) {
        let at = At::default();
        self.directory.finish(at, &mut self.ended);
        self.close_ended(sink);
    }

    fn close_ended(&mut self, sink: &mut impl FlowSink) {
        for ended in std::mem::take(&mut self.ended) {
            if let Some(mut flow) = self.live.remove(&ended.record) {
                flow.finish(sink);
                sink.closed(flow.id(), flow.summary());
            }
        }
    }
}
