//! The streaming engine, the one place where the stages meet (see docs/design.md):
//!
//! ```text
//! reader ─► shard by pair hash ─► N workers: flow ─► proto ─► record ─► rules ─► report
//!  (1 thread: frames, headers,                                          │
//!   stream directory, ends)                     merge (id order) ◄──────┘ ─► sink
//!                                                cross-connection rules on summaries
//! ```
//! The reader reads every capture in order, decodes headers, and asks the stream directory
//! which record each segment belongs to and which records end (close plus linger, idle,
//! caps, end of input). Segments go, in batches, to the worker owning their pair; a worker
//! finishes a record when told and sends its outcome to the merge, which writes connections in
//! id order and runs the cross-connection rules at the end.
//!
//! Several small captures are read at the same time instead (`lanes`: a reader and its worker
//! per thread, each capture numbered from 0 and renumbered by the merge).
//!
//! Guarantees: output is byte-identical for every `--jobs` (all decisions are the reader's, in
//! capture order; workers only execute them; lanes change only which thread reads a capture);
//! memory is bounded by the directory's caps, the reassembly limits, the timeline caps, the
//! bounded channels and the merge's summary cap, and each cap that is reached becomes a
//! `limit_reached` capture warning.

mod building;
mod dns_log;
mod inline;
mod kept;
mod lanes;
mod merge;
mod progress;
mod reader;
mod renumber;
mod reorder;
mod spill;
mod worker;

use crate::capture::CaptureReader;
use crate::common::{At, Side};
use crate::detect::RuleBook;
use crate::error::Error;
use crate::flow::FlowLimits;
use crate::flow::directory::{DirectoryLimits, EndReason};
use crate::flow::reassembly::ReassemblyLimits;
use crate::proto::tls::decrypt::KeyLog;
use crate::report::model::{Precision, ReportOptions, Summary};
use crate::report::sink::ReportSink;
use crate::wire::{IcmpError, TcpFlags, TcpSegment};
use merge::Merge;
use reader::Dispatch;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use worker::{Finished, Opening, SegmentHeader, Worker};

/// One input of a run.
pub(crate) enum Input {
    /// A file, opened when its turn comes.
    Path(PathBuf),
    /// Already open (stdin).
    Open(Box<CaptureReader>),
}

/// How a run is carried out.
#[derive(Debug, Clone)]
pub(crate) struct RunOptions {
    /// Worker threads; 1 runs everything on the calling thread.
    pub jobs: usize,
    pub report: ReportOptions,
    pub directory: DirectoryLimits,
    pub flow: FlowLimits,
    /// Show a progress bar on stderr (when it is a terminal and the run takes a while).
    pub progress: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            jobs: 1,
            report: ReportOptions::default(),
            directory: DirectoryLimits::default(),
            flow: FlowLimits::default(),
            progress: false,
        }
    }
}

/// What every worker reads.
pub(crate) struct Shared {
    pub book: RuleBook,
    pub keys: Arc<KeyLog>,
    pub report: ReportOptions,
    pub reassembly: ReassemblyLimits,
}

/// Analyses `inputs` in order and writes the report to `sink`. Returns the finding counts
/// (for the exit code). Capture damage becomes warnings; `Err` is for a file that cannot be
/// opened any more or an output that cannot be written.
pub(crate) fn run(
    inputs: Vec<Input>,
    keys: Arc<KeyLog>,
    book: RuleBook,
    options: &RunOptions,
    sink: &mut dyn ReportSink,
) -> Result<Summary, Error> {
    let shared = Arc::new(Shared {
        book,
        keys,
        report: options.report,
        reassembly: options.flow.reassembly(),
    });
    let json = sink.wants_json();
    let mut merge = Merge::new(sink, options.report.redact_ids, options.jobs);
    if let Some(lanes) = lanes::lanes_for(&inputs, options.jobs) {
        lanes::run(inputs, lanes, &shared, options, json, &mut merge)?;
    } else if options.jobs <= 1 {
        let direct = inline::ToMergeDirectly {
            merge: &mut merge,
            failed: None,
        };
        let mut inline = inline::Inline::new(shared.clone(), json, direct);
        let result = reader::read_all(inputs, &shared, options, &mut inline);
        if let Some(e) = inline.outcomes.failed {
            return Err(Error::Output(e));
        }
        result?;
    } else {
        run_threaded(inputs, &shared, options, json, &mut merge)?;
    }
    merge.finish(&shared.book).map_err(Error::Output)
}

