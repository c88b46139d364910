//! [`CaptureReader`]: frames out of a pcap or pcapng stream, one at a time, through
//! pcap-parser's streaming readers (a buffer of constant size, grown only to fit one large
//! record, up to [`MAX_RECORD_BYTES`]).
//!
//! Guarantees: never panics on any input; frames are numbered as Wireshark numbers them
//! (`frame.number`, 1-based, across sections); a record the reader cannot read ends the frames
//! with a `truncated_file` or `corrupt_record` warning, the frames before it are kept.

use super::pcapng::{Interface, OPB_TYPE, parse_obsolete_packet, saturate_i64};
use super::source::{DecodedInput, Magic, RawInput, read_up_to, sniff};
use super::{CaptureError, CaptureFormat, CaptureWarning, Frame};
use pcap_parser::pcapng::Block;
use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::{LegacyPcapReader, PcapBlockOwned, PcapError, PcapNGReader};
use std::io::{Cursor, Read};
use std::path::Path;

/// Initial size of the streaming buffer.
const INITIAL_BUFFER_BYTES: usize = 256 * 1024;
/// No record (pcap record or pcapng block) may be larger: memory stays bounded.
pub const MAX_RECORD_BYTES: usize = 16 * 1024 * 1024;
/// Wireshark's largest packet for ordinary link types (`WTAP_MAX_PACKET_SIZE_STANDARD`);
/// a record claiming more (and more than its snaplen) is corrupt, as Wireshark says.
pub const MAX_PACKET_BYTES: u32 = 262_144;
/// Bound on the key log text kept from Decryption Secrets Blocks.
const MAX_SECRETS_BYTES: usize = 64 * 1024 * 1024;
/// pcapng secrets type for a TLS key log ("TLSK", pcapng §4.7).
const SECRETS_TYPE_TLS_KEY_LOG: u32 = 0x544c_534b;
/// pcapng Systemd Journal Export Block: Wireshark shows it as a frame of its own.
const SJE_TYPE: u32 = 9;

/// Per-format parse state.
enum Layout {
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

/// What a parsed block means, copied out so the parser's borrow can end.
enum Step {
    Skip,
    Section {
        big_endian: bool,
        major: u16,
        minor: u16,
    },
    Interface(Interface),
    Secrets(Option<Vec<u8>>),
    /// A record Wireshark counts as a frame but that carries no packet (journal export).
    NonPacketFrame,
    Packet(Packet),
    /// A block pcap-parser accepted whose content is inconsistent.
    Corrupt(String),
}

struct Packet {
    interface: Option<usize>,
    time: PacketTime,
    caplen: u32,
    orig_len: u32,
    start: usize,
    len: usize,
}

enum PacketTime {
    Legacy {
        seconds: u32,
        fraction: u32,
    },
    Units {
        high: u32,
        low: u32,
    },
    /// Simple Packet Blocks carry no timestamp.
    None,
}

/// What went wrong while fetching the next block, owned.
enum Fetch {
    End,
    Truncated,
    NeedMore,
    BufferTooSmall,
    ReadError,
    Invalid(String),
}

impl CaptureReader {
    /// Opens a file path, or stdin when the path is `-`. See [`CaptureReader::from_read`].
    pub fn open(path: &Path) -> Result<CaptureReader, CaptureError> {
        let name = path.display().to_string();
        if path.as_os_str() == "-" {
            return CaptureReader::from_read(&name, Box::new(std::io::stdin()));
        }
        match std::fs::File::open(path) {
            Ok(file) => CaptureReader::from_read(&name, Box::new(file)),
            Err(e) => Err(CaptureError::new(&name, io_reason(&e))),
        }
    }

