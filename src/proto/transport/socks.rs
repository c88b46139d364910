//! SOCKS messages (SOCKS4 and 4a; SOCKS5, RFC 1928, with RFC 1929 user/password
//! sub-negotiation): each function reads one message from the start of a direction's bytes and
//! returns its length, need more, or invalid. The password is skipped, never kept.

use super::parse::Parse;
use std::net::{Ipv4Addr, Ipv6Addr};

/// RFC 1928 §3: the client's version identifier / method selection message.
pub(crate) fn greeting(b: &[u8]) -> Parse<Vec<u8>> {
    let (Some(&ver), Some(&n)) = (b.first(), b.get(1)) else {
        return Parse::NeedMore;
    };
    if ver != 5 || n == 0 {
        return Parse::Invalid("not a SOCKS5 greeting");
    }
    let len = 2 + usize::from(n);
    match b.get(2..len) {
        Some(methods) => Parse::Complete {
            len,
            message: methods.to_vec(),
        },
        None => Parse::NeedMore,
    }
}

/// RFC 1928 §3: the server's METHOD selection (0xFF: no acceptable method).
pub(crate) fn method_choice(b: &[u8]) -> Parse<u8> {
    match b {
        [] | [5] => Parse::NeedMore,
        [5, method, ..] => Parse::Complete {
            len: 2,
            message: *method,
        },
        _ => Parse::Invalid("not a SOCKS5 method selection"),
    }
}

/// RFC 1929 §2: VER=1, ULEN, UNAME, PLEN, PASSWD. Returns the user name's length only.
pub(crate) fn auth_request(b: &[u8]) -> Parse<usize> {
    match b.first() {
        None => return Parse::NeedMore,
        Some(1) => {}
        Some(_) => return Parse::Invalid("not a SOCKS5 user/password request"),
    }
    let Some(&ulen) = b.get(1) else {
        return Parse::NeedMore;
    };
    let plen_at = 2 + usize::from(ulen);
    let Some(&plen) = b.get(plen_at) else {
        return Parse::NeedMore;
    };
    let len = plen_at + 1 + usize::from(plen);
    if b.len() < len {
        return Parse::NeedMore;
    }
    Parse::Complete {
        len,
        message: usize::from(ulen),
    }
}

/// RFC 1929 §2: VER=1, STATUS (0: success).
pub(crate) fn auth_reply(b: &[u8]) -> Parse<u8> {
    match b {
        [] | [1] => Parse::NeedMore,
        [1, status, ..] => Parse::Complete {
            len: 2,
            message: *status,
        },
        _ => Parse::Invalid("not a SOCKS5 user/password reply"),
    }
}

/// A SOCKS5 request or reply: the command (request) or reply code, and the address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Socks5Message {
    /// CMD in a request (1 CONNECT, 2 BIND, 3 UDP ASSOCIATE), REP in a reply.
    pub code: u8,
    /// "host:port", "ip:port" or "[ip6]:port".
    pub address: String,
}

/// RFC 1928 §4 (request) and §6 (reply) share one layout: VER, CMD/REP, RSV, ATYP, ADDR, PORT.
pub(crate) fn request_or_reply5(b: &[u8]) -> Parse<Socks5Message> {
    let Some(&[ver, code, _rsv, atyp]) = b.get(..4) else {
        return if b.first().is_some_and(|&v| v != 5) {
            Parse::Invalid("not a SOCKS5 request or reply")
        } else {
            Parse::NeedMore
        };
    };
    if ver != 5 {
        return Parse::Invalid("not a SOCKS5 request or reply");
    }
    let (host, port_at) = match atyp {
        1 => match b.get(4..8) {
            Some(&[a0, a1, a2, a3]) => (Ipv4Addr::new(a0, a1, a2, a3).to_string(), 8),
            _ => return Parse::NeedMore,
        },
        4 => match b.get(4..).and_then(<[u8]>::first_chunk::<16>) {
            Some(&o) => (format!("[{}]", Ipv6Addr::from(o)), 20),
            None => return Parse::NeedMore,
        },
        3 => {
            let Some(&n) = b.get(4) else {
                return Parse::NeedMore;
            };
            let end = 5 + usize::from(n);
            match b.get(5..end) {
                Some(name) => (String::from_utf8_lossy(name).into_owned(), end),
                None => return Parse::NeedMore,
            }
        }
        _ => return Parse::Invalid("SOCKS5 address type unknown"),
    };
    let Some(&[hi, lo]) = b.get(port_at..port_at + 2) else {
        return Parse::NeedMore;
    };
    Parse::Complete {
        len: port_at + 2,
        message: Socks5Message {
            code,
            address: format!("{host}:{}", u16::from_be_bytes([hi, lo])),
        },
    }
}

/// SOCKS4 CONNECT or BIND: VN=4, CD, DSTPORT, DSTIP, USERID, NUL; SOCKS4a adds a host name
/// and NUL when DSTIP is 0.0.0.x with x != 0. Returns the target "host:port".
pub(crate) fn request4(b: &[u8]) -> Parse<String> {
    match b {
        [] | [4] => return Parse::NeedMore,
        [4, 1 | 2, ..] => {}
        _ => return Parse::Invalid("not a SOCKS4 request"),
    }
    let Some((&[_, _, p0, p1, a, b1, c, d], rest)) = b.split_first_chunk::<8>() else {
        return Parse::NeedMore;
    };
    // The user id is short; one that never ends is not SOCKS4.
    let Some(user_end) = rest.iter().take(256).position(|&x| x == 0) else {
        return if rest.len() >= 256 {
            Parse::Invalid("SOCKS4 user id never ends")
        } else {
            Parse::NeedMore
        };
    };
    let port = u16::from_be_bytes([p0, p1]);
    let mut len = 8 + user_end + 1;
    let host = if a == 0 && b1 == 0 && c == 0 && d != 0 {
        // `user_end` is a position in `rest`, so the bytes after its NUL always exist.
        let after = rest.get(user_end + 1..).unwrap_or_default();
        let Some(host_end) = after.iter().take(256).position(|&x| x == 0) else {
            return if after.len() >= 256 {
                Parse::Invalid("SOCKS4a host name never ends")
            } else {
                Parse::NeedMore
            };
        };
        len += host_end + 1;
        String::from_utf8_lossy(after.get(..host_end).unwrap_or_default()).into_owned()
    } else {
        Ipv4Addr::new(a, b1, c, d).to_string()
    };
    Parse::Complete {
        len,
        message: format!("{host}:{port}"),
    }
}

