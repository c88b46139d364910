//! PROXY protocol headers (HAProxy's "The PROXY protocol", versions 1 and 2): the line or block
//! a load balancer puts in front of a connection to name the original client. Takes the first
//! bytes of the client's direction; returns the header's length and addresses, need more, or
//! invalid. Version 1 is at most 107 bytes (spec §2.1); version 2 is 16 bytes plus its length.

use super::parse::Parse;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The version 2 signature (spec §2.2).
pub(crate) const V2_SIGNATURE: &[u8; 12] = b"\r\n\r\n\0\r\nQUIT\n";
const V1_PREFIX: &[u8] = b"PROXY ";
/// Spec §2.1: "a receiver must wait for up to 107 bytes".
const V1_MAX: usize = 107;

/// What a PROXY header says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProxyHeader {
    pub version: u8,
    /// `None` for v1 `UNKNOWN`, v2 `LOCAL` or an address family other than IPv4/IPv6.
    pub source: Option<SocketAddr>,
    pub destination: Option<SocketAddr>,
}

/// True when `bytes` start like a PROXY header, or are a prefix of one.
pub(crate) fn may_start(bytes: &[u8]) -> bool {
    let n = bytes.len().min(V1_PREFIX.len());
    let m = bytes.len().min(V2_SIGNATURE.len());
    bytes.get(..n) == V1_PREFIX.get(..n) || bytes.get(..m) == V2_SIGNATURE.get(..m)
}

pub(crate) fn parse(bytes: &[u8]) -> Parse<ProxyHeader> {
    if bytes.starts_with(V1_PREFIX) {
        parse_v1(bytes)
    } else if bytes.starts_with(V2_SIGNATURE) {
        parse_v2(bytes)
    } else if may_start(bytes) {
        Parse::NeedMore
    } else {
        Parse::Invalid("not a PROXY protocol header")
    }
}

/// "PROXY TCP4 192.0.2.1 198.51.100.1 56324 443\r\n" (spec §2.1).
fn parse_v1(bytes: &[u8]) -> Parse<ProxyHeader> {
    let window = bytes.get(..V1_MAX).unwrap_or(bytes);
    let Some(end) = window.windows(2).position(|w| w == b"\r\n") else {
        return if bytes.len() >= V1_MAX {
            Parse::Invalid("PROXY v1 line longer than 107 bytes")
        } else {
            Parse::NeedMore
        };
    };
    // `end` was found inside `window`, so the slice is always there.
    let Some(Ok(line)) = window.get(..end).map(std::str::from_utf8) else {
        return Parse::Invalid("PROXY v1 line is not text");
    };
    let fields: Vec<&str> = line.split(' ').collect();
    let len = end + 2;
    match fields.as_slice() {
        ["PROXY", "UNKNOWN", ..] => Parse::Complete {
            len,
            message: ProxyHeader {
                version: 1,
                source: None,
                destination: None,
            },
        },
        ["PROXY", family @ ("TCP4" | "TCP6"), src, dst, sport, dport] => {
            let (Ok(src), Ok(dst), Ok(sport), Ok(dport)) = (
                src.parse::<IpAddr>(),
                dst.parse::<IpAddr>(),
                sport.parse::<u16>(),
                dport.parse::<u16>(),
            ) else {
                return Parse::Invalid("PROXY v1 address or port unreadable");
            };
            if (*family == "TCP4") != src.is_ipv4() || src.is_ipv4() != dst.is_ipv4() {
                return Parse::Invalid("PROXY v1 address family mismatch");
            }
            Parse::Complete {
                len,
                message: ProxyHeader {
                    version: 1,
                    source: Some(SocketAddr::new(src, sport)),
                    destination: Some(SocketAddr::new(dst, dport)),
                },
            }
        }
        _ => Parse::Invalid("PROXY v1 line malformed"),
    }
}

/// A v2 IPv4 address block: source and destination address, then their ports (12 bytes).
/// `None` when the block is shorter.
fn v2_addresses_ipv4(body: &[u8]) -> Option<(SocketAddr, SocketAddr)> {
    let &[s0, s1, s2, s3, d0, d1, d2, d3, sp0, sp1, dp0, dp1] = body.first_chunk::<12>()?;
    Some((
        SocketAddr::new(
            Ipv4Addr::new(s0, s1, s2, s3).into(),
            u16::from_be_bytes([sp0, sp1]),
        ),
        SocketAddr::new(
            Ipv4Addr::new(d0, d1, d2, d3).into(),
            u16::from_be_bytes([dp0, dp1]),
        ),
    ))
}

