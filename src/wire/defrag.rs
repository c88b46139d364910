//! A small, bounded IP fragment reassembler (RFC 791 §3.2 "Fragmentation and Reassembly",
//! RFC 8200 §4.5 for IPv6). Fragments are keyed by (source, destination, identification,
//! protocol); a datagram completes when a last fragment (MF clear) fixed its length and every
//! byte up to it is present.
//!
//! Guarantees: at most [`MAX_DATAGRAMS`] datagrams are in progress, each at most 65,535 bytes;
//! a datagram that has not completed within [`MAX_AGE_FRAMES`] frames of its last fragment is
//! dropped. Overlapping fragments keep the bytes that arrived first.

use std::net::IpAddr;

/// Datagrams reassembled at once; the oldest is dropped to make room.
pub(crate) const MAX_DATAGRAMS: usize = 64;
/// A datagram whose last fragment is this many frames old is dropped.
pub(crate) const MAX_AGE_FRAMES: u64 = 10_000;
/// Largest reassembled IP payload (the 16-bit length fields bound it).
const MAX_DATAGRAM_BYTES: u32 = 65_535;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FragmentKey {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub identification: u32,
    pub protocol: u8,
}

#[derive(Debug)]
struct Datagram {
    key: FragmentKey,
    last_frame: u64,
    data: Vec<u8>,
    /// Byte ranges present, sorted, merged, disjoint.
    present: Vec<(u32, u32)>,
    /// Payload length, once the last fragment has been seen.
    total: Option<u32>,
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum FragmentOutcome {
    Held,
    /// The datagram is complete; its payload is in the buffer passed to [`DefragPool::add`].
    Complete,
    /// The fragment cannot belong to a valid datagram (too long, or contradicts the length).
    Invalid(String),
}

#[derive(Debug, Default)]
pub(crate) struct DefragPool {
    datagrams: Vec<Datagram>,
}

impl DefragPool {
    /// Adds one fragment: `offset` in bytes, `more` = the More Fragments flag. On
    /// [`FragmentOutcome::Complete`] the datagram's payload is moved into `complete`.
    pub(crate) fn add(
        &mut self,
        key: FragmentKey,
        frame: u64,
        offset: u32,
        more: bool,
        payload: &[u8],
        complete: &mut Vec<u8>,
    ) -> FragmentOutcome {
        self.expire(frame);
        let Ok(len) = u32::try_from(payload.len()) else {
            return FragmentOutcome::Invalid("fragment too long".into());
        };
        let end = offset.saturating_add(len);
        if end > MAX_DATAGRAM_BYTES {
            return FragmentOutcome::Invalid(format!(
                "fragment ends at byte {end}, beyond the 65535 an IP datagram may have"
            ));
        }
        let index = match self.datagrams.iter().position(|d| d.key == key) {
            Some(index) => index,
            None => {
                if self.datagrams.len() >= MAX_DATAGRAMS {
                    self.drop_oldest();
                }
                self.datagrams.push(Datagram {
                    key,
                    last_frame: frame,
                    data: Vec::new(),
                    present: Vec::new(),
                    total: None,
                });
                self.datagrams.len() - 1
            }
        };
        let Some(datagram) = self.datagrams.get_mut(index) else {
            return FragmentOutcome::Held;
        };
        datagram.last_frame = frame;
        if !more {
            match datagram.total {
                Some(total) if total != end => {
                    self.datagrams.swap_remove(index);
                    return FragmentOutcome::Invalid(
                        "two last fragments disagree on the datagram length".into(),
                    );
                }
                _ => datagram.total = Some(end),
            }
        }
        datagram.insert(offset, payload);
        if datagram.is_complete() {
            let done = self.datagrams.swap_remove(index);
            let total = done.total.unwrap_or(0) as usize;
            complete.clear();
            complete.extend_from_slice(done.data.get(..total).unwrap_or_default());
            return FragmentOutcome::Complete;
        }
        FragmentOutcome::Held
    }

    /// Datagrams in progress.
    #[cfg(test)]
    pub(crate) fn in_progress(&self) -> usize {
        self.datagrams.len()
    }

    fn expire(&mut self, frame: u64) {
        self.datagrams
            .retain(|d| frame.saturating_sub(d.last_frame) <= MAX_AGE_FRAMES);
    }

