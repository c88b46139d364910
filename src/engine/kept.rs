//! The summaries the cross-connection rules see: every finished connection's while there are
//! fewer than the cap, then the run's first ones (lowest capture index, then id as read), the
//! same set whatever order they arrive in. The list never holds more than the cap plus a
//! sixteenth, and one capture read alone, whose summaries arrive in order, never takes it past
//! the cap. Which connections were left out is noted per capture, for its `limit_reached`
//! warning.

use crate::detect::ConnSummary;
use std::collections::BTreeMap;

/// See the module documentation.
#[derive(Debug)]
pub(super) struct KeptSummaries {
    cap: usize,
    list: Vec<ConnSummary>,
    /// The highest (capture, id) in `list`.
    highest: Option<(usize, usize)>,
    /// Per capture index: the first id (as read) whose summary was left out.
    first_dropped: BTreeMap<usize, usize>,
}

impl KeptSummaries {
    pub(super) fn new(cap: usize) -> Self {
        KeptSummaries {
            cap,
            list: Vec::new(),
            highest: None,
            first_dropped: BTreeMap::new(),
        }
    }

    /// Keeps `summary` unless the cap leaves it out. A summary later than every kept one,
    /// with the list full, is left out at once: at least `cap` earlier ones are kept. Others
    /// past the cap (captures read at once deliver out of order) grow the list by a
    /// sixteenth, then the latest are left out, so the cost per summary stays constant.
    pub(super) fn keep(&mut self, summary: ConnSummary) {
        let key = key_of(&summary);
        if self.list.len() >= self.cap && self.highest.is_some_and(|highest| key > highest) {
            left_out(&mut self.first_dropped, key);
            return;
        }
        if self.list.len() == self.cap {
            self.list.reserve_exact(self.slack());
        }
        self.list.push(summary);
        self.highest = self.highest.max(Some(key));
        if self.list.len() >= self.cap + self.slack() {
            self.settle();
        }
    }

    /// Leaves out all but the first `cap` summaries kept so far.
    pub(super) fn settle(&mut self) {
        if self.list.len() <= self.cap {
            return;
        }
        // Within a capture, ids as read are in the run's order.
        self.list.select_nth_unstable_by_key(self.cap, key_of);
        for summary in self.list.drain(self.cap..) {
            left_out(&mut self.first_dropped, key_of(&summary));
        }
        self.highest = self.list.iter().map(key_of).max();
    }

    /// The first id (as read) of capture `capture` that the cap left out.
    pub(super) fn first_dropped(&self, capture: usize) -> Option<usize> {
        self.first_dropped.get(&capture).copied()
    }

    /// Settles the list, gives every summary its run id (`run_id(capture, id)`, increasing
    /// with the id within a capture), and orders the list by it.
    pub(super) fn finish(&mut self, run_id: impl Fn(usize, usize) -> usize) {
        self.settle();
        for s in &mut self.list {
            s.id = run_id(s.capture, s.id);
        }
        self.list.sort_unstable_by_key(|s| s.id);
        self.highest = None;
    }

    /// The kept summaries: after [`KeptSummaries::finish`], in run id order.
    pub(super) fn list(&self) -> &[ConnSummary] {
        &self.list
    }

    fn slack(&self) -> usize {
        (self.cap / 16).max(1)
    }
}

/// Notes in `first_dropped` a summary the cap left out.
fn left_out(first_dropped: &mut BTreeMap<usize, usize>, (capture, id): (usize, usize)) {
    let first = first_dropped.entry(capture).or_insert(id);
    *first = (*first).min(id);
}

fn key_of(summary: &ConnSummary) -> (usize, usize) {
    (summary.capture, summary.id)
}

#[cfg(test)]
mod tests {
    use super::KeptSummaries;
    use crate::detect::summarize;
    use crate::detect::test_support::established_plain;

    fn summaries(capture: usize, ids: std::ops::Range<usize>) -> Vec<crate::detect::ConnSummary> {
        let template = summarize(0, &established_plain());
        ids.map(|id| {
            let mut s = template.clone();
            s.id = id;
            s.capture = capture;
            s
        })
        .collect()
    }

    fn kept_keys(kept: &KeptSummaries) -> Vec<(usize, usize)> {
        let mut keys: Vec<_> = kept.list().iter().map(|s| (s.capture, s.id)).collect();
        keys.sort_unstable();
        keys
    }

    #[test]
    fn one_capture_in_order_never_outgrows_the_cap() {
        let mut kept = KeptSummaries::new(64);
        for s in summaries(0, 0..1_000) {
            kept.keep(s);
            assert!(kept.list.capacity() <= 64, "{}", kept.list.capacity());
        }
        kept.settle();
        let want: Vec<_> = (0..64).map(|id| (0, id)).collect();
        assert_eq!(kept_keys(&kept), want);
        assert_eq!(kept.first_dropped(0), Some(64));
        assert_eq!(kept.first_dropped(1), None);
    }

    #[test]
    fn out_of_order_arrivals_keep_the_same_first_summaries() {
        // Two captures read at once: the second's summaries arrive among the first's, and the
        // first's are the run's first connections, so they push the second's out.
        let (first, second) = (summaries(0, 0..100), summaries(1, 0..100));
        let mut kept = KeptSummaries::new(64);
        for (a, b) in first.into_iter().zip(second) {
            kept.keep(b);
            kept.keep(a);
            // At most a sixteenth over the cap, and never the doubling a Vec would do.
            assert!(kept.list.len() <= 64 + 4, "{}", kept.list.len());
            assert!(kept.list.capacity() <= 64 + 4, "{}", kept.list.capacity());
        }
        kept.settle();
        let want: Vec<_> = (0..64).map(|id| (0, id)).collect();
        assert_eq!(kept_keys(&kept), want);
        assert_eq!(kept.first_dropped(0), Some(64));
        assert_eq!(kept.first_dropped(1), Some(0));
    }

    #[test]
    fn under_the_cap_nothing_is_left_out_and_finish_orders_by_run_id() {
        let mut kept = KeptSummaries::new(64);
        for s in summaries(1, 0..10).into_iter().chain(summaries(0, 0..10)) {
            kept.keep(s);
        }
        // Capture 0 holds run ids 0..10, capture 1 10..20.
        kept.finish(|capture, id| capture * 10 + id);
        let ids: Vec<usize> = kept.list().iter().map(|s| s.id).collect();
        assert_eq!(ids, (0..20).collect::<Vec<_>>());
        assert_eq!((kept.first_dropped(0), kept.first_dropped(1)), (None, None));
    }
}
