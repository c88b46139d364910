//! The reader: every capture in order, frame by frame; headers decoded, each TCP segment routed
//! by the capture's stream directory, and the directory's decisions (opens, segments, ends,
//! new key material) handed to a [`Dispatch`] in capture order. At the end of a capture it
//! collects the capture's facts and warnings, including the caps the directory reached.

use super::building::{Building, BuildingSink};
use super::dns_log::DnsLog;
use super::merge::CaptureDone;
use super::progress::Progress;
use super::worker::Opening;
use super::{Input, RunOptions, Shared};
use crate::capture::{CaptureError, CaptureFacts, CaptureReader, CaptureWarning, link_type_name};
use crate::common::{At, Side};
use crate::conn::Connection;
use crate::error::Error;
use crate::flow::directory::{EndReason, Ended, LimitCounts, StreamDirectory};
use crate::flow::{FlowId, FlowOpen, FlowSink, FlowTable, TcpEvent, TcpSummary};
use crate::proto::tls::decrypt::KeyLog;
use crate::report::model::Precision;
use crate::wire::{Decoded, IcmpError, OtherTraffic, TcpSegment, WireDecoder};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;

/// Where the reader's decisions go: straight to a worker and the merge (`--jobs 1`), or into
/// per-worker batches.
pub(super) trait Dispatch {
    fn open(&mut self, hash: u64, id: usize, opening: Opening);
    fn segment(&mut self, hash: u64, id: usize, side: Side, at: At, seg: &TcpSegment<'_>);
    fn end(&mut self, hash: u64, id: usize, reason: EndReason, until: At, precision: Precision);
    /// An ICMP error about a segment `side` of connection `id` sent.
    fn icmp(&mut self, hash: u64, id: usize, side: Side, at: At, error: IcmpError);
    fn keys(&mut self, keys: Arc<KeyLog>);
    fn capture_done(&mut self, done: CaptureDone);
    /// True once the output is gone: reading stops.
    fn stopped(&self) -> bool;
}

/// Reads every input in order. Connection ids run on across captures. A file that cannot be
/// opened as a capture (the caller has checked that some input can) becomes a capture record
/// holding only an `unreadable_file` warning, and the run goes on.
pub(super) fn read_all(
    inputs: Vec<Input>,
    shared: &Shared,
    options: &RunOptions,
    dispatch: &mut dyn Dispatch,
) -> Result<(), Error> {
    let progress = Progress::new(options.progress, total_bytes(&inputs));
    let mut next_id = 0usize;
    for (index, input) in inputs.into_iter().enumerate() {
        let reading = Reading {
            shared,
            options,
            progress: &progress,
        };
        next_id = read_input(index, input, next_id, &reading, dispatch);
        if dispatch.stopped() {
            break;
        }
    }
    progress.finish();
    Ok(())
}

/// The size of the inputs that are files (0 for the others), for the progress bar.
pub(super) fn total_bytes(inputs: &[Input]) -> u64 {
    inputs
        .iter()
        .map(|i| match i {
            Input::Path(p) => std::fs::metadata(p).map(|m| m.len()).unwrap_or(0),
            Input::Open(_) => 0,
        })
        .sum()
}

/// What reading a capture needs besides the capture: the run's shared state, its options and
/// the progress bar.
pub(super) struct Reading<'a> {
    pub shared: &'a Shared,
    pub options: &'a RunOptions,
    pub progress: &'a Progress,
}

/// Reads input `index`, numbering its connections from `base`. Returns one past its last id.
pub(super) fn read_input(
    index: usize,
    input: Input,
    base: usize,
    reading: &Reading<'_>,
    dispatch: &mut dyn Dispatch,
) -> usize {
    let reader = match input {
        Input::Path(path) => match CaptureReader::open(&path) {
            Ok(reader) => reader,
            Err(e) => {
                dispatch.capture_done(unreadable(index, e, base));
                return base;
            }
        },
        Input::Open(reader) => *reader,
    };
    if reading.options.jobs > 1 {
        reader.hash_in_background();
    }
    read_capture(index, reader, base, reading, dispatch)
}