    fn drop_oldest(&mut self) {
        if let Some(oldest) = self
            .datagrams
            .iter()
            .enumerate()
            .min_by_key(|(_, d)| d.last_frame)
            .map(|(i, _)| i)
        {
            self.datagrams.swap_remove(oldest);
        }
    }
}

impl Datagram {
    /// Copies the parts of `payload` not yet present (first arrival wins) and records them.
    fn insert(&mut self, offset: u32, payload: &[u8]) {
        let end = offset + payload.len() as u32;
        if offset == end {
            return;
        }
        if self.data.len() < end as usize {
            self.data.resize(end as usize, 0);
        }
        let mut cursor = offset;
        let mut gaps = Vec::new();
        for &(start, stop) in &self.present {
            if stop <= cursor {
                continue;
            }
            if start >= end {
                break;
            }
            if start > cursor {
                gaps.push((cursor, start));
            }
            cursor = cursor.max(stop);
        }
        if cursor < end {
            gaps.push((cursor, end));
        }
        for (start, stop) in gaps {
            let source = payload.get((start - offset) as usize..(stop - offset) as usize);
            let target = self.data.get_mut(start as usize..stop as usize);
            if let (Some(source), Some(target)) = (source, target) {
                target.copy_from_slice(source);
            }
        }
        self.present.push((offset, end));
        self.present.sort_unstable();
        let mut merged: Vec<(u32, u32)> = Vec::with_capacity(self.present.len());
        for &(start, stop) in &self.present {
            match merged.last_mut() {
                Some(last) if start <= last.1 => last.1 = last.1.max(stop),
                _ => merged.push((start, stop)),
            }
        }
        self.present = merged;
    }

    fn is_complete(&self) -> bool {
        match (self.total, self.present.as_slice()) {
            (Some(total), [(0, stop)]) => *stop >= total,
            (Some(0), []) => true,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn key(id: u32) -> FragmentKey {
        FragmentKey {
            src: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            dst: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
            identification: id,
            protocol: 6,
        }
    }

    #[test]
    fn in_order_and_out_of_order() {
        let data: Vec<u8> = (0..48u8).collect();
        let parts = [(0u32, true), (16, true), (32, false)];
        for order in [[0usize, 1, 2], [2, 0, 1], [1, 2, 0]] {
            let mut pool = DefragPool::default();
            let mut out = Vec::new();
            let mut outcomes = Vec::new();
            for (frame, &i) in order.iter().enumerate() {
                let (offset, more) = parts[i];
                let chunk = &data[offset as usize..offset as usize + 16];
                outcomes.push(pool.add(key(1), frame as u64, offset, more, chunk, &mut out));
            }
            assert_eq!(
                outcomes,
                vec![
                    FragmentOutcome::Held,
                    FragmentOutcome::Held,
                    FragmentOutcome::Complete
                ]
            );
            assert_eq!(out, data);
            assert_eq!(pool.in_progress(), 0);
        }
    }

    #[test]
    fn overlap_keeps_first_bytes() {
        let mut pool = DefragPool::default();
        let mut out = Vec::new();
        pool.add(key(2), 1, 0, true, &[1; 16], &mut out);
        let outcome = pool.add(key(2), 2, 8, false, &[2; 16], &mut out);
        assert_eq!(outcome, FragmentOutcome::Complete);
        assert_eq!(&out[..16], &[1; 16]);
        assert_eq!(&out[16..], &[2; 8]);
    }

    #[test]
    fn bounded_and_expiring() {
        let mut pool = DefragPool::default();
        let mut out = Vec::new();
        for id in 0..(MAX_DATAGRAMS as u32 + 10) {
            pool.add(key(id), u64::from(id), 0, true, &[0; 8], &mut out);
        }
        assert_eq!(pool.in_progress(), MAX_DATAGRAMS);
        pool.add(key(9999), MAX_AGE_FRAMES * 3, 0, true, &[0; 8], &mut out);
        assert_eq!(pool.in_progress(), 1);
    }

    #[test]
    fn oversized_fragment_is_invalid() {
        let mut pool = DefragPool::default();
        let mut out = Vec::new();
        let outcome = pool.add(key(3), 1, 65_528, false, &[0; 16], &mut out);
        assert!(matches!(outcome, FragmentOutcome::Invalid(_)));
    }
}