    /// Reads the start of `input`, detects the format by magic bytes (gzip first, then pcap or
    /// pcapng) and prepares to stream frames. `Err` when the input is empty, unreadable or not
    /// a capture.
    pub fn from_read(
        name: &str,
        input: Box<dyn Read + Send>,
    ) -> Result<CaptureReader, CaptureError> {
        let fail = |reason: String| CaptureError::new(name, reason);
        let raw = RawInput::new(input);
        let mut head = Vec::with_capacity(64);
        let mut raw_reader = raw.clone();
        read_up_to(&mut raw_reader, &mut head, 4).map_err(|e| fail(io_reason(&e)))?;
        if head.is_empty() {
            return Err(fail("empty file".into()));
        }
        let first_magic = sniff(&head);
        let (magic, gzip, mut stream) = match first_magic {
            Magic::Gzip => {
                let compressed = Cursor::new(std::mem::take(&mut head)).chain(raw.clone());
                let decoder = flate2::read::MultiGzDecoder::new(compressed);
                let mut stream = DecodedInput::new(Box::new(decoder), raw.clone());
                read_up_to(&mut stream, &mut head, 4).map_err(|e| {
                    fail(format!("gzip-compressed, but cannot be decompressed: {e}"))
                })?;
                if head.is_empty() {
                    return Err(fail("gzip-compressed, but empty".into()));
                }
                (sniff(&head), true, stream)
            }
            other => {
                let stream = DecodedInput::new(Box::new(raw.clone()), raw.clone());
                (other, false, stream)
            }
        };
        let hint = if gzip { "gzip-compressed, but " } else { "" };
        match magic {
            Magic::Pcap => {
                read_up_to(&mut stream, &mut head, 24).map_err(|e| fail(io_reason(&e)))?;
                if head.len() < 24 {
                    return Err(fail(format!(
                        "{hint}pcap file cut short in its 24-byte header ({} bytes)",
                        head.len()
                    )));
                }
                CaptureReader::start_pcap(name, raw, head, stream)
            }
            Magic::PcapNg => {
                read_up_to(&mut stream, &mut head, 12).map_err(|e| fail(io_reason(&e)))?;
                let shb_len = block_length(&head).unwrap_or(0);
                if shb_len > MAX_RECORD_BYTES {
                    return Err(fail(format!(
                        "pcapng section header claims {shb_len} bytes, more than the {MAX_RECORD_BYTES} limit"
                    )));
                }
                read_up_to(&mut stream, &mut head, shb_len.max(28))
                    .map_err(|e| fail(io_reason(&e)))?;
                CaptureReader::start_pcapng(name, raw, head, stream)
            }
            Magic::Gzip => Err(fail("gzip-compressed twice".into())),
            Magic::Other(what) => {
                let bytes: Vec<String> = head.iter().take(4).map(|b| format!("{b:02x}")).collect();
                let looks = if what.is_empty() {
                    String::new()
                } else {
                    format!("; looks like {what}")
                };
                Err(fail(format!(
                    "{hint}not a pcap or pcapng file (starts with {}{looks})",
                    bytes.join(" ")
                )))
            }
        }
    }

    fn start_pcap(
        name: &str,
        raw: RawInput,
        head: Vec<u8>,
        stream: DecodedInput,
    ) -> Result<CaptureReader, CaptureError> {
        let fail = |reason: String| CaptureError::new(name, reason);
        let input = Cursor::new(head).chain(stream);
        let reader = LegacyPcapReader::new(INITIAL_BUFFER_BYTES, input)
            .map_err(|e| fail(format!("unreadable pcap header: {}", describe_error(&e))))?;
        let mut parser: Box<dyn PcapReaderIterator + Send> = Box::new(reader);
        // The streaming reader returns the file header first; take it here.
        let header = match parser.next() {
            Ok((offset, PcapBlockOwned::LegacyHeader(header))) => Some((offset, header)),
            _ => None,
        };
        let Some((offset, header)) = header else {
            return Err(fail("unreadable pcap header".into()));
        };
        parser.consume(offset);
        // pcap-savefile(5): version 2.4 is current; Wireshark refuses anything below 2.
        if header.version_major < 2 {
            return Err(fail(format!(
                "pcap version {}.{} is not supported",
                header.version_major, header.version_minor
            )));
        }
        // The upper bits of the link type field carry FCS information (pcap-savefile(5)).
        let link_type = (header.network.0 as u32) & 0xffff;
        let record_header = if header.is_modified_format() { 24 } else { 16 };
        let mut reader = CaptureReader::new(name, CaptureFormat::Pcap, raw, parser);
        reader.layout = Layout::Pcap {
            link_type,
            snaplen: header.snaplen,
            nanoseconds: header.is_nanosecond_precision(),
            big_endian: header.is_bigendian(),
            record_header,
        };
        reader.note_link_type(link_type);
        Ok(reader)
    }

