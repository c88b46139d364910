//! Link layers in front of IP: Ethernet II with any number of 802.1Q/802.1ad tags (QinQ),
//! PPPoE sessions, MPLS label stacks, Linux cooked capture v1 and v2, BSD NULL and LOOP, and
//! raw IP. Each yields the bytes where the IP header starts, or says why not.
//!
//! Guarantees: every read is bounds-checked (`get`), so no input can make it panic.

/// Where the link layer leads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Network<'a> {
    /// An IP packet (version from its first nibble).
    Ip(&'a [u8]),
    /// ARP (EtherType 0x0806).
    Arp,
    /// Anything else that is not IP (LLDP, 802.3/LLC, ...).
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LinkError {
    Unsupported,
    Malformed(String),
}

/// LINKTYPE_ values (tcpdump.org link-layer header types).
pub(crate) mod link_type {
    pub(crate) const NULL: u32 = 0;
    pub(crate) const ETHERNET: u32 = 1;
    /// DLT_RAW as written on most BSDs and macOS.
    pub(crate) const RAW_BSD: u32 = 12;
    /// DLT_RAW as written on OpenBSD.
    pub(crate) const RAW_OPENBSD: u32 = 14;
    pub(crate) const RAW: u32 = 101;
    pub(crate) const LOOP: u32 = 108;
    pub(crate) const LINUX_SLL: u32 = 113;
    pub(crate) const IPV4: u32 = 228;
    pub(crate) const IPV6: u32 = 229;
    pub(crate) const LINUX_SLL2: u32 = 276;
}

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const ETHERTYPE_ARP: u16 = 0x0806;
const ETHERTYPE_VLAN: u16 = 0x8100;
const ETHERTYPE_QINQ: u16 = 0x88a8;
/// Pre-standard QinQ outer tags still seen on some switches.
const ETHERTYPE_QINQ_OLD: [u16; 3] = [0x9100, 0x9200, 0x9300];
const ETHERTYPE_PPPOE_SESSION: u16 = 0x8864;
const ETHERTYPE_MPLS_UNICAST: u16 = 0x8847;
const ETHERTYPE_MPLS_MULTICAST: u16 = 0x8848;
/// Linux ARPHRD_NETLINK: the SLL protocol field is then a netlink family, not an EtherType.
const ARPHRD_NETLINK: u16 = 824;
/// Bound on stacked tags and labels, so a frame of tags cannot loop long.
const MAX_STACKED: usize = 16;

fn be16(data: &[u8], at: usize) -> Option<u16> {
    let bytes = data.get(at..at + 2)?;
    Some(u16::from_be_bytes([*bytes.first()?, *bytes.get(1)?]))
}

fn u32_at(data: &[u8], at: usize, big_endian: bool) -> Option<u32> {
    let bytes = <[u8; 4]>::try_from(data.get(at..at + 4)?).ok()?;
    Some(if big_endian {
        u32::from_be_bytes(bytes)
    } else {
        u32::from_le_bytes(bytes)
    })
}

/// Skips the link layer of `link_type`.
pub(crate) fn network_layer(link_type: u32, data: &[u8]) -> Result<Network<'_>, LinkError> {
    match link_type {
        link_type::ETHERNET => {
            // IEEE 802.3 §3.1.1: destination (6), source (6), EtherType/length (2).
            let ether_type = be16(data, 12).ok_or_else(|| cut("Ethernet header", data.len()))?;
            by_ether_type(ether_type, data.get(14..).unwrap_or_default())
        }
        link_type::LINUX_SLL => {
            // Linux cooked v1 (tcpdump.org LINKTYPE_LINUX_SLL): packet type (2), ARPHRD type (2),
            // address length (2), address (8), protocol (2).
            let protocol = be16(data, 14).ok_or_else(|| cut("Linux cooked header", data.len()))?;
            let hardware = be16(data, 2).unwrap_or(0);
            cooked(hardware, protocol, data.get(16..).unwrap_or_default())
        }
        link_type::LINUX_SLL2 => {
            // Linux cooked v2 (LINKTYPE_LINUX_SLL2): protocol (2), reserved (2), interface
            // index (4), ARPHRD type (2), packet type (1), address length (1), address (8).
            if data.len() < 20 {
                return Err(cut("Linux cooked v2 header", data.len()));
            }
            let protocol = be16(data, 0).unwrap_or(0);
            let hardware = be16(data, 8).unwrap_or(0);
            cooked(hardware, protocol, data.get(20..).unwrap_or_default())
        }
        link_type::RAW | link_type::RAW_BSD | link_type::RAW_OPENBSD => Ok(Network::Ip(data)),
        link_type::IPV4 | link_type::IPV6 => Ok(Network::Ip(data)),
        link_type::NULL => {
            // BSD loopback: the address family in the byte order of the capturing host. As
            // Wireshark's packet-null.c does, a value above 0xffff is taken as byte-swapped.
            let family = u32_at(data, 0, false).ok_or_else(|| cut("NULL header", data.len()))?;
            let family = if family > 0xffff {
                family.swap_bytes()
            } else {
                family
            };
            let payload = data.get(4..).unwrap_or_default();
            // packet-null.c again: a value above the 802.3 maximum length is an EtherType.
            match u16::try_from(family) {
                Ok(ether_type) if ether_type > 1500 => by_ether_type(ether_type, payload),
                _ => by_family(family, payload),
            }
        }
        link_type::LOOP => {
            // OpenBSD loopback: the same family field, in network byte order.
            let family = u32_at(data, 0, true).ok_or_else(|| cut("LOOP header", data.len()))?;
            by_family(family, data.get(4..).unwrap_or_default())
        }
        _ => Err(LinkError::Unsupported),
    }
}

