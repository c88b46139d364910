//! Link, IP and TCP header decoding of one captured frame (through etherparse, lax slicing),
//! through the tunnels that carry device traffic (`tunnel`: VXLAN, GTP-U, GRE, IP in IP; PPPoE
//! and MPLS in `link`).
//!
//! Guarantees: never panics on any bytes; a frame that cannot be decoded is a [`Decoded`] value
//! describing why, never an `Err`; a frame that is not TCP says what it is ([`OtherTraffic`]),
//! so nothing is dropped uncounted. IPv4 fragments are held and reassembled across frames.

use std::net::IpAddr;

/// TCP header flags (RFC 9293 §3.1), as the low byte of the flags field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    pub(crate) const FIN: u8 = 0x01;
    pub(crate) const SYN: u8 = 0x02;
    pub(crate) const RST: u8 = 0x04;
    #[cfg(test)]
    pub(crate) const PSH: u8 = 0x08;
    pub(crate) const ACK: u8 = 0x10;

    pub(crate) fn fin(self) -> bool {
        self.0 & Self::FIN != 0
    }
    pub(crate) fn syn(self) -> bool {
        self.0 & Self::SYN != 0
    }
    pub(crate) fn rst(self) -> bool {
        self.0 & Self::RST != 0
    }
    pub(crate) fn ack(self) -> bool {
        self.0 & Self::ACK != 0
    }
    #[cfg(test)]
    pub(crate) fn psh(self) -> bool {
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

mod defrag;
mod icmp;
mod link;
mod tcp;
mod tunnel;

use defrag::{DefragPool, FragmentKey, FragmentOutcome};
use etherparse::{IpNumber, Ipv6ExtensionSlice, LaxIpPayloadSlice, LaxNetSlice, LaxSlicedPacket};
pub(crate) use icmp::IcmpError;
use link::{LinkError, Network};
use tunnel::Inner;
pub(crate) use tunnel::OtherTraffic;

/// Tunnels followed inside one another before a frame is counted as `tunnel_too_deep`.
const MAX_TUNNEL_DEPTH: usize = 4;

/// What one frame holds, as far as TCP is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded<'a> {
    Tcp(TcpSegment<'a>),
    /// Not TCP (after any tunnel): counted by kind, not analysed.
    NotTcp(OtherTraffic),
    /// An ICMP error quoting a TCP segment (for the connection it concerns).
    IcmpError(IcmpError),
    /// A UDP datagram to or from port 53 or 5353 (DNS, mDNS), for the capture's lookups.
    Dns(DnsDatagram<'a>),
    /// An IP fragment stored until its datagram is complete.
    FragmentHeld,
    UnsupportedLinkType(u32),
    /// Could not reach a TCP header; a short reason ("IPv4 header cut at 12 bytes").
    Malformed(String),
}

/// A DNS or mDNS datagram and its endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DnsDatagram<'a> {
    pub src: std::net::SocketAddr,
    pub dst: std::net::SocketAddr,
    pub payload: &'a [u8],
}

/// Decodes frames one after the other, keeping IP fragments across frames.
#[derive(Debug, Default)]
pub struct WireDecoder {
    defrag: DefragPool,
    /// The last reassembled datagram's payload, lent out by [`Decoded::Tcp`].
    reassembled: Vec<u8>,
}

impl WireDecoder {
    pub fn new() -> Self {
        WireDecoder::default()
    }

    /// Decodes one frame. `orig_len` is the length on the wire; it only matters for an IPv4
    /// total length of 0 (TSO), where Wireshark too takes the frame's length instead.
    pub fn decode<'a>(
        &'a mut self,
        frame_number: u64,
        link_type: u32,
        data: &'a [u8],
        orig_len: u32,
    ) -> Decoded<'a> {
        let mut network = link::network_layer(link_type, data);
        for _ in 0..=MAX_TUNNEL_DEPTH {
            let ip = match network {
                Ok(Network::Ip(ip)) => ip,
                Ok(Network::Arp) => return Decoded::NotTcp(OtherTraffic::Arp),
                Ok(Network::Other) => return Decoded::NotTcp(OtherTraffic::NotIp),
                Err(LinkError::Unsupported) => return Decoded::UnsupportedLinkType(link_type),
                Err(LinkError::Malformed(reason)) => return Decoded::Malformed(reason),
            };
            match ip_layer(ip, data.len(), orig_len) {
                IpLayer::Done(decoded) => return decoded,
                IpLayer::Tunnel(Inner::Ip(ip)) => network = Ok(Network::Ip(ip)),
                IpLayer::Tunnel(Inner::Ethernet(frame)) => {
                    network = link::network_layer(link::link_type::ETHERNET, frame);
                }
                IpLayer::Tunnel(Inner::EtherType(ether_type, payload)) => {
                    network = link::by_ether_type(ether_type, payload);
                }
                IpLayer::Fragment(f) => {
                    return self.fragment(
                        f.key,
                        frame_number,
                        f.offset,
                        f.more,
                        f.payload,
                        f.missing,
                    );
                }
            }
        }
        Decoded::NotTcp(OtherTraffic::TunnelTooDeep)
    }

    fn fragment<'a>(
        &'a mut self,
        key: FragmentKey,
        frame_number: u64,
        offset: u32,
        more: bool,
        payload: &[u8],
        missing_ip: usize,
    ) -> Decoded<'a> {
        if missing_ip > 0 {
            return Decoded::Malformed(
                "IP fragment cut when captured (snaplen); its datagram cannot be reassembled"
                    .into(),
            );
        }
        match self.defrag.add(
            key,
            frame_number,
            offset,
            more,
            payload,
            &mut self.reassembled,
        ) {
            FragmentOutcome::Held => Decoded::FragmentHeld,
            FragmentOutcome::Invalid(reason) => Decoded::Malformed(reason),
            FragmentOutcome::Complete => tcp::segment(key.src, key.dst, &self.reassembled, 0),
        }
    }
}

