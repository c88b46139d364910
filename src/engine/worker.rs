//! A worker: owns the live connections of its shard (a TCP tracker and a protocol
//! [`Building`] each), feeds them their segments, and when the reader ends one, finishes it:
//! per-connection rules, the report with or without its timeline, the compact summary for the
//! cross-connection rules, and (for JSON sinks) the serialised line. Everything heavy is freed
//! there; only the outcome leaves.
//!
//! The worker decides nothing about numbering or ends (the reader's stream directory does), so
//! its outcome for a connection is the same whatever shard or thread it runs on.

use super::Shared;
use super::building::{Building, BuildingSink};
use crate::common::{At, Side};
use crate::detect::{self, ConnSummary};
use crate::finding::{Severity, SeverityCounts};
use crate::flow::FlowOpen;
use crate::flow::TcpEvent;
use crate::flow::directory::EndReason;
use crate::flow::tracker::FlowTracker;
use crate::proto::dns::ResolvedBy;
use crate::proto::tls::decrypt::KeyLog;
use crate::report::model::{self, ConnectionReport, Precision};
use crate::report::sink::HumanRows;
use crate::wire::{IcmpError, TcpFlags, TcpSegment};
use rustc_hash::FxHashMap;
use std::net::{IpAddr, SocketAddr};
use std::ops::Range;
use std::sync::Arc;

/// What a finished connection leaves: its output for the sink and its facts for the merge.
#[derive(Debug)]
pub(super) struct Finished {
    /// The id given by the reader.
    pub id: usize,
    /// Its position among its capture's connections (from 0).
    pub position: usize,
    /// The report, when the sink gathers reports (human formats).
    pub report: Option<Box<ConnectionReport>>,
    /// Instead of `report`, for a healthy connection the human formats never list
    /// ([`HumanRows::healthy_unlisted`]): its findings.
    pub unlisted: Option<Vec<model::Finding>>,
    /// Where its compact JSON is in the worker's text ([`Worker::json_text`]), when the sink
    /// writes JSON.
    pub json: Option<Range<usize>>,
    pub summary: ConnSummary,
    pub client_ip: IpAddr,
    /// Rules with a warning or error finding on this connection (deduplicated).
    pub failing_rules: Vec<&'static str>,
    /// Its findings by severity.
    pub counts: SeverityCounts,
}

/// A segment's TCP header fields, without its addresses.
#[derive(Debug, Clone, Copy)]
pub(super) struct SegmentHeader {
    pub seq: u32,
    pub ack: u32,
    pub flags: TcpFlags,
    pub window: u16,
    pub missing_payload: u32,
}

/// How a record opens, in run ids.
#[derive(Debug, Clone)]
pub(super) struct Opening {
    pub capture: usize,
    /// The id the reader gave its capture's first connection.
    pub base: usize,
    pub flow: FlowOpen,
    pub continues: Option<usize>,
    /// The DNS lookup that resolved the server's address, when the capture holds it.
    pub dns: Option<Box<ResolvedBy>>,
}

struct Live {
    /// The endpoints of `Side::Orig` and `Side::Resp`.
    endpoints: [SocketAddr; 2],
    capture: usize,
    base: usize,
    continues: Option<usize>,
    tracker: FlowTracker,
    building: Building,
}

impl Live {
    fn on_segment(&mut self, keys: Option<&Arc<KeyLog>>, side: Side, at: At, seg: &TcpSegment) {
        let mut sink = BuildingSink {
            building: &mut self.building,
            keys,
        };
        self.tracker.on_segment(at, side, seg, &mut sink);
    }
}

/// The live connections of one shard.
pub(super) struct Worker {
    shared: Arc<Shared>,
    /// By id. Fx rather than SipHash: looked up for every segment, and the ids are the
    /// reader's, not the capture's (nothing here is iterated, so the order never shows).
    live: FxHashMap<usize, Box<Live>>,
    keys: Option<Arc<KeyLog>>,
    /// Where a connection is serialised (kept between connections, unless one was huge).
    json_buffer: Vec<u8>,
    /// The JSON of the connections finished since it was last taken or cleared, one after
    /// another. One string for many connections rather than one each: each string was
    /// allocated here and freed on the merge's thread, and glibc frees another thread's
    /// memory under that thread's arena lock, so the merge and the workers took turns on it
    /// (most of the run's futex calls).
    json_text: String,
}

/// A serialisation buffer larger than this is freed after use rather than kept.
const MAX_KEPT_BUFFER: usize = 1 << 20;

impl Worker {
    pub(super) fn new(shared: Arc<Shared>) -> Self {
        let keys = (!shared.keys.is_empty()).then(|| shared.keys.clone());
        Worker {
            shared,
            live: FxHashMap::default(),
            keys,
            json_buffer: Vec::new(),
            json_text: String::new(),
        }
    }

    /// The JSON of the connections finished since the text was last taken or cleared
    /// (`Finished::json` are ranges in it).
    pub(super) fn json_text(&self) -> &str {
        &self.json_text
    }

    /// Takes the text, to send with the connections it holds. The next starts with room for
    /// as much and a quarter, so it rarely doubles (and leaves with half of it unused).
    pub(super) fn take_json_text(&mut self) -> String {
        let room = self.json_text.len() + self.json_text.len() / 4;
        std::mem::replace(&mut self.json_text, String::with_capacity(room))
    }

    /// Empties the text once its connections are handled (keeping its room, unless huge).
    pub(super) fn clear_json_text(&mut self) {
        self.json_text.clear();
        if self.json_text.capacity() > MAX_KEPT_BUFFER {
            self.json_text = String::new();
        }
    }