/// The record of an input that is not a capture or cannot be read: no frames, no connections.
fn unreadable(index: usize, error: CaptureError, next_id: usize) -> CaptureDone {
    let facts = CaptureFacts {
        path: error.path,
        sha256: String::new(),
        bytes: 0,
        format: "unknown",
        link_types: Vec::new(),
        frames: 0,
        first_time_ns: None,
        last_time_ns: None,
        microsecond_times: true,
        warnings: vec![CaptureWarning {
            kind: "unreadable_file",
            frame: None,
            message: format!("not analysed: {}", error.reason),
        }],
        embedded_secrets: Vec::new(),
        frames_not_analyzed: BTreeMap::new(),
    };
    CaptureDone {
        index,
        facts,
        base: next_id,
        end_id: next_id,
        dns_lookups: Vec::new(),
    }
}

/// Frames that did not decode to TCP, summarised into one warning.
#[derive(Default)]
struct FrameTrouble {
    unsupported: Vec<u32>,
    /// Frames that are not TCP, by kind: count and first frame.
    not_analyzed: BTreeMap<OtherTraffic, (u64, u64)>,
    warnings: Vec<CaptureWarning>,
    malformed: Option<(u64, String)>,
    malformed_count: u64,
}

fn read_capture(
    index: usize,
    mut reader: CaptureReader,
    base: usize,
    reading: &Reading<'_>,
    dispatch: &mut dyn Dispatch,
) -> usize {
    let Reading {
        shared,
        options,
        progress,
    } = *reading;
    let name = reader.name().to_string();
    let mut decoder = WireDecoder::new();
    let mut directory = StreamDirectory::new(options.directory);
    let mut ended: Vec<Ended> = Vec::new();
    // Secrets embedded in an earlier capture do not carry over: the workers start each capture
    // with the run's key log, so a capture decodes the same whoever reads it.
    let mut keys = shared.keys.clone();
    dispatch.keys(keys.clone());
    let mut secrets_seen = 0;
    let mut first_time_ns = None;
    let mut last_time_ns = None;
    let mut last_frame = 0u64;
    let mut trouble = FrameTrouble::default();
    let mut dns_log = DnsLog::default();
    let mut progress_mark = 0u64;
    let precision_of = |reader: &CaptureReader| {
        if reader.sub_microsecond_times() {
            Precision::Nanos
        } else {
            Precision::Micros
        }
    };
    loop {
        // A Decryption Secrets Block read before this frame applies to it already; a TLS
        // session takes new secrets until its ServerHello.
        let secrets = reader.decryption_secrets();
        if secrets.len() > secrets_seen {
            let mut more = KeyLog::clone(&keys);
            for text in secrets.get(secrets_seen..).unwrap_or_default() {
                more.add_text(text);
            }
            secrets_seen = secrets.len();
            keys = Arc::new(more);
            dispatch.keys(keys.clone());
        }
        let precision = precision_of(&reader);
        let Some(frame) = reader.next_frame() else {
            break;
        };
        first_time_ns.get_or_insert(frame.time_ns);
        last_time_ns = Some(frame.time_ns);
        last_frame = frame.number;
        let at = At {
            frame: frame.number,
            time_ns: frame.time_ns,
        };
        match decoder.decode(frame.number, frame.link_type, frame.data, frame.orig_len) {
            Decoded::Tcp(seg) => {
                if seg.src_port == 53 || seg.dst_port == 53 {
                    dns_log.tcp_segment(at, &seg);
                }
                let route = directory.route(at, &seg, &mut ended);
                send_ends(&mut ended, base, precision, dispatch);
                let id = base + route.record as usize;
                if let Some(open) = route.opened {
                    let opening = Opening {
                        capture: index,
                        base,
                        flow: FlowOpen {
                            id: FlowId(open.stream),
                            orig: open.orig,
                            resp: open.resp,
                            syn_seen: open.syn_seen,
                            at,
                        },
                        continues: open.continues.map(|r| base + r as usize),
                        // A connection seen from its SYN has its client known; else either
                        // side may be the one that looked the other up.
                        dns: dns_log
                            .resolved_by(open.orig.ip(), open.resp.ip())
                            .or_else(|| {
                                if open.syn_seen {
                                    None
                                } else {
                                    dns_log.resolved_by(open.resp.ip(), open.orig.ip())
                                }
                            })
                            .map(Box::new),
                    };
                    dispatch.open(route.pair_hash, id, opening);
                }
                dispatch.segment(route.pair_hash, id, route.side, at, &seg);
            }
            Decoded::UnsupportedLinkType(link) if !trouble.unsupported.contains(&link) => {
                trouble.unsupported.push(link);
                trouble.warnings.push(CaptureWarning {
                    kind: "unsupported_link_type",
                    frame: Some(frame.number),
                    message: format!(
                        "link type {} ({link}) is not supported; its frames are skipped",
                        link_type_name(link)
                    ),
                });
            }
            Decoded::Malformed(why) => {
                trouble.malformed_count += 1;
                trouble.malformed.get_or_insert((frame.number, why));
            }
            Decoded::IcmpError(error) => {
                let src = SocketAddr::new(error.src, error.src_port);
                let dst = SocketAddr::new(error.dst, error.dst_port);
                match directory.locate(src, dst) {
                    Some((record, side, hash)) => {
                        dispatch.icmp(hash, base + record as usize, side, at, error);
                    }
                    None => {
                        // About no connection we track: counted like any other ICMP.
                        let entry = trouble
                            .not_analyzed
                            .entry(OtherTraffic::Icmp)
                            .or_insert((0, frame.number));
                        entry.0 += 1;
                    }
                }
            }
            Decoded::Dns(datagram) => {
                if !dns_log.datagram(at, &datagram) {
                    let entry = trouble
                        .not_analyzed
                        .entry(OtherTraffic::Dns)
                        .or_insert((0, frame.number));
                    entry.0 += 1;
                }
            }
            Decoded::NotTcp(kind) => {
                let entry = trouble
                    .not_analyzed
                    .entry(kind)
                    .or_insert((0, frame.number));
                entry.0 += 1;
            }
            Decoded::FragmentHeld | Decoded::UnsupportedLinkType(_) => {}
        }
        if frame_is_milestone(last_frame) {
            // The byte count sits behind a lock: read it every so often, not per frame.
            let bytes = reader.bytes_read();
            progress.advance(bytes.saturating_sub(progress_mark));
            progress_mark = bytes;
            if dispatch.stopped() {
                break;
            }
        }
    }
    let precision = precision_of(&reader);
    let end = At {
        frame: last_frame,
        time_ns: last_time_ns.unwrap_or_default(),
    };
    directory.finish(end, &mut ended);
    send_ends(&mut ended, base, precision, dispatch);
    progress.advance(reader.bytes_read().saturating_sub(progress_mark));

    let mut warnings = reader.warnings().to_vec();
    warnings.extend(trouble.warnings);
    if let Some((frame, why)) = trouble.malformed {
        // One warning for all of them: a damaged capture can have thousands.
        warnings.push(CaptureWarning {
            kind: "malformed_frame",
            frame: Some(frame),
            message: format!(
                "{} frame(s) could not be decoded down to TCP; the first: {why}",
                trouble.malformed_count
            ),
        });
    }
    warnings.extend(not_analyzed_warning(&trouble.not_analyzed));
    warnings.extend(limit_warnings(directory.limit_counts(), options));
    if dns_log.limit_hit {
        warnings.push(CaptureWarning {
            kind: "limit_reached",
            frame: None,
            message: format!(
                "DNS lookups: only the first {} names (and 10,000 unanswered queries at a time) are followed",
                super::dns_log::MAX_LOOKUPS
            ),
        });
    }
    let dns_lookups = dns_log.finish();
    let facts = CaptureFacts {
        path: name,
        sha256: reader.sha256_hex(),
        bytes: reader.bytes_read(),
        format: reader.format().name(),
        link_types: reader
            .link_types()
            .iter()
            .map(|&l| link_type_name(l))
            .collect(),
        frames: reader.frames_read(),
        first_time_ns,
        last_time_ns,
        microsecond_times: precision == Precision::Micros,
        warnings,
        embedded_secrets: reader.decryption_secrets().to_vec(),
        frames_not_analyzed: trouble
            .not_analyzed
            .iter()
            .map(|(kind, (count, _))| (kind.name(), *count))
            .collect(),
    };
    let end_id = base + directory.records() as usize;
    dispatch.capture_done(CaptureDone {
        index,
        facts,
        base,
        end_id,
        dns_lookups,
    });
    end_id
}