fn cut(what: &str, len: usize) -> LinkError {
    LinkError::Malformed(format!("{what} cut at {len} bytes"))
}

/// BSD address families meaning IP: AF_INET 2; AF_INET6 24 (NetBSD, OpenBSD), 28 (FreeBSD),
/// 30 (macOS) — Wireshark's null.type table.
fn by_family(family: u32, payload: &[u8]) -> Result<Network<'_>, LinkError> {
    match family {
        2 | 24 | 28 | 30 => Ok(Network::Ip(payload)),
        _ => Ok(Network::Other),
    }
}

fn cooked(hardware: u16, protocol: u16, payload: &[u8]) -> Result<Network<'_>, LinkError> {
    // Protocol values below 0x0600 are Linux-specific (802.3 frames, 802.2 LLC, CAN, ...).
    if hardware == ARPHRD_NETLINK || protocol < 0x0600 {
        return Ok(Network::Other);
    }
    by_ether_type(protocol, payload)
}

/// Dispatches on an EtherType, looking through VLAN tags, PPPoE and MPLS.
pub(crate) fn by_ether_type(
    mut ether_type: u16,
    mut payload: &[u8],
) -> Result<Network<'_>, LinkError> {
    for _ in 0..MAX_STACKED {
        match ether_type {
            ETHERTYPE_IPV4 | ETHERTYPE_IPV6 => return Ok(Network::Ip(payload)),
            // IEEE 802.1Q §9.6: TCI (2) then the inner EtherType (2).
            ETHERTYPE_VLAN | ETHERTYPE_QINQ => {
                ether_type = be16(payload, 2).ok_or_else(|| cut("802.1Q tag", payload.len()))?;
                payload = payload.get(4..).unwrap_or_default();
            }
            t if ETHERTYPE_QINQ_OLD.contains(&t) => {
                ether_type = be16(payload, 2).ok_or_else(|| cut("802.1Q tag", payload.len()))?;
                payload = payload.get(4..).unwrap_or_default();
            }
            ETHERTYPE_PPPOE_SESSION => {
                // RFC 2516 §4: ver/type, code, session id, length (6), then the PPP protocol
                // (RFC 1661 §2): 0x0021 IPv4, 0x0057 IPv6.
                let protocol =
                    be16(payload, 6).ok_or_else(|| cut("PPPoE header", payload.len()))?;
                let rest = payload.get(8..).unwrap_or_default();
                return Ok(match protocol {
                    0x0021 | 0x0057 => Network::Ip(rest),
                    _ => Network::Other,
                });
            }
            ETHERTYPE_MPLS_UNICAST | ETHERTYPE_MPLS_MULTICAST => return mpls(payload),
            ETHERTYPE_ARP => return Ok(Network::Arp),
            _ => return Ok(Network::Other),
        }
    }
    Ok(Network::Other)
}

/// RFC 3032 §2.1: 4-byte label stack entries until the bottom-of-stack bit; the payload is IP
/// when its first nibble says 4 or 6 (what Wireshark guesses too).
fn mpls(mut payload: &[u8]) -> Result<Network<'_>, LinkError> {
    for _ in 0..MAX_STACKED {
        let entry = payload
            .get(..4)
            .ok_or_else(|| cut("MPLS label stack", payload.len()))?;
        let bottom = entry.get(2).is_some_and(|b| b & 0x01 != 0);
        payload = payload.get(4..).unwrap_or_default();
        if bottom {
            return Ok(match payload.first().map(|b| b >> 4) {
                Some(4) | Some(6) => Network::Ip(payload),
                _ => Network::Other,
            });
        }
    }
    Ok(Network::Other)
}

#[cfg(test)]
mod tests {
    use super::*;

    const IP: &[u8] = &[0x45, 0, 0, 20];

    fn ethernet(ether_type: u16, rest: &[u8]) -> Vec<u8> {
        let mut frame = vec![0u8; 12];
        frame.extend_from_slice(&ether_type.to_be_bytes());
        frame.extend_from_slice(rest);
        frame
    }

    #[test]
    fn ethernet_ipv4() {
        let frame = ethernet(ETHERTYPE_IPV4, IP);
        assert_eq!(network_layer(1, &frame), Ok(Network::Ip(IP)));
    }

