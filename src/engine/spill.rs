//! The merge's overflow file: the JSON of connections that wait for an earlier one, once the
//! merge holds more than it keeps in memory, appended to an anonymous temporary file (deleted
//! by the system when closed) and read back when the connection's turn comes.
//!
//! Appends are gathered into [`WRITE_CHUNK`]-byte positioned writes; a connection is read
//! back with one positioned read of exactly its bytes (or from the write buffer). A seek and a
//! write per connection were 140,000 of the fleet benchmark's system calls. Reading ahead
//! does not pay: connections come back in start order but went out in end order, so a 64 KiB
//! window still missed on more than half of the reads (measured, slower than exact reads).
//! Memory is bounded by the write buffer; [`Spill::restart`] reuses the file from its start
//! when nothing waits.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

/// Appended bytes gathered before one write.
const WRITE_CHUNK: usize = 1 << 20;

/// Where a connection's JSON went: its offset and length in the spill's address space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Spilled {
    offset: u64,
    len: usize,
}

/// An append-only file with a write buffer.
#[derive(Debug, Default)]
pub(super) struct Spill {
    /// Created at the first append.
    file: Option<File>,
    /// Bytes appended since the last restart, written or not: the next offset.
    len: u64,
    /// Appended but not yet written: offsets `len - pending.len()..len`.
    pending: Vec<u8>,
}

impl Spill {
    /// Appends `bytes`; where they went, to read them back.
    pub(super) fn append(&mut self, bytes: &[u8]) -> io::Result<Spilled> {
        let spilled = Spilled {
            offset: self.len,
            len: bytes.len(),
        };
        self.pending.extend_from_slice(bytes);
        self.len += bytes.len() as u64;
        if self.pending.len() >= WRITE_CHUNK {
            self.flush()?;
        }
        Ok(spilled)
    }

    /// Writes what is pending.
    fn flush(&mut self) -> io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let at = self.written();
        let file = match &mut self.file {
            Some(file) => file,
            None => self.file.insert(tempfile::tempfile()?),
        };
        file.write_all_at(&self.pending, at)?;
        self.pending.clear();
        if self.pending.capacity() > 2 * WRITE_CHUNK {
            // One huge connection (a long timeline with `--events all`) does not keep its size.
            self.pending = Vec::new();
        }
        Ok(())
    }

    /// Offsets below this are in the file.
    fn written(&self) -> u64 {
        self.len - self.pending.len() as u64
    }

    /// The bytes of an earlier [`Spill::append`] since the last restart, as text.
    pub(super) fn read(&mut self, spilled: Spilled) -> io::Result<String> {
        let invalid = || io::Error::new(io::ErrorKind::InvalidInput, "not in the spill file");
        let end = spilled.offset + spilled.len as u64;
        if end > self.len {
            return Err(invalid());
        }
        let written = self.written();
        let bytes = if spilled.offset >= written {
            let start = (spilled.offset - written) as usize;
            let buffered = self.pending.get(start..start + spilled.len);
            buffered.ok_or_else(invalid)?.to_vec()
        } else {
            if end > written {
                // Partly buffered (not made by the merge, which appends whole entries).
                self.flush()?;
            }
            let file = self.file.as_ref().ok_or_else(invalid)?;
            let mut bytes = vec![0u8; spilled.len];
            file.read_exact_at(&mut bytes, spilled.offset)?;
            bytes
        };
        String::from_utf8(bytes).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }

    /// Nothing spilled is needed any more: later appends overwrite the file from its start
    /// (not truncated: that was a system call per gap in the order).
    pub(super) fn restart(&mut self) {
        self.len = 0;
        self.pending.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(i: usize) -> String {
        format!("{{\"id\":{i},\"pad\":\"{}\"}}", "x".repeat(i % 3000))
    }

    #[test]
    fn reads_back_what_was_appended_in_any_order() {
        let mut spill = Spill::default();
        // Enough to flush several chunks.
        let entries: Vec<(Spilled, String)> = (0..3000)
            .map(|i| {
                let t = text(i);
                (
                    spill.append(t.as_bytes()).ok().unwrap_or_else(|| panic!()),
                    t,
                )
            })
            .collect();
        assert!(spill.file.is_some(), "the test must reach the file");
        assert!(!spill.pending.is_empty(), "and keep a tail in memory");
        // In order, backwards and interleaved: every read is exact.
        for (spilled, t) in entries.iter().chain(entries.iter().rev()).step_by(7) {
            assert_eq!(spill.read(*spilled).ok().as_ref(), Some(t));
        }
        // A range across the written part and the buffer reads both.
        let all: String = entries.iter().map(|(_, t)| t.as_str()).collect();
        let written = spill.written();
        let across = Spilled {
            offset: written - 3,
            len: 6,
        };
        let expected = all.get(written as usize - 3..written as usize + 3);
        assert_eq!(spill.read(across).ok().as_deref(), expected);
    }

    #[test]
    fn a_restart_reuses_the_file_without_stale_reads() {
        let mut spill = Spill::default();
        let first: Vec<Spilled> = (0..1500)
            .map(|i| {
                spill
                    .append(text(i).as_bytes())
                    .ok()
                    .unwrap_or_else(|| panic!())
            })
            .collect();
        assert_eq!(spill.read(first[10]).ok(), Some(text(10)));
        spill.restart();
        let again: Vec<(Spilled, String)> = (5000..6500)
            .map(|i| {
                let t = text(i);
                (
                    spill.append(t.as_bytes()).ok().unwrap_or_else(|| panic!()),
                    t,
                )
            })
            .collect();
        assert_eq!(again[0].0.offset, 0, "offsets restart at 0");
        for (spilled, t) in &again {
            assert_eq!(spill.read(*spilled).ok().as_ref(), Some(t));
        }
    }

    #[test]
    fn a_huge_entry_is_written_and_its_buffer_not_kept() {
        let mut spill = Spill::default();
        let huge = "y".repeat(5 * WRITE_CHUNK);
        let s = spill
            .append(huge.as_bytes())
            .ok()
            .unwrap_or_else(|| panic!());
        assert!(spill.pending.capacity() <= 2 * WRITE_CHUNK);
        assert_eq!(spill.read(s).ok().as_ref(), Some(&huge));
    }

    #[test]
    fn an_offset_past_the_end_is_an_error_not_a_panic() {
        let mut spill = Spill::default();
        let s = spill.append(b"abc").ok().unwrap_or_else(|| panic!());
        assert_eq!(spill.read(s).ok().as_deref(), Some("abc"));
        let beyond = Spilled { offset: 2, len: 5 };
        assert!(spill.read(beyond).is_err());
    }
}
