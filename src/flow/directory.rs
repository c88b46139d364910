//! The stream directory: which connection record a segment belongs to, and when a record ends.
//!
//! It is the one place that numbers connections as Wireshark 4.0 numbers `tcp.stream` (a stream
//! per address/port pair in order of first frame; a SYN without ACK whose sequence number
//! differs from its direction's `base_seq` starts the next stream on the same pair,
//! `packet-tcp.c`, `dissect_tcp`), and the one place that decides when a record ends:
//! - after its close (FIN both ways, or a RST) plus a linger for late segments,
//! - after an idle time in capture time (shorter while only SYNs were seen),
//! - when the live-record cap or the reorder cap is reached (the least recently active record,
//!   or the oldest open one), which the caller reports as `limit_reached`,
//! - when its pair starts a new stream, or at the end of input.
//!
//! A record is not a stream: a stream whose record ended early (idle or a cap) and whose pair
//! sends again without a new SYN continues as a new record with the same `tcp.stream`, so
//! Wireshark's numbering of every later stream is kept. Records are numbered in order of first
//! frame, which is the report order.
//!
//! Each pair keeps a small entry (about a hundred bytes) while its record is live and, as a
//! tombstone, after it ended, so that late segments and retransmitted SYNs keep their stream
//! number; tombstones are dropped after the idle time or, oldest first, when the directory
//! reaches its entry cap. All decisions depend only on the segments in capture order, never on
//! hash order or threads, so every consumer sees the same records.

use super::orientation;
use crate::common::{At, PerSide, Side};
use crate::wire::TcpSegment;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::BuildHasher as _;
use std::net::{IpAddr, SocketAddr};

/// Index of a connection record in the order records start (per capture).
pub(crate) type RecordId = u32;

/// The caps and times of a directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DirectoryLimits {
    /// Live records at once; more end the least recently active ones (`flow_limit`).
    pub max_live: usize,
    /// Entries (live and tombstones); more drop the oldest tombstones. The table starts small
    /// and grows with the entries. It stops at the size for twice as many as this: hashbrown
    /// rehashes in place instead of doubling while the entries stay under half of its usable
    /// capacity (7/8 of the buckets), so churn never takes it further. (Sized so from the
    /// start, a small capture's few pairs were spread over 12 MiB of buckets, 5 MiB of them
    /// touched, and each of several captures read at once held one.)
    pub max_entries: usize,
    /// Ended records that wait for an older, still open record before they can be reported
    /// in order; more end the oldest open record (`reorder_limit`).
    pub max_pending: usize,
    /// Capture time after a completed close before the record ends.
    pub linger_ns: i64,
    /// Capture time without a segment before a record ends.
    pub idle_ns: i64,
    /// The same while only one side has sent (unanswered SYNs): Linux gives up a connect
    /// after about 127 s of SYN retries (`tcp_syn_retries` = 6).
    pub one_sided_idle_ns: i64,
}

impl Default for DirectoryLimits {
    fn default() -> Self {
        const S: i64 = 1_000_000_000;
        DirectoryLimits {
            max_live: 16_384,
            max_entries: 49_152,
            max_pending: 32_768,
            linger_ns: 5 * S,
            idle_ns: 1_800 * S,
            one_sided_idle_ns: 180 * S,
        }
    }
}

impl DirectoryLimits {
    /// No cap and no timeout: every record lasts to its stream's end (tests, small captures).
    pub(crate) fn unbounded() -> Self {
        DirectoryLimits {
            max_live: usize::MAX,
            max_entries: usize::MAX,
            max_pending: usize::MAX,
            linger_ns: i64::MAX,
            idle_ns: i64::MAX,
            one_sided_idle_ns: i64::MAX,
        }
    }
}

/// Why a record ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum EndReason {
    /// Closed (FIN both ways, or RST) and quiet for the linger time.
    Close,
    /// No segment for the idle time.
    IdleTimeout,
    /// Its pair started a new stream (a new SYN).
    PortReuse,
    /// The end of the capture.
    EndOfCapture,
    /// Ended early by the live-record cap.
    FlowLimit,
    /// Ended early by the reorder cap.
    ReorderLimit,
}

