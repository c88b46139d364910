//! Protocol detection on the first bytes of a direction: does it look like TLS?
//!
//! A TLS record header (RFC 8446 §5.1): content type 20..=24, version 0x0300..=0x0304, length
//! 1..=2^14+2048; or an SSLv2-format ClientHello (RFC 5246 Appendix E.2): 2-byte header with the
//! high bit set, length below 16 KiB, message type 1, version 0x0002 or 0x03xx. Valid MQTT never
//! matches a TLS record header (a CONNECT is 0x10; 0x14..=0x18 would be a CONNECT with reserved
//! flags set); an MQTT SUBSCRIBE (0x82) is told apart from an SSLv2 hello by its third to fifth
//! bytes. Only the client's SSLv2 hello is recognised, not an SSLv2 SERVER-HELLO.

use super::record::MAX_RECORD_LEN;
use crate::proto::Sniffed;

fn check_prefix(data: &[u8], expected: &[fn(u8) -> bool]) -> Option<bool> {
    for (byte, ok) in data.iter().zip(expected) {
        if !ok(*byte) {
            return Some(false);
        }
    }
    (data.len() >= expected.len()).then_some(true)
}

/// Classifies the first bytes of a direction.
pub(crate) fn sniff(data: &[u8]) -> Sniffed {
    let Some(&first) = data.first() else {
        return Sniffed::NeedMore;
    };
    let verdict = if first & 0x80 != 0 {
        check_prefix(
            data,
            &[
                // Lengths of 16 KiB and more are not ClientHellos; this also keeps MQTT
                // PINGREQ (0xc0), PINGRESP (0xd0), DISCONNECT (0xe0) and AUTH (0xf0) out.
                |b0| b0 < 0xc0,
                |_| true,
                |msg_type| msg_type == 1,
                |major| major == 0 || major == 3,
                |minor| minor <= 4,
            ],
        )
    } else {
        check_prefix(
            data,
            &[
                |content_type| (20..=24).contains(&content_type),
                |major| major == 3,
                |minor| minor <= 4,
                |_| true,
                |_| true,
            ],
        )
    };
    match verdict {
        None => Sniffed::NeedMore,
        Some(false) => Sniffed::Unknown,
        Some(true) => {
            let [b0, b1, _, b3, b4] = match data.first_chunk::<5>() {
                Some(header) => *header,
                None => return Sniffed::NeedMore,
            };
            let plausible = if b0 & 0x80 != 0 {
                let len = u16::from_be_bytes([b0 & 0x7f, b1]);
                // msg type, version, three lengths: at least 9 bytes of body.
                len >= 9 && (b3 == 3 || b4 == 2)
            } else {
                let len = usize::from(u16::from_be_bytes([b3, b4]));
                (1..=MAX_RECORD_LEN).contains(&len)
            };
            if plausible {
                Sniffed::Tls
            } else {
                Sniffed::Unknown
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_hello_record_is_tls() {
        assert_eq!(sniff(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01]), Sniffed::Tls);
        assert_eq!(sniff(&[0x15, 0x03, 0x03, 0x00, 0x02]), Sniffed::Tls);
    }

    #[test]
    fn short_plausible_prefix_needs_more() {
        assert_eq!(sniff(&[]), Sniffed::NeedMore);
        assert_eq!(sniff(&[0x16]), Sniffed::NeedMore);
        assert_eq!(sniff(&[0x16, 0x03, 0x01, 0x02]), Sniffed::NeedMore);
        assert_eq!(sniff(&[0x80, 0x2e, 0x01]), Sniffed::NeedMore);
    }

    #[test]
    fn mqtt_and_http_are_unknown() {
        assert_eq!(sniff(&[0x10, 0x12, 0x00, 0x04, b'M']), Sniffed::Unknown);
        assert_eq!(sniff(b"HTTP/1.1 400 Bad Request"), Sniffed::Unknown);
        assert_eq!(sniff(b"GET / HTTP/1.1"), Sniffed::Unknown);
        assert_eq!(sniff(&[0x16, 0x02]), Sniffed::Unknown);
        assert_eq!(sniff(&[0x16, 0x03, 0x01, 0x00, 0x00]), Sniffed::Unknown);
        assert_eq!(sniff(&[0x17, 0x03, 0x03, 0x48, 0x01]), Sniffed::Unknown);
    }

    #[test]
    fn sslv2_client_hello_is_tls() {
        assert_eq!(
            sniff(&[0x80, 0x2e, 0x01, 0x03, 0x01, 0x00, 0x15]),
            Sniffed::Tls
        );
        assert_eq!(
            sniff(&[0x80, 0x2e, 0x01, 0x00, 0x02, 0x00, 0x15]),
            Sniffed::Tls
        );
        assert_eq!(sniff(&[0x80, 0x2e, 0x04, 0x03, 0x01]), Sniffed::Unknown);
    }

    #[test]
    fn mqtt_packets_with_the_high_bit_are_unknown() {
        assert_eq!(sniff(&[0xc0, 0x00]), Sniffed::Unknown);
        assert_eq!(sniff(&[0xd0, 0x00]), Sniffed::Unknown);
        assert_eq!(sniff(&[0xe0, 0x00]), Sniffed::Unknown);
        assert_eq!(
            sniff(&[0x82, 0x16, 0x00, 0x01, 0x00, 0x11]),
            Sniffed::Unknown
        );
        assert_eq!(sniff(&[0x90, 0x03, 0x00, 0x01, 0x00]), Sniffed::Unknown);
    }
}
