//! Tests for handshake reassembly and hello decoding, on the Illustrated TLS fixtures and
//! hand-made messages.

use super::*;
use crate::proto::tls::test_fixtures::{
    ILLUSTRATED_TLS12, ILLUSTRATED_TLS13, sslv2_client_hello_record, unhex,
};

/// The handshake message (type, body) carried by the first record of a fixture payload.
fn first_message(payload: &str) -> (u8, Vec<u8>) {
    let bytes = unhex(payload);
    let record_len = usize::from(u16::from_be_bytes([bytes[3], bytes[4]]));
    let record = &bytes[5..5 + record_len];
    let len = usize::from(record[1]) << 16 | usize::from(record[2]) << 8 | usize::from(record[3]);
    (record[0], record[4..4 + len].to_vec())
}

#[test]
fn illustrated_tls12_client_hello_decodes_like_tshark() {
    let (msg_type, body) = first_message(ILLUSTRATED_TLS12[0].2);
    assert_eq!(msg_type, HS_CLIENT_HELLO);
    let hello = parse_client_hello(&body).expect("ClientHello parses");
    assert_eq!(hello.sni.as_deref(), Some("example.ulfheim.net"));
    assert_eq!(hello.legacy_version, 0x0303);
    assert_eq!(hello.versions, vec![0x0303]);
    assert_eq!(max_offered_version(&hello), 0x0303);
    // tshark 4.0.17: tls.handshake.ja3 / ja3_full.
    assert_eq!(hello.ja3, "36d715579d31b7f031149c4560b5914f");
    assert_eq!(
        hello.ja3_full,
        "771,52392-52393-49199-49200-49195-49196-49171-49161-49172-49162-156-157-47-53-49170-10,0-5-10-11-13-65281-18,29-23-24-25,0"
    );
    assert!(hello.ja4.starts_with("t12d1607"), "{}", hello.ja4);
}

#[test]
fn illustrated_tls13_client_hello_decodes_like_tshark() {
    let (_, body) = first_message(ILLUSTRATED_TLS13[0].2);
    let hello = parse_client_hello(&body).expect("ClientHello parses");
    assert_eq!(hello.sni.as_deref(), Some("example.ulfheim.net"));
    assert_eq!(hello.versions, vec![0x0304]);
    assert_eq!(hello.key_share_groups, vec![0x001d]);
    assert_eq!(hello.ja3, "f146948b4a599d4d7ddf071b74696983");
    assert_eq!(
        hello.ja3_full,
        "771,4866-4867-4865-255,0-11-10-35-22-23-13-43-45-51,29-23-30-25-24-256-257-258-259-260,0-1-2"
    );
    assert!(hello.ja4.starts_with("t13d0410"), "{}", hello.ja4);
}

#[test]
fn illustrated_tls13_server_hello_selects_tls13() {
    let (msg_type, body) = first_message(ILLUSTRATED_TLS13[1].2);
    assert_eq!(msg_type, HS_SERVER_HELLO);
    let parsed = parse_server_hello(&body).expect("ServerHello parses");
    assert!(!parsed.hello_retry_request);
    assert_eq!(parsed.info.legacy_version, 0x0303);
    assert_eq!(parsed.info.version, 0x0304);
    assert_eq!(parsed.info.cipher_suite, 0x1302);
}

/// A ServerHello body: legacy_version 0x0303, `random`, empty session id, TLS_AES_128_GCM_SHA256,
/// null compression, supported_versions = TLS 1.3 and a key_share asking for x25519.
fn hello_retry_request_body() -> Vec<u8> {
    let mut body = vec![0x03, 0x03];
    body.extend_from_slice(&HELLO_RETRY_REQUEST_RANDOM);
    body.extend_from_slice(&[0, 0x13, 0x01, 0]);
    body.extend_from_slice(&[0, 12, 0, 43, 0, 2, 3, 4, 0, 51, 0, 2, 0, 0x1d]);
    body
}

#[test]
fn hello_retry_request_is_recognised_by_its_random() {
    let parsed = parse_server_hello(&hello_retry_request_body()).expect("HRR parses");
    assert!(parsed.hello_retry_request);
    assert_eq!(parsed.info.version, 0x0304);
}

#[test]
fn every_prefix_of_the_hellos_is_rejected_without_panic() {
    for payload in [ILLUSTRATED_TLS12[0].2, ILLUSTRATED_TLS13[0].2] {
        let (_, body) = first_message(payload);
        for cut in 0..body.len() {
            // A cut inside the extensions may still parse (extensions are optional); it must
            // not panic, and a cut before them must fail.
            let result = parse_client_hello(&body[..cut]);
            if cut < 40 {
                assert!(result.is_err(), "cut {cut}");
            }
        }
    }
    let (_, body) = first_message(ILLUSTRATED_TLS13[1].2);
    for cut in 0..body.len() {
        let _ = parse_server_hello(&body[..cut]);
    }
    for cut in 0..38 {
        assert!(parse_server_hello(&body[..cut]).is_err(), "cut {cut}");
    }
}

#[test]
fn sslv2_client_hello_keeps_tls_suites() {
    let record = sslv2_client_hello_record();
    let hello = parse_sslv2_client_hello(&record[2..]).expect("SSLv2 hello parses");
    assert!(hello.sslv2_format);
    assert_eq!(hello.legacy_version, 0x0301);
    assert_eq!(hello.cipher_suites, vec![0x002f, 0x000a]);
    for cut in 0..record.len() - 2 {
        assert!(
            parse_sslv2_client_hello(&record[2..2 + cut]).is_err(),
            "cut {cut}"
        );
    }
}