/// The opening facts of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RecordOpen {
    pub record: RecordId,
    /// Wireshark's `tcp.stream`.
    pub stream: u32,
    /// `Side::Orig`'s endpoint: the SYN sender, else the first sender.
    pub orig: SocketAddr,
    pub resp: SocketAddr,
    /// The record starts with the stream's SYN or SYN-ACK.
    pub syn_seen: bool,
    /// The record continues a stream whose earlier record ended early.
    pub continues: Option<RecordId>,
    pub at: At,
}

/// Where a segment goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Route {
    pub record: RecordId,
    pub side: Side,
    /// Set when this segment opens the record.
    pub opened: Option<RecordOpen>,
    /// A hash of the address pair, the same in both directions (for sharding).
    pub pair_hash: u64,
}

/// A record that ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ended {
    pub record: RecordId,
    pub reason: EndReason,
    pub pair_hash: u64,
    /// The capture position when the end was decided: how long the record was watched.
    pub observed_until: At,
}

/// Counts of records cut short by each cap (for `limit_reached` warnings).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct LimitCounts {
    pub flow_limit: u64,
    pub reorder_limit: u64,
    pub first_flow_limit: Option<At>,
    pub first_reorder_limit: Option<At>,
    /// Tombstones dropped for room (affects numbering only if their pair sends again without
    /// a SYN).
    pub tombstones_dropped: u64,
}

/// An address/port pair in a canonical order, so both directions find the same entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct PairKey(Endpoint, Endpoint);

/// A socket address without IPv6's flow label and scope, which TCP segments do not carry:
/// 20 bytes instead of 32, in the directory's largest table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Endpoint(IpAddr, u16);

impl PairKey {
    fn new(a: SocketAddr, b: SocketAddr) -> Self {
        let (a, b) = (Endpoint(a.ip(), a.port()), Endpoint(b.ip(), b.port()));
        if a <= b { PairKey(a, b) } else { PairKey(b, a) }
    }

    fn first(&self) -> SocketAddr {
        SocketAddr::new(self.0.0, self.0.1)
    }

    fn second(&self) -> SocketAddr {
        SocketAddr::new(self.1.0, self.1.1)
    }
}

/// A seedless hasher: the same pair hashes the same in every run, so sharding never varies.
/// Fx rather than SipHash: the pairs come from the capture, and a crafted capture that
/// collides buckets slows one run down without reaching anything else; SipHash cost 14% of
/// the reader's time on the fleet benchmark.
use rustc_hash::FxBuildHasher as FixedState;

/// Room the directory's table starts with.
const INITIAL_ENTRIES: usize = 1_024;

#[derive(Debug, Clone)]
struct Entry {
    stream: u32,
    /// `Side::Orig` is the key's first address (else its second).
    orig_first: bool,
    /// Wireshark's `base_seq` per side: from the side's first segment, or the first
    /// acknowledgment of it.
    base_seq: PerSide<Option<u32>>,
    /// The live record, or `None` for a tombstone.
    live: Option<RecordId>,
    /// The last record of this pair (what a continuation continues).
    last_record: RecordId,
    last_ns: i64,
    sent: PerSide<bool>,
    fin: PerSide<bool>,
    rst: bool,
    hash: u64,
}

impl Entry {
    fn closed(&self) -> bool {
        self.rst || (self.fin.orig && self.fin.resp)
    }

    fn orig(&self, key: &PairKey) -> SocketAddr {
        if self.orig_first {
            key.first()
        } else {
            key.second()
        }
    }
}

/// The stream directory of one capture. See the module documentation.
#[derive(Debug)]
pub(crate) struct StreamDirectory {
    limits: DirectoryLimits,
    entries: HashMap<PairKey, Entry, FixedState>,
    next_stream: u32,
    next_record: RecordId,
    /// Open (live) records and the pair of each (to end the oldest for the reorder cap).
    open: BTreeMap<RecordId, PairKey>,
    /// Ended records not yet reportable because an older one is open.
    pending: BTreeSet<RecordId>,
    last_sweep_ns: Option<i64>,
    segments_since_sweep: usize,
    now: At,
    counts: LimitCounts,
}

impl StreamDirectory {
    pub(crate) fn new(limits: DirectoryLimits) -> Self {
        StreamDirectory {
            limits,
            entries: match limits.max_entries {
                usize::MAX => HashMap::with_hasher(FixedState),
                max => HashMap::with_capacity_and_hasher(max.min(INITIAL_ENTRIES), FixedState),
            },
            next_stream: 0,
            next_record: 0,
            open: BTreeMap::new(),
            pending: BTreeSet::new(),
            last_sweep_ns: None,
            segments_since_sweep: 0,
            now: At::default(),
            counts: LimitCounts::default(),
        }
    }

