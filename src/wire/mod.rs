//! Link, IP and TCP header decoding of one captured frame (through etherparse, lax slicing).
//!
//! Guarantees: never panics on any bytes; a frame that cannot be decoded is a [`Decoded`] value
//! describing why, never an `Err`. IPv4 fragments are held and reassembled across frames.

use std::net::IpAddr;

/// TCP header flags (RFC 9293 §3.1), as the low byte of the flags field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
    pub const URG: u8 = 0x20;
    pub const ECE: u8 = 0x40;
    pub const CWR: u8 = 0x80;

    pub fn fin(self) -> bool {
        self.0 & Self::FIN != 0
    }
    pub fn syn(self) -> bool {
        self.0 & Self::SYN != 0
    }
    pub fn rst(self) -> bool {
        self.0 & Self::RST != 0
    }
    pub fn ack(self) -> bool {
        self.0 & Self::ACK != 0
    }
    pub fn psh(self) -> bool {
        self.0 & Self::PSH != 0
    }
}

/// A decoded TCP segment. `payload` holds the bytes present in the capture; `missing_payload`
/// counts bytes the IP length announces but the capture lacks (snaplen cut), so reassembly can
/// record them as a gap instead of treating them as absent on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpSegment<'a> {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub src_port: u16,
    pub dst_port: u16,
    pub seq: u32,
    pub ack: u32,
    pub flags: TcpFlags,
    pub window: u16,
    pub payload: &'a [u8],
    pub missing_payload: u32,
}
