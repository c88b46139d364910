//! A worker on the reader's own thread: `--jobs 1`, and each lane of several captures read at
//! once. The reader's decisions go straight to the worker; what it finishes goes to its
//! [`Outcomes`]: the merge itself, or a lane's channel to the merge.

use super::Shared;
use super::merge::{CaptureDone, Merge};
use super::reader::Dispatch;
use super::worker::{Finished, Opening, Worker};
use crate::common::{At, Side};
use crate::flow::directory::EndReason;
use crate::proto::tls::decrypt::KeyLog;
use crate::report::model::Precision;
use crate::wire::{IcmpError, TcpSegment};
use std::sync::Arc;

/// Where an inline worker's finished connections and capture records go.
pub(super) trait Outcomes {
    /// A finished connection; its `json` is a range in `json_text`.
    fn finished(&mut self, finished: Finished, json_text: &str);
    fn capture_done(&mut self, done: CaptureDone);
    /// True once the output is gone: reading stops.
    fn stopped(&self) -> bool;
}

/// A worker driven by the reader on the same thread.
pub(super) struct Inline<O> {
    worker: Worker,
    json: bool,
    pub outcomes: O,
}

impl<O: Outcomes> Inline<O> {
    pub(super) fn new(shared: Arc<Shared>, json: bool, outcomes: O) -> Self {
        Inline {
            worker: Worker::new(shared),
            json,
            outcomes,
        }
    }
}

impl<O: Outcomes> Dispatch for Inline<O> {
    fn open(&mut self, _hash: u64, id: usize, opening: Opening) {
        self.worker.open(id, opening);
    }
    fn segment(&mut self, _hash: u64, id: usize, side: Side, at: At, seg: &TcpSegment<'_>) {
        self.worker.segment(id, side, at, seg);
    }
    fn end(&mut self, _hash: u64, id: usize, reason: EndReason, until: At, precision: Precision) {
        if let Some(f) = self.worker.end(id, reason, until, precision, self.json) {
            self.outcomes.finished(f, self.worker.json_text());
            self.worker.clear_json_text();
        }
    }
    fn icmp(&mut self, _hash: u64, id: usize, side: Side, at: At, error: IcmpError) {
        self.worker.icmp(id, side, at, error);
    }
    fn keys(&mut self, keys: Arc<KeyLog>) {
        self.worker.set_keys(keys);
    }
    fn capture_done(&mut self, done: CaptureDone) {
        self.outcomes.capture_done(done);
    }
    fn stopped(&self) -> bool {
        self.outcomes.stopped()
    }
}

/// `--jobs 1`: outcomes go to the merge directly; the first output error stops the run.
pub(super) struct ToMergeDirectly<'m, 's> {
    pub merge: &'m mut Merge<'s>,
    pub failed: Option<std::io::Error>,
}

impl Outcomes for ToMergeDirectly<'_, '_> {
    fn finished(&mut self, finished: Finished, json_text: &str) {
        if self.failed.is_none()
            && let Err(e) = self.merge.finished(finished, json_text)
        {
            self.failed = Some(e);
        }
    }
    fn capture_done(&mut self, done: CaptureDone) {
        if self.failed.is_none()
            && let Err(e) = self.merge.capture_done(done)
        {
            self.failed = Some(e);
        }
    }
    fn stopped(&self) -> bool {
        self.failed.is_some()
    }
}