    /// Streams numbered so far (`tcp.stream` values are `0..streams()`).
    pub(crate) fn streams(&self) -> u32 {
        self.next_stream
    }

    /// Records opened so far.
    pub(crate) fn records(&self) -> RecordId {
        self.next_record
    }

    pub(crate) fn limit_counts(&self) -> LimitCounts {
        self.counts
    }

    /// Routes one segment of frame `at`. Records ended on the way (port reuse, timeouts and
    /// caps, checked every so often) are appended to `ended`, before this segment's record
    /// opens.
    pub(crate) fn route(&mut self, at: At, seg: &TcpSegment<'_>, ended: &mut Vec<Ended>) -> Route {
        self.now = at;
        self.maybe_sweep(ended);
        let src = SocketAddr::new(seg.src, seg.src_port);
        let dst = SocketAddr::new(seg.dst, seg.dst_port);
        let key = PairKey::new(src, dst);
        // The common case, a segment of a live record: one lookup.
        if let Some(e) = self.entries.get_mut(&key) {
            let side = side_of(e.orig(&key), src);
            if let Some(record) = e.live
                && !starts_new_stream(e, side, seg)
            {
                note_segment(e, side, seg, at);
                return Route {
                    record,
                    side,
                    opened: None,
                    pair_hash: e.hash,
                };
            }
        }
        let mut opened = None;
        let existing = self.entries.get(&key).map(|e| {
            let side = side_of(e.orig(&key), src);
            (e.live, starts_new_stream(e, side, seg))
        });
        match existing {
            None => {
                self.make_room(ended);
                opened = Some(self.open_stream(key, at, seg));
            }
            Some((live, true)) => {
                // A new connection on the pair: Wireshark's next stream.
                if let Some(record) = live {
                    self.end_record(key, record, EndReason::PortReuse, ended);
                } else {
                    self.make_room(ended);
                }
                opened = Some(self.open_stream(key, at, seg));
            }
            Some((None, false)) => {
                // The stream's record ended; this segment continues the stream in a new one.
                self.make_room(ended);
                let record = self.open_record(key);
                if let Some(e) = self.entries.get_mut(&key) {
                    let previous = e.last_record;
                    e.live = Some(record);
                    e.last_record = record;
                    e.sent = PerSide::default();
                    e.fin = PerSide::default();
                    e.rst = false;
                    let orig = e.orig(&key);
                    let resp = if orig == src { dst } else { src };
                    opened = Some(RecordOpen {
                        record,
                        stream: e.stream,
                        orig,
                        resp,
                        syn_seen: false,
                        continues: Some(previous),
                        at,
                    });
                }
            }
            // Handled by the common case above.
            Some((Some(_), false)) => {}
        }
        let Some(e) = self.entries.get_mut(&key) else {
            // Unreachable: the entry was found or inserted above.
            return Route {
                record: 0,
                side: Side::Orig,
                opened,
                pair_hash: 0,
            };
        };
        let side = side_of(e.orig(&key), src);
        note_segment(e, side, seg, at);
        let record = e.live.unwrap_or(e.last_record);
        let route = Route {
            record,
            side,
            opened,
            pair_hash: e.hash,
        };
        if opened.is_some() {
            self.enforce_reorder_cap(ended);
        }
        route
    }

    /// The live record of the pair `src`-`dst`, the side `src` is on, and the pair's hash:
    /// where an ICMP error quoting a segment from `src` to `dst` belongs. `None` when the pair
    /// has no live record.
    pub(crate) fn locate(&self, src: SocketAddr, dst: SocketAddr) -> Option<(RecordId, Side, u64)> {
        let key = PairKey::new(src, dst);
        let e = self.entries.get(&key)?;
        Some((e.live?, side_of(e.orig(&key), src), e.hash))
    }

    /// Numbers a new stream on `key`, first seen with `seg`, and opens its first record.
    fn open_stream(&mut self, key: PairKey, at: At, seg: &TcpSegment<'_>) -> RecordOpen {
        let (orig, resp, syn_seen) = orientation(seg);
        let stream = self.next_stream;
        self.next_stream = self.next_stream.saturating_add(1);
        let hash = pair_hash(&key);
        let record = self.open_record(key);
        self.entries.insert(
            key,
            Entry {
                stream,
                orig_first: orig == key.first(),
                base_seq: PerSide::default(),
                live: Some(record),
                last_record: record,
                last_ns: at.time_ns,
                sent: PerSide::default(),
                fin: PerSide::default(),
                rst: false,
                hash,
            },
        );
        RecordOpen {
            record,
            stream,
            orig,
            resp,
            syn_seen,
            continues: None,
            at,
        }
    }

