//! Tunnels that carry device traffic inside IP, and what a frame that is not TCP carries.
//!
//! Decoded, as Wireshark does by default (so inner TCP gets the same `tcp.stream` numbers):
//! VXLAN (UDP port 4789, RFC 7348), GTPv1-U G-PDUs (UDP port 2152, 3GPP TS 29.281; mobile
//! networks, where cellular IoT devices live), GRE (IP protocol 47, RFC 2784 / RFC 2890) and
//! IP in IP (protocols 4 and 41). PPPoE, MPLS and VLAN tags are link layers (`link`).
//! Everything else is classified into an [`OtherTraffic`] kind, so a capture's frames are either
//! analysed or counted, never silently dropped.
//!
//! Guarantees: bounds-checked reads only (`get`); no input can make it panic.

/// Where a tunnel's payload starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Inner<'a> {
    /// An IP packet.
    Ip(&'a [u8]),
    /// An Ethernet frame (VXLAN, transparent Ethernet bridging over GRE).
    Ethernet(&'a [u8]),
    /// A payload of the given EtherType (GRE's protocol type field).
    EtherType(u16, &'a [u8]),
}

/// What a frame carries when it is not TCP we analyse: the kinds of the capture's
/// `traffic_not_analyzed` counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OtherTraffic {
    /// UDP to or from port 53 (or 5353, mDNS).
    Dns,
    /// UDP to or from port 443 (HTTP/3 and other QUIC).
    Quic,
    /// Any other UDP (including tunnel control messages).
    Udp,
    /// ICMP and ICMPv6 (unreachables, pings, neighbour discovery).
    Icmp,
    /// ARP.
    Arp,
    /// IPsec ESP (IP protocol 50, or UDP 4500): encrypted, nothing inside can be seen.
    Esp,
    /// A tunnel nested deeper than we follow.
    TunnelTooDeep,
    /// IP with another protocol (IGMP, SCTP, OSPF, ...).
    OtherIp,
    /// Frames that are not IP (LLDP, STP, 802.3/LLC, netlink, ...).
    NotIp,
}

impl OtherTraffic {
    /// The kind's name in the JSON output (`CONTRACT.md`: capture `frames_not_analyzed`).
    pub(crate) fn name(self) -> &'static str {
        match self {
            OtherTraffic::Dns => "dns",
            OtherTraffic::Quic => "quic",
            OtherTraffic::Udp => "udp",
            OtherTraffic::Icmp => "icmp",
            OtherTraffic::Arp => "arp",
            OtherTraffic::Esp => "esp",
            OtherTraffic::TunnelTooDeep => "tunnel_too_deep",
            OtherTraffic::OtherIp => "other_ip",
            OtherTraffic::NotIp => "not_ip",
        }
    }

    /// Words for the warning text.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            OtherTraffic::Dns => "DNS",
            OtherTraffic::Quic => "QUIC (UDP 443)",
            OtherTraffic::Udp => "other UDP",
            OtherTraffic::Icmp => "ICMP",
            OtherTraffic::Arp => "ARP",
            OtherTraffic::Esp => "IPsec ESP (encrypted)",
            OtherTraffic::TunnelTooDeep => "tunnels nested too deep",
            OtherTraffic::OtherIp => "other IP protocols",
            OtherTraffic::NotIp => "not IP",
        }
    }
}

const PORT_VXLAN: u16 = 4789;
const PORT_GTPU: u16 = 2152;
const PORT_IPSEC_NAT_T: u16 = 4500;
const PROTO_IPIP: u8 = 4;
const PROTO_IPV6_IN_IP: u8 = 41;
const PROTO_GRE: u8 = 47;
const PROTO_ESP: u8 = 50;
const PROTO_ICMP: u8 = 1;
const PROTO_ICMPV6: u8 = 58;
const PROTO_UDP: u8 = 17;

/// An IP payload that is not TCP: the tunnel it opens, or what kind of traffic it is.
pub(crate) fn open_ip_payload(protocol: u8, payload: &[u8]) -> Result<Inner<'_>, OtherTraffic> {
    match protocol {
        PROTO_UDP => open_udp(payload),
        PROTO_GRE => gre(payload).ok_or(OtherTraffic::OtherIp),
        PROTO_IPIP | PROTO_IPV6_IN_IP => Ok(Inner::Ip(payload)),
        PROTO_ICMP | PROTO_ICMPV6 => Err(OtherTraffic::Icmp),
        PROTO_ESP => Err(OtherTraffic::Esp),
        _ => Err(OtherTraffic::OtherIp),
    }
}