/// Every 16,384th frame: progress and a check that the output is still there.
fn frame_is_milestone(frame: u64) -> bool {
    frame & 0x3fff == 0
}

fn send_ends(
    ended: &mut Vec<Ended>,
    base: usize,
    precision: Precision,
    dispatch: &mut dyn Dispatch,
) {
    for e in ended.drain(..) {
        dispatch.end(
            e.pair_hash,
            base + e.record as usize,
            e.reason,
            e.observed_until,
            precision,
        );
    }
}

/// One warning for every frame that was not TCP: how many of each kind, and the first.
fn not_analyzed_warning(counts: &BTreeMap<OtherTraffic, (u64, u64)>) -> Option<CaptureWarning> {
    let total: u64 = counts.values().map(|(n, _)| n).sum();
    let first = counts.values().map(|(_, frame)| *frame).min()?;
    let mut by_count: Vec<(&OtherTraffic, &(u64, u64))> = counts.iter().collect();
    by_count.sort_by(|a, b| b.1.0.cmp(&a.1.0).then(a.0.cmp(b.0)));
    let kinds: Vec<String> = by_count
        .iter()
        .map(|(kind, (n, _))| format!("{n} {}", kind.describe()))
        .collect();
    Some(CaptureWarning {
        kind: "traffic_not_analyzed",
        frame: Some(first),
        message: format!(
            "{total} frame(s) carry no TCP that mqpcap analyses and were only counted: {}",
            kinds.join(", ")
        ),
    })
}