    /// End of input: every live record ends, in record order.
    pub(crate) fn finish(&mut self, at: At, ended: &mut Vec<Ended>) {
        self.now = at;
        let mut live: Vec<(RecordId, PairKey)> = self
            .entries
            .iter()
            .filter_map(|(k, e)| e.live.map(|r| (r, *k)))
            .collect();
        live.sort_unstable_by_key(|(r, _)| *r);
        for (record, key) in live {
            self.end_record(key, record, EndReason::EndOfCapture, ended);
        }
        self.entries.clear();
        self.pending.clear();
    }

    fn open_record(&mut self, key: PairKey) -> RecordId {
        let record = self.next_record;
        self.next_record = self.next_record.saturating_add(1);
        self.open.insert(record, key);
        record
    }

    fn end_record(
        &mut self,
        key: PairKey,
        record: RecordId,
        reason: EndReason,
        ended: &mut Vec<Ended>,
    ) {
        let Some(e) = self.entries.get_mut(&key) else {
            return;
        };
        if e.live != Some(record) {
            return;
        }
        e.live = None;
        let hash = e.hash;
        self.open.remove(&record);
        self.pending.insert(record);
        // Records older than every open one can be reported: they no longer wait.
        let oldest_open = self.open.keys().next().copied().unwrap_or(RecordId::MAX);
        while let Some(&first) = self.pending.first() {
            if first < oldest_open {
                self.pending.pop_first();
            } else {
                break;
            }
        }
        match reason {
            EndReason::FlowLimit => {
                self.counts.flow_limit += 1;
                self.counts.first_flow_limit.get_or_insert(self.now);
            }
            EndReason::ReorderLimit => {
                self.counts.reorder_limit += 1;
                self.counts.first_reorder_limit.get_or_insert(self.now);
            }
            _ => {}
        }
        ended.push(Ended {
            record,
            reason,
            pair_hash: hash,
            observed_until: self.now,
        });
    }

    /// Too many ended records wait for an old open one: end the oldest open records.
    fn enforce_reorder_cap(&mut self, ended: &mut Vec<Ended>) {
        while self.pending.len() > self.limits.max_pending {
            let Some((&oldest, &key)) = self.open.first_key_value() else {
                break;
            };
            self.end_record(key, oldest, EndReason::ReorderLimit, ended);
        }
    }

    /// Before a record opens: at the live cap, end the least recently active sixteenth of the
    /// live records; at the entry cap, drop the oldest sixteenth of the tombstones. Batches
    /// keep the cost per new record constant.
    fn make_room(&mut self, ended: &mut Vec<Ended>) {
        // Only times and numbers are gathered (16 bytes an entry, not the pair too): this runs
        // at the peak of memory use.
        if self.open.len() >= self.limits.max_live {
            let mut live: Vec<(i64, RecordId)> = self
                .entries
                .values()
                .filter_map(|e| e.live.map(|r| (e.last_ns, r)))
                .collect();
            let n = (self.limits.max_live / 16).max(1).min(live.len());
            if n > 0 && n < live.len() {
                live.select_nth_unstable(n - 1);
            }
            live.truncate(n);
            live.sort_unstable();
            for (_, record) in live {
                if let Some(&key) = self.open.get(&record) {
                    self.end_record(key, record, EndReason::FlowLimit, ended);
                }
            }
        }
        if self.entries.len() >= self.limits.max_entries {
            // A tombstone's stream number is unique, so (last time, stream) picks exactly `n`.
            let mut dead: Vec<(i64, u32)> = self
                .entries
                .values()
                .filter(|e| e.live.is_none())
                .map(|e| (e.last_ns, e.stream))
                .collect();
            let n = (self.limits.max_entries / 16).max(1).min(dead.len());
            if n == 0 {
                return;
            }
            let (_, &mut newest_dropped, _) = dead.select_nth_unstable(n - 1);
            let before = self.entries.len();
            self.entries
                .retain(|_, e| e.live.is_some() || (e.last_ns, e.stream) > newest_dropped);
            self.counts.tombstones_dropped += (before - self.entries.len()) as u64;
        }
    }

