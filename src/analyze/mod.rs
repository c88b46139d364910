//! The one place where the stages meet: reads each capture frame by frame, decodes headers,
//! tracks TCP flows, recognises and feeds TLS and MQTT sessions, and collects one
//! [`Connection`] per flow plus the facts about each capture file.
//!
//! Memory: per active flow (reassembly buffers, one partial message per direction, a capped
//! timeline); nothing grows with the number of frames.

use crate::capture::{CaptureReader, CaptureWarning, link_type_name};
use crate::common::At;
use crate::conn::Connection;
use crate::error::Error;
use crate::flow::{FlowLimits, FlowTable};
use crate::proto::tls::decrypt::KeyLog;
use crate::wire::{Decoded, WireDecoder};
use std::path::Path;
use std::sync::Arc;

mod building;
mod collector;

use collector::Collector;

/// Events kept per connection timeline; more are counted, not stored, so a day-long capture of
/// one chatty connection stays small.
pub const MAX_EVENTS_PER_CONNECTION: usize = 20_000;

/// Bytes buffered per direction while the protocol is not yet recognised.
const SNIFF_LIMIT: usize = 4096;

/// Facts about one capture file.
#[derive(Debug, Clone)]
pub struct CaptureFacts {
    pub path: String,
    pub sha256: String,
    pub format: &'static str,
    pub link_types: Vec<String>,
    pub frames: u64,
    pub first_time_ns: Option<i64>,
    pub last_time_ns: Option<i64>,
    /// True when every timestamp is a whole microsecond (reports then print 6 fraction digits).
    pub microsecond_times: bool,
    pub warnings: Vec<CaptureWarning>,
    /// TLS key log text found in pcapng Decryption Secrets Blocks.
    pub embedded_secrets: Vec<Vec<u8>>,
}

/// The result of analysing one capture.
#[derive(Debug, Clone)]
pub struct CaptureAnalysis {
    pub facts: CaptureFacts,
    /// Ordered by first frame (= Wireshark `tcp.stream` order).
    pub connections: Vec<Connection>,
}

/// Analyses one capture file (`-` is stdin). `capture_index` is stored in each connection.
pub fn analyze_path(path: &Path, capture_index: usize) -> Result<CaptureAnalysis, Error> {
    analyze_path_with_keys(path, capture_index, &Arc::new(KeyLog::new()))
}

/// [`analyze_path`] decrypting TLS with `keys` (and with the capture's own pcapng secrets).
pub fn analyze_path_with_keys(
    path: &Path,
    capture_index: usize,
    keys: &Arc<KeyLog>,
) -> Result<CaptureAnalysis, Error> {
    let reader = CaptureReader::open(path)?;
    Ok(analyze_reader_with_keys(
        reader,
        &path.display().to_string(),
        capture_index,
        keys.clone(),
    ))
}

/// Analyses an opened capture to its end. Never fails: capture damage becomes warnings.
pub fn analyze_reader(reader: CaptureReader, name: &str, capture_index: usize) -> CaptureAnalysis {
    analyze_reader_with_keys(reader, name, capture_index, Arc::new(KeyLog::new()))
}

/// [`analyze_reader`] decrypting TLS with `keys`. Secrets from pcapng Decryption Secrets Blocks
/// are added as the blocks appear (pcapng §4.7 puts them before the packets they apply to), so
/// connections whose TLS session starts after a block can use them.
pub fn analyze_reader_with_keys(
    mut reader: CaptureReader,
    name: &str,
    capture_index: usize,
    keys: Arc<KeyLog>,
) -> CaptureAnalysis {
    let mut decoder = WireDecoder::new();
    let mut flows = FlowTable::new(FlowLimits::default());
    let mut collector = Collector::new(capture_index, keys);
    let mut secrets_seen = 0;
    let mut first_time_ns = None;
    let mut last_time_ns = None;
    let mut microsecond_times = true;
    let mut unsupported: Vec<u32> = Vec::new();
    let mut link_warnings: Vec<CaptureWarning> = Vec::new();

    let mut malformed: Option<(u64, String)> = None;
    let mut malformed_count = 0u64;

    loop {
        // A DSB read before this frame applies to it already; a TLS session takes new secrets
        // until its ServerHello (see `Collector::data`).
        let secrets = reader.decryption_secrets();
        if secrets.len() > secrets_seen {
            collector.add_secrets(secrets.get(secrets_seen..).unwrap_or_default());
            secrets_seen = secrets.len();
        }
        let Some(frame) = reader.next_frame() else {
            break;
        };
        first_time_ns.get_or_insert(frame.time_ns);
        last_time_ns = Some(frame.time_ns);
        microsecond_times &= frame.time_ns.rem_euclid(1000) == 0;
        let at = At {
            frame: frame.number,
            time_ns: frame.time_ns,
        };
        match decoder.decode(frame.number, frame.link_type, frame.data, frame.orig_len) {
            Decoded::Tcp(segment) => {
                flows.on_segment(at, &segment, &mut collector);
            }
            Decoded::UnsupportedLinkType(link) if !unsupported.contains(&link) => {
                unsupported.push(link);
                link_warnings.push(CaptureWarning {
                    kind: "unsupported_link_type",
                    frame: Some(frame.number),
                    message: format!(
                        "link type {} ({link}) is not supported; its frames are skipped",
                        link_type_name(link)
                    ),
                });
            }
            Decoded::Malformed(why) => {
                malformed_count += 1;
                malformed.get_or_insert((frame.number, why));
            }
            Decoded::NotTcp | Decoded::FragmentHeld | Decoded::UnsupportedLinkType(_) => {}
        }
    }
    flows.finish(&mut collector);

    let mut warnings = reader.warnings().to_vec();
    warnings.extend(link_warnings);
    if let Some((frame, why)) = malformed {
        // One warning for all of them: a damaged capture can have thousands.
        warnings.push(CaptureWarning {
            kind: "malformed_frame",
            frame: Some(frame),
            message: format!(
                "{malformed_count} frame(s) could not be decoded down to TCP; the first: {why}"
            ),
        });
    }
    let facts = CaptureFacts {
        path: name.to_string(),
        sha256: reader.sha256_hex(),
        format: reader.format().name(),
        link_types: reader
            .link_types()
            .iter()
            .map(|&l| link_type_name(l))
            .collect(),
        frames: reader.frames_read(),
        first_time_ns,
        last_time_ns,
        microsecond_times,
        warnings,
        embedded_secrets: reader.decryption_secrets().to_vec(),
    };
    let mut connections = collector.finished;
    connections.sort_by_key(|c| (c.tcp.first.frame, c.tcp_stream));
    CaptureAnalysis { facts, connections }
}

/// Runs the whole pipeline, report model included, on arbitrary bytes (for fuzz targets).
pub fn fuzz_analyze(data: &[u8]) {
    let input: Box<dyn std::io::Read + Send> = Box::new(std::io::Cursor::new(data.to_vec()));
    if let Ok(reader) = CaptureReader::from_read("fuzz", input) {
        let analysis = analyze_reader(reader, "fuzz", 0);
        let _ = crate::report::model::build(&[analysis], Default::default());
    }
}
