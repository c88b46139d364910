//! The byte source under the capture parsers: the raw input (file or stdin), hashed with SHA-256
//! as it is read, optionally gunzipped, with the first bytes sniffed for the format.
//!
//! Guarantees: the hash covers the input bytes exactly as given (compressed bytes for gzip);
//! [`RawInput::finish_hash`] reads whatever the parsers left unread so the hash is of the whole
//! input. An I/O error is remembered (the parsers only see "read error") so it can be reported.
//! The hash can run on a thread of its own ([`RawInput::hash_in_background`]): SHA-256 was 59 %
//! of the reading thread's time on a capture of large payloads.

use sha2::{Digest, Sha256};
use std::io::{self, Read};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;

/// Chunks in flight to the hashing thread (each is one read, at most the parser's buffer).
const HASH_QUEUE: usize = 4;

/// Where the input's bytes are hashed.
enum Hashing {
    Here(Sha256),
    /// Copies of each read go to a thread that hashes them in order; emptied chunks come back
    /// for reuse.
    Background {
        chunks: SyncSender<Vec<u8>>,
        spare: Receiver<Vec<u8>>,
        thread: JoinHandle<Sha256>,
    },
}

impl Hashing {
    fn update(&mut self, bytes: &[u8]) {
        match self {
            Hashing::Here(hasher) => hasher.update(bytes),
            Hashing::Background { chunks, spare, .. } => {
                let mut chunk = spare.try_recv().unwrap_or_default();
                chunk.clear();
                chunk.extend_from_slice(bytes);
                // The thread only stops when this sender is dropped, so sending cannot fail
                // while it exists.
                let _ = chunks.send(chunk);
            }
        }
    }

    /// The hex digest of everything hashed so far (waiting for a background hash to catch
    /// up; afterwards the hash is kept here and can go on).
    fn hex_digest(&mut self) -> String {
        let hasher = match std::mem::replace(self, Hashing::Here(Sha256::new())) {
            Hashing::Here(hasher) => hasher,
            Hashing::Background { chunks, thread, .. } => {
                drop(chunks);
                // The thread only hashes and cannot panic; an empty hash would show if it did.
                thread.join().unwrap_or_default()
            }
        };
        let digest = hasher.clone().finalize();
        *self = Hashing::Here(hasher);
        crate::common::hex(&digest)
    }
}

/// The raw input, shared between the parser's reader chain and the [`super::CaptureReader`]
/// (which needs it back to hash the unread rest). `Arc<Mutex<..>>` keeps the reader `Send`.
#[derive(Clone)]
pub(crate) struct RawInput {
    shared: Arc<Mutex<RawState>>,
}

struct RawState {
    input: Box<dyn Read + Send>,
    hasher: Hashing,
    at_end: bool,
    /// Bytes read from the input so far.
    read: u64,
    /// The first I/O error met at any level (raw or gzip), for the warning text.
    last_error: Option<String>,
}

impl RawInput {
    pub(crate) fn new(input: Box<dyn Read + Send>) -> RawInput {
        RawInput {
            shared: Arc::new(Mutex::new(RawState {
                input,
                hasher: Hashing::Here(Sha256::new()),
                at_end: false,
                read: 0,
                last_error: None,
            })),
        }
    }

    fn state(&self) -> MutexGuard<'_, RawState> {
        // A poisoned lock only means a panic elsewhere; the state itself stays usable.
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn record_error(&self, message: String) {
        let mut state = self.state();
        if state.last_error.is_none() {
            state.last_error = Some(message);
        }
    }

    pub(crate) fn last_error(&self) -> Option<String> {
        self.state().last_error.clone()
    }

    /// Bytes read from the input so far.
    pub(crate) fn bytes_read(&self) -> u64 {
        self.state().read
    }

    /// Reads the rest of the raw input into the hash and returns the hex digest.
    pub(crate) fn finish_hash(&self) -> String {
        let mut state = self.state();
        let mut chunk = vec![0u8; 64 * 1024];
        while !state.at_end {
            match state.input.read(&mut chunk) {
                Ok(0) => state.at_end = true,
                Ok(n) => {
                    let read = chunk.get(..n).unwrap_or_default();
                    state.hasher.update(read);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    if state.last_error.is_none() {
                        state.last_error = Some(e.to_string());
                    }
                    state.at_end = true;
                }
            }
        }
        state.hasher.hex_digest()
    }

    /// Hashes from now on in a thread of its own (the bytes so far are already hashed).
    pub(crate) fn hash_in_background(&self) {
        let mut state = self.state();
        let Hashing::Here(hasher) = &state.hasher else {
            return;
        };
        let mut hasher = hasher.clone();
        let (chunks, incoming) = sync_channel::<Vec<u8>>(HASH_QUEUE);
        let (give_back, spare) = sync_channel::<Vec<u8>>(HASH_QUEUE + 1);
        let thread = std::thread::spawn(move || {
            for chunk in incoming {
                hasher.update(&chunk);
                let _ = give_back.try_send(chunk);
            }
            hasher
        });
        state.hasher = Hashing::Background {
            chunks,
            spare,
            thread,
        };
    }
}