    /// Every second of capture time (and no more often than once per entry/4 segments, so the
    /// cost per segment stays constant): ends closed records after the linger and idle ones,
    /// and drops old tombstones.
    fn maybe_sweep(&mut self, ended: &mut Vec<Ended>) {
        self.segments_since_sweep += 1;
        let now = self.now.time_ns;
        let last = *self.last_sweep_ns.get_or_insert(now);
        if now.saturating_sub(last) < 1_000_000_000
            || self.segments_since_sweep < self.entries.len() / 4
        {
            return;
        }
        self.last_sweep_ns = Some(now);
        self.segments_since_sweep = 0;
        let limits = self.limits;
        let mut ending: Vec<(RecordId, PairKey, EndReason)> = Vec::new();
        self.entries.retain(|key, e| {
            let quiet = now.saturating_sub(e.last_ns);
            match e.live {
                Some(record) => {
                    let one_sided = !(e.sent.orig && e.sent.resp);
                    if e.closed() && quiet >= limits.linger_ns {
                        ending.push((record, *key, EndReason::Close));
                    } else if quiet >= limits.idle_ns
                        || (one_sided && quiet >= limits.one_sided_idle_ns)
                    {
                        ending.push((record, *key, EndReason::IdleTimeout));
                    }
                    true
                }
                None => quiet < limits.idle_ns,
            }
        });
        ending.sort_unstable_by_key(|(r, _, _)| *r);
        for (record, key, reason) in ending {
            self.end_record(key, record, reason, ended);
        }
    }
}

fn side_of(orig: SocketAddr, src: SocketAddr) -> Side {
    if src == orig { Side::Orig } else { Side::Resp }
}

/// Wireshark 4.0's port-reuse rule: a SYN without ACK whose sequence number differs from its
/// direction's `base_seq` starts a new stream; a SYN with the same number is a retransmission.
fn starts_new_stream(e: &Entry, side: Side, seg: &TcpSegment<'_>) -> bool {
    seg.flags.syn() && !seg.flags.ack() && e.base_seq[side].is_some_and(|base| base != seg.seq)
}

/// Wireshark's `base_seq`: set from a direction's first segment (its SYN's number, else one
/// before the first byte), or from the first acknowledgment of it; then the liveness facts.
fn note_segment(e: &mut Entry, side: Side, seg: &TcpSegment<'_>, at: At) {
    let (me, peer) = (side, side.other());
    let syn_adjust = if seg.flags.syn() { 0 } else { 1 };
    e.base_seq[me].get_or_insert(seg.seq.wrapping_sub(syn_adjust));
    if seg.flags.ack() {
        e.base_seq[peer].get_or_insert(seg.ack.wrapping_sub(1));
    }
    e.last_ns = e.last_ns.max(at.time_ns);
    e.sent[me] = true;
    e.fin[me] |= seg.flags.fin();
    e.rst |= seg.flags.rst();
}

