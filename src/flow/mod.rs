//! TCP connection tracking and per-direction reassembly.
//!
//! Connections are keyed by their 4-tuple and numbered exactly as Wireshark 4.0 numbers
//! `tcp.stream` (in order of first frame; a SYN whose sequence number differs from the one its
//! direction started with begins a new stream on the same tuple, see [`FlowTable`]). Each
//! direction's bytes are delivered to a [`FlowSink`] in sequence order, once, with holes
//! reported as gaps and the FIN after the data it follows; retransmissions are classified as
//! tshark's `tcp.analysis.retransmission` does; [`TcpSummary`] carries Zeek's `conn_state` and
//! `history`.
//! Memory is bounded per connection (reassembly buffer limits, [`FlowLimits`]); buffers are empty
//! once both directions ended. Guarantees: no panics on any segment; a fuzz entry point
//! ([`fuzz_segments`]) feeds arbitrary synthetic segments through the whole table.

mod direction;
pub(crate) mod directory;
pub(crate) mod reassembly;
mod table;
pub(crate) mod tcp_state;
pub(crate) mod tracker;

#[cfg(test)]
mod tests;

pub use table::FlowTable;

use crate::common::{At, Side};
use serde::Serialize;
use std::net::SocketAddr;

/// Memory limits of one flow's reassembly (each direction separately).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowLimits {
    /// Bytes held beyond a hole (plus a small per-piece overhead) before the oldest hole is
    /// declared lost.
    pub max_buffered_per_side: usize,
    /// Holes allowed at once before the oldest is declared lost.
    pub max_holes: usize,
}

impl Default for FlowLimits {
    fn default() -> Self {
        Self {
            max_buffered_per_side: 4 << 20,
            max_holes: 64,
        }
    }
}

impl FlowLimits {
    pub(crate) fn reassembly(self) -> reassembly::ReassemblyLimits {
        reassembly::ReassemblyLimits {
            max_buffered: self.max_buffered_per_side,
            max_holes: self.max_holes,
        }
    }
}

/// Who is `Side::Orig` of a stream first seen with `seg`: its sender, or its receiver when
/// `seg` is a SYN-ACK (the SYN was missed). Returns (orig, resp, handshake seen).
pub(crate) fn orientation(seg: &crate::wire::TcpSegment<'_>) -> (SocketAddr, SocketAddr, bool) {
    let src = SocketAddr::new(seg.src, seg.src_port);
    let dst = SocketAddr::new(seg.dst, seg.dst_port);
    let synack = seg.flags.syn() && seg.flags.ack();
    let (orig, resp) = if synack { (dst, src) } else { (src, dst) };
    (orig, resp, seg.flags.syn())
}

/// Index of a connection in the order flows were first seen; equals Wireshark's `tcp.stream`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FlowId(pub u32);

/// What is known when a flow is first seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowOpen {
    pub id: FlowId,
    /// `Side::Orig`'s endpoint: the SYN sender, else the first segment's sender.
    pub orig: SocketAddr,
    pub resp: SocketAddr,
    /// True when the flow starts with a SYN or a SYN-ACK, so `orig` comes from the handshake
    /// (false for mid-stream captures, where `orig` is just the first sender).
    pub syn_seen: bool,
    pub at: At,
}

/// TCP-level happenings for the connection timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TcpEvent {
    Syn,
    SynAck,
    /// First FIN of this side (repeats are retransmissions).
    Fin,
    Rst,
    /// Segment carrying data (or SYN/FIN) already seen: Wireshark's `tcp.analysis.retransmission`.
    Retransmission {
        len: u32,
    },
    /// Bytes of this side's stream that the capture does not contain.
    Gap {
        len: u64,
    },
    /// A segment advertising a zero receive window (its reader stopped reading).
    ZeroWindow,
    /// The first segment with a non-zero window after a zero window: the reader read again.
    WindowOpened,
    /// An ICMP error answered a segment of this side (RFC 792 type 3 / RFC 4443 types 1-2),
    /// from the destination or a router on the path.
    Icmp {
        v6: bool,
        icmp_type: u8,
        code: u8,
    },
    KeepAlive,
}

/// How the connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CloseHow {
    Fin,
    Rst,
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Close {
    pub how: CloseHow,
    /// Side that sent the first close signal (FIN or RST; a segment with both counts as a RST);
    /// `None` when not closed. `at` is that segment's frame.
    pub by: Option<Side>,
    pub at: Option<At>,
}

/// Per-side counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct SideStats {
    pub packets: u64,
    /// Payload bytes in sequence space (each byte counted once, retransmissions excluded).
    pub bytes: u64,
    pub last: Option<At>,
    /// How far this side's acknowledgment number moved forward over the flow: sequence space
    /// of the peer (its bytes, SYN and FIN) that this side received. More than the capture
    /// holds of the peer means the capture missed the peer's packets.
    pub peer_seq_acked: u64,
}

