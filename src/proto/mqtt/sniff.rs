//! Recognising MQTT from the first bytes of one direction, on any port, and finding a plausible
//! packet start after a capture gap.
//!
//! A CONNECT with protocol name "MQTT" or "MQIsdp" (MQTT 3.1.1 §3.1.2.1) is certain. Without it
//! (a capture that starts mid-connection) a run of two packets (or one that ends exactly where
//! the bytes end) must each pass strict checks: legal type and flags, a remaining length the type
//! allows (with recognition-only upper bounds for control packets), and a head (first 64 bytes)
//! that decodes without a single violation as 3.1.1 or 5.0. A PUBLISH larger than the resync
//! window is judged on its topic. TLS records (0x16 0x03), HTTP text and random bytes fail these
//! checks within a few bytes. Nothing here panics or allocates more than a parse does; judging
//! one position costs at most a 64-byte parse.

use super::parser::{Framing, PacketType, Reader, Version, frame, parse_packet};
use crate::proto::Sniffed;

/// How many consecutive plausible packets make a mid-stream direction MQTT.
const RUN_FOR_CERTAINTY: usize = 2;
/// Bytes of a packet decoded to judge it.
const JUDGE_BYTES: usize = 64;
/// Stop walking after this many packets: they were all plausible.
const MAX_WALK: usize = 16;
/// A packet whose start is plausible but which is larger than this is judged on its head.
const HEAD_JUDGE_LEN: usize = super::state::RESYNC_WINDOW;

/// What the bytes at a position say about a packet starting there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Plausibility {
    /// A well-formed packet of `total_len` bytes (`complete`: all of it is in the buffer).
    Yes {
        total_len: usize,
        complete: bool,
    },
    No,
    NeedMore,
}

/// Guesses whether the first bytes of one direction are MQTT.
pub(crate) fn sniff(data: &[u8]) -> Sniffed {
    let Some(&first) = data.first() else {
        return Sniffed::NeedMore;
    };
    if first == 0x10 {
        return sniff_connect(data);
    }
    let mut pos = 0;
    let mut run = 0;
    while run < MAX_WALK {
        let Some(rest) = data.get(pos..) else {
            break;
        };
        if rest.is_empty() {
            // Ends exactly on a packet boundary: agreement of every length is strong evidence.
            return Sniffed::Mqtt;
        }
        match plausible(rest) {
            Plausibility::No => return Sniffed::Unknown,
            Plausibility::NeedMore => {
                return if run >= RUN_FOR_CERTAINTY {
                    Sniffed::Mqtt
                } else {
                    Sniffed::NeedMore
                };
            }
            Plausibility::Yes {
                total_len,
                complete,
            } => {
                if !complete {
                    // Judged on its head (a large PUBLISH): certain enough.
                    return Sniffed::Mqtt;
                }
                run += 1;
                pos += total_len;
            }
        }
    }
    Sniffed::Mqtt
}

/// A CONNECT is MQTT when its protocol name is "MQTT" (level 4, 5) or "MQIsdp" (level 3).
fn sniff_connect(data: &[u8]) -> Sniffed {
    let header_len = match frame(data) {
        Framing::Complete { header_len, .. } => header_len,
        Framing::NeedMore => return Sniffed::NeedMore,
        Framing::Invalid(_) => return Sniffed::Unknown,
    };
    let body = data.get(header_len..).unwrap_or(&[]);
    for (name, levels) in [
        (&b"\x00\x04MQTT"[..], &[4u8, 5][..]),
        (b"\x00\x06MQIsdp", &[3]),
    ] {
        let seen = body.len().min(name.len());
        if body.get(..seen) == name.get(..seen) {
            return match body.get(name.len()) {
                None => Sniffed::NeedMore,
                Some(level) if levels.contains(level) => Sniffed::Mqtt,
                Some(_) => Sniffed::Unknown,
            };
        }
    }
    Sniffed::Unknown
}

