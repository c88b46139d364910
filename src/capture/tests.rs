//! Capture reader tests over files built in memory: pcap in both byte orders and resolutions,
//! pcapng with sections, interfaces, timestamp options, secrets and old block types, gzip,
//! truncation and corruption, and slow (one byte per read) input.

use super::*;
use sha2::{Digest, Sha256};
use std::io::{Read, Write};

/// One frame as read, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Got {
    number: u64,
    time_ns: i64,
    link_type: u32,
    data: Vec<u8>,
    orig_len: u32,
}

fn read_all(reader: &mut CaptureReader) -> Vec<Got> {
    let mut out = Vec::new();
    while let Some(f) = reader.next_frame() {
        out.push(Got {
            number: f.number,
            time_ns: f.time_ns,
            link_type: f.link_type,
            data: f.data.to_vec(),
            orig_len: f.orig_len,
        });
    }
    out
}

fn open(bytes: &[u8]) -> Result<CaptureReader, CaptureError> {
    CaptureReader::from_read("test", Box::new(std::io::Cursor::new(bytes.to_vec())))
}

fn open_ok(bytes: &[u8]) -> CaptureReader {
    match open(bytes) {
        Ok(r) => r,
        Err(e) => panic!("open failed: {e}"),
    }
}

/// A reader that hands out one byte per `read`, like a slow pipe.
struct Trickle(Vec<u8>, usize);

impl Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match (self.0.get(self.1), buf.first_mut()) {
            (Some(b), Some(slot)) => {
                *slot = *b;
                self.1 += 1;
                Ok(1)
            }
            _ => Ok(0),
        }
    }
}

// ---------- pcap builders (pcap-savefile(5)) ----------

fn u16b(v: u16, be: bool) -> [u8; 2] {
    if be { v.to_be_bytes() } else { v.to_le_bytes() }
}
fn u32b(v: u32, be: bool) -> [u8; 4] {
    if be { v.to_be_bytes() } else { v.to_le_bytes() }
}

fn pcap_header(be: bool, nanos: bool, link_type: u32, snaplen: u32) -> Vec<u8> {
    let magic = if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 };
    let mut out = Vec::new();
    out.extend_from_slice(&u32b(magic, be));
    out.extend_from_slice(&u16b(2, be));
    out.extend_from_slice(&u16b(4, be));
    out.extend_from_slice(&[0; 8]);
    out.extend_from_slice(&u32b(snaplen, be));
    out.extend_from_slice(&u32b(link_type, be));
    out
}

fn pcap_record(be: bool, sec: u32, frac: u32, data: &[u8], orig_len: u32) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&u32b(sec, be));
    out.extend_from_slice(&u32b(frac, be));
    out.extend_from_slice(&u32b(data.len() as u32, be));
    out.extend_from_slice(&u32b(orig_len, be));
    out.extend_from_slice(data);
    out
}

// ---------- pcapng builders (draft-ietf-opsawg-pcapng) ----------

fn block(be: bool, block_type: u32, body: &[u8]) -> Vec<u8> {
    let mut body = body.to_vec();
    while !body.len().is_multiple_of(4) {
        body.push(0);
    }
    let total = (body.len() + 12) as u32;
    let mut out = Vec::new();
    out.extend_from_slice(&u32b(block_type, be));
    out.extend_from_slice(&u32b(total, be));
    out.extend_from_slice(&body);
    out.extend_from_slice(&u32b(total, be));
    out
}

fn options(be: bool, opts: &[(u16, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (code, value) in opts {
        out.extend_from_slice(&u16b(*code, be));
        out.extend_from_slice(&u16b(value.len() as u16, be));
        out.extend_from_slice(value);
        while !out.len().is_multiple_of(4) {
            out.push(0);
        }
    }
    if !opts.is_empty() {
        out.extend_from_slice(&[0; 4]); // opt_endofopt
    }
    out
}

fn shb(be: bool, major: u16) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&u32b(0x1a2b_3c4d, be));
    body.extend_from_slice(&u16b(major, be));
    body.extend_from_slice(&u16b(0, be));
    body.extend_from_slice(&(-1i64).to_le_bytes());
    block(be, 0x0a0d_0d0a, &body)
}