impl Read for RawInput {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut state = self.state();
        if state.at_end {
            return Ok(0);
        }
        let n = state.input.read(buf)?;
        if n == 0 {
            state.at_end = true;
        } else {
            state.read = state.read.saturating_add(n as u64);
            let read = buf.get(..n).unwrap_or_default();
            state.hasher.update(read);
        }
        Ok(n)
    }
}

/// What sits on top of the raw input: the parsers read from this. It retries interrupted reads
/// and records the first error's text, so a corrupt gzip stream is reported with its reason.
pub(crate) struct DecodedInput {
    inner: Box<dyn Read + Send>,
    raw: RawInput,
}

impl DecodedInput {
    pub(crate) fn new(inner: Box<dyn Read + Send>, raw: RawInput) -> DecodedInput {
        DecodedInput { inner, raw }
    }
}

impl Read for DecodedInput {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.inner.read(buf) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.raw.record_error(e.to_string());
                    return Err(e);
                }
                ok => return ok,
            }
        }
    }
}

/// Reads until `buf` holds `want` bytes or the input ends; returns how many bytes `buf` holds.
pub(crate) fn read_up_to(
    input: &mut dyn Read,
    buf: &mut Vec<u8>,
    want: usize,
) -> io::Result<usize> {
    let mut chunk = [0u8; 4096];
    while buf.len() < want {
        let room = (want - buf.len()).min(chunk.len());
        let Some(space) = chunk.get_mut(..room) else {
            break;
        };
        match input.read(space) {
            Ok(0) => break,
            Ok(n) => buf.extend_from_slice(space.get(..n).unwrap_or_default()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(buf.len())
}

/// The kind of input, by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Magic {
    /// pcap, with the byte order of its header.
    Pcap,
    PcapNg,
    Gzip,
    /// Something else: the message says what it looks like.
    Other(&'static str),
}

/// Classifies the first (up to 4) bytes of an input.
pub(crate) fn sniff(first: &[u8]) -> Magic {
    match first {
        // pcap: µs and ns magic, both byte orders, and the "modified" (Kuznetsov) variant,
        // libpcap savefile.c / pcap-savefile(5).
        [0xd4, 0xc3, 0xb2, 0xa1, ..]
        | [0xa1, 0xb2, 0xc3, 0xd4, ..]
        | [0x4d, 0x3c, 0xb2, 0xa1, ..]
        | [0xa1, 0xb2, 0x3c, 0x4d, ..]
        | [0x34, 0xcd, 0xb2, 0xa1, ..] => Magic::Pcap,
        // pcapng Section Header Block type 0x0A0D0D0A (draft-ietf-opsawg-pcapng §4.1).
        [0x0a, 0x0d, 0x0d, 0x0a, ..] => Magic::PcapNg,
        // gzip member header ID1 ID2 (RFC 1952 §2.3.1).
        [0x1f, 0x8b, ..] => Magic::Gzip,
        [0x28, 0xb5, 0x2f, 0xfd, ..] => Magic::Other("zstd-compressed (decompress it first)"),
        [0xfd, b'7', b'z', b'X', ..] => Magic::Other("xz-compressed (decompress it first)"),
        [b'B', b'Z', b'h', ..] => Magic::Other("bzip2-compressed (decompress it first)"),
        [0x04, 0x22, 0x4d, 0x18, ..] => Magic::Other("lz4-compressed (decompress it first)"),
        [b'P', b'K', 0x03, 0x04, ..] => Magic::Other("a zip archive (extract it first)"),
        [b's', b'n', b'o', b'o', ..] => Magic::Other("a snoop capture (not supported)"),
        [0xa1, 0xb2, 0xcd, 0x34, ..] => Magic::Other("a big-endian modified pcap (not supported)"),
        _ => {
            let printable = first
                .iter()
                .all(|b| b.is_ascii_graphic() || b.is_ascii_whitespace());
            if printable && !first.is_empty() {
                Magic::Other("text")
            } else {
                Magic::Other("")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniff_recognises_every_capture_magic() {
        assert_eq!(sniff(&[0xd4, 0xc3, 0xb2, 0xa1]), Magic::Pcap);
        assert_eq!(sniff(&[0xa1, 0xb2, 0xc3, 0xd4]), Magic::Pcap);
        assert_eq!(sniff(&[0x4d, 0x3c, 0xb2, 0xa1]), Magic::Pcap);
        assert_eq!(sniff(&[0xa1, 0xb2, 0x3c, 0x4d]), Magic::Pcap);
        assert_eq!(sniff(&[0x0a, 0x0d, 0x0d, 0x0a]), Magic::PcapNg);
        assert_eq!(sniff(&[0x1f, 0x8b, 8, 0]), Magic::Gzip);
        assert_eq!(sniff(b"<!DO"), Magic::Other("text"));
        assert_eq!(sniff(&[]), Magic::Other(""));
    }

    #[test]
    fn hash_covers_unread_rest() {
        let raw = RawInput::new(Box::new(io::Cursor::new(b"abc".to_vec())));
        let mut first = [0u8; 1];
        let mut reader = raw.clone();
        assert_eq!(reader.read(&mut first).ok(), Some(1));
        assert_eq!(
            raw.finish_hash(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
