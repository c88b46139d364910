//! The TCP header (RFC 9293 §3.1), read by hand so that a header whose options were cut by the
//! snaplen still yields ports, sequence numbers and flags (etherparse refuses such a header).
//!
//! Guarantees: every read is bounds-checked; the checksum is not verified (Wireshark does not
//! verify it by default either).

use super::{Decoded, TcpFlags, TcpSegment};
use std::net::IpAddr;

/// Fixed part of the TCP header.
const FIXED_HEADER: usize = 20;

fn be16(data: &[u8], at: usize) -> u16 {
    match data.get(at..at + 2) {
        Some([a, b]) => u16::from_be_bytes([*a, *b]),
        _ => 0,
    }
}

fn be32(data: &[u8], at: usize) -> u32 {
    match data.get(at..at + 4) {
        Some([a, b, c, d]) => u32::from_be_bytes([*a, *b, *c, *d]),
        _ => 0,
    }
}

/// Decodes the TCP segment in `bytes` (the IP payload present in the capture); `missing_ip`
/// counts IP payload bytes the IP length announces but the capture lacks.
pub(crate) fn segment(src: IpAddr, dst: IpAddr, bytes: &[u8], missing_ip: usize) -> Decoded<'_> {
    if bytes.len() < FIXED_HEADER {
        return Decoded::Malformed(format!("TCP header cut at {} bytes", bytes.len()));
    }
    // RFC 9293 §3.1: Data Offset, the header length in 32-bit words.
    let header_len = usize::from(bytes.get(12).copied().unwrap_or(0) >> 4) * 4;
    if header_len < FIXED_HEADER {
        return Decoded::Malformed(format!(
            "TCP header length {header_len} is below the 20-byte minimum"
        ));
    }
    let announced = bytes.len() + missing_ip;
    if header_len > announced {
        return Decoded::Malformed(format!(
            "TCP header length {header_len} exceeds the segment's {announced} bytes"
        ));
    }
    let payload = bytes.get(header_len..).unwrap_or_default();
    let missing = announced - header_len - payload.len();
    Decoded::Tcp(TcpSegment {
        src,
        dst,
        src_port: be16(bytes, 0),
        dst_port: be16(bytes, 2),
        seq: be32(bytes, 4),
        ack: be32(bytes, 8),
        flags: TcpFlags(bytes.get(13).copied().unwrap_or(0)),
        window: be16(bytes, 14),
        payload,
        missing_payload: u32::try_from(missing).unwrap_or(u32::MAX),
    })
}