/// A segment in a batch: the header fields, and where its payload sits in the batch bytes.
/// Not its addresses and ports: the worker knows them from the record's opening and `side`
/// (48 bytes, not 88; a batch item is copied twice per segment).
#[derive(Debug, Clone, Copy)]
struct SegmentItem {
    id: usize,
    side: Side,
    at: At,
    seq: u32,
    ack: u32,
    flags: TcpFlags,
    window: u16,
    missing: u32,
    start: u32,
    len: u32,
}

enum Item {
    /// The next of the batch's `openings` (kept apart: an opening is 128 bytes, a segment
    /// item 48, and an item is as large as its largest kind).
    Open(usize),
    Segment(SegmentItem),
    End(usize, EndReason, At, Precision),
    /// Boxed for the same reason (60 bytes; ICMP errors are rare).
    Icmp(usize, Side, At, Box<IcmpError>),
    Keys(Arc<KeyLog>),
}

// Items are copied into a batch and out of it once per segment: keep them small (the sizes the
// comments above give, checked at compile time on 64-bit targets).
#[cfg(target_pointer_width = "64")]
const _: () = assert!(std::mem::size_of::<SegmentItem>() == 48);
#[cfg(target_pointer_width = "64")]
const _: () = assert!(std::mem::size_of::<Item>() == 48);

#[derive(Default)]
struct Batch {
    items: Vec<Item>,
    bytes: Vec<u8>,
    /// One per `Item::Open`, in the same order. In the batch rather than boxed in the item:
    /// a box per connection freed by the worker was slower than the bigger items (glibc frees
    /// across threads under the owning arena's lock).
    openings: Vec<Opening>,
}

/// Items per batch and payload bytes per batch before it is sent.
const BATCH_ITEMS: usize = 1024;
const BATCH_BYTES: usize = 256 * 1024;
/// Batches in flight per worker. Deep enough that the reader rarely waits on one worker's
/// full queue while the other starves (4 left a fifth of the two cores idle on `fleet`; 16:
/// 0.92x the wall time there, 0.9x on `fleet-1g`, for 5-10 MiB more at the peak).
const WORKER_QUEUE: usize = 16;
/// Finished connections sent to the merge in one message: one wake-up of the merge for many
/// connections (a message each made waking it a tenth of the run's time).
const FINISHED_BATCH: usize = 64;
/// Messages in flight to the merge (so at most 1,024 finished connections).
const MERGE_QUEUE: usize = 16;

/// Connections finished together, with their JSON one after another in one string
/// (`Finished::json` are ranges in it): one allocation made by a worker and freed by the
/// merge per message, not one per connection (see `Worker::json_text`).
struct FinishedList {
    list: Vec<Finished>,
    json: String,
}

enum ToMerge {
    Finished(FinishedList),
    Capture(Box<merge::CaptureDone>),
}

/// Hands every message to the merge until the senders are gone, or the output fails.
/// Returning drops nothing: the caller drops the receiver, which stops the senders.
fn merge_all(rx: &Receiver<ToMerge>, merge: &mut Merge<'_>) -> std::io::Result<()> {
    for message in rx.iter() {
        match message {
            ToMerge::Finished(FinishedList { list, json }) => list
                .into_iter()
                .try_for_each(|f| merge.finished(f, &json))?,
            ToMerge::Capture(done) => merge.capture_done(*done)?,
        }
    }
    Ok(())
}

/// The reader's side of `--jobs N`: fills a batch per worker and sends it when full.
struct Threaded {
    batches: Vec<Batch>,
    workers: Vec<SyncSender<Batch>>,
    /// Emptied batches the workers hand back. Reusing them keeps the big buffers in the
    /// reader instead of freeing them on another thread, where glibc's per-thread arenas
    /// fragmented them into tens of megabytes of resident memory (and it saves the malloc).
    spare: Receiver<Batch>,
    merge: SyncSender<ToMerge>,
    stopped: bool,
}

