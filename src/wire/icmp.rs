//! ICMP and ICMPv6 errors that quote a TCP segment, so the reader can hand them to the
//! connection they concern: destination unreachable (RFC 792 type 3; RFC 4443 §3.1 type 1) and,
//! for path MTU problems, fragmentation needed (type 3 code 4) and packet too big (RFC 4443
//! §3.2 type 2). An error quotes the IP header and at least the first 8 bytes of the datagram it
//! answers (RFC 792; RFC 4443 §2.4 as much as fits): enough for the TCP ports.
//!
//! Guarantees: bounds-checked reads only; anything else is `None` (counted as ICMP).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// An ICMP error about a TCP segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IcmpError {
    /// Who sent the error (a router or the destination host).
    pub from: IpAddr,
    pub v6: bool,
    pub icmp_type: u8,
    pub code: u8,
    /// The quoted segment's addresses and ports, as that segment was sent.
    pub src: IpAddr,
    pub dst: IpAddr,
    pub src_port: u16,
    pub dst_port: u16,
}

const PROTO_TCP: u8 = 6;

fn be16(data: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*data.get(at)?, *data.get(at + 1)?]))
}

/// The ports of a quoted TCP header (its first 4 bytes).
fn ports(tcp: &[u8]) -> Option<(u16, u16)> {
    Some((be16(tcp, 0)?, be16(tcp, 2)?))
}

/// An ICMPv4 message (`message` from its type byte) sent by `from`.
pub(crate) fn icmpv4_error(from: IpAddr, message: &[u8]) -> Option<IcmpError> {
    let (&icmp_type, &code) = (message.first()?, message.get(1)?);
    if icmp_type != 3 {
        return None;
    }
    let quoted = message.get(8..)?;
    let version_ihl = *quoted.first()?;
    if version_ihl >> 4 != 4 || *quoted.get(9)? != PROTO_TCP {
        return None;
    }
    let header_len = usize::from(version_ihl & 0x0f) * 4;
    let addr = |at: usize| -> Option<IpAddr> {
        let b = quoted.get(at..at + 4)?;
        Some(IpAddr::V4(Ipv4Addr::new(
            *b.first()?,
            *b.get(1)?,
            *b.get(2)?,
            *b.get(3)?,
        )))
    };
    let (src_port, dst_port) = ports(quoted.get(header_len..)?)?;
    Some(IcmpError {
        from,
        v6: false,
        icmp_type,
        code,
        src: addr(12)?,
        dst: addr(16)?,
        src_port,
        dst_port,
    })
}

/// An ICMPv6 message sent by `from`. Only quoted segments without extension headers are
/// followed (the next header right after the fixed 40 bytes is TCP).
pub(crate) fn icmpv6_error(from: IpAddr, message: &[u8]) -> Option<IcmpError> {
    let (&icmp_type, &code) = (message.first()?, message.get(1)?);
    if !matches!(icmp_type, 1 | 2) {
        return None;
    }
    let quoted = message.get(8..)?;
    if quoted.first()? >> 4 != 6 || *quoted.get(6)? != PROTO_TCP {
        return None;
    }
    let addr = |at: usize| -> Option<IpAddr> {
        let b: [u8; 16] = quoted.get(at..at + 16)?.try_into().ok()?;
        Some(IpAddr::V6(Ipv6Addr::from(b)))
    };
    let (src_port, dst_port) = ports(quoted.get(40..)?)?;
    Some(IcmpError {
        from,
        v6: true,
        icmp_type,
        code,
        src: addr(8)?,
        dst: addr(24)?,
        src_port,
        dst_port,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quoted_v4_syn() -> Vec<u8> {
        let mut ip = vec![0x45, 0, 0, 60, 0, 0, 0x40, 0, 64, 6, 0, 0];
        ip.extend_from_slice(&[10, 78, 0, 2, 10, 78, 0, 28]);
        ip.extend_from_slice(&[0xc3, 0x50, 0x07, 0x5b, 0, 0, 0, 1]);
        ip
    }

    #[test]
    fn an_admin_prohibited_error_names_the_quoted_connection() {
        let mut message = vec![3, 13, 0, 0, 0, 0, 0, 0];
        message.extend_from_slice(&quoted_v4_syn());
        let from = IpAddr::V4(Ipv4Addr::new(10, 78, 0, 28));
        let e = icmpv4_error(from, &message);
        assert_eq!(
            e.map(|e| (e.icmp_type, e.code, e.src_port, e.dst_port)),
            Some((3, 13, 50000, 1883))
        );
        assert_eq!(
            e.map(|e| e.dst),
            Some(IpAddr::V4(Ipv4Addr::new(10, 78, 0, 28)))
        );
    }

    #[test]
    fn echoes_other_protocols_and_every_prefix_are_not_errors() {
        let from = IpAddr::V4(Ipv4Addr::LOCALHOST);
        assert_eq!(icmpv4_error(from, &[8, 0, 0, 0, 0, 1, 0, 1]), None);
        let mut udp = vec![3, 3, 0, 0, 0, 0, 0, 0];
        let mut quoted = quoted_v4_syn();
        quoted[9] = 17;
        udp.extend_from_slice(&quoted);
        assert_eq!(icmpv4_error(from, &udp), None);
        let mut message = vec![3, 13, 0, 0, 0, 0, 0, 0];
        message.extend_from_slice(&quoted_v4_syn());
        for cut in 0..message.len() {
            let _ = icmpv4_error(from, message.get(..cut).unwrap_or_default());
            let _ = icmpv6_error(from, message.get(..cut).unwrap_or_default());
        }
    }
}