fn idb(be: bool, link_type: u16, snaplen: u32, opts: &[(u16, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&u16b(link_type, be));
    body.extend_from_slice(&[0, 0]);
    body.extend_from_slice(&u32b(snaplen, be));
    body.extend_from_slice(&options(be, opts));
    block(be, 1, &body)
}

fn epb(be: bool, interface: u32, units: u64, data: &[u8], orig_len: u32) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&u32b(interface, be));
    body.extend_from_slice(&u32b((units >> 32) as u32, be));
    body.extend_from_slice(&u32b(units as u32, be));
    body.extend_from_slice(&u32b(data.len() as u32, be));
    body.extend_from_slice(&u32b(orig_len, be));
    body.extend_from_slice(data);
    block(be, 6, &body)
}

fn spb(be: bool, data: &[u8], orig_len: u32) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&u32b(orig_len, be));
    body.extend_from_slice(data);
    block(be, 3, &body)
}

fn opb(be: bool, interface: u16, units: u64, data: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&u16b(interface, be));
    body.extend_from_slice(&u16b(0, be));
    body.extend_from_slice(&u32b((units >> 32) as u32, be));
    body.extend_from_slice(&u32b(units as u32, be));
    body.extend_from_slice(&u32b(data.len() as u32, be));
    body.extend_from_slice(&u32b(data.len() as u32, be));
    body.extend_from_slice(data);
    block(be, 2, &body)
}

fn dsb(be: bool, secrets_type: u32, text: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&u32b(secrets_type, be));
    body.extend_from_slice(&u32b(text.len() as u32, be));
    body.extend_from_slice(text);
    block(be, 10, &body)
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let _ = encoder.write_all(bytes);
    encoder.finish().unwrap_or_default()
}

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn two_frame_pcap(be: bool, nanos: bool) -> Vec<u8> {
    let mut file = pcap_header(be, nanos, 1, 65535);
    file.extend(pcap_record(be, 1_700_000_000, 5, b"first", 5));
    file.extend(pcap_record(be, 1_700_000_001, 999_999, b"second!", 7));
    file
}

#[test]
fn pcap_both_byte_orders_and_resolutions() {
    for be in [false, true] {
        for nanos in [false, true] {
            let mut reader = open_ok(&two_frame_pcap(be, nanos));
            assert_eq!(reader.format(), CaptureFormat::Pcap);
            let frames = read_all(&mut reader);
            let scale = if nanos { 1 } else { 1_000 };
            assert_eq!(frames.len(), 2, "be={be} nanos={nanos}");
            assert_eq!(frames[0].number, 1);
            assert_eq!(frames[0].time_ns, 1_700_000_000_000_000_000 + 5 * scale);
            assert_eq!(frames[1].number, 2);
            assert_eq!(
                frames[1].time_ns,
                1_700_000_001_000_000_000 + 999_999 * scale
            );
            assert_eq!(frames[1].data, b"second!");
            assert_eq!(frames[1].link_type, 1);
            assert_eq!(reader.link_types(), &[1]);
            assert!(reader.warnings().is_empty());
            assert_eq!(reader.frames_read(), 2);
        }
    }
}

#[test]
fn pcap_header_only_has_no_frames_and_no_warning() {
    let mut reader = open_ok(&pcap_header(false, false, 228, 65535));
    assert!(read_all(&mut reader).is_empty());
    assert!(reader.warnings().is_empty());
    assert_eq!(reader.link_types(), &[228]);
}

#[test]
fn pcap_cut_last_record_keeps_earlier_frames_and_warns() {
    let file = two_frame_pcap(false, false);
    for cut in [file.len() - 3, file.len() - 7 - 10] {
        let mut reader = open_ok(file.get(..cut).unwrap_or_default());
        assert_eq!(read_all(&mut reader).len(), 1);
        let warnings = reader.warnings();
        assert_eq!(warnings.len(), 1, "cut at {cut}: {warnings:?}");
        assert_eq!(warnings[0].kind, "truncated_file");
        assert_eq!(warnings[0].frame, Some(2));
    }
}

#[test]
fn pcap_record_larger_than_any_packet_is_corrupt() {
    // As in suricata-verify bug-1450-04: a record header claiming 4,325,376 bytes.
    let mut file = two_frame_pcap(false, false);
    file.extend_from_slice(&[0; 8]);
    file.extend_from_slice(&4_325_376u32.to_le_bytes());
    file.extend_from_slice(&4_325_376u32.to_le_bytes());
    file.extend_from_slice(&[0xab; 300]);
    let mut reader = open_ok(&file);
    assert_eq!(read_all(&mut reader).len(), 2);
    assert_eq!(reader.warnings().len(), 1);
    assert_eq!(reader.warnings()[0].kind, "corrupt_record");
    assert_eq!(reader.warnings()[0].frame, Some(3));
}