#[test]
fn messages_split_across_fragments_are_reassembled() {
    let message = [1u8, 0, 0, 5, 10, 11, 12, 13, 14];
    for cut in 0..=message.len() {
        let mut reassembler = HandshakeReassembler::default();
        let mut seen = Vec::new();
        for fragment in [&message[..cut], &message[cut..]] {
            reassembler
                .push(fragment, |t, body| seen.push((t, body.to_vec())))
                .expect("within limit");
        }
        assert_eq!(seen, vec![(1, vec![10, 11, 12, 13, 14])], "cut {cut}");
        assert_eq!(reassembler.pending_len(), 0);
    }
}

#[test]
fn several_messages_in_one_fragment_are_all_delivered() {
    let fragment = [14u8, 0, 0, 0, 20, 0, 0, 1, 7, 16, 0];
    let mut reassembler = HandshakeReassembler::default();
    let mut seen = Vec::new();
    reassembler
        .push(&fragment, |t, body| seen.push((t, body.to_vec())))
        .expect("within limit");
    assert_eq!(seen, vec![(14, vec![]), (20, vec![7])]);
    assert_eq!(reassembler.pending_len(), 2);
}

#[test]
fn oversized_message_is_refused_before_buffering() {
    let mut reassembler = HandshakeReassembler::default();
    let result = reassembler.push(&[11, 0x04, 0x00, 0x01, 0], |_, _| {});
    assert!(result.is_err());
    assert_eq!(reassembler.pending_len(), 0);
}

/// A ClientHello body with GREASE in ciphers, extensions, groups, versions and signature
/// algorithms (RFC 8701), SNI "broker.test" and ALPN "mqtt".
fn grease_client_hello_body() -> Vec<u8> {
    fn ext(out: &mut Vec<u8>, ext_type: u16, data: &[u8]) {
        out.extend_from_slice(&ext_type.to_be_bytes());
        out.extend_from_slice(&(data.len() as u16).to_be_bytes());
        out.extend_from_slice(data);
    }
    let mut body = vec![0x03, 0x03];
    body.extend_from_slice(&[0x11; 32]);
    body.push(0);
    body.extend_from_slice(&[0, 6, 0x3a, 0x3a, 0x13, 0x01, 0xc0, 0x2f]);
    body.extend_from_slice(&[1, 0]);
    let mut exts = Vec::new();
    ext(&mut exts, 0x4a4a, &[]);
    let sni = b"broker.test";
    let mut sni_data = ((sni.len() + 3) as u16).to_be_bytes().to_vec();
    sni_data.push(0);
    sni_data.extend_from_slice(&(sni.len() as u16).to_be_bytes());
    sni_data.extend_from_slice(sni);
    ext(&mut exts, 0, &sni_data);
    ext(&mut exts, 16, &[0, 5, 4, b'm', b'q', b't', b't']);
    ext(&mut exts, 10, &[0, 6, 0x5a, 0x5a, 0, 29, 0, 23]);
    ext(&mut exts, 11, &[1, 0]);
    ext(&mut exts, 13, &[0, 6, 0x6a, 0x6a, 4, 3, 8, 4]);
    ext(&mut exts, 43, &[6, 0x7a, 0x7a, 3, 4, 3, 3]);
    ext(&mut exts, 51, &[0, 9, 0x8a, 0x8a, 0, 1, 0, 0, 29, 0, 0]);
    ext(&mut exts, 0x9a9a, &[0]);
    body.extend_from_slice(&(exts.len() as u16).to_be_bytes());
    body.extend_from_slice(&exts);
    body
}

#[test]
fn grease_is_dropped_from_every_list() {
    let hello = parse_client_hello(&grease_client_hello_body()).expect("parses");
    assert_eq!(hello.cipher_suites, vec![0x1301, 0xc02f]);
    assert_eq!(hello.extensions, vec![0, 16, 10, 11, 13, 43, 51]);
    assert_eq!(hello.groups, vec![29, 23]);
    assert_eq!(hello.signature_algorithms, vec![0x0403, 0x0804]);
    assert_eq!(hello.versions, vec![0x0304, 0x0303]);
    assert_eq!(hello.key_share_groups, vec![29]);
    assert_eq!(hello.sni.as_deref(), Some("broker.test"));
    assert_eq!(hello.alpn, vec!["mqtt".to_string()]);
    assert_eq!(hello.ja3_full, "771,4865-49199,0-16-10-11-13-43-51,29-23,0");
    assert!(hello.ja4.starts_with("t13d0207mt_"), "{}", hello.ja4);
}

#[test]
fn tls13_draft_server_hello_is_read_by_hand() {
    // draft-16 layout: version 0x7f10, random, cipher suite, extensions (no session id).
    let mut body = vec![0x7f, 0x10];
    body.extend_from_slice(&[0x22; 32]);
    body.extend_from_slice(&[0x13, 0x03, 0, 0]);
    let parsed = parse_server_hello(&body).expect("draft ServerHello parses");
    assert_eq!(parsed.info.version, 0x7f10);
    assert_eq!(parsed.info.cipher_suite, 0x1303);
    assert!(crate::proto::tls::names::is_tls13_family(
        parsed.info.version
    ));
}
