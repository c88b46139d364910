//! Opening a capture: the input's first bytes decide gzip, pcap or pcapng (never the file
//! name); the header is read whole before the streaming parser starts, so a slow pipe or a
//! gzip stream that returns a few bytes per read cannot make the parser fail at its first read.
//!
//! Guarantees: every problem is a [`CaptureError`] that names the input and the reason.

use super::CaptureError;
use super::blocks::describe_error;
use super::reader::{CaptureReader, INITIAL_BUFFER_BYTES, Layout, MAX_RECORD_BYTES};
use super::source::{DecodedInput, Magic, RawInput, read_up_to, sniff};
use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::{LegacyPcapReader, PcapBlockOwned, PcapNGReader};
use std::io::{Cursor, Read};
use std::path::Path;

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
    pub(crate) fn from_read(
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
        let started = match magic {
            Magic::Pcap => {
                read_up_to(&mut stream, &mut head, 24).map_err(|e| fail(io_reason(&e)))?;
                if head.len() < 24 {
                    return Err(fail(format!(
                        "{hint}pcap file cut short in its 24-byte header ({} bytes)",
                        head.len()
                    )));
                }
                pcap_parser(head, stream)
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
                pcapng_parser(head, stream)
            }
            Magic::Gzip => Err("gzip-compressed twice".to_string()),
            Magic::Other(what) => {
                let bytes: Vec<String> = head.iter().take(4).map(|b| format!("{b:02x}")).collect();
                let looks = if what.is_empty() {
                    String::new()
                } else {
                    format!("; looks like {what}")
                };
                Err(format!(
                    "{hint}not a pcap or pcapng file (starts with {}{looks})",
                    bytes.join(" ")
                ))
            }
        };
        let (parser, layout) = started.map_err(fail)?;
        Ok(CaptureReader::new(name, raw, parser, layout))
    }
}

/// A format's streaming parser, started past the file's first header, and how to read its
/// records.
type Started = (Box<dyn PcapReaderIterator + Send>, Layout);

/// Starts the pcap parser on `head` (the whole 24-byte file header) then `stream`; `Err` is
/// the reason the header is refused.
fn pcap_parser(head: Vec<u8>, stream: DecodedInput) -> Result<Started, String> {
    let input = Cursor::new(head).chain(stream);
    let reader = LegacyPcapReader::new(INITIAL_BUFFER_BYTES, input)
        .map_err(|e| format!("unreadable pcap header: {}", describe_error(&e)))?;
    let mut parser: Box<dyn PcapReaderIterator + Send> = Box::new(reader);
    // The streaming reader returns the file header first; take it here.
    let header = match parser.next() {
        Ok((offset, PcapBlockOwned::LegacyHeader(header))) => Some((offset, header)),
        _ => None,
    };
    let Some((offset, header)) = header else {
        return Err("unreadable pcap header".into());
    };
    parser.consume(offset);
    // pcap-savefile(5): version 2.4 is current; Wireshark refuses anything below 2.
    if header.version_major < 2 {
        return Err(format!(
            "pcap version {}.{} is not supported",
            header.version_major, header.version_minor
        ));
    }
    // The upper bits of the link type field carry FCS information (pcap-savefile(5)).
    let link_type = (header.network.0 as u32) & 0xffff;
    let record_header = if header.is_modified_format() { 24 } else { 16 };
    let layout = Layout::Pcap {
        link_type,
        snaplen: header.snaplen,
        nanoseconds: header.is_nanosecond_precision(),
        big_endian: header.is_bigendian(),
        record_header,
    };
    Ok((parser, layout))
}

/// Starts the pcapng parser on `head` (the whole section header block) then `stream`; `Err`
/// is the reason the section header is refused.
fn pcapng_parser(head: Vec<u8>, stream: DecodedInput) -> Result<Started, String> {
    if let Some((major, minor)) = shb_version(&head)
        && !section_version_supported(major, minor)
    {
        return Err(format!(
            "pcapng section version {major}.{minor} is not supported"
        ));
    }
    // The parser reads the section header in its first read: the buffer must hold it.
    let capacity = INITIAL_BUFFER_BYTES.max(head.len() + INITIAL_BUFFER_BYTES);
    let input = Cursor::new(head).chain(stream);
    let reader = PcapNGReader::new(capacity, input)
        .map_err(|e| format!("not a valid pcapng section header: {}", describe_error(&e)))?;
    let layout = Layout::PcapNg {
        interfaces: Vec::new(),
        big_endian: false,
    };
    Ok((Box::new(reader), layout))
}

pub(super) fn read_u32(data: &[u8], at: usize, big_endian: bool) -> Option<u32> {
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
pub(super) fn block_length(data: &[u8]) -> Option<usize> {
    let big_endian = shb_big_endian(data)?;
    read_u32(data, 4, big_endian).map(|n| n as usize)
}

/// pcapng §4.1: version 1.0; Wireshark also reads 1.2 (written by some tools) and refuses
/// every other version ("pcapng: unknown SHB version").
pub(super) fn section_version_supported(major: u16, minor: u16) -> bool {
    major == 1 && (minor == 0 || minor == 2)
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
