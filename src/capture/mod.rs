//! Streaming capture reading: pcap (both byte orders, µs and ns), pcapng (sections, interfaces,
//! `if_tsresol`, `if_tsoffset`, Decryption Secrets Blocks), gzip-compressed files and stdin.
//! The format is detected by magic bytes. Memory does not grow with the file.

/// One captured packet record, numbered as Wireshark numbers frames (1-based, across sections).
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    pub number: u64,
    /// Nanoseconds since the Unix epoch, UTC.
    pub time_ns: i64,
    /// The LINKTYPE_ value of the frame's interface.
    pub link_type: u32,
    pub data: &'a [u8],
    /// Length of the packet on the wire (may exceed `data.len()` when the snaplen cut it).
    pub orig_len: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CaptureFormat {
    Pcap,
    PcapNg,
}

impl CaptureFormat {
    pub(crate) fn name(self) -> &'static str {
        match self {
            CaptureFormat::Pcap => "pcap",
            CaptureFormat::PcapNg => "pcapng",
        }
    }
}

/// A problem with the capture file itself (not the traffic), reported in `captures[].warnings`.
/// Serialised as the capture record's `warnings` (docs/contract.md).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CaptureWarning {
    /// `truncated_file`, `corrupt_record`, `snaplen`, `unsupported_link_type`, ...
    pub kind: &'static str,
    pub frame: Option<u64>,
    pub message: String,
}

mod blocks;
mod open;
mod pcapng;
mod reader;
mod source;

pub use reader::{CaptureReader, MAX_PACKET_BYTES, MAX_RECORD_BYTES};
use std::collections::BTreeMap;

/// Why a capture could not be opened at all (`Err` is for our environment, not for traffic).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureError {
    pub path: String,
    pub reason: String,
}

impl CaptureError {
    pub(crate) fn new(path: &str, reason: impl Into<String>) -> CaptureError {
        CaptureError {
            path: path.to_string(),
            reason: reason.into(),
        }
    }
}

impl std::fmt::Display for CaptureError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.reason)
    }
}

impl std::error::Error for CaptureError {}

/// The LINKTYPE_ name of a link type value (tcpdump.org link-layer header types), as written
/// in reports; values without a name here are `LINKTYPE_<n>`.
pub(crate) fn link_type_name(link_type: u32) -> String {
    let name = match link_type {
        0 => "NULL",
        1 => "ETHERNET",
        9 => "PPP",
        // 12 (most BSDs) and 14 (OpenBSD) are DLT_RAW values found in old files.
        12 | 14 | 101 => "RAW",
        105 => "IEEE802_11",
        108 => "LOOP",
        113 => "LINUX_SLL",
        127 => "IEEE802_11_RADIOTAP",
        228 => "IPV4",
        229 => "IPV6",
        239 => "NFLOG",
        276 => "LINUX_SLL2",
        _ => return format!("LINKTYPE_{link_type}"),
    };
    name.to_string()
}

/// Facts about one capture file, known once it has been read (what its report record says).
#[derive(Debug, Clone)]
pub(crate) struct CaptureFacts {
    pub path: String,
    pub sha256: String,
    /// Bytes of the input as given (compressed bytes for gzip).
    pub bytes: u64,
    pub format: &'static str,
    pub link_types: Vec<String>,
    pub frames: u64,
    pub first_time_ns: Option<i64>,
    pub last_time_ns: Option<i64>,
    /// True when the file declares microsecond timestamps (or coarser), so reports print 6
    /// fraction digits; false for nanosecond files.
    pub microsecond_times: bool,
    pub warnings: Vec<CaptureWarning>,
    /// TLS key log text found in pcapng Decryption Secrets Blocks.
    pub embedded_secrets: Vec<Vec<u8>>,
    /// Frames that carried no TCP we analyse, by kind (`dns`, `icmp`, `arp`, ...).
    pub frames_not_analyzed: BTreeMap<&'static str, u64>,
}

/// Fuzz entry point: reads `data` as a capture, every frame; must never panic.
pub fn fuzz_read(data: &[u8]) {
    let input = Box::new(std::io::Cursor::new(data.to_vec()));
    let Ok(mut reader) = CaptureReader::from_read("fuzz", input) else {
        return;
    };
    while let Some(frame) = reader.next_frame() {
        let _ = (frame.number, frame.data.len());
    }
    let _ = reader.sha256_hex();
}

#[cfg(test)]
mod tests;
