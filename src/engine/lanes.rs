//! Several captures read at the same time: with `--jobs N` and more than one input, N lanes
//! each take the next capture, read it and analyse its connections on their own thread (a
//! reader calling its own worker, `inline`, as with `--jobs 1`), and send the outcomes to the
//! merge.
//! A lane numbers its capture's connections from 0; the merge gives them their run ids once
//! every earlier capture is out (`renumber`), so the output is the same byte for byte as when
//! the captures are read one after another.
//!
//! Lanes serve fleets of small captures, where one reader thread was the bottleneck (a
//! capture's connections were analysed in parallel, but files were read one at a time). Each
//! lane holds a capture's live state (measured on slices of the fleet benchmark: about 11 MiB
//! for a 2 MB capture, 50 MiB for a 17 MB one, mostly the stream directory and the live
//! connections), so the number of lanes is limited by the largest input: at most
//! [`LANE_BUDGET`] bytes of capture read at once, and at most [`MAX_LANES`]. When that leaves
//! fewer than two lanes (a capture over 8 MiB), the captures go through the sharded engine one
//! after another, as a single large capture does.

use super::inline::{Inline, Outcomes};
use super::merge::{CaptureDone, Merge};
use super::progress::Progress;
use super::reader;
use super::worker::Finished;
use super::{
    FINISHED_BATCH, FinishedList, Input, MERGE_QUEUE, RunOptions, Shared, ToMerge, merge_all,
};
use crate::error::Error;
use std::sync::mpsc::{SyncSender, sync_channel};
use std::sync::{Arc, Mutex};

/// Bytes of capture that lanes read at once, at most: lanes x the largest input.
pub(super) const LANE_BUDGET: u64 = 16 << 20;
/// Lanes at most, whatever `--jobs` (62 captures of 2 MB: 117 MiB with four).
pub(super) const MAX_LANES: usize = 4;

/// How many lanes read `inputs` with `jobs` threads, when at least two: several inputs, every
/// one a file (stdin is read alone), the largest small enough for two lanes in the budget.
/// A file that cannot be read counts as empty: it becomes a warning without being read.
pub(super) fn lanes_for(inputs: &[Input], jobs: usize) -> Option<usize> {
    let mut largest = 0u64;
    for input in inputs {
        match input {
            Input::Path(path) => {
                largest = largest.max(std::fs::metadata(path).map_or(0, |m| m.len()));
            }
            Input::Open(_) => return None,
        }
    }
    let by_budget = usize::try_from(LANE_BUDGET / largest.max(1)).unwrap_or(usize::MAX);
    let lanes = jobs.min(inputs.len()).min(MAX_LANES).min(by_budget);
    (lanes > 1).then_some(lanes)
}

/// A lane's outcomes: sent to the merge by [`FINISHED_BATCH`] and at a capture's end.
struct ToChannel {
    finished: Vec<Finished>,
    /// Their JSON (see `FinishedList`).
    json: String,
    merge: SyncSender<ToMerge>,
    stopped: bool,
}

impl ToChannel {
    fn send(&mut self, message: ToMerge) {
        if !self.stopped && self.merge.send(message).is_err() {
            // The merge stopped (output closed): the run is over.
            self.stopped = true;
        }
    }

    fn send_finished(&mut self) {
        if !self.finished.is_empty() {
            let list = FinishedList {
                list: std::mem::take(&mut self.finished),
                json: std::mem::take(&mut self.json),
            };
            self.send(ToMerge::Finished(list));
        }
    }
}

impl Outcomes for ToChannel {
    fn finished(&mut self, mut finished: Finished, json_text: &str) {
        if let Some(range) = finished.json.take() {
            let start = self.json.len();
            self.json.push_str(json_text.get(range).unwrap_or("{}"));
            finished.json = Some(start..self.json.len());
        }
        self.finished.push(finished);
        if self.finished.len() >= FINISHED_BATCH {
            self.send_finished();
        }
    }
    fn capture_done(&mut self, done: CaptureDone) {
        self.send_finished();
        self.send(ToMerge::Capture(Box::new(done)));
    }
    fn stopped(&self) -> bool {
        self.stopped
    }
}

/// Reads `inputs` in `lanes` lanes; the merge runs on the calling thread.
pub(super) fn run(
    inputs: Vec<Input>,
    lanes: usize,
    shared: &Arc<Shared>,
    options: &RunOptions,
    json: bool,
    merge: &mut Merge<'_>,
) -> Result<(), Error> {
    let progress = Progress::new(options.progress, reader::total_bytes(&inputs));
    let queue = Mutex::new(inputs.into_iter().enumerate());
    // Within a lane, one thread does everything, as with `--jobs 1`.
    let lane_options = RunOptions {
        jobs: 1,
        ..options.clone()
    };
    let (merge_tx, merge_rx) = sync_channel::<ToMerge>(MERGE_QUEUE);
    let output = std::thread::scope(|scope| {
        for _ in 0..lanes {
            let channel = ToChannel {
                finished: Vec::new(),
                json: String::new(),
                merge: merge_tx.clone(),
                stopped: false,
            };
            let mut lane = Inline::new(shared.clone(), json, channel);
            let reading = reader::Reading {
                shared,
                options: &lane_options,
                progress: &progress,
            };
            let queue = &queue;
            scope.spawn(move || {
                while !lane.outcomes.stopped() {
                    // A poisoned queue means another lane panicked: stop taking captures.
                    let next = queue.lock().ok().and_then(|mut q| q.next());
                    let Some((index, input)) = next else {
                        break;
                    };
                    reader::read_input(index, input, 0, &reading, &mut lane);
                }
            });
        }
        // The lanes hold the only senders: the merge ends when every lane has. On an output
        // error, dropping the receiver stops the lanes.
        drop(merge_tx);
        let output = merge_all(&merge_rx, merge);
        drop(merge_rx);
        output
    });
    progress.finish();
    output.map_err(Error::Output)
}