#[test]
fn large_record_grows_the_buffer() {
    let big: Vec<u8> = (0..600_000u32).map(|i| i as u8).collect();
    let mut file = pcap_header(false, false, 1, 1_000_000);
    file.extend(pcap_record(false, 1, 0, &big, big.len() as u32));
    file.extend(pcap_record(false, 2, 0, b"after", 5));
    let mut reader = open_ok(&file);
    let frames = read_all(&mut reader);
    assert_eq!(frames.len(), 2);
    assert_eq!(frames[0].data, big);
    assert_eq!(frames[1].data, b"after");
    assert!(reader.warnings().is_empty());
}

#[test]
fn snaplen_cut_frame_is_yielded_with_one_warning() {
    let mut file = pcap_header(false, false, 1, 4);
    file.extend(pcap_record(false, 1, 0, b"abcd", 60));
    file.extend(pcap_record(false, 2, 0, b"efgh", 60));
    let mut reader = open_ok(&file);
    let frames = read_all(&mut reader);
    assert_eq!(frames.len(), 2);
    assert_eq!(frames[0].orig_len, 60);
    assert_eq!(reader.warnings().len(), 1);
    assert_eq!(reader.warnings()[0].kind, "snaplen");
    assert_eq!(reader.warnings()[0].frame, Some(1));
}

#[test]
fn not_a_capture_is_an_error_naming_the_bytes() {
    let e = open(b"<!DOCTYPE html>").err();
    let reason = e.map(|e| e.to_string()).unwrap_or_default();
    assert!(
        reason.starts_with("test: not a pcap or pcapng file (starts with 3c 21 44 4f"),
        "{reason}"
    );
    let e = open(b"").err().map(|e| e.reason);
    assert_eq!(e.as_deref(), Some("empty file"));
    let e = open(&pcap_header(false, false, 1, 0)[..10])
        .err()
        .map(|e| e.reason);
    assert!(e.is_some_and(|r| r.contains("cut short")));
}

#[test]
fn missing_file_is_an_error() {
    let e = CaptureReader::open(std::path::Path::new("/nonexistent/x.pcap")).err();
    assert_eq!(
        e.map(|e| e.to_string()).as_deref(),
        Some("/nonexistent/x.pcap: no such file")
    );
}

fn two_section_pcapng() -> Vec<u8> {
    let mut file = shb(false, 1);
    // Interface 0: µs (default), Ethernet. Interface 1: ns, offset +100 s, raw IP.
    file.extend(idb(false, 1, 0, &[]));
    file.extend(idb(
        false,
        101,
        0,
        &[(9, &[9]), (14, &100i64.to_le_bytes())],
    ));
    file.extend(epb(false, 0, 1_500_000, b"s1-if0", 6));
    file.extend(epb(false, 1, 2_000_000_123, b"s1-if1", 6));
    file.extend(dsb(false, 0x544c_534b, b"CLIENT_RANDOM aa bb\n"));
    file.extend(dsb(false, 0x5747_4b4c, b"wireguard"));
    // Section 2, big-endian: its interface table starts empty again. Interface 0: 2^-10 s.
    file.extend(shb(true, 1));
    file.extend(idb(
        true,
        276,
        0,
        &[(9, &[0x80 | 10]), (14, &(-1i64).to_be_bytes())],
    ));
    file.extend(epb(true, 0, 2048, b"s2-if0", 6));
    file.extend(dsb(true, 0x544c_534b, b"CLIENT_RANDOM cc dd\n"));
    file
}