/// One IP packet (`ip`, inside a frame of `frame_len` captured bytes): its TCP segment, the
/// tunnel it carries, a fragment to reassemble, or what else it is.
fn ip_layer(ip: &[u8], frame_len: usize, orig_len: u32) -> IpLayer<'_> {
    let packet = match LaxSlicedPacket::from_ip(ip) {
        Ok(packet) => packet,
        Err(_) => return IpLayer::Done(Decoded::Malformed(ip_header_problem(ip))),
    };
    // Bytes of the frame after this IP packet's start that the capture lacks.
    let frame_missing = (orig_len as usize).saturating_sub(frame_len);
    let done = IpLayer::Done;
    match packet.net {
        Some(LaxNetSlice::Ipv4(v4)) => {
            let header = v4.header();
            let header_len = header.slice().len();
            let total = usize::from(header.total_len());
            if total != 0 && total < header_len {
                // Wireshark: "Bogus IP length", the dissection stops there.
                return done(Decoded::Malformed(format!(
                    "IPv4 total length {total} is shorter than its {header_len}-byte header"
                )));
            }
            let missing_ip = if total == 0 {
                frame_missing
            } else {
                total.saturating_sub(ip.len())
            };
            let addresses = (
                IpAddr::V4(header.source_addr()),
                IpAddr::V4(header.destination_addr()),
            );
            ip_payload(addresses, v4.payload(), missing_ip, || {
                Ok(FragmentPlace {
                    identification: u32::from(header.identification()),
                    offset: u32::from(header.fragments_offset().byte_offset()),
                    more: header.more_fragments(),
                })
            })
        }
        Some(LaxNetSlice::Ipv6(v6)) => {
            let header = v6.header();
            let announced = usize::from(header.payload_length());
            let missing_ip = if announced == 0 {
                frame_missing
            } else {
                (40 + announced).saturating_sub(ip.len())
            };
            let addresses = (
                IpAddr::V6(header.source_addr()),
                IpAddr::V6(header.destination_addr()),
            );
            ip_payload(addresses, v6.payload(), missing_ip, || {
                v6.extensions()
                    .clone()
                    .into_iter()
                    .find_map(|ext| match ext {
                        Ipv6ExtensionSlice::Fragment(f) => Some(FragmentPlace {
                            identification: f.identification(),
                            offset: u32::from(f.fragment_offset().byte_offset()),
                            more: f.more_fragments(),
                        }),
                        _ => None,
                    })
                    .ok_or("IPv6 fragment without fragment header")
            })
        }
        _ => done(Decoded::NotTcp(OtherTraffic::NotIp)),
    }
}

/// Where a fragment sits in its datagram, as its IP header (IPv4) or Fragment extension
/// header (IPv6) says.
struct FragmentPlace {
    identification: u32,
    offset: u32,
    more: bool,
}