/// SOCKS4 reply: VN=0, CD (90 granted, 91-93 refused), port, address. Returns CD.
pub(crate) fn reply4(b: &[u8]) -> Parse<u8> {
    match b {
        [] => Parse::NeedMore,
        &[0, code, _, _, _, _, _, _, ..] => Parse::Complete {
            len: 8,
            message: code,
        },
        [0, ..] => Parse::NeedMore,
        _ => Parse::Invalid("not a SOCKS4 reply"),
    }
}

/// RFC 1928 §6 reply codes.
pub(crate) fn reply5_name(code: u8) -> &'static str {
    match code {
        0 => "succeeded",
        1 => "general SOCKS server failure",
        2 => "connection not allowed by ruleset",
        3 => "network unreachable",
        4 => "host unreachable",
        5 => "connection refused",
        6 => "TTL expired",
        7 => "command not supported",
        8 => "address type not supported",
        _ => "unassigned",
    }
}

/// SOCKS4 reply codes (the SOCKS4 protocol description, "CD").
pub(crate) fn reply4_name(code: u8) -> &'static str {
    match code {
        90 => "request granted",
        91 => "request rejected or failed",
        92 => "rejected: cannot reach the client's identd",
        93 => "rejected: identd user id mismatch",
        _ => "unassigned",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socks5_handshake_messages_are_read() {
        assert_eq!(
            greeting(&[5, 2, 0, 2]),
            Parse::Complete {
                len: 4,
                message: vec![0, 2]
            }
        );
        assert_eq!(
            method_choice(&[5, 0xff]),
            Parse::Complete {
                len: 2,
                message: 0xff
            }
        );
        assert_eq!(
            auth_request(b"\x01\x03bob\x02pw"),
            Parse::Complete { len: 8, message: 3 }
        );
        assert_eq!(auth_reply(&[1, 0]), Parse::Complete { len: 2, message: 0 });
        let req = b"\x05\x01\x00\x03\x0bbroker.test\x07\x5b";
        assert_eq!(
            request_or_reply5(req),
            Parse::Complete {
                len: req.len(),
                message: Socks5Message {
                    code: 1,
                    address: "broker.test:1883".into()
                }
            }
        );
        let rep = [5, 2, 0, 1, 0, 0, 0, 0, 0, 0];
        assert!(matches!(
            request_or_reply5(&rep),
            Parse::Complete {
                len: 10,
                message: Socks5Message { code: 2, .. }
            }
        ));
        let v6 = [&[5u8, 0, 0, 4][..], &[0u8; 15], &[1], &[0x22, 0xb3]].concat();
        assert!(matches!(
            request_or_reply5(&v6),
            Parse::Complete { len: 22, message: Socks5Message { ref address, .. } } if address == "[::1]:8883"
        ));
    }

    #[test]
    fn socks4_and_4a_requests_and_replies() {
        let req = b"\x04\x01\x07\x5b\x0a\x00\x00\x01lab\x00";
        assert_eq!(
            request4(req),
            Parse::Complete {
                len: req.len(),
                message: "10.0.0.1:1883".into()
            }
        );
        let req4a = b"\x04\x01\x07\x5b\x00\x00\x00\x01\x00broker.test\x00";
        assert_eq!(
            request4(req4a),
            Parse::Complete {
                len: req4a.len(),
                message: "broker.test:1883".into()
            }
        );
        assert_eq!(
            reply4(&[0, 91, 0, 0, 0, 0, 0, 0]),
            Parse::Complete {
                len: 8,
                message: 91
            }
        );
    }

    #[test]
    fn every_prefix_needs_more() {
        let req = b"\x05\x01\x00\x03\x0bbroker.test\x07\x5b";
        let req4a = b"\x04\x01\x07\x5b\x00\x00\x00\x01\x00broker.test\x00";
        for n in 0..req.len() {
            assert_eq!(request_or_reply5(&req[..n]), Parse::NeedMore, "{n}");
        }
        for n in 0..req4a.len() {
            assert_eq!(request4(&req4a[..n]), Parse::NeedMore, "{n}");
        }
        let auth = b"\x01\x03bob\x02pw";
        for n in 0..auth.len() {
            assert_eq!(auth_request(&auth[..n]), Parse::NeedMore, "{n}");
        }
        for n in 0..8 {
            assert_eq!(reply4(&[0, 90, 0, 0, 0, 0, 0, 0][..n]), Parse::NeedMore);
        }
        assert!(matches!(greeting(&[0x16, 3, 1]), Parse::Invalid(_)));
        assert!(matches!(
            request_or_reply5(&[5, 1, 0, 9, 0]),
            Parse::Invalid(_)
        ));
        assert!(matches!(
            request4(&[[4u8, 1].as_slice(), &[1; 300]].concat()),
            Parse::Invalid(_)
        ));
    }
}