    #[test]
    fn ethernet_arp_and_lldp() {
        let frame = ethernet(0x0806, &[0; 28]);
        assert_eq!(network_layer(1, &frame), Ok(Network::Arp));
        let frame = ethernet(0x88cc, &[0; 28]);
        assert_eq!(network_layer(1, &frame), Ok(Network::Other));
    }

    #[test]
    fn vlan_and_qinq_and_four_tags() {
        let mut inner = vec![0x00, 0x05, 0x08, 0x00];
        inner.extend_from_slice(IP);
        assert_eq!(
            network_layer(1, &ethernet(ETHERTYPE_VLAN, &inner)),
            Ok(Network::Ip(IP))
        );
        let mut qinq = vec![0x00, 0x07, 0x81, 0x00];
        qinq.extend_from_slice(&inner);
        assert_eq!(
            network_layer(1, &ethernet(ETHERTYPE_QINQ, &qinq)),
            Ok(Network::Ip(IP))
        );
        let mut four = Vec::new();
        for _ in 0..3 {
            four.extend_from_slice(&[0x00, 0x01, 0x81, 0x00]);
        }
        four.extend_from_slice(&inner);
        assert_eq!(
            network_layer(1, &ethernet(ETHERTYPE_VLAN, &four)),
            Ok(Network::Ip(IP))
        );
    }

    #[test]
    fn cut_vlan_tag_is_malformed() {
        let frame = ethernet(ETHERTYPE_VLAN, &[0x00, 0x05]);
        assert!(matches!(
            network_layer(1, &frame),
            Err(LinkError::Malformed(_))
        ));
    }

    #[test]
    fn linux_sll_and_sll2() {
        let mut sll = vec![0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x08, 0x00];
        sll.extend_from_slice(IP);
        assert_eq!(network_layer(113, &sll), Ok(Network::Ip(IP)));
        let mut sll2 = vec![
            0x86, 0xdd, 0, 0, 0, 0, 0, 2, 0, 1, 4, 6, 1, 2, 3, 4, 5, 6, 0, 0,
        ];
        sll2.extend_from_slice(IP);
        assert_eq!(network_layer(276, &sll2), Ok(Network::Ip(IP)));
        let mut netlink = sll2.clone();
        netlink[8..10].copy_from_slice(&ARPHRD_NETLINK.to_be_bytes());
        assert_eq!(network_layer(276, &netlink), Ok(Network::Other));
    }

    #[test]
    fn null_both_byte_orders_and_loop() {
        for family in [2u32, 24, 28, 30] {
            let mut le = family.to_le_bytes().to_vec();
            le.extend_from_slice(IP);
            assert_eq!(network_layer(0, &le), Ok(Network::Ip(IP)));
            let mut be = family.to_be_bytes().to_vec();
            be.extend_from_slice(IP);
            assert_eq!(network_layer(0, &be), Ok(Network::Ip(IP)));
            assert_eq!(network_layer(108, &be), Ok(Network::Ip(IP)));
        }
        let mut other = 7u32.to_le_bytes().to_vec();
        other.extend_from_slice(IP);
        assert_eq!(network_layer(0, &other), Ok(Network::Other));
        let mut ether_type = 0x0800u32.to_le_bytes().to_vec();
        ether_type.extend_from_slice(IP);
        assert_eq!(network_layer(0, &ether_type), Ok(Network::Ip(IP)));
    }

    #[test]
    fn raw_ip_link_types() {
        for lt in [12, 14, 101, 228, 229] {
            assert_eq!(network_layer(lt, IP), Ok(Network::Ip(IP)));
        }
        assert_eq!(network_layer(147, IP), Err(LinkError::Unsupported));
    }

    #[test]
    fn pppoe_and_mpls() {
        let mut pppoe = vec![0x11, 0, 0, 1, 0, 24, 0x00, 0x21];
        pppoe.extend_from_slice(IP);
        assert_eq!(
            network_layer(1, &ethernet(ETHERTYPE_PPPOE_SESSION, &pppoe)),
            Ok(Network::Ip(IP))
        );
        let mut mpls = vec![0, 0x10, 0x01, 64];
        mpls.extend_from_slice(IP);
        assert_eq!(
            network_layer(1, &ethernet(ETHERTYPE_MPLS_UNICAST, &mpls)),
            Ok(Network::Ip(IP))
        );
    }

    #[test]
    fn every_prefix_is_harmless() {
        let mut frame = ethernet(
            ETHERTYPE_VLAN,
            &[0x00, 0x05, 0x88, 0x64, 0x11, 0, 0, 1, 0, 24],
        );
        frame.extend_from_slice(&[0x00, 0x21]);
        frame.extend_from_slice(IP);
        for lt in [0, 1, 12, 108, 113, 276] {
            for cut in 0..=frame.len() {
                let _ = network_layer(lt, frame.get(..cut).unwrap_or_default());
            }
        }
    }
}
