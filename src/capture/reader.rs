//! [`CaptureReader`]: frames out of a pcap or pcapng stream, one at a time, through
//! pcap-parser's streaming readers (a buffer of constant size, grown only to fit one large
//! record, up to [`MAX_RECORD_BYTES`]).
//!
//! Guarantees: never panics on any input; frames are numbered as Wireshark numbers them
//! (`frame.number`, 1-based, across sections); a record the reader cannot read ends the frames
//! with a `truncated_file` or `corrupt_record` warning, the frames before it are kept.

use super::blocks::{Fetch, Packet, PacketTime, Step, classify, fetch_error};
use super::open::{block_length, read_u32, section_version_supported};
use super::pcapng::{Interface, saturate_i64};
use super::source::RawInput;
use super::{CaptureFormat, CaptureWarning, Frame};
use pcap_parser::traits::PcapReaderIterator;

/// Initial size of the streaming buffer.
pub(super) const INITIAL_BUFFER_BYTES: usize = 256 * 1024;
/// No record (pcap record or pcapng block) may be larger: memory stays bounded.
pub const MAX_RECORD_BYTES: usize = 16 * 1024 * 1024;
/// Wireshark's largest packet for ordinary link types (`WTAP_MAX_PACKET_SIZE_STANDARD`);
/// a record claiming more (and more than its snaplen) is corrupt, as Wireshark says.
pub const MAX_PACKET_BYTES: u32 = 262_144;
/// Bound on the interfaces of one pcapng section (the obsolete Packet Block numbers them in
/// 16 bits; real files have a few, or about a thousand for per-container captures).
pub(crate) const MAX_INTERFACES: usize = 65_536;
/// pcapng Section Header Block type (the same in both byte orders).
const SHB_TYPE: u32 = 0x0A0D_0D0A;
/// Bound on the key log text kept from Decryption Secrets Blocks.
const MAX_SECRETS_BYTES: usize = 64 * 1024 * 1024;

/// Per-format parse state.
pub(super) enum Layout {
    Pcap {
        link_type: u32,
        snaplen: u32,
        nanoseconds: bool,
        big_endian: bool,
        /// Record header length: 16, or 24 for the "modified" (Kuznetsov) format.
        record_header: usize,
    },
    PcapNg {
        interfaces: Vec<Interface>,
        big_endian: bool,
    },
}

/// Reads frames from one capture. See the module documentation.
pub struct CaptureReader {
    name: String,
    format: CaptureFormat,
    raw: RawInput,
    parser: Box<dyn PcapReaderIterator + Send>,
    layout: Layout,
    pending_consume: usize,
    finished: bool,
    frames_read: u64,
    link_types: Vec<u32>,
    warnings: Vec<CaptureWarning>,
    secrets: Vec<Vec<u8>>,
    secrets_bytes: usize,
    snaplen_warned: bool,
    hash: Option<String>,
    /// Some timestamp unit so far is finer than a microsecond (kept up to date as interfaces
    /// appear, so asking costs nothing per frame).
    sub_microsecond: bool,
}

/// Where a frame's bytes sit in the parser's buffer, and what it says about them.
struct FrameMeta {
    number: u64,
    time_ns: i64,
    link_type: u32,
    start: usize,
    len: usize,
    orig_len: u32,
}

impl CaptureReader {
    pub(super) fn new(
        name: &str,
        raw: RawInput,
        parser: Box<dyn PcapReaderIterator + Send>,
        layout: Layout,
    ) -> CaptureReader {
        let format = match layout {
            Layout::Pcap { .. } => CaptureFormat::Pcap,
            Layout::PcapNg { .. } => CaptureFormat::PcapNg,
        };
        let sub_microsecond = match &layout {
            Layout::Pcap { nanoseconds, .. } => *nanoseconds,
            Layout::PcapNg { interfaces, .. } => {
                interfaces.iter().any(|i| i.resolution.finer_than_micros())
            }
        };
        // A pcap file declares its one link type in its header; pcapng interfaces come later.
        let link_types = match &layout {
            Layout::Pcap { link_type, .. } => vec![*link_type],
            Layout::PcapNg { .. } => Vec::new(),
        };
        CaptureReader {
            name: name.to_string(),
            format,
            raw,
            parser,
            layout,
            pending_consume: 0,
            finished: false,
            frames_read: 0,
            link_types,
            warnings: Vec::new(),
            secrets: Vec::new(),
            secrets_bytes: 0,
            snaplen_warned: false,
            hash: None,
            sub_microsecond,
        }
    }