impl Threaded {
    fn shard(&self, hash: u64) -> usize {
        (hash % self.workers.len().max(1) as u64) as usize
    }

    fn push(&mut self, shard: usize, item: Item) {
        let Some(batch) = self.batches.get_mut(shard) else {
            return;
        };
        batch.items.push(item);
        if batch.items.len() >= BATCH_ITEMS || batch.bytes.len() >= BATCH_BYTES {
            self.flush(shard);
        }
    }

    fn flush(&mut self, shard: usize) {
        let (Some(batch), Some(tx)) = (self.batches.get_mut(shard), self.workers.get(shard)) else {
            return;
        };
        if batch.items.is_empty() {
            return;
        }
        let empty = self.spare.try_recv().unwrap_or_default();
        let full = std::mem::replace(batch, empty);
        if tx.send(full).is_err() {
            // The worker is gone: the merge stopped (output closed).
            self.stopped = true;
        }
    }

    fn flush_all(&mut self) {
        for shard in 0..self.batches.len() {
            self.flush(shard);
        }
    }
}

impl Dispatch for Threaded {
    fn open(&mut self, hash: u64, id: usize, opening: Opening) {
        let shard = self.shard(hash);
        if let Some(batch) = self.batches.get_mut(shard) {
            batch.openings.push(opening);
            self.push(shard, Item::Open(id));
        }
    }
    fn segment(&mut self, hash: u64, id: usize, side: Side, at: At, seg: &TcpSegment<'_>) {
        let shard = self.shard(hash);
        let Some(batch) = self.batches.get_mut(shard) else {
            return;
        };
        let start = u32::try_from(batch.bytes.len()).unwrap_or(u32::MAX);
        batch.bytes.extend_from_slice(seg.payload);
        let item = SegmentItem {
            id,
            side,
            at,
            seq: seg.seq,
            ack: seg.ack,
            flags: seg.flags,
            window: seg.window,
            missing: seg.missing_payload,
            start,
            len: u32::try_from(seg.payload.len()).unwrap_or(u32::MAX),
        };
        self.push(shard, Item::Segment(item));
    }
    fn end(&mut self, hash: u64, id: usize, reason: EndReason, until: At, precision: Precision) {
        let shard = self.shard(hash);
        self.push(shard, Item::End(id, reason, until, precision));
    }
    fn icmp(&mut self, hash: u64, id: usize, side: Side, at: At, error: IcmpError) {
        let shard = self.shard(hash);
        self.push(shard, Item::Icmp(id, side, at, Box::new(error)));
    }
    fn keys(&mut self, keys: Arc<KeyLog>) {
        for shard in 0..self.batches.len() {
            self.push(shard, Item::Keys(keys.clone()));
        }
    }
    fn capture_done(&mut self, done: merge::CaptureDone) {
        // The capture's last items must reach the workers before the merge waits for them.
        self.flush_all();
        if self.merge.send(ToMerge::Capture(Box::new(done))).is_err() {
            self.stopped = true;
        }
    }
    fn stopped(&self) -> bool {
        self.stopped
    }
}

fn work(
    shared: Arc<Shared>,
    rx: Receiver<Batch>,
    tx: SyncSender<ToMerge>,
    spare: SyncSender<Batch>,
    json: bool,
) {
    let mut worker = Worker::new(shared);
    let mut finished = Vec::new();
    for mut batch in rx {
        let mut openings = batch.openings.drain(..);
        for item in batch.items.drain(..) {
            match item {
                Item::Open(id) => {
                    if let Some(opening) = openings.next() {
                        worker.open(id, opening);
                    }
                }
                Item::Segment(s) => {
                    let start = s.start as usize;
                    let payload = batch
                        .bytes
                        .get(start..start.saturating_add(s.len as usize))
                        .unwrap_or_default();
                    let header = SegmentHeader {
                        seq: s.seq,
                        ack: s.ack,
                        flags: s.flags,
                        window: s.window,
                        missing_payload: s.missing,
                    };
                    worker.segment_parts(s.id, s.side, s.at, header, payload);
                }
                Item::End(id, reason, until, precision) => {
                    finished.extend(worker.end(id, reason, until, precision, json));
                    if finished.len() >= FINISHED_BATCH
                        && tx
                            .send(ToMerge::Finished(FinishedList {
                                list: std::mem::take(&mut finished),
                                json: worker.take_json_text(),
                            }))
                            .is_err()
                    {
                        return;
                    }
                }
                Item::Icmp(id, side, at, error) => worker.icmp(id, side, at, *error),
                Item::Keys(keys) => worker.set_keys(keys),
            }
        }
        drop(openings);
        // What a batch finished goes now: the merge may be waiting for it.
        if !finished.is_empty()
            && tx
                .send(ToMerge::Finished(FinishedList {
                    list: std::mem::take(&mut finished),
                    json: worker.take_json_text(),
                }))
                .is_err()
        {
            return;
        }
        batch.bytes.clear();
        // Full (the reader has enough spares) or gone: this one is simply freed.
        let _ = spare.try_send(batch);
    }
}