fn pair_hash(key: &PairKey) -> u64 {
    FixedState.hash_one(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::TcpFlags;
    use std::net::{IpAddr, Ipv4Addr};

    const SYN: u8 = 0x02;
    const ACK: u8 = 0x10;
    const FIN_ACK: u8 = 0x11;
    const S: i64 = 1_000_000_000;

    fn seg(port: u16, from_client: bool, flags: u8, seq: u32) -> TcpSegment<'static> {
        let client = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));
        let server = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
        let (src, dst, src_port, dst_port) = if from_client {
            (client, server, port, 1883)
        } else {
            (server, client, 1883, port)
        };
        TcpSegment {
            src,
            dst,
            src_port,
            dst_port,
            seq,
            ack: 1,
            flags: TcpFlags(flags),
            window: 100,
            payload: &[],
            missing_payload: 0,
        }
    }

    fn at(frame: u64, secs: i64) -> At {
        At {
            frame,
            time_ns: secs * S,
        }
    }

    #[test]
    fn a_closed_record_ends_after_the_linger_and_late_segments_keep_the_stream() {
        let mut d = StreamDirectory::new(DirectoryLimits::default());
        let mut ended = Vec::new();
        let first = d.route(at(1, 0), &seg(40000, true, SYN, 100), &mut ended);
        assert_eq!(first.opened.map(|o| (o.record, o.stream)), Some((0, 0)));
        d.route(at(2, 0), &seg(40000, true, FIN_ACK, 101), &mut ended);
        d.route(at(3, 0), &seg(40000, false, FIN_ACK, 500), &mut ended);
        // Another pair keeps capture time moving past the linger.
        d.route(at(4, 10), &seg(40001, true, SYN, 7), &mut ended);
        assert_eq!(ended.len(), 1, "{ended:?}");
        assert_eq!(ended[0].reason, EndReason::Close);
        // A late ACK on the closed pair: a new record continuing stream 0, not stream 2.
        let late = d.route(at(5, 11), &seg(40000, true, ACK, 102), &mut ended);
        let open = late.opened.unwrap_or_else(|| panic!("no record opened"));
        assert_eq!((open.record, open.stream, open.continues), (2, 0, Some(0)));
        assert!(!open.syn_seen);
        // A new SYN with another sequence number is Wireshark's next stream.
        let reuse = d.route(at(6, 12), &seg(40000, true, SYN, 9_999), &mut ended);
        assert_eq!(reuse.opened.map(|o| o.stream), Some(2));
        assert_eq!(d.streams(), 3);
    }

    #[test]
    fn the_live_cap_ends_the_least_recently_active_and_counts_it() {
        let limits = DirectoryLimits {
            max_live: 16,
            ..DirectoryLimits::default()
        };
        let mut d = StreamDirectory::new(limits);
        let mut ended = Vec::new();
        for i in 0..40u16 {
            d.route(
                at(u64::from(i) + 1, 0),
                &seg(40000 + i, true, SYN, 1),
                &mut ended,
            );
        }
        let counts = d.limit_counts();
        assert!(counts.flow_limit >= 24, "{counts:?}");
        assert!(ended.iter().all(|e| e.reason == EndReason::FlowLimit));
        // The oldest went first.
        assert_eq!(ended.first().map(|e| e.record), Some(0));
        let mut finished = Vec::new();
        d.finish(at(100, 1), &mut finished);
        assert!(finished.len() <= 16);
        assert_eq!(ended.len() + finished.len(), 40);
    }

    #[test]
    fn the_reorder_cap_ends_the_oldest_open_record() {
        let limits = DirectoryLimits {
            max_pending: 4,
            ..DirectoryLimits::default()
        };
        let mut d = StreamDirectory::new(limits);
        let mut ended = Vec::new();
        // Record 0 stays open; each later one opens and resets at once.
        d.route(at(1, 0), &seg(1000, true, SYN, 1), &mut ended);
        for i in 1..10u16 {
            let frame = u64::from(i) * 2;
            d.route(at(frame, 0), &seg(1000 + i, true, SYN, 1), &mut ended);
            d.route(at(frame + 1, 0), &seg(1000 + i, false, 0x14, 0), &mut ended);
        }
        d.route(at(100, 10), &seg(5000, true, SYN, 1), &mut ended);
        assert_eq!(d.limit_counts().reorder_limit, 1);
        assert!(
            ended
                .iter()
                .any(|e| e.record == 0 && e.reason == EndReason::ReorderLimit)
        );
    }

    #[test]
    fn the_table_grows_with_the_pairs_and_churn_never_takes_it_past_its_size() {
        // A SYN flood of fresh pairs, far more than the entry cap: tombstones are dropped,
        // and the table stops at the size for twice the cap (hashbrown then rehashes in place).
        let limits = DirectoryLimits {
            max_live: 1_024,
            max_entries: 3_000,
            ..DirectoryLimits::default()
        };
        let mut d = StreamDirectory::new(limits);
        let start = d.entries.capacity();
        let full = HashMap::<PairKey, Entry>::with_capacity(2 * limits.max_entries).capacity();
        assert!(start < full, "starts small: {start} of {full}");
        let mut ended = Vec::new();
        let mut most = 0;
        for i in 0..60_000u32 {
            let mut s = seg((i % 60_000) as u16 + 1, true, SYN, 1);
            s.src = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i / 60_000 + 0x100));
            d.route(at(u64::from(i) + 1, i64::from(i / 1_000)), &s, &mut ended);
            most = most.max(d.entries.capacity());
        }
        assert!(d.limit_counts().tombstones_dropped > 0 || d.limit_counts().flow_limit > 0);
        assert!(most > start, "it grew: {most}");
        assert!(most <= full, "{most} > {full}");
    }
}
