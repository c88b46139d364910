//! The merge's reorder buffer: items keyed by (capture, position in the capture) arrive in any
//! order and leave in key order, each capture from position 0.
//!
//! Per capture, a ring of slots from the first position not yet taken: an arrival is an index,
//! taking the next is a pop. (A `BTreeMap` of every waiting connection cost a tree search per
//! arrival and per write, a tenth of the merge thread on the fleet benchmark.) Memory is one
//! slot per position between the next to write and the latest arrival, which the reader's
//! reorder cap bounds.

use std::collections::{BTreeMap, VecDeque};

/// The waiting items of each capture.
#[derive(Debug)]
pub(super) struct Reorder<T> {
    captures: BTreeMap<usize, Ring<T>>,
    len: usize,
}

#[derive(Debug)]
struct Ring<T> {
    /// The position of `slots[0]`: every earlier one was taken.
    first: usize,
    slots: VecDeque<Option<T>>,
}

impl<T> Default for Reorder<T> {
    fn default() -> Self {
        Reorder {
            captures: BTreeMap::new(),
            len: 0,
        }
    }
}

impl<T> Reorder<T> {
    /// Puts `item` at (`capture`, `position`). A position already taken, or already holding an
    /// item, gives the item back (the engine never does either).
    pub(super) fn insert(&mut self, capture: usize, position: usize, item: T) -> Result<(), T> {
        let ring = self.captures.entry(capture).or_insert_with(|| Ring {
            first: 0,
            slots: VecDeque::new(),
        });
        let Some(index) = position.checked_sub(ring.first) else {
            return Err(item);
        };
        if ring.slots.len() <= index {
            ring.slots.resize_with(index + 1, || None);
        }
        match ring.slots.get_mut(index) {
            Some(slot @ None) => {
                *slot = Some(item);
                self.len += 1;
                Ok(())
            }
            _ => Err(item),
        }
    }

    /// Takes the item at (`capture`, `position`) if it has arrived and `position` is the first
    /// not yet taken of its capture.
    pub(super) fn take(&mut self, capture: usize, position: usize) -> Option<T> {
        let ring = self.captures.get_mut(&capture)?;
        if ring.first != position || !matches!(ring.slots.front(), Some(Some(_))) {
            return None;
        }
        let item = ring.slots.pop_front().flatten()?;
        ring.first += 1;
        self.len -= 1;
        Some(item)
    }

    /// Takes (`capture`, `position`) without an item, if `position` is the first not yet taken
    /// of its capture and nothing waits there: an item that did not have to wait. False (and
    /// nothing changes) otherwise.
    pub(super) fn pass(&mut self, capture: usize, position: usize) -> bool {
        let ring = self.captures.entry(capture).or_insert_with(|| Ring {
            first: 0,
            slots: VecDeque::new(),
        });
        if ring.first != position || matches!(ring.slots.front(), Some(Some(_))) {
            return false;
        }
        ring.slots.pop_front();
        ring.first += 1;
        true
    }

    /// Forgets a capture whose items have all been taken.
    pub(super) fn close(&mut self, capture: usize) {
        if self
            .captures
            .get(&capture)
            .is_some_and(|r| r.slots.iter().all(Option::is_none))
        {
            self.captures.remove(&capture);
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.len == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_leave_in_key_order_whatever_the_arrival_order() {
        let mut r = Reorder::default();
        // Capture 1 arrives before capture 0 is done, positions out of order.
        for (c, p) in [(0, 2), (1, 0), (0, 0), (1, 1), (0, 1), (0, 3)] {
            assert!(r.insert(c, p, (c, p)).is_ok());
        }
        let mut out = Vec::new();
        for c in 0..2 {
            let mut p = 0;
            while let Some(item) = r.take(c, p) {
                out.push(item);
                p += 1;
            }
            r.close(c);
        }
        assert_eq!(out, [(0, 0), (0, 1), (0, 2), (0, 3), (1, 0), (1, 1)]);
        assert!(r.is_empty());
        assert!(r.captures.is_empty(), "closed captures are forgotten");
    }

    #[test]
    fn a_gap_holds_back_what_follows_it() {
        let mut r = Reorder::default();
        assert!(r.insert(0, 1, "b").is_ok());
        assert_eq!(r.take(0, 0), None);
        assert_eq!(r.take(0, 1), None, "position 0 is not taken yet");
        assert!(!r.is_empty());
        assert!(r.insert(0, 0, "a").is_ok());
        assert_eq!(r.take(0, 0), Some("a"));
        assert_eq!(r.take(0, 1), Some("b"));
        assert!(r.is_empty());
    }

    #[test]
    fn taken_or_occupied_positions_are_refused() {
        let mut r = Reorder::default();
        assert!(r.insert(0, 0, 1).is_ok());
        assert_eq!(r.insert(0, 0, 2), Err(2));
        assert_eq!(r.take(0, 0), Some(1));
        assert_eq!(r.insert(0, 0, 3), Err(3));
        assert!(r.is_empty());
    }

    #[test]
    fn a_passed_position_is_taken_and_the_next_can_leave() {
        let mut r = Reorder::default();
        assert!(r.insert(0, 1, "b").is_ok());
        assert!(!r.pass(0, 1), "position 0 comes first");
        assert!(r.pass(0, 0), "nothing waits at 0: it is passed");
        assert_eq!(r.take(0, 1), Some("b"));
        assert!(!r.pass(0, 1), "already taken");
        assert!(r.insert(0, 2, "c").is_ok());
        assert!(!r.pass(0, 2), "an item waits there");
        assert!(r.insert(0, 0, "a").is_err(), "a passed position is taken");
        assert!(r.pass(1, 0), "a capture not seen yet starts at 0");
        assert!(r.insert(1, 0, "x").is_err());
    }
}