/// Whether a plausible MQTT packet starts at `buf[0]`: strict enough to resynchronise on after a
/// gap and to sniff a mid-stream direction.
pub(crate) fn plausible(buf: &[u8]) -> Plausibility {
    let Some(&first) = buf.first() else {
        return Plausibility::NeedMore;
    };
    let packet_type = PacketType::from_first_byte(first);
    let flags = first & 0x0f;
    if packet_type == PacketType::Reserved0 {
        return Plausibility::No;
    }
    if let Some(required) = packet_type.required_flags()
        && flags != required
    {
        return Plausibility::No;
    }
    if packet_type == PacketType::Publish && (flags >> 1) & 3 == 3 {
        return Plausibility::No;
    }
    let (header_len, total_len) = match frame(buf) {
        Framing::Complete {
            header_len,
            total_len,
        } => (header_len, total_len),
        Framing::NeedMore => return Plausibility::NeedMore,
        Framing::Invalid(_) => return Plausibility::No,
    };
    let body_len = total_len - header_len;
    if !length_allowed(packet_type, body_len) {
        return Plausibility::No;
    }
    // A CONNECT naming its protocol is a start whatever else is wrong in it (the violations
    // are then reported by the decoder, like a malformed property length).
    if packet_type == PacketType::Connect && flags == 0 && sniff_connect(buf) == Sniffed::Mqtt {
        return if buf.len() >= total_len {
            Plausibility::Yes {
                total_len,
                complete: true,
            }
        } else {
            Plausibility::NeedMore
        };
    }
    // Cheap test first (it rejects most offsets of binary payloads): the topic must fit.
    if packet_type == PacketType::Publish
        && let (Some(&hi), Some(&lo)) = (buf.get(header_len), buf.get(header_len + 1))
        && usize::from(u16::from_be_bytes([hi, lo])) + 2 > body_len
    {
        return Plausibility::No;
    }
    // Decoded as 3.1.1 and as 5.0 (as far as the bytes go: a prefix is decoded as partial, so
    // only what is present is judged); one clean reading is enough. Only the first
    // `JUDGE_BYTES` are decoded, so scanning every offset of a window stays linear.
    let judged = buf
        .get(..buf.len().min(total_len).min(JUDGE_BYTES))
        .unwrap_or(&[]);
    let clean = |v| parse_packet(judged, v).violations.is_empty();
    if !clean(Version::V3_1_1) && !clean(Version::V5) {
        return Plausibility::No;
    }
    if buf.len() >= total_len {
        return Plausibility::Yes {
            total_len,
            complete: true,
        };
    }
    if packet_type == PacketType::Publish && total_len > HEAD_JUDGE_LEN {
        return publish_head(buf.get(header_len..).unwrap_or(&[]), body_len, total_len);
    }
    Plausibility::NeedMore
}

/// Remaining lengths each type can have in 3.1.1 or 5.0, with upper bounds that are heuristics
/// for recognition only (a 5 KB PUBACK is legal but never seen; only PUBLISH and CONNECT carry
/// application data). Decoding itself never applies these bounds.
fn length_allowed(packet_type: PacketType, body_len: usize) -> bool {
    use PacketType::*;
    const CONTROL_MAX: usize = 2048;
    match packet_type {
        Connect => (10..=1 << 20).contains(&body_len),
        Connack => (2..=CONTROL_MAX).contains(&body_len),
        Publish => body_len >= 2,
        Puback | Pubrec | Pubrel | Pubcomp => (2..=CONTROL_MAX).contains(&body_len),
        Subscribe => (5..=1 << 16).contains(&body_len),
        Suback => (3..=CONTROL_MAX).contains(&body_len),
        Unsubscribe => (4..=1 << 16).contains(&body_len),
        Unsuback => (2..=CONTROL_MAX).contains(&body_len),
        Pingreq | Pingresp => body_len == 0,
        Disconnect | Auth => body_len <= CONTROL_MAX,
        Reserved0 => false,
    }
}

