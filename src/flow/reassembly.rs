//! Reassembly of one direction of a TCP stream, in stream offsets (bytes since the first byte of
//! the direction), independent of sequence numbers, flags and frames.
//!
//! The shape follows smoltcp's `storage/assembler.rs`: a small structure that knows which ranges
//! beyond the delivery point it holds, tested table-driven. Bytes are handed to a callback in
//! stream order, each byte once:
//!
//! - data at the delivery point is passed through without copying; data beyond it is buffered
//!   until the hole before it fills, is declared lost ([`Reassembler::skip_to`],
//!   [`Reassembler::flush`]) or the limits force it ([`Reassembler::enforce`]);
//! - overlaps keep the first copy (Wireshark's default; RFC 9293 §3.10.7.4 leaves the choice to
//!   the receiver): only the bytes not yet held are taken from a later segment;
//! - a hole declared lost becomes one [`Delivery::Gap`], never silence.
//!
//! Guarantees: no panics (all offset arithmetic saturates or is range-checked); memory is the
//! buffered bytes plus [`CHUNK_OVERHEAD`] per buffered piece, kept within the limits by
//! [`Reassembler::enforce`]; data more than [`MAX_AHEAD`] bytes beyond the delivery point is
//! outside any TCP window and ignored.

use std::collections::BTreeMap;

/// Bookkeeping cost charged per buffered piece, so that many tiny pieces also hit the limit.
pub const CHUNK_OVERHEAD: usize = 64;

/// The largest window TCP can advertise is 2^30 bytes (RFC 7323 §2.3, shift count 14); a
/// segment further ahead than that cannot be in the window and is ignored.
pub const MAX_AHEAD: u64 = 1 << 30;

/// What the reassembler hands on, in stream order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery<'a> {
    Data(&'a [u8]),
    /// Bytes of the stream that will never be seen.
    Gap(u64),
}

/// Content of a segment: captured bytes, or a known length of bytes the capture lacks (a
/// snaplen cut).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Content<'a> {
    Data(&'a [u8]),
    Missing(u64),
}