fn be16(data: &[u8], at: usize) -> Option<u16> {
    let bytes = data.get(at..at + 2)?;
    Some(u16::from_be_bytes([*bytes.first()?, *bytes.get(1)?]))
}

/// RFC 768: source port, destination port, length, checksum; then the payload. Tunnels are
/// recognised by port on either side, as Wireshark's `udp.port` tables do.
fn open_udp(datagram: &[u8]) -> Result<Inner<'_>, OtherTraffic> {
    let (Some(src), Some(dst)) = (be16(datagram, 0), be16(datagram, 2)) else {
        return Err(OtherTraffic::Udp);
    };
    let payload = datagram.get(8..).unwrap_or_default();
    let either = |port: u16| src == port || dst == port;
    if either(PORT_VXLAN) {
        return vxlan(payload).ok_or(OtherTraffic::Udp);
    }
    if either(PORT_GTPU) {
        return gtpu(payload).ok_or(OtherTraffic::Udp);
    }
    Err(if either(53) || either(5353) {
        OtherTraffic::Dns
    } else if either(443) {
        OtherTraffic::Quic
    } else if either(PORT_IPSEC_NAT_T) {
        OtherTraffic::Esp
    } else {
        OtherTraffic::Udp
    })
}

/// RFC 7348 §5: flags (the I bit, 0x08, says the VNI is valid), 3 reserved bytes, the 24-bit
/// VNI and a reserved byte; an Ethernet frame follows.
fn vxlan(payload: &[u8]) -> Option<Inner<'_>> {
    let flags = *payload.first()?;
    if flags & 0x08 == 0 || payload.len() < 8 {
        return None;
    }
    Some(Inner::Ethernet(payload.get(8..)?))
}

/// 3GPP TS 29.281 §5.1: GTPv1-U. Version 1 and protocol type GTP in the flags; only a G-PDU
/// (message type 255) carries a user packet. When any of the E, S or PN flags is set, a
/// sequence number (2), N-PDU number (1) and next extension type (1) follow; extension headers
/// (§5.2) are a length in 4-byte units, content, and the next type in their last byte.
fn gtpu(payload: &[u8]) -> Option<Inner<'_>> {
    let flags = *payload.first()?;
    let message_type = *payload.get(1)?;
    if flags >> 5 != 1 || flags & 0x10 == 0 || message_type != 0xff {
        return None;
    }
    let mut at = 8;
    if flags & 0x07 != 0 {
        let mut next = *payload.get(11)?;
        at = 12;
        // Each extension is at least 4 bytes, so this ends within the payload's length.
        while next != 0 {
            let units = usize::from(*payload.get(at)?);
            if units == 0 {
                return None;
            }
            at += units * 4;
            next = *payload.get(at - 1)?;
        }
    }
    let inner = payload.get(at..)?;
    match inner.first().map(|b| b >> 4) {
        Some(4) | Some(6) => Some(Inner::Ip(inner)),
        _ => None,
    }
}