/// Judges a large PUBLISH on its topic: printable, no wildcard, at least 2 characters.
fn publish_head(body: &[u8], body_len: usize, total_len: usize) -> Plausibility {
    let mut r = Reader::new(body);
    let Some(len) = r.u16() else {
        return Plausibility::NeedMore;
    };
    if usize::from(len) + 2 > body_len || len < 2 {
        return Plausibility::No;
    }
    let Some(topic) = r.bytes(usize::from(len)) else {
        return Plausibility::NeedMore;
    };
    let printable = std::str::from_utf8(topic)
        .is_ok_and(|t| t.chars().all(|c| !c.is_control() && c != '+' && c != '#'));
    if printable {
        Plausibility::Yes {
            total_len,
            complete: false,
        }
    } else {
        Plausibility::No
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_is_certain_and_needs_its_name() {
        let c = b"\x10\x0c\x00\x04MQTT\x04\x02\x00\x3c\x00\x00";
        assert_eq!(sniff(c), Sniffed::Mqtt);
        assert_eq!(sniff(&c[..5]), Sniffed::NeedMore);
        let old = b"\x10\x0e\x00\x06MQIsdp\x03\x02\x00\x3c";
        assert_eq!(sniff(old), Sniffed::Mqtt);
        assert_eq!(sniff(b"\x10\x0c\x00\x04HTTP\x04"), Sniffed::Unknown);
    }

    #[test]
    fn tls_and_http_are_not_mqtt() {
        assert_eq!(
            sniff(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"),
            Sniffed::Unknown
        );
        assert_eq!(
            sniff(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
            Sniffed::Unknown
        );
        assert_eq!(sniff(b"HTTP/1.1 400 Bad Request\r\n"), Sniffed::Unknown);
        assert_eq!(sniff(b"POST /x HTTP/1.1\r\n"), Sniffed::Unknown);
        assert_eq!(sniff(b"SSH-2.0-OpenSSH_9.6\r\n"), Sniffed::Unknown);
    }

    #[test]
    fn midstream_runs_are_recognised() {
        assert_eq!(sniff(b"\xc0\x00"), Sniffed::Mqtt);
        assert_eq!(sniff(b"\xd0\x00"), Sniffed::Mqtt);
        assert_eq!(
            sniff(b"\x20\x02\x00\x00\x90\x03\x00\x01\x00"),
            Sniffed::Mqtt
        );
        assert_eq!(sniff(b"\x40\x02\x00\x05\x40"), Sniffed::NeedMore);
        assert_eq!(sniff(b"\x30\x07\x00\x03a/b"), Sniffed::NeedMore);
        assert_eq!(sniff(b"\x30\x07\x00\x03a/bxy\xc0\x00"), Sniffed::Mqtt);
    }

    #[test]
    fn tls_records_of_every_content_type_are_not_mqtt() {
        for content_type in [0x14u8, 0x15, 0x16, 0x17] {
            let record = [content_type, 3, 3, 0, 0x20, 0xaa, 0xbb, 0xcc, 0xdd, 0xee];
            assert_eq!(sniff(&record), Sniffed::Unknown, "{content_type:#x}");
        }
    }

    #[test]
    fn a_connect_naming_its_protocol_is_a_start_even_when_malformed() {
        // Property length 0xff 0x21 goes far beyond the packet (MQTT 5.0 §2.2.2.1).
        let connect = b"\x10\x12\x00\x04MQTT\x05\x02\x00\x3c\xff\x21\x00\x01c\x00\x00\x00";
        assert!(matches!(
            plausible(connect),
            Plausibility::Yes { complete: true, .. }
        ));
    }

    #[test]
    fn random_binary_is_rejected() {
        // A deterministic pseudo-random stream: most starts must be rejected outright.
        let mut rng = crate::test_rng::XorShift::new(0x1234_5678);
        let mut accepted = 0;
        for _ in 0..2000 {
            let mut buf = [0u8; 64];
            for b in &mut buf {
                *b = rng.byte();
            }
            if sniff(&buf) == Sniffed::Mqtt {
                accepted += 1;
            }
        }
        assert!(accepted <= 2, "{accepted} random buffers taken for MQTT");
    }
}
