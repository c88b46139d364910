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
pub(crate) const CHUNK_OVERHEAD: usize = 64;

/// The largest window TCP can advertise is 2^30 bytes (RFC 7323 §2.3, shift count 14); a
/// segment further ahead than that cannot be in the window and is ignored.
pub(crate) const MAX_AHEAD: u64 = 1 << 30;

/// What the reassembler hands on, in stream order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Delivery<'a> {
    Data(&'a [u8]),
    /// Bytes of the stream that will never be seen.
    Gap(u64),
}

/// Content of a segment: captured bytes, or a known length of bytes the capture lacks (a
/// snaplen cut).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Content<'a> {
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
pub(crate) struct ReassemblyLimits {
    pub max_buffered: usize,
    pub max_holes: usize,
}

/// One direction's reassembly state: the delivery point and the pieces held beyond it.
#[derive(Debug, Default, Clone)]
pub(crate) struct Reassembler {
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
    #[cfg(test)]
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Offset of the next byte to deliver.
    pub(crate) fn next_offset(&self) -> u64 {
        self.next
    }

    #[cfg(test)]
    /// Bytes (plus per-piece overhead) held beyond the delivery point.
    pub(crate) fn buffered(&self) -> usize {
        self.buffered
    }

    #[cfg(test)]
    /// Missing ranges between the delivery point and the last held byte.
    pub(crate) fn holes(&self) -> usize {
        self.holes
    }

    #[cfg(test)]
    /// Offset one past the last held byte, or the delivery point when nothing is held.
    pub(crate) fn end_offset(&self) -> u64 {
        self.chunks
            .iter()
            .next_back()
            .map_or(self.next, |(start, c)| start.saturating_add(c.len()))
    }

    /// Takes a segment's content at `offset`. Returns how many of its bytes were new (neither
    /// delivered before nor held). New bytes at the delivery point are delivered at once,
    /// followed by any held pieces they made contiguous.
    pub(crate) fn insert(
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
    pub(crate) fn skip_to(&mut self, target: u64, out: &mut impl FnMut(Delivery<'_>)) {
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
    pub(crate) fn flush(&mut self, out: &mut impl FnMut(Delivery<'_>)) {
        while let Some(start) = self.chunks.keys().next().copied() {
            self.fill_first_hole_with_gap(start, out);
        }
    }

    /// Declares holes lost, oldest first, until the held data is within `limits`.
    pub(crate) fn enforce(&mut self, limits: ReassemblyLimits, out: &mut impl FnMut(Delivery<'_>)) {
        while self.buffered > limits.max_buffered || self.holes > limits.max_holes {
            match self.chunks.keys().next().copied() {
                Some(start) => self.fill_first_hole_with_gap(start, out),
                None => break,
            }
        }
    }

    /// Forgets everything held at or beyond `limit` (the stream ends there: RFC 9293
    /// §3.10.7.4, no data follows a FIN).
    pub(crate) fn truncate_at(&mut self, limit: u64) {
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
mod tests;
