//! Certificate messages: the TLS <= 1.2 layout (RFC 5246 §7.4.2: a u24-length list of
//! u24-length DER certificates) and the TLS 1.3 layout (RFC 8446 §4.4.2: a request context, then
//! entries of DER plus per-entry extensions), parsed by hand; each DER is summarised with
//! x509-parser (subject, issuer, serial, validity, SAN, SHA-256 of the DER).
//!
//! A DER that x509-parser rejects still yields a [`CertInfo`] with its fingerprint and
//! `parse_error` set, so a broken certificate stays visible. Nothing here panics.

use super::fingerprint::sha256_hex;
use super::message::CertInfo;
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

fn u24_at(bytes: &[u8], at: usize) -> Option<usize> {
    match bytes.get(at..at + 3) {
        Some(&[a, b, c]) => Some(usize::from(a) << 16 | usize::from(b) << 8 | usize::from(c)),
        _ => None,
    }
}

fn u16_at(bytes: &[u8], at: usize) -> Option<usize> {
    match bytes.get(at..at + 2) {
        Some(&[a, b]) => Some(usize::from(a) << 8 | usize::from(b)),
        _ => None,
    }
}

use crate::common::hex;

/// An IP address SAN entry as text (4 or 16 bytes), else hex.
fn ip_text(bytes: &[u8]) -> String {
    if let Ok(v4) = <[u8; 4]>::try_from(bytes) {
        return std::net::Ipv4Addr::from(v4).to_string();
    }
    if let Ok(v6) = <[u8; 16]>::try_from(bytes) {
        return std::net::Ipv6Addr::from(v6).to_string();
    }
    hex(bytes)
}

/// Summarises one DER certificate.
pub(crate) fn summarize_der(der: &[u8]) -> CertInfo {
    let sha256 = sha256_hex(der);
    let cert = match X509Certificate::from_der(der) {
        Ok((_, cert)) => cert,
        Err(err) => {
            return CertInfo {
                sha256,
                parse_error: Some(format!("X.509 does not parse: {err}")),
                ..CertInfo::default()
            };
        }
    };
    let registry = x509_parser::objects::oid_registry();
    let name = |n: &x509_parser::x509::X509Name<'_>| {
        n.to_string_with_registry(registry)
            .unwrap_or_else(|_| format!("DER:{}", hex(n.as_raw())))
    };
    let mut san = Vec::new();
    if let Ok(Some(ext)) = cert.subject_alternative_name() {
        for entry in &ext.value.general_names {
            match entry {
                GeneralName::DNSName(dns) => san.push((*dns).to_string()),
                GeneralName::IPAddress(ip) => san.push(ip_text(ip)),
                _ => {}
            }
        }
    }
    let validity = cert.validity();
    CertInfo {
        subject: name(cert.subject()),
        issuer: name(cert.issuer()),
        serial: hex(cert.raw_serial()),
        not_before: validity.not_before.timestamp(),
        not_after: validity.not_after.timestamp(),
        san,
        sha256,
        parse_error: None,
    }
}

/// TLS <= 1.2 Certificate body (RFC 5246 §7.4.2). An empty list is a client without a
/// certificate (RFC 5246 §7.4.6).
pub(crate) fn parse_certificate_tls12(body: &[u8]) -> Result<Vec<CertInfo>, String> {
    let list_len = u24_at(body, 0).ok_or("Certificate message shorter than its length")?;
    let mut list = body
        .get(3..3 + list_len)
        .ok_or("certificate_list overruns the message")?;
    let mut chain = Vec::new();
    while !list.is_empty() {
        let len = u24_at(list, 0).ok_or("truncated certificate length")?;
        let der = list
            .get(3..3 + len)
            .ok_or("certificate overruns the list")?;
        chain.push(summarize_der(der));
        list = list.get(3 + len..).unwrap_or_default();
    }
    Ok(chain)
}