    /// New key material (pcapng Decryption Secrets Blocks read so far, with the run's).
    pub(super) fn set_keys(&mut self, keys: Arc<KeyLog>) {
        self.keys = (!keys.is_empty()).then_some(keys);
    }

    pub(super) fn open(&mut self, id: usize, opening: Opening) {
        let tracker = FlowTracker::new(&opening.flow, self.shared.reassembly);
        let building = Building::new(opening.flow, opening.dns);
        self.live.insert(
            id,
            Box::new(Live {
                endpoints: [opening.flow.orig, opening.flow.resp],
                capture: opening.capture,
                base: opening.base,
                continues: opening.continues,
                tracker,
                building,
            }),
        );
    }

    pub(super) fn segment(&mut self, id: usize, side: Side, at: At, seg: &TcpSegment<'_>) {
        if let Some(live) = self.live.get_mut(&id) {
            live.on_segment(self.keys.as_ref(), side, at, seg);
        }
    }

    /// A segment given as its header fields and payload, sent by `side` of connection `id`
    /// (the threaded engine's batches leave out the addresses: they are the record's).
    pub(super) fn segment_parts(
        &mut self,
        id: usize,
        side: Side,
        at: At,
        header: SegmentHeader,
        payload: &[u8],
    ) {
        let Some(live) = self.live.get_mut(&id) else {
            return;
        };
        let src = *side.of(&live.endpoints);
        let dst = *side.other().of(&live.endpoints);
        let seg = TcpSegment {
            src: src.ip(),
            dst: dst.ip(),
            src_port: src.port(),
            dst_port: dst.port(),
            seq: header.seq,
            ack: header.ack,
            flags: header.flags,
            window: header.window,
            payload,
            missing_payload: header.missing_payload,
        };
        live.on_segment(self.keys.as_ref(), side, at, &seg);
    }

    /// An ICMP error about a segment `side` of connection `id` sent: a timeline event of that
    /// side (the one the error answers).
    pub(super) fn icmp(&mut self, id: usize, side: Side, at: At, error: IcmpError) {
        if let Some(live) = self.live.get_mut(&id) {
            let event = TcpEvent::Icmp {
                v6: error.v6,
                icmp_type: error.icmp_type,
                code: error.code,
            };
            live.building.tcp_event(side, event, at);
        }
    }

    /// Ends connection `id`: finishes its record and judges it. `None` if it is not here.
    pub(super) fn end(
        &mut self,
        id: usize,
        reason: EndReason,
        observed_until: At,
        precision: Precision,
        json: bool,
    ) -> Option<Finished> {
        let live = *self.live.remove(&id)?;
        let Live {
            endpoints: _,
            capture,
            base,
            continues,
            mut tracker,
            mut building,
        } = live;
        {
            let mut sink = BuildingSink {
                building: &mut building,
                keys: self.keys.as_ref(),
            };
            tracker.finish(&mut sink);
        }
        let conn = building.into_connection(capture, tracker.summary(), reason, continues);
        let book = &self.shared.book;
        let findings = detect::connection_findings(id, &conn, observed_until, book);
        let summary = detect::summarize(id, &conn);
        let mut failing_rules: Vec<&'static str> = Vec::new();
        let mut counts = SeverityCounts::default();
        for f in &findings {
            counts.count(f.severity);
            if f.severity >= Severity::Warning && !failing_rules.contains(&f.rule) {
                failing_rules.push(f.rule);
            }
        }
        let client_ip = conn.client_addr().ip();
        let report = model::connection_report(id, conn, findings, precision, self.shared.report);
        let position = id.saturating_sub(base);
        let (report, unlisted, json) = if json {
            // Serialised into the worker's buffer, then appended to its text: a fresh buffer
            // per connection grew by doubling and made malloc half of a worker's time.
            // Serialising our own structs cannot fail; an empty object would show if it did.
            self.json_buffer.clear();
            let ok = serde_json::to_writer(&mut self.json_buffer, &report).is_ok();
            let text = std::str::from_utf8(&self.json_buffer).ok().filter(|_| ok);
            let start = self.json_text.len();
            self.json_text.push_str(text.unwrap_or("{}"));
            if self.json_buffer.capacity() > MAX_KEPT_BUFFER {
                self.json_buffer = Vec::new();
            }
            (None, None, Some(start..self.json_text.len()))
        } else if failing_rules.is_empty() && HumanRows::healthy_unlisted(position) {
            // Dropped here rather than in the merge: its arena, and nothing in flight.
            (None, Some(report.findings), None)
        } else {
            (Some(Box::new(report)), None, None)
        };
        Some(Finished {
            id,
            position,
            report,
            unlisted,
            json,
            summary,
            client_ip,
            failing_rules,
            counts,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::RuleBook;
    use crate::flow::FlowLimits;

    fn worker() -> Worker {
        Worker::new(Arc::new(Shared {
            book: RuleBook::builtin(),
            keys: Arc::default(),
            report: Default::default(),
            reassembly: FlowLimits::default().reassembly(),
        }))
    }

    #[test]
    fn the_json_text_is_handed_over_whole_and_starts_again_empty() {
        // Finished connections point into the text by range: what is taken must be all of it,
        // and what follows must start at 0 again (else the next ranges point past the end).
        let mut w = worker();
        w.json_text.push_str("{\"id\":0}{\"id\":1}");
        assert_eq!(w.json_text(), "{\"id\":0}{\"id\":1}");
        assert_eq!(w.take_json_text(), "{\"id\":0}{\"id\":1}");
        assert_eq!(w.json_text(), "");
        assert!(w.json_text.capacity() >= 16, "room for as much again");
        w.json_text.push_str("{\"id\":2}");
        w.clear_json_text();
        assert_eq!(w.json_text(), "");
    }
}