impl Content<'_> {
    fn len(&self) -> u64 {
        match self {
            Content::Data(d) => d.len() as u64,
            Content::Missing(n) => *n,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Chunk {
    Data(Vec<u8>),
    Missing(u64),
}

impl Chunk {
    fn len(&self) -> u64 {
        match self {
            Chunk::Data(d) => d.len() as u64,
            Chunk::Missing(n) => *n,
        }
    }
    fn cost(&self) -> usize {
        match self {
            Chunk::Data(d) => d.len().saturating_add(CHUNK_OVERHEAD),
            Chunk::Missing(_) => CHUNK_OVERHEAD,
        }
    }
}

/// Limits for the buffered, not yet deliverable part of one direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReassemblyLimits {
    pub max_buffered: usize,
    pub max_holes: usize,
}

/// One direction's reassembly state: the delivery point and the pieces held beyond it.
#[derive(Debug, Default, Clone)]
pub struct Reassembler {
    /// Stream offset of the next byte to deliver; everything before it was delivered or gapped.
    next: u64,
    /// Pieces beyond `next`, keyed by start offset; they never overlap and none starts at `next`.
    chunks: BTreeMap<u64, Chunk>,
    /// Sum of [`Chunk::cost`].
    buffered: usize,
    /// Number of missing ranges between `next` and the end of the last piece.
    holes: usize,
}

impl Reassembler {
    pub fn new() -> Self {
        Self::default()
    }

    /// Offset of the next byte to deliver.
    pub fn next_offset(&self) -> u64 {
        self.next
    }

    /// Bytes (plus per-piece overhead) held beyond the delivery point.
    pub fn buffered(&self) -> usize {
        self.buffered
    }

    /// Missing ranges between the delivery point and the last held byte.
    pub fn holes(&self) -> usize {
        self.holes
    }

    /// Offset one past the last held byte, or the delivery point when nothing is held.
    pub fn end_offset(&self) -> u64 {
        self.chunks
            .iter()
            .next_back()
            .map_or(self.next, |(start, c)| start.saturating_add(c.len()))
    }

    /// Takes a segment's content at `offset`. Returns how many of its bytes were new (neither
    /// delivered before nor held). New bytes at the delivery point are delivered at once,
    /// followed by any held pieces they made contiguous.
    pub fn insert(
        &mut self,
        offset: u64,
        content: Content<'_>,
        out: &mut impl FnMut(Delivery<'_>),
    ) -> u64 {
        let len = content.len();
        let end = offset.saturating_add(len);
        if end <= self.next || offset > self.next.saturating_add(MAX_AHEAD) {
            return 0;
        }
        let mut fresh = 0;
        let mut pos = offset.max(self.next);
        while pos < end {
            // Is `pos` inside a held piece? Then skip past it (first copy wins).
            if let Some((&start, chunk)) = self.chunks.range(..=pos).next_back() {
                let chunk_end = start.saturating_add(chunk.len());
                if chunk_end > pos {
                    pos = chunk_end;
                    continue;
                }
            }
            let piece_end = self
                .chunks
                .range(pos..)
                .next()
                .map_or(end, |(&start, _)| start.min(end));
            // `pos - offset` and `piece_end - offset` are within `len`, which fits the content.
            let piece = slice(&content, pos - offset, piece_end - offset);
            fresh += piece_end - pos;
            if pos <= self.next {
                self.deliver_at_next(piece, out);
            } else {
                self.store(pos, piece);
            }
            pos = piece_end.max(self.next);
        }
        fresh
    }

    /// Declares every byte before `target` that is neither delivered nor held as lost: holes
    /// become gaps and held pieces are delivered in order.
    pub fn skip_to(&mut self, target: u64, out: &mut impl FnMut(Delivery<'_>)) {
        while self.next < target {
            match self.chunks.keys().next().copied() {
                Some(start) if start < target => self.fill_first_hole_with_gap(start, out),
                _ => {
                    out(Delivery::Gap(target - self.next));
                    self.next = target;
                }
            }
        }
    }

    /// Declares every hole lost and delivers everything held.
    pub fn flush(&mut self, out: &mut impl FnMut(Delivery<'_>)) {
        while let Some(start) = self.chunks.keys().next().copied() {
            self.fill_first_hole_with_gap(start, out);
        }
    }

    /// Declares holes lost, oldest first, until the held data is within `limits`.
    pub fn enforce(&mut self, limits: ReassemblyLimits, out: &mut impl FnMut(Delivery<'_>)) {
        while self.buffered > limits.max_buffered || self.holes > limits.max_holes {
            match self.chunks.keys().next().copied() {
                Some(start) => self.fill_first_hole_with_gap(start, out),
                None => break,
            }
        }
    }

    /// Forgets everything held at or beyond `limit` (the stream ends there: RFC 9293
    /// §3.10.7.4, no data follows a FIN).
    pub fn truncate_at(&mut self, limit: u64) {
        // What lies beyond the limit is dropped here.
        let _ = self.chunks.split_off(&limit);
        if let Some((&start, chunk)) = self.chunks.iter_mut().next_back()
            && let Chunk::Data(bytes) = chunk
        {
            let keep = usize::try_from(limit.saturating_sub(start)).unwrap_or(usize::MAX);
            if keep < bytes.len() {
                bytes.truncate(keep);
            }
        } else if let Some((&start, Chunk::Missing(n))) = self.chunks.iter_mut().next_back() {
            *n = (*n).min(limit.saturating_sub(start));
        }
        self.recount();
    }

    /// Recomputes the held byte count and the holes from the pieces.
    fn recount(&mut self) {
        let mut prev_end = self.next;
        let (mut holes, mut buffered) = (0, 0usize);
        for (&start, chunk) in &self.chunks {
            if start > prev_end {
                holes += 1;
            }
            prev_end = start.saturating_add(chunk.len());
            buffered = buffered.saturating_add(chunk.cost());
        }
        self.holes = holes;
        self.buffered = buffered;
    }

    /// Gap from the delivery point to the first held piece at `start`, then deliver.
    fn fill_first_hole_with_gap(&mut self, start: u64, out: &mut impl FnMut(Delivery<'_>)) {
        if start > self.next {
            out(Delivery::Gap(start - self.next));
            self.holes = self.holes.saturating_sub(1);
            self.next = start;
        }
        self.drain(out);
    }

    /// Delivers a piece that starts at the delivery point, then what it made contiguous.
    fn deliver_at_next(&mut self, piece: Content<'_>, out: &mut impl FnMut(Delivery<'_>)) {
        let first_held = self.chunks.keys().next().copied();
        match piece {
            Content::Data(d) => out(Delivery::Data(d)),
            Content::Missing(n) => out(Delivery::Gap(n)),
        }
        self.next = self.next.saturating_add(piece.len());
        if first_held == Some(self.next) {
            // The first hole is filled.
            self.holes = self.holes.saturating_sub(1);
        }
        self.drain(out);
    }

    /// Delivers held pieces while one starts at the delivery point.
    fn drain(&mut self, out: &mut impl FnMut(Delivery<'_>)) {
        while let Some(chunk) = self.chunks.remove(&self.next) {
            self.buffered = self.buffered.saturating_sub(chunk.cost());
            match &chunk {
                Chunk::Data(d) => out(Delivery::Data(d)),
                Chunk::Missing(n) => out(Delivery::Gap(*n)),
            }
            self.next = self.next.saturating_add(chunk.len());
        }
    }

    /// Holds a piece that starts beyond the delivery point and overlaps nothing held.
    fn store(&mut self, start: u64, piece: Content<'_>) {
        let end = start.saturating_add(piece.len());
        let before = self
            .chunks
            .range(..start)
            .next_back()
            .map(|(&s, c)| (s, s.saturating_add(c.len())));
        let prev_end = before.map_or(self.next, |(_, e)| e);
        let following = self.chunks.range(end..).next().map(|(&s, _)| s);
        // Hole count in the stretch between the previous piece and the following one.
        let holes_before = usize::from(following.is_some());
        let holes_after =
            usize::from(start > prev_end) + usize::from(following.is_some_and(|f| end < f));
        self.holes = (self.holes + holes_after).saturating_sub(holes_before);

        // Append to a data piece that ends exactly here: one piece instead of many for the
        // common run of in-order segments after a hole.
        if let (Some((prev_start, prev_end)), Content::Data(d)) = (before, piece)
            && prev_end == start
            && let Some(Chunk::Data(prev)) = self.chunks.get_mut(&prev_start)
        {
            prev.extend_from_slice(d);
            self.buffered = self.buffered.saturating_add(d.len());
            return;
        }
        let chunk = match piece {
            Content::Data(d) => Chunk::Data(d.to_vec()),
            Content::Missing(n) => Chunk::Missing(n),
        };
        self.buffered = self.buffered.saturating_add(chunk.cost());
        self.chunks.insert(start, chunk);
    }

    /// Recomputes the bookkeeping from scratch; tests compare it with the incremental values.
    #[cfg(test)]
    fn check_invariants(&self) {
        let mut prev_end = self.next;
        let mut holes = 0;
        let mut buffered = 0;
        for (&start, chunk) in &self.chunks {
            assert!(start >= prev_end, "overlap at {start}");
            assert!(chunk.len() > 0, "empty piece at {start}");
            if start > prev_end {
                holes += 1;
            }
            prev_end = start + chunk.len();
            buffered += chunk.cost();
        }
        assert!(!self.chunks.contains_key(&self.next), "piece left at next");
        assert_eq!(holes, self.holes, "holes");
        assert_eq!(buffered, self.buffered, "buffered");
    }
}

/// The part `[from, to)` of a segment's content (offsets relative to the content's start,
/// `from <= to <= content.len()`).
fn slice<'a>(content: &Content<'a>, from: u64, to: u64) -> Content<'a> {
    match content {
        Content::Data(d) => {
            let from = usize::try_from(from).unwrap_or(usize::MAX);
            let to = usize::try_from(to).unwrap_or(usize::MAX);
            Content::Data(d.get(from..to).unwrap_or_default())
        }
        Content::Missing(_) => Content::Missing(to.saturating_sub(from)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What came out, with adjacent data merged so tests do not depend on piece boundaries.
    #[derive(Debug, PartialEq, Eq)]
    enum Out {
        D(Vec<u8>),
        G(u64),
    }

    fn collect(out: &mut Vec<Out>) -> impl FnMut(Delivery<'_>) + '_ {
        move |d| match (d, out.last_mut()) {
            (Delivery::Data(bytes), Some(Out::D(prev))) => prev.extend_from_slice(bytes),
            (Delivery::Data(bytes), _) => out.push(Out::D(bytes.to_vec())),
            (Delivery::Gap(n), _) => out.push(Out::G(n)),
        }
    }

    fn d(s: &str) -> Out {
        Out::D(s.as_bytes().to_vec())
    }

    const LIMITS: ReassemblyLimits = ReassemblyLimits {
        max_buffered: 1 << 20,
        max_holes: 8,
    };

    /// Feeds `(offset, text)` segments and returns what was delivered after each one, and the
    /// number of fresh bytes reported for each.
    fn run(segments: &[(u64, &str)]) -> (Reassembler, Vec<Out>, Vec<u64>) {
        let mut r = Reassembler::new();
        let mut out = Vec::new();
        let mut fresh = Vec::new();
        for &(off, text) in segments {
            fresh.push(r.insert(off, Content::Data(text.as_bytes()), &mut collect(&mut out)));
            r.enforce(LIMITS, &mut collect(&mut out));
            r.check_invariants();
        }
        (r, out, fresh)
    }

    #[test]
    fn table_of_arrival_orders() {
        struct Case {
            name: &'static str,
            segments: &'static [(u64, &'static str)],
            delivered: &'static str,
            next: u64,
            holes: usize,
            fresh: &'static [u64],
        }
        let cases = [
            Case {
                name: "in order",
                segments: &[(0, "abc"), (3, "def")],
                delivered: "abcdef",
                next: 6,
                holes: 0,
                fresh: &[3, 3],
            },
            Case {
                name: "out of order, hole filled",
                segments: &[(3, "def"), (6, "gh"), (0, "abc")],
                delivered: "abcdefgh",
                next: 8,
                holes: 0,
                fresh: &[3, 2, 3],
            },
            Case {
                name: "hole still open",
                segments: &[(0, "ab"), (4, "ef")],
                delivered: "ab",
                next: 2,
                holes: 1,
                fresh: &[2, 2],
            },
            Case {
                name: "full retransmission is not fresh",
                segments: &[(0, "abc"), (0, "abc")],
                delivered: "abc",
                next: 3,
                holes: 0,
                fresh: &[3, 0],
            },
            Case {
                name: "overlap at the head keeps the first copy",
                segments: &[(0, "abcd"), (2, "XXef")],
                delivered: "abcdef",
                next: 6,
                holes: 0,
                fresh: &[4, 2],
            },
            Case {
                name: "overlap at the tail of held data keeps the first copy",
                segments: &[(4, "efgh"), (2, "cdXXXXij"), (0, "ab")],
                delivered: "abcdefghij",
                next: 10,
                holes: 0,
                fresh: &[4, 4, 2],
            },
            Case {
                name: "segment spanning two held pieces fills both holes",
                segments: &[(2, "c"), (5, "f"), (0, "abXdeXg")],
                delivered: "abcdefg",
                next: 7,
                holes: 0,
                fresh: &[1, 1, 5],
            },
            Case {
                name: "held piece entirely inside a later one",
                segments: &[(3, "d"), (1, "bcXe")],
                delivered: "",
                next: 0,
                holes: 1,
                fresh: &[1, 3],
            },
            Case {
                name: "zero-length segments change nothing",
                segments: &[(0, ""), (0, "ab"), (2, ""), (9, "")],
                delivered: "ab",
                next: 2,
                holes: 0,
                fresh: &[0, 2, 0, 0],
            },
            Case {
                name: "window probe of one byte at the edge, then the full segment",
                segments: &[(0, "ab"), (2, "c"), (2, "cdef")],
                delivered: "abcdef",
                next: 6,
                holes: 0,
                fresh: &[2, 1, 3],
            },
            Case {
                name: "reverse order",
                segments: &[(4, "e"), (3, "d"), (2, "c"), (1, "b"), (0, "a")],
                delivered: "abcde",
                next: 5,
                holes: 0,
                fresh: &[1, 1, 1, 1, 1],
            },
            Case {
                name: "far beyond any window is ignored",
                segments: &[(0, "a"), (MAX_AHEAD + 2, "z")],
                delivered: "a",
                next: 1,
                holes: 0,
                fresh: &[1, 0],
            },
        ];
        for case in cases {
            let (r, out, fresh) = run(case.segments);
            let expected = if case.delivered.is_empty() {
                vec![]
            } else {
                vec![d(case.delivered)]
            };
            assert_eq!(out, expected, "{}", case.name);
            assert_eq!(r.next_offset(), case.next, "{}", case.name);
            assert_eq!(r.holes(), case.holes, "{}", case.name);
            assert_eq!(fresh, case.fresh, "{}", case.name);
        }
    }

    #[test]
    fn skip_to_turns_holes_into_gaps_and_delivers_held_data() {
        let (mut r, mut out, _) = run(&[(0, "ab"), (4, "ef"), (8, "ij")]);
        r.skip_to(6, &mut collect(&mut out));
        r.check_invariants();
        assert_eq!(out, vec![d("ab"), Out::G(2), d("ef")]);
        assert_eq!(r.next_offset(), 6);
        assert_eq!(r.holes(), 1);
        // Past the end of everything held: the tail itself becomes a gap.
        r.skip_to(12, &mut collect(&mut out));
        r.check_invariants();
        assert_eq!(
            out,
            vec![d("ab"), Out::G(2), d("ef"), Out::G(2), d("ij"), Out::G(2)]
        );
        assert_eq!(r.next_offset(), 12);
    }

    #[test]
    fn skip_to_behind_the_delivery_point_does_nothing() {
        let (mut r, mut out, _) = run(&[(0, "abcd")]);
        r.skip_to(2, &mut collect(&mut out));
        assert_eq!(out, vec![d("abcd")]);
        assert_eq!(r.next_offset(), 4);
    }

    #[test]
    fn data_after_a_declared_gap_is_not_delivered_again() {
        let (mut r, mut out, _) = run(&[(0, "ab"), (4, "ef")]);
        r.flush(&mut collect(&mut out));
        let fresh = r.insert(2, Content::Data(b"cd"), &mut collect(&mut out));
        assert_eq!(fresh, 0);
        assert_eq!(out, vec![d("ab"), Out::G(2), d("ef")]);
    }

    #[test]
    fn flush_delivers_everything_with_gaps_first() {
        let (mut r, mut out, _) = run(&[(2, "cd"), (6, "gh"), (7, "hi")]);
        r.flush(&mut collect(&mut out));
        r.check_invariants();
        assert_eq!(out, vec![Out::G(2), d("cd"), Out::G(2), d("ghi")]);
        assert_eq!(r.next_offset(), 9);
        assert_eq!(r.buffered(), 0);
        assert_eq!(r.holes(), 0);
    }

    #[test]
    fn too_many_holes_declares_the_oldest_lost() {
        let limits = ReassemblyLimits {
            max_buffered: 1 << 20,
            max_holes: 2,
        };
        let mut r = Reassembler::new();
        let mut out = Vec::new();
        for off in [2u64, 4, 6] {
            r.insert(off, Content::Data(b"x"), &mut collect(&mut out));
            r.enforce(limits, &mut collect(&mut out));
            r.check_invariants();
        }
        assert_eq!(out, vec![Out::G(2), d("x")]);
        assert_eq!(r.holes(), 2);
        assert_eq!(r.next_offset(), 3);
    }

    #[test]
    fn too_many_buffered_bytes_declares_holes_lost_until_within_limit() {
        let limits = ReassemblyLimits {
            max_buffered: 2 * CHUNK_OVERHEAD + 8,
            max_holes: 100,
        };
        let mut r = Reassembler::new();
        let mut out = Vec::new();
        r.insert(10, Content::Data(b"0123"), &mut collect(&mut out));
        r.insert(20, Content::Data(b"4567"), &mut collect(&mut out));
        r.enforce(limits, &mut collect(&mut out));
        assert!(out.is_empty());
        r.insert(30, Content::Data(b"89"), &mut collect(&mut out));
        r.enforce(limits, &mut collect(&mut out));
        r.check_invariants();
        assert_eq!(out, vec![Out::G(10), d("0123")]);
        assert!(r.buffered() <= limits.max_buffered);
    }

    #[test]
    fn truncate_forgets_held_data_beyond_the_limit() {
        let (mut r, mut out, _) = run(&[(0, "ab"), (4, "efgh"), (10, "kl")]);
        r.truncate_at(6);
        r.check_invariants();
        assert_eq!(r.holes(), 1);
        assert_eq!(r.end_offset(), 6);
        r.flush(&mut collect(&mut out));
        assert_eq!(out, vec![d("ab"), Out::G(2), d("ef")]);
    }

    #[test]
    fn missing_bytes_at_the_delivery_point_are_a_gap_at_once() {
        let mut r = Reassembler::new();
        let mut out = Vec::new();
        r.insert(0, Content::Data(b"ab"), &mut collect(&mut out));
        let fresh = r.insert(2, Content::Missing(5), &mut collect(&mut out));
        r.insert(7, Content::Data(b"h"), &mut collect(&mut out));
        r.check_invariants();
        assert_eq!(fresh, 5);
        assert_eq!(out, vec![d("ab"), Out::G(5), d("h")]);
    }

    #[test]
    fn missing_bytes_beyond_a_hole_are_held_as_a_gap() {
        let mut r = Reassembler::new();
        let mut out = Vec::new();
        r.insert(4, Content::Missing(3), &mut collect(&mut out));
        r.insert(7, Content::Data(b"x"), &mut collect(&mut out));
        r.check_invariants();
        assert_eq!(r.holes(), 1);
        // A later full copy of the missing range does not replace it: the first copy wins.
        r.insert(4, Content::Data(b"efg"), &mut collect(&mut out));
        r.insert(0, Content::Data(b"abcd"), &mut collect(&mut out));
        r.check_invariants();
        assert_eq!(out, vec![d("abcd"), Out::G(3), d("x")]);
    }

    #[test]
    fn appending_after_a_hole_keeps_one_piece() {
        let mut r = Reassembler::new();
        let mut out = Vec::new();
        for i in 0..100u64 {
            r.insert(10 + i, Content::Data(b"x"), &mut collect(&mut out));
        }
        r.check_invariants();
        assert_eq!(r.buffered(), 100 + CHUNK_OVERHEAD);
        assert_eq!(r.holes(), 1);
        assert_eq!(r.end_offset(), 110);
    }

    #[test]
    fn pseudo_random_orders_deliver_the_stream_exactly_once() {
        // A small linear congruential generator keeps the test deterministic.
        let text: Vec<u8> = (0..2000u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut state = 12345u64;
        let mut rand = move |n: u64| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) % n
        };
        for _round in 0..50 {
            let mut r = Reassembler::new();
            let mut got = Vec::new();
            for _ in 0..400 {
                let start = rand(2000);
                let len = rand(40).min(2000 - start);
                let s = usize::try_from(start).unwrap_or(0);
                let e = s + usize::try_from(len).unwrap_or(0);
                r.insert(start, Content::Data(&text[s..e]), &mut |dl| {
                    if let Delivery::Data(b) = dl {
                        got.extend_from_slice(b)
                    }
                });
                r.check_invariants();
            }
            r.insert(0, Content::Data(&text), &mut |dl| {
                if let Delivery::Data(b) = dl {
                    got.extend_from_slice(b)
                }
            });
            r.check_invariants();
            assert_eq!(got, text);
            assert_eq!(r.buffered(), 0);
        }
    }
}
