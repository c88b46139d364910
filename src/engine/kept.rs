//! The summaries the cross-connection rules see: every finished connection's while there are
//! fewer than the cap, then the run's first ones (lowest capture index, then id as read), the
//! same set whatever order they arrive in (the workers finish connections out of order, and
//! captures read at once interleave). The list never holds more than the cap: once full, a
//! summary earlier than the latest kept one takes its place. Which connections were left out
//! is noted per capture, for its `limit_reached` warning.

use crate::detect::ConnSummary;
use std::cmp::Ordering;
use std::collections::{BTreeMap, BinaryHeap};

/// See the module documentation.
#[derive(Debug)]
pub(super) struct KeptSummaries {
    cap: usize,
    /// Until [`KeptSummaries::finish`]: a max-heap on (capture, id), so the latest kept
    /// summary is the one a full list gives up.
    kept: BinaryHeap<ByKey>,
    /// After [`KeptSummaries::finish`]: the kept summaries in run id order.
    list: Vec<ConnSummary>,
    /// Per capture index: the first id (as read) whose summary was left out.
    first_dropped: BTreeMap<usize, usize>,
}

impl KeptSummaries {
    pub(super) fn new(cap: usize) -> Self {
        KeptSummaries {
            cap,
            kept: BinaryHeap::new(),
            list: Vec::new(),
            first_dropped: BTreeMap::new(),
        }
    }

    /// Keeps `summary` unless the cap leaves it out.
    pub(super) fn keep(&mut self, summary: ConnSummary) {
        if self.kept.len() < self.cap {
            self.kept.push(ByKey(summary));
            return;
        }
        let key = key_of(&summary);
        match self.kept.peek_mut() {
            // The latest kept summary gives way (sifted down when `latest` drops).
            Some(mut latest) if key < key_of(&latest.0) => {
                let out = std::mem::replace(&mut latest.0, summary);
                left_out(&mut self.first_dropped, key_of(&out));
            }
            _ => left_out(&mut self.first_dropped, key),
        }
    }

    /// The first id (as read) of capture `capture` that the cap left out so far. Final once
    /// every summary of that capture and of the captures before it has arrived: later ones
    /// only push out summaries later than themselves.
    pub(super) fn first_dropped(&self, capture: usize) -> Option<usize> {
        self.first_dropped.get(&capture).copied()
    }

    /// Gives every kept summary its run id (`run_id(capture, id)`, increasing with the id
    /// within a capture) and orders them by it.
    pub(super) fn finish(&mut self, run_id: impl Fn(usize, usize) -> usize) {
        let kept = std::mem::take(&mut self.kept).into_vec();
        self.list = kept.into_iter().map(|ByKey(s)| s).collect();
        for s in &mut self.list {
            s.id = run_id(s.capture, s.id);
        }
        self.list.sort_unstable_by_key(|s| s.id);
    }

    /// The kept summaries: after [`KeptSummaries::finish`], in run id order; empty before.
    pub(super) fn list(&self) -> &[ConnSummary] {
        &self.list
    }
}

/// A summary ordered by (capture, id) alone, for the heap.
#[derive(Debug)]
struct ByKey(ConnSummary);

impl PartialEq for ByKey {
    fn eq(&self, other: &Self) -> bool {
        key_of(&self.0) == key_of(&other.0)
    }
}

impl Eq for ByKey {}

impl PartialOrd for ByKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ByKey {
    fn cmp(&self, other: &Self) -> Ordering {
        key_of(&self.0).cmp(&key_of(&other.0))
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
    use crate::test_rng::XorShift;

    fn summary(capture: usize, id: usize) -> crate::detect::ConnSummary {
        let mut s = summarize(0, &established_plain());
        s.id = id;
        s.capture = capture;
        s
    }

    /// The kept (capture, id) pairs, in order; `finish` with run ids `capture * 1000 + id`.
    fn finished_keys(mut kept: KeptSummaries) -> Vec<(usize, usize)> {
        kept.finish(|capture, id| capture * 1000 + id);
        kept.list()
            .iter()
            .map(|s| (s.capture, s.id % 1000))
            .collect()
    }

    #[test]
    fn one_capture_in_order_never_outgrows_the_cap() {
        let mut kept = KeptSummaries::new(64);
        for id in 0..1_000 {
            kept.keep(summary(0, id));
            assert!(kept.kept.capacity() <= 64, "{}", kept.kept.capacity());
        }
        assert_eq!(
            (kept.first_dropped(0), kept.first_dropped(1)),
            (Some(64), None)
        );
        let want: Vec<_> = (0..64).map(|id| (0, id)).collect();
        assert_eq!(finished_keys(kept), want);
    }

    #[test]
    fn any_arrival_order_keeps_the_first_summaries_within_the_cap() {
        // Workers finish connections out of order, and a capture read alongside an earlier
        // one sends its summaries among the earlier one's, which are the run's first.
        let mut rng = XorShift::new(7);
        for round in 0..20 {
            let mut order: Vec<(usize, usize)> = (0..3)
                .flat_map(|c| (0..50).map(move |id| (c, id)))
                .collect();
            for i in (1..order.len()).rev() {
                let j = usize::try_from(rng.next_u64() % (i as u64 + 1)).unwrap_or(0);
                order.swap(i, j);
            }
            let mut kept = KeptSummaries::new(64);
            for &(capture, id) in &order {
                kept.keep(summary(capture, id));
                assert!(kept.kept.capacity() <= 64, "round {round}");
            }
            // 64 = capture 0's 50 and capture 1's first 14.
            assert_eq!(kept.first_dropped(0), None, "round {round}");
            assert_eq!(kept.first_dropped(1), Some(14), "round {round}");
            assert_eq!(kept.first_dropped(2), Some(0), "round {round}");
            let want: Vec<_> = (0..50)
                .map(|id| (0, id))
                .chain((0..14).map(|id| (1, id)))
                .collect();
            assert_eq!(finished_keys(kept), want, "round {round}");
        }
    }

    #[test]
    fn under_the_cap_nothing_is_left_out_and_finish_orders_by_run_id() {
        let mut kept = KeptSummaries::new(64);
        for (capture, id) in (0..10).map(|id| (1, id)).chain((0..10).map(|id| (0, id))) {
            kept.keep(summary(capture, id));
        }
        assert!(kept.list().is_empty(), "before finish");
        assert_eq!((kept.first_dropped(0), kept.first_dropped(1)), (None, None));
        let want: Vec<_> = (0..2)
            .flat_map(|c| (0..10).map(move |id| (c, id)))
            .collect();
        assert_eq!(finished_keys(kept), want);
    }
}
