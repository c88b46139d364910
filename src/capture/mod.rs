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
pub enum CaptureFormat {
    Pcap,
    PcapNg,
}

impl CaptureFormat {
    pub fn name(self) -> &'static str {
        match self {
            CaptureFormat::Pcap => "pcap",
            CaptureFormat::PcapNg => "pcapng",
        }
    }
}

/// A problem with the capture file itself (not the traffic), reported in `captures[].warnings`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureWarning {
    /// `truncated_file`, `corrupt_record`, `snaplen`, `unsupported_link_type`, ...
    pub kind: &'static str,
    pub frame: Option<u64>,
    pub message: String,
}