    /// The name given at opening (the path, or `-`).
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn format(&self) -> CaptureFormat {
        self.format
    }

    /// Distinct link types of the interfaces seen so far, in order of first appearance.
    pub fn link_types(&self) -> &[u32] {
        &self.link_types
    }

    pub fn warnings(&self) -> &[CaptureWarning] {
        &self.warnings
    }

    /// True when the timestamps are finer than microseconds: a nanosecond pcap, or a pcapng
    /// interface seen so far with `if_tsresol` finer than 10^-6 s.
    pub(crate) fn sub_microsecond_times(&self) -> bool {
        self.sub_microsecond
    }

    /// Hashes the input on a thread of its own from now on (worth it when other threads do
    /// the rest of the work; see `source`).
    pub(crate) fn hash_in_background(&self) {
        self.raw.hash_in_background();
    }

    /// Bytes of the input consumed so far (compressed bytes for gzip), for progress.
    pub(crate) fn bytes_read(&self) -> u64 {
        self.raw.bytes_read()
    }

    /// Frames counted so far, as Wireshark counts them.
    pub fn frames_read(&self) -> u64 {
        self.frames_read
    }

    /// TLS key log text from pcapng Decryption Secrets Blocks, in file order.
    pub(crate) fn decryption_secrets(&self) -> &[Vec<u8>] {
        &self.secrets
    }

    /// SHA-256 (hex) of the input bytes as given (the compressed bytes for gzip). Reads the
    /// rest of the input when frames are left unread, after which no more frames come.
    pub fn sha256_hex(&mut self) -> String {
        if let Some(hash) = &self.hash {
            return hash.clone();
        }
        let hash = self.raw.finish_hash();
        self.finished = true;
        self.hash = Some(hash.clone());
        hash
    }