/// A v2 IPv6 address block: source and destination address, then their ports (36 bytes).
/// `None` when the block is shorter.
fn v2_addresses_ipv6(body: &[u8]) -> Option<(SocketAddr, SocketAddr)> {
    let (&src, rest) = body.split_first_chunk::<16>()?;
    let (&dst, rest) = rest.split_first_chunk::<16>()?;
    let &[sp0, sp1, dp0, dp1, ..] = rest else {
        return None;
    };
    Some((
        SocketAddr::new(Ipv6Addr::from(src).into(), u16::from_be_bytes([sp0, sp1])),
        SocketAddr::new(Ipv6Addr::from(dst).into(), u16::from_be_bytes([dp0, dp1])),
    ))
}

/// 12-byte signature, version/command, family/transport, 2-byte length, addresses, TLVs
/// (spec §2.2).
fn parse_v2(bytes: &[u8]) -> Parse<ProxyHeader> {
    let Some(&[ver_cmd, fam, hi, lo]) = bytes.get(12..16) else {
        return Parse::NeedMore;
    };
    if ver_cmd >> 4 != 2 {
        return Parse::Invalid("PROXY v2 version nibble is not 2");
    }
    let command = ver_cmd & 0x0f;
    if command > 1 {
        return Parse::Invalid("PROXY v2 command is neither LOCAL nor PROXY");
    }
    let len = 16 + usize::from(u16::from_be_bytes([hi, lo]));
    let Some(body) = bytes.get(16..len) else {
        return Parse::NeedMore;
    };
    let addresses = match (command, fam >> 4) {
        (1, 1) => v2_addresses_ipv4(body),
        (1, 2) => v2_addresses_ipv6(body),
        _ => None,
    };
    if command == 1 && matches!(fam >> 4, 1 | 2) && addresses.is_none() {
        return Parse::Invalid("PROXY v2 address block shorter than its family needs");
    }
    Parse::Complete {
        len,
        message: ProxyHeader {
            version: 2,
            source: addresses.map(|a| a.0),
            destination: addresses.map(|a| a.1),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v2_tcp4() -> Vec<u8> {
        let mut b = V2_SIGNATURE.to_vec();
        b.extend_from_slice(&[
            0x21, 0x11, 0, 12, 10, 0, 0, 2, 10, 0, 0, 1, 0xc3, 0x50, 0x07, 0x5b,
        ]);
        b
    }

    #[test]
    fn v1_tcp4_line_is_read_and_its_length_returned() {
        let line = b"PROXY TCP4 10.0.0.2 10.0.0.1 50000 1883\r\n\x10\x0c";
        let Parse::Complete { len, message } = parse(line) else {
            panic!("not complete")
        };
        assert_eq!(len, line.len() - 2);
        assert_eq!(message.source, Some("10.0.0.2:50000".parse().unwrap()));
        assert_eq!(message.destination, Some("10.0.0.1:1883".parse().unwrap()));
    }

    #[test]
    fn v1_unknown_and_v2_local_carry_no_address() {
        assert!(matches!(
            parse(b"PROXY UNKNOWN\r\n"),
            Parse::Complete {
                len: 15,
                message: ProxyHeader { source: None, .. }
            }
        ));
        let mut local = V2_SIGNATURE.to_vec();
        local.extend_from_slice(&[0x20, 0x00, 0, 0]);
        assert!(matches!(
            parse(&local),
            Parse::Complete {
                len: 16,
                message: ProxyHeader {
                    version: 2,
                    source: None,
                    ..
                }
            }
        ));
    }

    #[test]
    fn v2_tcp4_addresses_and_tlvs_are_skipped_by_length() {
        let mut b = v2_tcp4();
        b[15] = 15; // three bytes of TLV after the addresses
        b.extend_from_slice(&[0x04, 0, 0, 0x10]);
        let Parse::Complete { len, message } = parse(&b) else {
            panic!("not complete")
        };
        assert_eq!(len, 31);
        assert_eq!(message.source, Some("10.0.0.2:50000".parse().unwrap()));
        assert_eq!(message.destination, Some("10.0.0.1:1883".parse().unwrap()));
    }

    #[test]
    fn every_prefix_needs_more_and_other_bytes_are_invalid() {
        let v1 = b"PROXY TCP6 fd78::2 fd78::1 50000 1883\r\n";
        for whole in [&v1[..], &v2_tcp4()] {
            for n in 0..whole.len() {
                assert_eq!(parse(&whole[..n]), Parse::NeedMore, "{n}");
            }
        }
        assert!(matches!(parse(b"\x16\x03\x01"), Parse::Invalid(_)));
        assert!(matches!(
            parse(b"PROXY TCP4 x y 1 2\r\n"),
            Parse::Invalid(_)
        ));
        assert!(matches!(parse(&[b'P'; 200][..]), Parse::Invalid(_)));
        assert!(matches!(
            parse(&[b"PROXY ".as_slice(), &[b'a'; 120]].concat()),
            Parse::Invalid(_)
        ));
    }
}
