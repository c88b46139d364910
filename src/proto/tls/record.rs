//! TLS record framing (RFC 8446 §5.1, RFC 5246 §6.2.1) and the SSLv2-compatible ClientHello
//! record (RFC 5246 Appendix E.2).
//!
//! [`next_record`] looks at the front of a byte buffer and says whether a whole record is there
//! ([`Framed::Complete`]), more bytes are needed ([`Framed::NeedMore`]), or the bytes cannot be a
//! TLS record ([`Framed::Invalid`]). The header is checked (content type, version, length bound)
//! before any body is awaited, so a garbage length never makes the caller buffer megabytes.
//! No function here panics on any input.

/// RFC 8446 §5.1 allows 2^14 bytes of plaintext; RFC 5246 §6.2.3 allows 2^14 + 2048 of
/// ciphertext. Anything longer is not TLS.
pub(crate) const MAX_RECORD_LEN: usize = (1 << 14) + 2048;
/// Record header size: type (1), legacy_record_version (2), length (2).
pub(crate) const HEADER_LEN: usize = 5;

pub(crate) const CONTENT_CHANGE_CIPHER_SPEC: u8 = 20;
pub(crate) const CONTENT_ALERT: u8 = 21;
pub(crate) const CONTENT_HANDSHAKE: u8 = 22;
pub(crate) const CONTENT_APPLICATION_DATA: u8 = 23;
pub(crate) const CONTENT_HEARTBEAT: u8 = 24;

/// A checked record header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RecordHeader {
    pub content_type: u8,
    pub version: u16,
    pub len: u16,
}

/// The outcome of framing one record at the front of a buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Framed<'a> {
    /// A whole record; `consumed` bytes (header and body) may be dropped from the buffer.
    Complete {
        header: RecordHeader,
        body: &'a [u8],
        consumed: usize,
    },
    /// An SSLv2-format record with a 2-byte header (RFC 5246 Appendix E.2 and the SSL 2.0 draft):
    /// `body` starts with the SSLv2 message type.
    Sslv2 { body: &'a [u8], consumed: usize },
    /// The header is plausible but the record is not all there yet.
    NeedMore,
    /// Not a TLS record: the reason, for an `Invalid` event.
    Invalid(String),
}

/// Whether a record header's fields are plausible: a known content type, major version 3 with
/// minor 0..=4, and a length within [`MAX_RECORD_LEN`]. Empty records are allowed only for
/// application data (RFC 5246 §6.2.1 permits zero-length application data fragments).
fn check_header(bytes: &[u8; HEADER_LEN]) -> Result<RecordHeader, String> {
    let [content_type, major, minor, len_hi, len_lo] = *bytes;
    if !(CONTENT_CHANGE_CIPHER_SPEC..=CONTENT_HEARTBEAT).contains(&content_type) {
        return Err(format!(
            "record content type {content_type} (0x{content_type:02x}) is not TLS"
        ));
    }
    let version = u16::from_be_bytes([major, minor]);
    if major != 3 || minor > 4 {
        return Err(format!("record version 0x{version:04x} is not TLS"));
    }
    let len = u16::from_be_bytes([len_hi, len_lo]);
    if usize::from(len) > MAX_RECORD_LEN {
        return Err(format!("record length {len} exceeds 2^14+2048"));
    }
    if len == 0 && content_type != CONTENT_APPLICATION_DATA {
        return Err(format!("empty record of content type {content_type}"));
    }
    Ok(RecordHeader {
        content_type,
        version,
        len,
    })
}

/// Which SSLv2 record formats a direction may carry at this point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sslv2Framing {
    /// TLS records only.
    Off,
    /// TLS records, or a 2-byte-header SSLv2 record (the first record of a direction: an
    /// SSLv2-compatible ClientHello, or an SSLv2 SERVER-HELLO).
    TwoByteHeader,
    /// An SSL 2.0 session: every record is SSLv2, with a 2- or 3-byte header.
    Session,
}

/// Frames the record at the front of `buf`.
pub(crate) fn next_record(buf: &[u8], sslv2: Sslv2Framing) -> Framed<'_> {
    match (sslv2, buf.first()) {
        (Sslv2Framing::Off, _) | (_, None) => {}
        (_, Some(b)) if b & 0x80 != 0 => return next_sslv2_record(buf),
        (Sslv2Framing::Session, Some(_)) => return next_sslv2_padded_record(buf),
        (Sslv2Framing::TwoByteHeader, Some(_)) => {}
    }
    let Some(header_bytes) = buf.first_chunk::<HEADER_LEN>() else {
        return match buf.first() {
            Some(&b) if !(CONTENT_CHANGE_CIPHER_SPEC..=CONTENT_HEARTBEAT).contains(&b) => {
                Framed::Invalid(format!("record content type {b} (0x{b:02x}) is not TLS"))
            }
            _ if buf.get(1).is_some_and(|&major| major != 3) => {
                Framed::Invalid("record version is not TLS".to_string())
            }
            _ => Framed::NeedMore,
        };
    };
    let header = match check_header(header_bytes) {
        Ok(header) => header,
        Err(reason) => return Framed::Invalid(reason),
    };
    let end = HEADER_LEN + usize::from(header.len);
    match buf.get(HEADER_LEN..end) {
        Some(body) => Framed::Complete {
            header,
            body,
            consumed: end,
        },
        None => Framed::NeedMore,
    }
}