/// The payload of one IPv4 or IPv6 packet sent between `addresses` (source, destination): not
/// TCP, a TCP segment, or a TCP fragment placed by `place` (asked only for a fragment; `Err` is
/// why the packet is malformed). `missing_ip` counts the packet's bytes the capture lacks.
fn ip_payload<'a>(
    addresses: (IpAddr, IpAddr),
    payload: &LaxIpPayloadSlice<'a>,
    missing_ip: usize,
    place: impl FnOnce() -> Result<FragmentPlace, &'static str>,
) -> IpLayer<'a> {
    if payload.ip_number != IpNumber::TCP {
        return not_tcp(
            addresses,
            payload.ip_number.0,
            payload.payload,
            payload.fragmented,
        );
    }
    let (src, dst) = addresses;
    if !payload.fragmented {
        return IpLayer::Done(tcp::segment(src, dst, payload.payload, missing_ip));
    }
    let place = match place() {
        Ok(place) => place,
        Err(reason) => return IpLayer::Done(Decoded::Malformed(reason.into())),
    };
    IpLayer::Fragment(FragmentArgs {
        key: FragmentKey {
            src,
            dst,
            identification: place.identification,
            protocol: 6,
        },
        offset: place.offset,
        more: place.more,
        payload: payload.payload,
        missing: missing_ip,
    })
}

/// What an IP layer leads to.
enum IpLayer<'a> {
    Done(Decoded<'a>),
    Tunnel(Inner<'a>),
    Fragment(FragmentArgs<'a>),
}

/// A TCP fragment for the reassembly pool.
struct FragmentArgs<'a> {
    key: FragmentKey,
    offset: u32,
    more: bool,
    payload: &'a [u8],
    missing: usize,
}

/// An IP payload that is not TCP, sent by `from`: an ICMP error about a TCP segment, a tunnel
/// to follow, or a kind to count. Fragments of other protocols are not reassembled (tunnels
/// are sized not to fragment), only counted.
fn not_tcp(
    (from, to): (IpAddr, IpAddr),
    protocol: u8,
    payload: &[u8],
    fragmented: bool,
) -> IpLayer<'_> {
    if protocol == 17
        && !fragmented
        && let Some(dns) = dns_datagram(from, to, payload)
    {
        return IpLayer::Done(Decoded::Dns(dns));
    }
    let icmp_error = match (from, protocol, fragmented) {
        (IpAddr::V4(_), 1, false) => icmp::icmpv4_error(from, payload),
        (IpAddr::V6(_), 58, false) => icmp::icmpv6_error(from, payload),
        _ => None,
    };
    if let Some(e) = icmp_error {
        return IpLayer::Done(Decoded::IcmpError(e));
    }
    match tunnel::open_ip_payload(protocol, payload) {
        Ok(inner) if !fragmented => IpLayer::Tunnel(inner),
        Ok(_) => IpLayer::Done(Decoded::NotTcp(OtherTraffic::OtherIp)),
        Err(kind) => IpLayer::Done(Decoded::NotTcp(kind)),
    }
}

/// RFC 768 header, then a DNS message when either port is 53 or 5353 (as Wireshark's
/// `udp.port` table decides DNS and mDNS).
fn dns_datagram(from: IpAddr, to: IpAddr, udp: &[u8]) -> Option<DnsDatagram<'_>> {
    let src = u16::from_be_bytes([*udp.first()?, *udp.get(1)?]);
    let dst = u16::from_be_bytes([*udp.get(2)?, *udp.get(3)?]);
    if ![src, dst].iter().any(|p| matches!(p, 53 | 5353)) {
        return None;
    }
    let length = usize::from(u16::from_be_bytes([*udp.get(4)?, *udp.get(5)?]));
    let end = if length >= 8 {
        length.min(udp.len())
    } else {
        udp.len()
    };
    Some(DnsDatagram {
        src: std::net::SocketAddr::new(from, src),
        dst: std::net::SocketAddr::new(to, dst),
        payload: udp.get(8..end).unwrap_or_default(),
    })
}

/// Why an IP header could not be sliced, in a few words.
fn ip_header_problem(ip: &[u8]) -> String {
    match ip.first().map(|b| b >> 4) {
        None => "no IP header".into(),
        Some(4) => {
            let header_len = usize::from(ip.first().map_or(0, |b| b & 0x0f)) * 4;
            if header_len < 20 {
                format!("IPv4 header length {header_len} is below the 20-byte minimum")
            } else {
                format!("IPv4 header cut at {} bytes", ip.len())
            }
        }
        Some(6) => format!("IPv6 header cut at {} bytes", ip.len()),
        Some(version) => format!("IP version {version} is neither 4 nor 6"),
    }
}

/// Fuzz entry point: decodes `data` as a frame of every supported link type.
pub fn fuzz_decode(data: &[u8]) {
    let mut decoder = WireDecoder::new();
    for link_type in [0, 1, 12, 101, 108, 113, 228, 229, 276] {
        let _ = decoder.decode(1, link_type, data, data.len() as u32);
    }
}

#[cfg(test)]
mod tests;