    fn start_pcapng(
        name: &str,
        raw: RawInput,
        head: Vec<u8>,
        stream: DecodedInput,
    ) -> Result<CaptureReader, CaptureError> {
        let fail = |reason: String| CaptureError::new(name, reason);
        if let Some((major, minor)) = shb_version(&head)
            && major != 1
        {
            return Err(fail(format!(
                "pcapng section version {major}.{minor} is not supported"
            )));
        }
        let input = Cursor::new(head).chain(stream);
        let reader = PcapNGReader::new(INITIAL_BUFFER_BYTES, input).map_err(|e| {
            fail(format!(
                "not a valid pcapng section header: {}",
                describe_error(&e)
            ))
        })?;
        let mut reader = CaptureReader::new(name, CaptureFormat::PcapNg, raw, Box::new(reader));
        reader.layout = Layout::PcapNg {
            interfaces: Vec::new(),
            big_endian: false,
        };
        Ok(reader)
    }

    fn new(
        name: &str,
        format: CaptureFormat,
        raw: RawInput,
        parser: Box<dyn PcapReaderIterator + Send>,
    ) -> CaptureReader {
        CaptureReader {
            name: name.to_string(),
            format,
            raw,
            parser,
            layout: Layout::PcapNg {
                interfaces: Vec::new(),
                big_endian: false,
            },
            pending_consume: 0,
            finished: false,
            frames_read: 0,
            link_types: Vec::new(),
            warnings: Vec::new(),
            secrets: Vec::new(),
            secrets_bytes: 0,
            snaplen_warned: false,
            hash: None,
        }
    }

    /// The name given at opening (the path, or `-`).
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn format(&self) -> CaptureFormat {
        self.format
    }

    /// Distinct link types of the interfaces seen so far, in order of first appearance.
    pub fn link_types(&self) -> &[u32] {
        &self.link_types
    }

    pub fn warnings(&self) -> &[CaptureWarning] {
        &self.warnings
    }

    /// Frames counted so far, as Wireshark counts them.
    pub fn frames_read(&self) -> u64 {
        self.frames_read
    }