/// SSLv2 record with the 2-byte header: the high bit of the first byte is set and the other 15
/// bits are the length (SSL 2.0 draft §1.2; RFC 5246 Appendix E.2).
fn next_sslv2_record(buf: &[u8]) -> Framed<'_> {
    let Some(&[hi, lo]) = buf.first_chunk::<2>() else {
        return Framed::NeedMore;
    };
    let len = usize::from(u16::from_be_bytes([hi & 0x7f, lo]));
    if len == 0 {
        return Framed::Invalid("empty SSLv2 record".to_string());
    }
    match buf.get(2..2 + len) {
        Some(body) => Framed::Sslv2 {
            body,
            consumed: 2 + len,
        },
        None => Framed::NeedMore,
    }
}

/// SSLv2 record with the 3-byte header (high bit clear): 14 bits of length, then a padding
/// length byte (SSL 2.0 draft §1.2). `body` excludes the header.
fn next_sslv2_padded_record(buf: &[u8]) -> Framed<'_> {
    let Some(&[hi, lo, _padding]) = buf.first_chunk::<3>() else {
        return Framed::NeedMore;
    };
    let len = usize::from(u16::from_be_bytes([hi & 0x3f, lo]));
    if len == 0 {
        return Framed::Invalid("empty SSLv2 record".to_string());
    }
    match buf.get(3..3 + len) {
        Some(body) => Framed::Sslv2 {
            body,
            consumed: 3 + len,
        },
        None => Framed::NeedMore,
    }
}

/// A plausible TLS record header at the front of `buf` (for resuming after a gap).
pub(crate) fn plausible_header(buf: &[u8]) -> bool {
    buf.first_chunk::<HEADER_LEN>()
        .is_some_and(|header| check_header(header).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn complete_record_is_framed() {
        let bytes = [22, 3, 1, 0, 2, 0xaa, 0xbb, 0xcc];
        match next_record(&bytes, Sslv2Framing::Off) {
            Framed::Complete {
                header,
                body,
                consumed,
            } => {
                assert_eq!(header.content_type, 22);
                assert_eq!(header.version, 0x0301);
                assert_eq!(body, &[0xaa, 0xbb]);
                assert_eq!(consumed, 7);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn every_prefix_needs_more() {
        let bytes = [23, 3, 3, 0, 3, 1, 2, 3];
        for cut in 0..bytes.len() {
            assert_eq!(
                next_record(&bytes[..cut], Sslv2Framing::Off),
                Framed::NeedMore,
                "cut {cut}"
            );
        }
    }

    #[test]
    fn garbage_is_invalid_early() {
        assert!(matches!(
            next_record(b"HTTP/1.1 400", Sslv2Framing::Off),
            Framed::Invalid(_)
        ));
        assert!(matches!(
            next_record(b"H", Sslv2Framing::Off),
            Framed::Invalid(_)
        ));
        assert!(matches!(
            next_record(&[22, 2], Sslv2Framing::Off),
            Framed::Invalid(_)
        ));
        assert!(matches!(
            next_record(&[22, 3, 9, 0, 1], Sslv2Framing::Off),
            Framed::Invalid(_)
        ));
        assert!(matches!(
            next_record(&[10, 0, 0, 0, 0], Sslv2Framing::Off),
            Framed::Invalid(_)
        ));
    }

    #[test]
    fn oversized_record_is_invalid() {
        let bytes = [23, 3, 3, 0x48, 0x01];
        assert!(matches!(
            next_record(&bytes, Sslv2Framing::Off),
            Framed::Invalid(_)
        ));
        let max = [23, 3, 3, 0x48, 0x00];
        assert_eq!(next_record(&max, Sslv2Framing::Off), Framed::NeedMore);
    }

    #[test]
    fn sslv2_record_only_when_allowed() {
        let bytes = [0x80, 0x03, 1, 0, 2];
        assert!(matches!(
            next_record(&bytes, Sslv2Framing::TwoByteHeader),
            Framed::Sslv2 { consumed: 5, .. }
        ));
        assert!(matches!(
            next_record(&bytes, Sslv2Framing::Off),
            Framed::Invalid(_)
        ));
        for cut in 0..bytes.len() {
            assert_eq!(
                next_record(&bytes[..cut], Sslv2Framing::TwoByteHeader),
                Framed::NeedMore
            );
        }
    }

    #[test]
    fn sslv2_session_accepts_three_byte_headers() {
        let bytes = [0x00, 0x02, 0x01, 0xaa, 0xbb];
        assert!(matches!(
            next_record(&bytes, Sslv2Framing::Session),
            Framed::Sslv2 { consumed: 5, .. }
        ));
        for cut in 0..bytes.len() {
            assert_eq!(
                next_record(&bytes[..cut], Sslv2Framing::Session),
                Framed::NeedMore
            );
        }
    }
}