fn run_threaded(
    inputs: Vec<Input>,
    shared: &Arc<Shared>,
    options: &RunOptions,
    json: bool,
    merge: &mut Merge<'_>,
) -> Result<(), Error> {
    let (merge_tx, merge_rx) = sync_channel::<ToMerge>(MERGE_QUEUE);
    let (spare_tx, spare_rx) = sync_channel::<Batch>(options.jobs * (WORKER_QUEUE + 1));
    let mut worker_txs = Vec::new();
    let mut handles = Vec::new();
    for _ in 0..options.jobs {
        let (tx, rx) = sync_channel::<Batch>(WORKER_QUEUE);
        worker_txs.push(tx);
        let shared = shared.clone();
        let merge_tx = merge_tx.clone();
        let spare_tx = spare_tx.clone();
        handles.push(std::thread::spawn(move || {
            work(shared, rx, merge_tx, spare_tx, json)
        }));
    }
    let reader_shared = shared.clone();
    let reader_options = options.clone();
    let reader_handle = std::thread::spawn(move || {
        let mut dispatch = Threaded {
            batches: (0..worker_txs.len()).map(|_| Batch::default()).collect(),
            workers: worker_txs,
            spare: spare_rx,
            merge: merge_tx,
            stopped: false,
        };
        let result = reader::read_all(inputs, &reader_shared, &reader_options, &mut dispatch);
        dispatch.flush_all();
        result
    });
    // On an output error, dropping the receiver stops the workers, which stops the reader.
    let output = merge_all(&merge_rx, merge);
    drop(merge_rx);
    let read = reader_handle.join().unwrap_or(Ok(()));
    for handle in handles {
        let _ = handle.join();
    }
    output.map_err(Error::Output)?;
    read
}

/// Analyses arbitrary bytes as a capture with default options into a gathered report (fuzz
/// targets: the whole pipeline, rules and report model included).
pub fn fuzz_analyze(data: &[u8]) {
    let input: Box<dyn std::io::Read + Send> = Box::new(std::io::Cursor::new(data.to_vec()));
    if let Ok(reader) = CaptureReader::from_read("fuzz", input) {
        let mut sink = crate::report::sink::HumanSink::new();
        let _ = run(
            vec![Input::Open(Box::new(reader))],
            Arc::new(KeyLog::new()),
            RuleBook::builtin(),
            &RunOptions {
                directory: DirectoryLimits {
                    max_live: 64,
                    max_entries: 256,
                    max_pending: 32,
                    ..DirectoryLimits::default()
                },
                ..RunOptions::default()
            },
            &mut sink,
        );
        let _ = sink.into_report();
    }
}

/// Fuzz entry for the rules: the pipeline on `data`, then every rule under every profile on
/// the connections it made, and `data` as a rule file and a profile file.
pub fn fuzz_detect(data: &[u8]) {
    let input: Box<dyn std::io::Read + Send> = Box::new(std::io::Cursor::new(data.to_vec()));
    let connections = match CaptureReader::from_read("fuzz", input) {
        Ok(reader) => reader::connections_of(reader),
        Err(_) => Vec::new(),
    };
    let until = connections
        .iter()
        .map(|c| c.tcp.last)
        .max_by_key(|a| a.frame)
        .unwrap_or_default();
    crate::detect::fuzz_rules(data, &connections, until);
}