/// RFC 2784 §2.1 with RFC 2890's key and sequence number: flags C (checksum present, 0x80),
/// K (key, 0x20), S (sequence, 0x10), version 0 (version 1 is PPTP's enhanced GRE, PPP inside,
/// not followed); the protocol type is an EtherType. Each present field adds 4 bytes.
fn gre(packet: &[u8]) -> Option<Inner<'_>> {
    let flags = *packet.first()?;
    let version = packet.get(1)? & 0x07;
    if version != 0 {
        return None;
    }
    let protocol = be16(packet, 2)?;
    let optional = [0x80u8, 0x20, 0x10]
        .iter()
        .filter(|bit| flags & **bit != 0)
        .count();
    let inner = packet.get(4 + 4 * optional..)?;
    Some(match protocol {
        // Transparent Ethernet Bridging (gretap, ERSPAN-less bridging).
        0x6558 => Inner::Ethernet(inner),
        other => Inner::EtherType(other, inner),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const IP: &[u8] = &[0x45, 0, 0, 20];

    fn udp(src: u16, dst: u16, payload: &[u8]) -> Vec<u8> {
        let mut d = Vec::new();
        d.extend_from_slice(&src.to_be_bytes());
        d.extend_from_slice(&dst.to_be_bytes());
        d.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
        d.extend_from_slice(&[0, 0]);
        d.extend_from_slice(payload);
        d
    }

    #[test]
    fn vxlan_needs_the_vni_flag() {
        let mut header = vec![0x08, 0, 0, 0, 0, 0, 42, 0];
        header.extend_from_slice(&[1, 2, 3]);
        let d = udp(50000, PORT_VXLAN, &header);
        assert_eq!(open_ip_payload(17, &d), Ok(Inner::Ethernet(&[1, 2, 3])));
        header[0] = 0;
        let d = udp(50000, PORT_VXLAN, &header);
        assert_eq!(open_ip_payload(17, &d), Err(OtherTraffic::Udp));
    }

    #[test]
    fn gtpu_plain_with_sequence_and_with_an_extension() {
        let mut plain = vec![0x30, 0xff, 0, 4, 0, 0, 0, 1];
        plain.extend_from_slice(IP);
        assert_eq!(
            open_ip_payload(17, &udp(PORT_GTPU, PORT_GTPU, &plain)),
            Ok(Inner::Ip(IP))
        );
        let mut seq = vec![0x32, 0xff, 0, 8, 0, 0, 0, 1, 0, 7, 0, 0];
        seq.extend_from_slice(IP);
        assert_eq!(
            open_ip_payload(17, &udp(PORT_GTPU, PORT_GTPU, &seq)),
            Ok(Inner::Ip(IP))
        );
        // E flag, next type 0x85 (PDU session container), one 4-byte extension ending with 0.
        let mut ext = vec![
            0x34, 0xff, 0, 12, 0, 0, 0, 1, 0, 0, 0, 0x85, 1, 0x10, 0x05, 0,
        ];
        ext.extend_from_slice(IP);
        assert_eq!(
            open_ip_payload(17, &udp(PORT_GTPU, PORT_GTPU, &ext)),
            Ok(Inner::Ip(IP))
        );
        // An echo request (type 1) carries no user packet.
        let echo = [0x32, 0x01, 0, 4, 0, 0, 0, 0, 0, 1, 0, 0];
        assert_eq!(
            open_ip_payload(17, &udp(40000, PORT_GTPU, &echo)),
            Err(OtherTraffic::Udp)
        );
        // A zero-length extension would not advance: refused, not looped on.
        let bad = [0x34, 0xff, 0, 8, 0, 0, 0, 1, 0, 0, 0, 0x85, 0, 0, 0, 0];
        assert_eq!(
            open_ip_payload(17, &udp(PORT_GTPU, PORT_GTPU, &bad)),
            Err(OtherTraffic::Udp)
        );
    }

    #[test]
    fn gre_with_optional_fields() {
        let mut plain = vec![0, 0, 0x08, 0x00];
        plain.extend_from_slice(IP);
        assert_eq!(
            open_ip_payload(47, &plain),
            Ok(Inner::EtherType(0x0800, IP))
        );
        let mut keyed = vec![0xb0, 0, 0x65, 0x58, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 1];
        keyed.extend_from_slice(&[0xaa; 3]);
        assert_eq!(open_ip_payload(47, &keyed), Ok(Inner::Ethernet(&[0xaa; 3])));
        let pptp = [0x30, 0x81, 0x88, 0x0b, 0, 0, 0, 0];
        assert_eq!(open_ip_payload(47, &pptp), Err(OtherTraffic::OtherIp));
    }

    #[test]
    fn other_traffic_is_classified() {
        assert_eq!(
            open_ip_payload(17, &udp(40000, 53, &[])),
            Err(OtherTraffic::Dns)
        );
        assert_eq!(
            open_ip_payload(17, &udp(443, 40000, &[])),
            Err(OtherTraffic::Quic)
        );
        assert_eq!(open_ip_payload(17, &udp(1, 2, &[])), Err(OtherTraffic::Udp));
        assert_eq!(open_ip_payload(1, &[]), Err(OtherTraffic::Icmp));
        assert_eq!(open_ip_payload(58, &[]), Err(OtherTraffic::Icmp));
        assert_eq!(open_ip_payload(50, &[]), Err(OtherTraffic::Esp));
        assert_eq!(open_ip_payload(2, &[]), Err(OtherTraffic::OtherIp));
        assert_eq!(open_ip_payload(4, IP), Ok(Inner::Ip(IP)));
    }

    #[test]
    fn every_prefix_is_refused_or_opened_never_a_panic() {
        let mut gtp = vec![
            0x34, 0xff, 0, 12, 0, 0, 0, 1, 0, 0, 0, 0x85, 1, 0x10, 0x05, 0,
        ];
        gtp.extend_from_slice(IP);
        let samples = [
            (17, udp(PORT_GTPU, PORT_GTPU, &gtp)),
            (17, udp(1, PORT_VXLAN, &[0x08, 0, 0, 0, 0, 0, 42, 0, 1])),
            (
                47,
                vec![0xb0, 0, 0x65, 0x58, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 1, 2],
            ),
        ];
        for (protocol, bytes) in samples {
            for cut in 0..=bytes.len() {
                let _ = open_ip_payload(protocol, bytes.get(..cut).unwrap_or_default());
            }
        }
    }
}