    /// TLS key log text from pcapng Decryption Secrets Blocks, in file order.
    pub fn decryption_secrets(&self) -> &[Vec<u8>] {
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
                if major != 1 {
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
                self.note_link_type(interface.link_type);
                if let Layout::PcapNg { interfaces, .. } = &mut self.layout {
                    interfaces.push(interface);
                }
                None
            }
            Step::Secrets(Some(text)) => {
                if self.secrets_bytes + text.len() <= MAX_SECRETS_BYTES {
                    self.secrets_bytes += text.len();
                    self.secrets.push(text);
                } else {
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

    fn note_link_type(&mut self, link_type: u32) {
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

/// Copies what a block means out of the parser's borrow.
fn classify(block: &PcapBlockOwned<'_>, base: usize, big_endian: bool) -> Step {
    let offset_of = |data: &[u8]| (data.as_ptr() as usize).saturating_sub(base);
    match block {
        PcapBlockOwned::LegacyHeader(_) => Step::Skip,
        PcapBlockOwned::Legacy(record) => Step::Packet(Packet {
            interface: None,
            time: PacketTime::Legacy {
                seconds: record.ts_sec,
                fraction: record.ts_usec,
            },
            caplen: record.caplen,
            orig_len: record.origlen,
            start: offset_of(record.data),
            len: record.data.len(),
        }),
        PcapBlockOwned::NG(block) => match block {
            Block::SectionHeader(shb) => Step::Section {
                big_endian: shb.big_endian(),
                major: shb.major_version,
                minor: shb.minor_version,
            },
            Block::InterfaceDescription(idb) => Step::Interface(Interface::from_idb(
                u32::from(idb.linktype.0 as u16),
                idb.snaplen,
                &idb.options,
                big_endian,
            )),
            Block::EnhancedPacket(epb) => Step::Packet(Packet {
                interface: Some(epb.if_id as usize),
                time: PacketTime::Units {
                    high: epb.ts_high,
                    low: epb.ts_low,
                },
                caplen: epb.caplen,
                orig_len: epb.origlen,
                start: offset_of(epb.data),
                len: epb.data.len().min(epb.caplen as usize),
            }),
            Block::SimplePacket(spb) => Step::Packet(Packet {
                interface: Some(0),
                time: PacketTime::None,
                caplen: spb.origlen.min(spb.data.len() as u32),
                orig_len: spb.origlen,
                start: offset_of(spb.data),
                len: spb.data.len().min(spb.origlen as usize),
            }),
            Block::DecryptionSecrets(dsb) => {
                if dsb.secrets_type.0 == SECRETS_TYPE_TLS_KEY_LOG {
                    let len = (dsb.secrets_len as usize).min(dsb.data.len());
                    Step::Secrets(dsb.data.get(..len).map(<[u8]>::to_vec))
                } else {
                    Step::Secrets(None)
                }
            }
            Block::SystemdJournalExport(_) => Step::NonPacketFrame,
            Block::Unknown(unknown) => {
                // pcap-parser reads the block type little-endian whatever the section says.
                let block_type = if big_endian {
                    unknown.block_type.swap_bytes()
                } else {
                    unknown.block_type
                };
                if block_type == SJE_TYPE {
                    return Step::NonPacketFrame;
                }
                if block_type != OPB_TYPE {
                    return Step::Skip;
                }
                match parse_obsolete_packet(unknown.data, big_endian) {
                    Some(opb) => Step::Packet(Packet {
                        interface: Some(usize::from(opb.interface_id)),
                        time: PacketTime::Units {
                            high: opb.ts_high,
                            low: opb.ts_low,
                        },
                        caplen: opb.caplen,
                        orig_len: opb.orig_len,
                        start: offset_of(unknown.data) + opb.data_offset,
                        len: opb.data_len,
                    }),
                    None => Step::Corrupt(
                        "obsolete packet block shorter than its captured length".into(),
                    ),
                }
            }
            _ => Step::Skip,
        },
    }
}

fn fetch_error(error: &PcapError<&[u8]>) -> Fetch {
    match error {
        PcapError::Eof => Fetch::End,
        PcapError::UnexpectedEof => Fetch::Truncated,
        PcapError::Incomplete(_) => Fetch::NeedMore,
        PcapError::BufferTooSmall => Fetch::BufferTooSmall,
        PcapError::ReadError => Fetch::ReadError,
        other => Fetch::Invalid(format!("unreadable record: {}", describe_error(other))),
    }
}

/// A short description of a pcap-parser error, without dumping the remaining input.
fn describe_error<I>(error: &PcapError<I>) -> String {
    match error {
        PcapError::Eof => "end of file".into(),
        PcapError::UnexpectedEof => "unexpected end of file".into(),
        PcapError::ReadError => "read error".into(),
        PcapError::Incomplete(n) => format!("{n} more bytes needed"),
        PcapError::BufferTooSmall => "record larger than the buffer".into(),
        PcapError::HeaderNotRecognized => "header not recognised".into(),
        PcapError::NomError(_, kind) | PcapError::OwnedNomError(_, kind) => {
            format!("invalid block ({})", kind.description())
        }
    }
}

fn read_u32(data: &[u8], at: usize, big_endian: bool) -> Option<u32> {
    let bytes = <[u8; 4]>::try_from(data.get(at..at.checked_add(4)?)?).ok()?;
    Some(if big_endian {
        u32::from_be_bytes(bytes)
    } else {
        u32::from_le_bytes(bytes)
    })
}

/// Byte order of a pcapng section from the byte-order magic at offset 8 of its header.
fn shb_big_endian(shb: &[u8]) -> Option<bool> {
    match shb.get(8..12)? {
        [0x4d, 0x3c, 0x2b, 0x1a] => Some(false),
        [0x1a, 0x2b, 0x3c, 0x4d] => Some(true),
        _ => None,
    }
}

/// Total length of the pcapng block at the start of `data` (a section header's length in the
/// byte order its own magic says).
fn block_length(data: &[u8]) -> Option<usize> {
    let big_endian = shb_big_endian(data)?;
    read_u32(data, 4, big_endian).map(|n| n as usize)
}

/// Major and minor version of a section header.
fn shb_version(shb: &[u8]) -> Option<(u16, u16)> {
    let big_endian = shb_big_endian(shb)?;
    // Two u16 fields in the section's byte order.
    let pair = shb.get(12..16)?;
    let (major, minor) = match pair {
        [a, b, c, d] if big_endian => (u16::from_be_bytes([*a, *b]), u16::from_be_bytes([*c, *d])),
        [a, b, c, d] => (u16::from_le_bytes([*a, *b]), u16::from_le_bytes([*c, *d])),
        _ => return None,
    };
    Some((major, minor))
}

fn io_reason(error: &std::io::Error) -> String {
    use std::io::ErrorKind;
    match error.kind() {
        ErrorKind::NotFound => "no such file".into(),
        ErrorKind::PermissionDenied => "permission denied".into(),
        ErrorKind::IsADirectory => "is a directory".into(),
        _ => {
            let text = error.to_string();
            // "... (os error 21)" adds nothing for a reader of the message.
            match text.find(" (os error") {
                Some(cut) => text.get(..cut).unwrap_or(&text).to_string(),
                None => text,
            }
        }
    }
}