/// Final TCP facts of one flow, given to [`FlowSink::closed`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpSummary {
    /// Zeek conn_state: S0 REJ S1 SF S2 S3 RSTO RSTR RSTOS0 RSTRH SH SHR OTH (with Orig as Zeek's
    /// originator).
    pub state: String,
    /// Zeek history letters, upper case = Orig: S h A D a d F f R r G g T t W w (Zeek
    /// `conn.log` documentation).
    pub history: String,
    pub syn_seen: bool,
    pub retransmissions: u64,
    pub missing_bytes: u64,
    pub close: Close,
    pub first: At,
    pub last: At,
    pub sides: [SideStats; 2],
}

/// Receives what a flow table learns, in capture order.
pub trait FlowSink {
    fn open(&mut self, flow: &FlowOpen);
    /// In-order stream bytes of `side`; `at` is the frame that made them contiguous.
    fn data(&mut self, id: FlowId, side: Side, data: &[u8], at: At);
    /// `len` bytes of `side`'s stream are missing from the capture; data after them follows.
    fn gap(&mut self, id: FlowId, side: Side, len: u64, at: At);
    fn tcp_event(&mut self, id: FlowId, side: Side, event: TcpEvent, at: At);
    /// Called exactly once per flow: when its record ends (tuple reused by a new connection, a
    /// timeout or cap in the streaming engine), or at [`crate::flow::FlowTable::finish`].
    fn closed(&mut self, id: FlowId, summary: TcpSummary);
}

/// A sink that ignores everything (fuzzing, benchmarks).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct NullSink;

impl FlowSink for NullSink {
    fn open(&mut self, _flow: &FlowOpen) {}
    fn data(&mut self, _id: FlowId, _side: Side, _data: &[u8], _at: At) {}
    fn gap(&mut self, _id: FlowId, _side: Side, _len: u64, _at: At) {}
    fn tcp_event(&mut self, _id: FlowId, _side: Side, _event: TcpEvent, _at: At) {}
    fn closed(&mut self, _id: FlowId, _summary: TcpSummary) {}
}

/// Fuzz entry point: reads `data` as a list of synthetic segments between two hosts on up to
/// four port pairs and feeds them to a flow table with small limits, then finishes it.
/// Each 12-byte record: port pair and direction (bits 0-2; bit 3: absolute sequence number),
/// flags, window, four sequence bytes (absolute, or an `i16` step from the direction's last
/// sequence number in the first two), an `i16` acknowledgment step from the other direction's
/// last sequence number, payload length, missing (snaplen) length, time step in ms.
pub fn fuzz_segments(data: &[u8]) {
    use crate::wire::{TcpFlags, TcpSegment};
    use std::net::{IpAddr, Ipv4Addr};
    const PAYLOAD: [u8; 255] = [b'x'; 255];
    let mut table = FlowTable::new(FlowLimits {
        max_buffered_per_side: 4096,
        max_holes: 4,
    });
    let mut sink = NullSink;
    let client = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
    let server = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));
    // Last sequence number per (pair, direction).
    let mut last_seq = [0u32; 8];
    let mut time_ns = 0i64;
    for (i, record) in data.chunks_exact(12).enumerate() {
        let [
            control,
            flags,
            window,
            s0,
            s1,
            s2,
            s3,
            a0,
            a1,
            len,
            missing,
            step,
        ] = *record
        else {
            continue;
        };
        let slot = usize::from(control & 7);
        let other = slot ^ 4;
        let seq = if control & 8 != 0 {
            u32::from_be_bytes([s0, s1, s2, s3])
        } else {
            let prev = last_seq.get(slot).copied().unwrap_or(0);
            prev.wrapping_add_signed(i32::from(i16::from_be_bytes([s0, s1])))
        };
        if let Some(last) = last_seq.get_mut(slot) {
            *last = seq.wrapping_add(u32::from(len));
        }
        let ack = last_seq
            .get(other)
            .copied()
            .unwrap_or(0)
            .wrapping_add_signed(i32::from(i16::from_be_bytes([a0, a1])));
        let port = 40000 + u16::from(control & 3);
        let (src, dst, src_port, dst_port) = if control & 4 == 0 {
            (client, server, port, 1883)
        } else {
            (server, client, 1883, port)
        };
        let seg = TcpSegment {
            src,
            dst,
            src_port,
            dst_port,
            seq,
            ack,
            flags: TcpFlags(flags),
            window: u16::from(window),
            payload: PAYLOAD.get(..usize::from(len)).unwrap_or_default(),
            missing_payload: u32::from(missing),
        };
        time_ns = time_ns.saturating_add(i64::from(step) * 1_000_000);
        let at = At {
            frame: i as u64 + 1,
            time_ns,
        };
        table.on_segment(at, &seg, &mut sink);
    }
    table.finish(&mut sink);
}

#[cfg(test)]
mod fuzz_smoke {
    /// Every prefix of a mixed record list runs without panicking.
    #[test]
    fn fuzz_entry_survives_prefixes_and_patterns() {
        let mut data = Vec::new();
        let mut state = 7u32;
        for _ in 0..400 {
            state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
            data.extend_from_slice(&state.to_be_bytes());
            data.extend_from_slice(&state.rotate_left(7).to_be_bytes());
            data.extend_from_slice(&state.rotate_left(13).to_be_bytes());
        }
        for end in (0..data.len()).step_by(97) {
            super::fuzz_segments(&data[..end]);
        }
        super::fuzz_segments(&[0xff; 1200]);
        super::fuzz_segments(&[0; 1200]);
    }
}