/// `limit_reached` warnings for the caps the directory reached.
fn limit_warnings(counts: LimitCounts, options: &RunOptions) -> Vec<CaptureWarning> {
    let mut warnings = Vec::new();
    if counts.flow_limit > 0 {
        warnings.push(CaptureWarning {
            kind: "limit_reached",
            frame: counts.first_flow_limit.map(|a| a.frame),
            message: format!(
                "tracked flows: more than {} connections were open at once, so {} were ended \
                 early, the least recently active first (ended_by flow_limit); a connection \
                 whose packets went on continues in a new record with the same tcp_stream",
                options.directory.max_live, counts.flow_limit
            ),
        });
    }
    if counts.reorder_limit > 0 {
        warnings.push(CaptureWarning {
            kind: "limit_reached",
            frame: counts.first_reorder_limit.map(|a| a.frame),
            message: format!(
                "reorder buffer: more than {} finished connections waited for an older one \
                 still open, so {} long connections were ended early to report them in order \
                 (ended_by reorder_limit); each continues in a new record with the same \
                 tcp_stream",
                options.directory.max_pending, counts.reorder_limit
            ),
        });
    }
    warnings
}

/// Every connection record of one capture, whole (no caps or timeouts): for the rules' fuzz
/// entry and tests.
pub(super) fn connections_of(mut reader: CaptureReader) -> Vec<Connection> {
    let mut flows = FlowTable::default();
    let mut collect = Collect::default();
    flows.feed_capture(&mut reader, &mut collect);
    flows.finish(&mut collect);
    collect
        .finished
        .sort_by_key(|c| (c.tcp.first.frame, c.tcp_stream));
    collect.finished
}

#[derive(Default)]
struct Collect {
    live: HashMap<FlowId, Building>,
    finished: Vec<Connection>,
}

impl Collect {
    fn sink(&mut self, id: FlowId) -> Option<BuildingSink<'_>> {
        self.live.get_mut(&id).map(|building| BuildingSink {
            building,
            keys: None,
        })
    }
}

impl FlowSink for Collect {
    fn open(&mut self, flow: &FlowOpen) {
        self.live.insert(flow.id, Building::new(*flow, None));
    }
    fn data(&mut self, id: FlowId, side: Side, data: &[u8], at: At) {
        if let Some(mut sink) = self.sink(id) {
            sink.data(id, side, data, at);
        }
    }
    fn gap(&mut self, id: FlowId, side: Side, len: u64, at: At) {
        if let Some(mut sink) = self.sink(id) {
            sink.gap(id, side, len, at);
        }
    }
    fn tcp_event(&mut self, id: FlowId, side: Side, event: TcpEvent, at: At) {
        if let Some(mut sink) = self.sink(id) {
            sink.tcp_event(id, side, event, at);
        }
    }
    fn closed(&mut self, id: FlowId, summary: TcpSummary) {
        if let Some(building) = self.live.remove(&id) {
            let conn = building.into_connection(0, summary, EndReason::EndOfCapture, None);
            self.finished.push(conn);
        }
    }
}