    /// The next packet record, or `None` at the end of the frames (see the module doc).
    pub fn next_frame(&mut self) -> Option<Frame<'_>> {
        let meta = self.advance()?;
        let data = self.parser.data().get(meta.start..meta.start + meta.len)?;
        Some(Frame {
            number: meta.number,
            time_ns: meta.time_ns,
            link_type: meta.link_type,
            data,
            orig_len: meta.orig_len,
        })
    }

    fn advance(&mut self) -> Option<FrameMeta> {
        while !self.finished {
            if self.pending_consume > 0 {
                self.parser.consume(self.pending_consume);
                self.pending_consume = 0;
            }
            // No pcapng block is shorter than its type and two lengths (12 bytes); pcap-parser
            // 0.17 subtracts 12 from the length of a Process Information Block before checking
            // it (an overflow panic in debug builds), so a shorter one is refused here.
            if let Layout::PcapNg { big_endian, .. } = self.layout
                && read_u32(self.parser.data(), 0, false) != Some(SHB_TYPE)
                && let Some(length) = read_u32(self.parser.data(), 4, big_endian)
                && length < 12
            {
                self.stop(
                    "corrupt_record",
                    format!("pcapng block length {length} is shorter than 12 bytes"),
                );
                break;
            }
            // next() only parses: the buffer does not move, so offsets against this base hold.
            let base = self.parser.data().as_ptr() as usize;
            let big_endian = match &self.layout {
                Layout::PcapNg { big_endian, .. } => *big_endian,
                Layout::Pcap { .. } => false,
            };
            let fetched = match self.parser.next() {
                Ok((offset, block)) => Ok((offset, classify(&block, base, big_endian))),
                Err(e) => Err(fetch_error(&e)),
            };
            match fetched {
                Ok((offset, step)) => {
                    if let Some(meta) = self.apply(offset, step) {
                        return Some(meta);
                    }
                }
                Err(Fetch::End) => self.finished = true,
                Err(Fetch::NeedMore) => self.need_more(false),
                Err(Fetch::BufferTooSmall) => self.need_more(true),
                Err(Fetch::Truncated) => self.at_truncation(),
                Err(Fetch::ReadError) => {
                    let reason = self
                        .raw
                        .last_error()
                        .unwrap_or_else(|| "read error".to_string());
                    self.stop("truncated_file", format!("input unreadable: {reason}"));
                }
                Err(Fetch::Invalid(reason)) => self.stop("corrupt_record", reason),
            }
        }
        None
    }

    /// Acts on one parsed block; returns the frame when it is a packet.
    fn apply(&mut self, offset: usize, step: Step) -> Option<FrameMeta> {
        self.pending_consume = offset;
        match step {
            Step::Skip => None,
            Step::Section {
                big_endian,
                major,
                minor,
            } => {
                if !section_version_supported(major, minor) {
                    self.stop(
                        "corrupt_record",
                        format!("pcapng section version {major}.{minor} is not supported"),
                    );
                    return None;
                }
                // pcapng §4.1: each section has its own interface table.
                self.layout = Layout::PcapNg {
                    interfaces: Vec::new(),
                    big_endian,
                };
                None
            }
            Step::Interface(interface) => {
                let count = match &self.layout {
                    Layout::PcapNg { interfaces, .. } => interfaces.len(),
                    Layout::Pcap { .. } => 0,
                };
                if count >= MAX_INTERFACES {
                    self.pending_consume = 0;
                    self.stop(
                        "corrupt_record",
                        format!("more than {MAX_INTERFACES} interfaces in one section"),
                    );
                    return None;
                }
                self.note_link_type(interface.link_type);
                self.sub_microsecond |= interface.resolution.finer_than_micros();
                if let Layout::PcapNg { interfaces, .. } = &mut self.layout {
                    interfaces.push(interface);
                }
                None
            }
            Step::Secrets(Some(text)) => {
                if self.secrets_bytes + text.len() <= MAX_SECRETS_BYTES {
                    self.secrets_bytes += text.len();
                    self.secrets.push(text);
                } else if !self.warnings.iter().any(|w| w.kind == "secrets_dropped") {
                    self.warn(
                        "secrets_dropped",
                        None,
                        format!("decryption secrets beyond {MAX_SECRETS_BYTES} bytes ignored"),
                    );
                }
                None
            }
            Step::Secrets(None) => None,
            Step::NonPacketFrame => {
                self.frames_read += 1;
                None
            }
            Step::Corrupt(reason) => {
                self.pending_consume = 0;
                self.stop("corrupt_record", reason);
                None
            }
            Step::Packet(packet) => self.packet(packet),
        }
    }

    fn packet(&mut self, packet: Packet) -> Option<FrameMeta> {
        let number = self.frames_read + 1;
        let (link_type, snaplen, time_ns) = match &self.layout {
            Layout::Pcap {
                link_type,
                snaplen,
                nanoseconds,
                ..
            } => {
                let (seconds, fraction) = match packet.time {
                    PacketTime::Legacy { seconds, fraction } => (seconds, fraction),
                    _ => (0, 0),
                };
                let scale = if *nanoseconds { 1 } else { 1_000 };
                let nanos = i128::from(seconds) * 1_000_000_000 + i128::from(fraction) * scale;
                (*link_type, *snaplen, saturate_i64(nanos))
            }
            Layout::PcapNg { interfaces, .. } => {
                let index = packet.interface.unwrap_or(0);
                let Some(interface) = interfaces.get(index) else {
                    // Wireshark: "interface index N is not less than section interface count".
                    let count = interfaces.len();
                    self.pending_consume = 0;
                    self.stop(
                        "corrupt_record",
                        format!(
                            "packet for interface {index}, but the section has {count} interfaces"
                        ),
                    );
                    return None;
                };
                let time_ns = match packet.time {
                    PacketTime::Units { high, low } => interface.time_ns(high, low),
                    _ => 0,
                };
                (interface.link_type, interface.snaplen, time_ns)
            }
        };
        let limit = MAX_PACKET_BYTES.max(snaplen.min(MAX_RECORD_BYTES as u32));
        if packet.caplen > limit {
            self.pending_consume = 0;
            self.stop(
                "corrupt_record",
                format!(
                    "record claims {} captured bytes, more than the {limit} a packet may have",
                    packet.caplen
                ),
            );
            return None;
        }
        // Simple Packet Blocks: the captured part is at most the interface snaplen (pcapng §4.4).
        let mut len = packet.len;
        if packet.interface.is_some() && matches!(packet.time, PacketTime::None) && snaplen > 0 {
            len = len.min(snaplen as usize);
        }
        self.frames_read = number;
        if (len as u64) < u64::from(packet.orig_len) && !self.snaplen_warned {
            self.snaplen_warned = true;
            self.warn(
                "snaplen",
                Some(number),
                format!(
                    "frame {number} was cut to {len} of {} bytes when captured (snaplen); later frames may be cut too",
                    packet.orig_len
                ),
            );
        }
        Some(FrameMeta {
            number,
            time_ns,
            link_type,
            start: packet.start,
            len,
            orig_len: packet.orig_len,
        })
    }

    /// The parser needs more bytes than the buffer holds (`grow`) or than it has read.
    fn need_more(&mut self, buffer_too_small: bool) {
        let available = self.parser.data().len();
        if let Some(declared) = self.declared_record_len() {
            if declared > MAX_RECORD_BYTES {
                self.stop(
                    "corrupt_record",
                    format!(
                        "record claims {declared} bytes, more than the {MAX_RECORD_BYTES} limit"
                    ),
                );
                return;
            }
            if let Some(reason) = self.record_over_packet_limit() {
                self.stop("corrupt_record", reason);
                return;
            }
            if declared <= available {
                // The whole record is there, yet the parser wants more: its inner lengths lie.
                self.stop(
                    "corrupt_record",
                    format!("record of {declared} bytes is inconsistent with its own lengths"),
                );
                return;
            }
            if buffer_too_small {
                self.parser.grow(declared + INITIAL_BUFFER_BYTES);
            }
        } else if buffer_too_small {
            self.stop("corrupt_record", "record larger than the buffer".into());
            return;
        }
        if self.parser.refill().is_err() {
            let reason = self
                .raw
                .last_error()
                .unwrap_or_else(|| "read error".to_string());
            self.stop("truncated_file", format!("input unreadable: {reason}"));
        }
    }

    /// The input ended inside a record.
    fn at_truncation(&mut self) {
        let available = self.parser.data().len();
        if available == 0 {
            self.finished = true;
            return;
        }
        if let Some(reason) = self.record_over_packet_limit() {
            self.stop("corrupt_record", reason);
            return;
        }
        let message = match self.declared_record_len() {
            Some(declared) if declared > MAX_RECORD_BYTES => {
                self.stop(
                    "corrupt_record",
                    format!(
                        "record claims {declared} bytes, more than the {MAX_RECORD_BYTES} limit"
                    ),
                );
                return;
            }
            Some(declared) => format!(
                "the file ends inside a record: {available} of its {declared} bytes are present"
            ),
            None => format!("the file ends inside a record header ({available} bytes)"),
        };
        let gzip_reason = self.raw.last_error();
        let message = match gzip_reason {
            Some(reason) => format!("{message} ({reason})"),
            None => message,
        };
        self.stop("truncated_file", message);
    }

    /// Length of the record at the buffer's start, from its header, when the header is there.
    fn declared_record_len(&self) -> Option<usize> {
        let data = self.parser.data();
        match &self.layout {
            Layout::Pcap {
                big_endian,
                record_header,
                ..
            } => {
                let caplen = read_u32(data, 8, *big_endian)?;
                Some(*record_header + caplen as usize)
            }
            Layout::PcapNg { big_endian, .. } => {
                if data.get(..4) == Some(&[0x0a, 0x0d, 0x0d, 0x0a]) {
                    block_length(data)
                } else {
                    read_u32(data, 4, *big_endian).map(|n| n as usize)
                }
            }
        }
    }

    /// For pcap: the record header's caplen exceeds what any packet may have (Wireshark reports
    /// "bad record" there; suricata-verify bug-1450-04 is such a file).
    fn record_over_packet_limit(&self) -> Option<String> {
        let Layout::Pcap {
            snaplen,
            big_endian,
            ..
        } = &self.layout
        else {
            return None;
        };
        let caplen = read_u32(self.parser.data(), 8, *big_endian)?;
        let limit = MAX_PACKET_BYTES.max((*snaplen).min(MAX_RECORD_BYTES as u32));
        (caplen > limit).then(|| {
            format!(
                "record claims {caplen} captured bytes, more than the {limit} a packet may have"
            )
        })
    }

    pub(super) fn note_link_type(&mut self, link_type: u32) {
        if !self.link_types.contains(&link_type) {
            self.link_types.push(link_type);
        }
    }

    fn warn(&mut self, kind: &'static str, frame: Option<u64>, message: String) {
        self.warnings.push(CaptureWarning {
            kind,
            frame,
            message,
        });
    }

    /// Ends the frames with a warning about the record that would have been the next frame.
    fn stop(&mut self, kind: &'static str, message: String) {
        let frame = self.frames_read + 1;
        self.warn(kind, Some(frame), message);
        self.finished = true;
    }
}