#[test]
fn pcapng_sections_interfaces_and_timestamp_options() {
    let mut reader = open_ok(&two_section_pcapng());
    assert_eq!(reader.format(), CaptureFormat::PcapNg);
    let frames = read_all(&mut reader);
    assert!(reader.warnings().is_empty(), "{:?}", reader.warnings());
    let summary: Vec<(u64, i64, u32, &[u8])> = frames
        .iter()
        .map(|f| (f.number, f.time_ns, f.link_type, f.data.as_slice()))
        .collect();
    assert_eq!(
        summary,
        vec![
            (1, 1_500_000_000, 1, &b"s1-if0"[..]),
            (2, 102_000_000_123, 101, &b"s1-if1"[..]),
            (3, 1_000_000_000, 276, &b"s2-if0"[..]),
        ]
    );
    assert_eq!(reader.link_types(), &[1, 101, 276]);
    assert_eq!(
        reader.decryption_secrets(),
        &[
            b"CLIENT_RANDOM aa bb\n".to_vec(),
            b"CLIENT_RANDOM cc dd\n".to_vec()
        ]
    );
}

#[test]
fn pcapng_survives_one_byte_reads() {
    let file = two_section_pcapng();
    let expected = read_all(&mut open_ok(&file));
    let mut reader = match CaptureReader::from_read("slow", Box::new(Trickle(file, 0))) {
        Ok(r) => r,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(read_all(&mut reader), expected);
    assert!(reader.warnings().is_empty());
}

#[test]
fn pcapng_simple_and_obsolete_packet_blocks() {
    for be in [false, true] {
        let mut file = shb(be, 1);
        file.extend(idb(be, 1, 4, &[]));
        file.extend(spb(be, b"abcdefgh", 8));
        file.extend(opb(be, 0, 7, b"old!"));
        let mut reader = open_ok(&file);
        let frames = read_all(&mut reader);
        assert_eq!(frames.len(), 2, "be={be}");
        // The SPB is cut to the interface snaplen; it has no timestamp.
        assert_eq!(frames[0].data, b"abcd");
        assert_eq!(frames[0].time_ns, 0);
        assert_eq!(frames[1].data, b"old!");
        assert_eq!(frames[1].time_ns, 7_000);
    }
}

#[test]
fn pcapng_journal_and_custom_blocks_count_as_frames_like_wireshark() {
    let mut file = shb(false, 1);
    file.extend(idb(false, 1, 0, &[]));
    file.extend(epb(false, 0, 1, b"one", 3));
    file.extend(block(false, 9, b"MESSAGE=hi\n"));
    file.extend(block(false, 0xbad, &32473u32.to_le_bytes()));
    file.extend(block(false, 5, &[0; 12])); // statistics: not a frame
    file.extend(block(false, 0x77, b"abcd")); // unknown: not a frame
    file.extend(epb(false, 0, 2, b"four", 4));
    let mut reader = open_ok(&file);
    let numbers: Vec<u64> = read_all(&mut reader).iter().map(|f| f.number).collect();
    assert_eq!(numbers, vec![1, 4]);
    assert_eq!(reader.frames_read(), 4);
}

#[test]
fn pcapng_packet_for_undefined_interface_is_corrupt() {
    let mut file = shb(false, 1);
    file.extend(idb(false, 1, 0, &[]));
    file.extend(epb(false, 0, 1, b"ok", 2));
    file.extend(epb(false, 3, 2, b"bad", 3));
    let mut reader = open_ok(&file);
    assert_eq!(read_all(&mut reader).len(), 1);
    assert_eq!(reader.warnings().len(), 1);
    assert_eq!(reader.warnings()[0].kind, "corrupt_record");
    assert_eq!(reader.warnings()[0].frame, Some(2));
}

#[test]
fn pcapng_unknown_major_version() {
    let reason = open(&shb(false, 2)).err().map(|e| e.reason);
    assert_eq!(
        reason.as_deref(),
        Some("pcapng section version 2.0 is not supported")
    );
    let mut minor = shb(false, 1);
    minor[14] = 1; // version 1.1: Wireshark refuses it too
    assert!(open(&minor).is_err());
    let mut file = shb(false, 1);
    file.extend(idb(false, 1, 0, &[]));
    file.extend(epb(false, 0, 1, b"ok", 2));
    file.extend(shb(false, 3));
    let mut reader = open_ok(&file);
    assert_eq!(read_all(&mut reader).len(), 1);
    assert_eq!(reader.warnings().len(), 1);
    assert_eq!(reader.warnings()[0].kind, "corrupt_record");
}

#[test]
fn pcapng_block_with_lying_inner_length_is_corrupt_not_truncated() {
    let mut file = shb(false, 1);
    file.extend(idb(false, 1, 0, &[]));
    let mut bad = epb(false, 0, 1, b"abcd", 4);
    // caplen (at byte 20 of the block) claims more than the block holds.
    bad[20..24].copy_from_slice(&200u32.to_le_bytes());
    file.extend(bad);
    file.extend(epb(false, 0, 1, b"never", 5));
    let mut reader = open_ok(&file);
    assert!(read_all(&mut reader).is_empty());
    assert_eq!(reader.warnings().len(), 1);
    assert_eq!(reader.warnings()[0].kind, "corrupt_record");
}

/// Fuzz regression (capture_reader, minimised): a Process Information Block (type 0x80000001)
/// whose total length is 8 made pcap-parser 0.17 compute `8 - 12` (an overflow panic in debug
/// builds). A pcapng block shorter than 12 bytes is a corrupt record.
#[test]
fn fuzz_pcapng_process_information_block_shorter_than_its_header_is_corrupt() {
    const REPRODUCER: &[u8] = b"\x0a\x0d\x0d\x0a\x1c\x00\x00\x00\x4d\x3c\x2b\x1a\x01\x00\x00\x00\
\xff\xff\xff\xff\xff\xff\xff\xff\x1c\x00\x00\x00\x01\x00\x00\x80\x08\x00\x00\x00";
    let mut reader = open_ok(REPRODUCER);
    assert!(read_all(&mut reader).is_empty());
    assert_eq!(reader.warnings().len(), 1);
    assert_eq!(reader.warnings()[0].kind, "corrupt_record");
    assert!(reader.warnings()[0].message.contains("block length 8"));
    // The same block in a big-endian section.
    let mut file = shb(true, 1);
    file.extend_from_slice(&[0x80, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x08, 0, 0, 0, 0]);
    let mut reader = open_ok(&file);
    assert!(read_all(&mut reader).is_empty());
    assert_eq!(reader.warnings()[0].kind, "corrupt_record");
}

#[test]
fn pcapng_cut_tail_is_truncated() {
    let file = two_section_pcapng();
    let mut reader = open_ok(file.get(..file.len() - 30).unwrap_or_default());
    let frames = read_all(&mut reader);
    assert_eq!(frames.len(), 3);
    assert_eq!(reader.warnings().len(), 1);
    assert_eq!(reader.warnings()[0].kind, "truncated_file");
}

#[test]
fn gzip_input_is_decompressed_and_hashed_compressed() {
    let plain = two_section_pcapng();
    let compressed = gzip(&plain);
    let mut reader = open_ok(&compressed);
    assert_eq!(reader.format(), CaptureFormat::PcapNg);
    assert_eq!(read_all(&mut reader).len(), 3);
    assert_eq!(reader.sha256_hex(), sha256(&compressed));
    assert_eq!(reader.sha256_hex(), sha256(&compressed));

    let pcap = gzip(&two_frame_pcap(true, true));
    let mut reader = open_ok(&pcap);
    assert_eq!(read_all(&mut reader).len(), 2);
}

#[test]
fn gzip_cut_short_warns_truncated() {
    let big: Vec<u8> = (0..200_000u32).map(|i| (i * 7 / 3) as u8).collect();
    let mut file = pcap_header(false, false, 1, 262_144);
    for n in 0..20 {
        file.extend(pcap_record(false, n, 0, &big[..10_000], 10_000));
    }
    let compressed = gzip(&file);
    let mut reader = open_ok(&compressed[..compressed.len() / 2]);
    let frames = read_all(&mut reader);
    assert!(!frames.is_empty() && frames.len() < 20);
    assert_eq!(reader.warnings().len(), 1);
    assert_eq!(reader.warnings()[0].kind, "truncated_file");
}

#[test]
fn gzip_of_something_else_is_an_error() {
    let reason = open(&gzip(b"hello world")).err().map(|e| e.reason);
    assert!(
        reason
            .as_deref()
            .is_some_and(|r| r.starts_with("gzip-compressed, but not a pcap or pcapng file")),
        "{reason:?}"
    );
}

#[test]
fn hash_reads_the_unread_rest() {
    let file = two_frame_pcap(false, false);
    let mut reader = open_ok(&file);
    assert!(reader.next_frame().is_some());
    assert_eq!(reader.sha256_hex(), sha256(&file));
}

#[test]
fn a_background_hash_is_the_same_hash() {
    for file in [
        two_frame_pcap(false, false),
        gzip(&two_frame_pcap(true, false)),
    ] {
        let mut reader = open_ok(&file);
        reader.hash_in_background();
        assert_eq!(read_all(&mut reader).len(), 2);
        assert_eq!(reader.sha256_hex(), sha256(&file));
        // Asked again (and after the end), the same.
        assert_eq!(reader.sha256_hex(), sha256(&file));
    }
    // Started after some frames, with the rest left unread.
    let file = two_frame_pcap(false, false);
    let mut reader = open_ok(&file);
    assert!(reader.next_frame().is_some());
    reader.hash_in_background();
    assert_eq!(reader.sha256_hex(), sha256(&file));
}

#[test]
fn every_prefix_never_panics() {
    let mut files = vec![two_frame_pcap(false, false), two_section_pcapng()];
    files.push(gzip(&two_frame_pcap(true, false)));
    for file in files {
        for cut in 0..=file.len() {
            if let Ok(mut reader) = open(file.get(..cut).unwrap_or_default()) {
                let frames = read_all(&mut reader);
                assert!(frames.len() <= 3);
                let _ = reader.sha256_hex();
            }
        }
    }
}

#[test]
fn every_single_byte_corruption_never_panics() {
    let file = two_section_pcapng();
    for at in 0..file.len() {
        for value in [0x00, 0xff] {
            let mut bad = file.clone();
            if let Some(b) = bad.get_mut(at) {
                *b = value;
            }
            if let Ok(mut reader) = open(&bad) {
                let _ = read_all(&mut reader);
            }
        }
    }
}

#[test]
fn link_type_names() {
    assert_eq!(link_type_name(1), "ETHERNET");
    assert_eq!(link_type_name(276), "LINUX_SLL2");
    assert_eq!(link_type_name(0), "NULL");
    assert_eq!(link_type_name(12), "RAW");
    assert_eq!(link_type_name(9999), "LINKTYPE_9999");
}

#[test]
fn reader_and_decoder_are_send() {
    fn assert_send<T: Send>() {}
    assert_send::<CaptureReader>();
    assert_send::<crate::wire::WireDecoder>();
}

#[test]
fn interface_table_is_bounded() {
    let mut file = shb(false, 1);
    let one = idb(false, 1, 0, &[]);
    for _ in 0..=reader::MAX_INTERFACES {
        file.extend_from_slice(&one);
    }
    let mut reader = open_ok(&file);
    assert!(read_all(&mut reader).is_empty());
    assert_eq!(reader.warnings().len(), 1);
    assert_eq!(reader.warnings()[0].kind, "corrupt_record");
}

#[test]
fn directory_is_an_error() {
    let dir = std::env::temp_dir();
    let reason = CaptureReader::open(&dir).err().map(|e| e.reason);
    assert_eq!(reason.as_deref(), Some("is a directory"));
}

#[test]
fn corrupt_gzip_is_an_error() {
    let reason = open(&[
        0x1f, 0x8b, 0x08, 0x00, 0xde, 0xad, 0xbe, 0xef, 0, 0, 0xff, 0xff,
    ])
    .err()
    .map(|e| e.reason);
    assert!(
        reason
            .as_deref()
            .is_some_and(|r| r.starts_with("gzip-compressed, but")),
        "{reason:?}"
    );
}

#[test]
fn huge_section_header_options_are_read() {
    // Six 60,000-byte comments: a section header larger than the initial buffer.
    let comment = vec![b'c'; 60_000];
    let mut body = Vec::new();
    body.extend_from_slice(&0x1a2b_3c4du32.to_le_bytes());
    body.extend_from_slice(&[1, 0, 0, 0]);
    body.extend_from_slice(&(-1i64).to_le_bytes());
    for _ in 0..6 {
        body.extend_from_slice(&1u16.to_le_bytes()); // opt_comment
        body.extend_from_slice(&(60_000u16).to_le_bytes());
        body.extend_from_slice(&comment);
    }
    body.extend_from_slice(&[0; 4]);
    let mut file = block(false, 0x0a0d_0d0a, &body);
    file.extend(idb(false, 1, 0, &[]));
    file.extend(epb(false, 0, 1, b"x", 1));
    let mut reader = open_ok(&file);
    assert_eq!(read_all(&mut reader).len(), 1);
}