/// TLS 1.3 Certificate body (RFC 8446 §4.4.2): certificate_request_context, then
/// CertificateEntry { cert_data<1..2^24-1>; extensions<0..2^16-1> } list. Only X.509 entries
/// are expected (raw public keys, RFC 7250, are summarised as unparsable DER).
pub(crate) fn parse_certificate_tls13(body: &[u8]) -> Result<Vec<CertInfo>, String> {
    let context_len = usize::from(*body.first().ok_or("empty Certificate message")?);
    let list_at = 1 + context_len;
    let list_len = u24_at(body, list_at).ok_or("certificate_request_context overruns")?;
    let mut list = body
        .get(list_at + 3..list_at + 3 + list_len)
        .ok_or("certificate_list overruns the message")?;
    let mut chain = Vec::new();
    while !list.is_empty() {
        let len = u24_at(list, 0).ok_or("truncated cert_data length")?;
        let der = list.get(3..3 + len).ok_or("cert_data overruns the list")?;
        let ext_len = u16_at(list, 3 + len).ok_or("truncated entry extensions length")?;
        let end = 3 + len + 2 + ext_len;
        if list.len() < end {
            return Err("entry extensions overrun the list".to_string());
        }
        chain.push(summarize_der(der));
        list = list.get(end..).unwrap_or_default();
    }
    Ok(chain)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::tls::test_fixtures::{
        BROKER_TEST_CERT_DER, BROKER_TEST_NOT_AFTER, BROKER_TEST_NOT_BEFORE, BROKER_TEST_SHA256,
        unhex,
    };

    fn u24(len: usize) -> [u8; 3] {
        [(len >> 16) as u8, (len >> 8) as u8, len as u8]
    }

    fn tls12_body(der: &[u8]) -> Vec<u8> {
        let mut body = u24(der.len() + 3).to_vec();
        body.extend_from_slice(&u24(der.len()));
        body.extend_from_slice(der);
        body
    }

    fn tls13_body(der: &[u8]) -> Vec<u8> {
        let mut body = vec![0];
        body.extend_from_slice(&u24(der.len() + 3 + 2));
        body.extend_from_slice(&u24(der.len()));
        body.extend_from_slice(der);
        body.extend_from_slice(&[0, 0]);
        body
    }

    fn assert_broker_test(chain: &[CertInfo]) {
        assert_eq!(chain.len(), 1);
        let cert = &chain[0];
        assert_eq!(cert.parse_error, None);
        assert_eq!(cert.subject, "CN=broker.test, O=mqpcap test");
        assert_eq!(cert.issuer, "CN=broker.test, O=mqpcap test");
        assert_eq!(cert.serial, "1234abcd");
        assert_eq!(cert.not_before, BROKER_TEST_NOT_BEFORE);
        assert_eq!(cert.not_after, BROKER_TEST_NOT_AFTER);
        assert_eq!(cert.san, ["broker.test", "10.78.0.1", "fd00::1"]);
        assert_eq!(cert.sha256, BROKER_TEST_SHA256);
    }

    #[test]
    fn tls12_certificate_is_summarised() {
        let der = unhex(BROKER_TEST_CERT_DER);
        assert_broker_test(&parse_certificate_tls12(&tls12_body(&der)).unwrap_or_default());
    }

    #[test]
    fn tls13_certificate_is_summarised() {
        let der = unhex(BROKER_TEST_CERT_DER);
        assert_broker_test(&parse_certificate_tls13(&tls13_body(&der)).unwrap_or_default());
    }

    #[test]
    fn every_prefix_of_a_real_certificate_message_is_rejected() {
        let der = unhex(BROKER_TEST_CERT_DER);
        for body in [tls12_body(&der), tls13_body(&der)] {
            for cut in 0..body.len() {
                assert!(parse_certificate_tls12(&body[..cut]).is_err(), "cut {cut}");
                assert!(parse_certificate_tls13(&body[..cut]).is_err(), "cut {cut}");
            }
        }
    }

    #[test]
    fn truncated_der_is_kept_with_its_error() {
        let der = unhex(BROKER_TEST_CERT_DER);
        for cut in [0, 1, 10, der.len() / 2, der.len() - 1] {
            let info = summarize_der(&der[..cut]);
            assert!(info.parse_error.is_some(), "cut {cut}");
        }
    }

    #[test]
    fn empty_tls12_certificate_is_an_empty_chain() {
        assert_eq!(parse_certificate_tls12(&[0, 0, 0]), Ok(Vec::new()));
    }

    #[test]
    fn empty_tls13_certificate_is_an_empty_chain() {
        assert_eq!(parse_certificate_tls13(&[0, 0, 0, 0]), Ok(Vec::new()));
    }

    #[test]
    fn garbage_der_keeps_a_fingerprint() {
        let body = [0, 0, 5, 0, 0, 2, 0x30, 0x00];
        let chain = parse_certificate_tls12(&body).unwrap_or_default();
        assert_eq!(chain.len(), 1);
        assert!(chain[0].parse_error.is_some());
        assert_eq!(chain[0].sha256, sha256_hex(&[0x30, 0x00]));
    }

    #[test]
    fn tls13_entry_extensions_are_skipped() {
        // context "ab", one entry with a 2-byte cert and 4 bytes of extensions.
        let body = [
            2, 0xaa, 0xbb, 0, 0, 11, 0, 0, 2, 0x30, 0x00, 0, 4, 0, 5, 0, 0,
        ];
        let chain = parse_certificate_tls13(&body).unwrap_or_default();
        assert_eq!(chain.len(), 1);
    }

    #[test]
    fn every_prefix_is_rejected_without_panic() {
        let body = [
            2, 0xaa, 0xbb, 0, 0, 11, 0, 0, 2, 0x30, 0x00, 0, 4, 0, 5, 0, 0,
        ];
        for cut in 0..body.len() {
            assert!(parse_certificate_tls13(&body[..cut]).is_err(), "cut {cut}");
            let _ = parse_certificate_tls12(&body[..cut]);
        }
    }

    #[test]
    fn ip_sans_are_text() {
        assert_eq!(ip_text(&[10, 78, 0, 1]), "10.78.0.1");
        assert_eq!(ip_text(&[0; 16]), "::");
        assert_eq!(ip_text(&[1, 2]), "0102");
    }
}
