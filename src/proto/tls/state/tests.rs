//! Session tests: whole Illustrated TLS conversations, splits at every byte boundary, every
//! prefix, HelloRetryRequest, SSLv2, alerts in plaintext and encrypted, garbage, gaps.

use super::test_support::{at, fuzz_input, handshake, kinds, record, side_of};
use super::*;
use crate::proto::tls::handshake::HELLO_RETRY_REQUEST_RANDOM;
use crate::proto::tls::test_fixtures::{Conversation, ILLUSTRATED_TLS12, ILLUSTRATED_TLS13, unhex};

/// Feeds a conversation, each payload cut into `chunk`-byte calls.
fn run(conversation: Conversation, chunk: usize) -> (TlsSession, Vec<Timed<TlsEvent>>) {
    let mut session = TlsSession::new();
    let mut events = Vec::new();
    for &(frame, is_client, hex) in conversation {
        for piece in unhex(hex).chunks(chunk.max(1)) {
            session.on_data(side_of(is_client), piece, at(frame), &mut events);
        }
    }
    (session, events)
}

fn illustrated_client_hello_record() -> Vec<u8> {
    unhex(ILLUSTRATED_TLS13[0].2)
}

#[test]
fn illustrated_tls12_conversation_is_summarised() {
    let (session, events) = run(ILLUSTRATED_TLS12, usize::MAX);
    let summary = session.summary();
    assert_eq!(summary.client_side, Some(Side::Orig));
    assert_eq!(summary.client_hello_count, 1);
    let sh = summary.server_hello.as_ref().expect("ServerHello");
    assert_eq!((sh.version, sh.cipher_suite), (0x0303, 0xc013));
    assert_eq!(summary.certificates.len(), 1);
    let cert = &summary.certificates[0];
    assert_eq!(cert.side, Side::Resp);
    assert_eq!(cert.chain[0].subject, "C=US, CN=example.ulfheim.net");
    assert_eq!(cert.chain[0].issuer, "C=US, O=Example CA");
    assert_eq!(cert.chain[0].serial, "155a92adc2048f90");
    assert!(summary.change_cipher_spec.iter().all(Option::is_some));
    assert!(summary.established);
    assert_eq!(summary.app_data[0].records, 1);
    assert_eq!(summary.app_data[1].records, 1);
    // The client's close_notify is encrypted (tshark reads it only with the key log).
    assert_eq!(summary.alerts.len(), 1);
    assert!(summary.alerts[0].encrypted);
    assert_eq!(
        kinds(&events),
        [
            "client_hello",
            "server_hello",
            "certificate",
            "server_key_exchange",
            "server_hello_done",
            "client_key_exchange",
            "change_cipher_spec",
            "encrypted_handshake",
            "change_cipher_spec",
            "encrypted_handshake",
            "established",
            "application_data",
            "application_data",
            "alert",
        ]
    );
}

#[test]
fn illustrated_tls13_conversation_is_summarised() {
    let (session, events) = run(ILLUSTRATED_TLS13, usize::MAX);
    let summary = session.summary();
    let sh = summary.server_hello.as_ref().expect("ServerHello");
    assert_eq!(sh.version, 0x0304);
    assert!(
        summary.certificates.is_empty(),
        "the certificate is encrypted"
    );
    assert!(summary.established);
    assert!(summary.alerts.is_empty());
    let kinds = kinds(&events);
    assert_eq!(
        kinds.iter().filter(|k| *k == "encrypted_handshake").count(),
        5
    );
    assert_eq!(kinds.first().map(String::as_str), Some("client_hello"));
}

#[test]
fn any_split_gives_the_same_summary() {
    for conversation in [ILLUSTRATED_TLS12, ILLUSTRATED_TLS13] {
        let (whole, whole_events) = run(conversation, usize::MAX);
        for chunk in [1, 2, 3, 5, 7, 64, 1000] {
            let (split, split_events) = run(conversation, chunk);
            assert_eq!(split.summary(), whole.summary(), "chunk {chunk}");
            assert_eq!(kinds(&split_events), kinds(&whole_events), "chunk {chunk}");
        }
    }
}

#[test]
fn client_hello_split_in_two_calls_at_every_byte_boundary() {
    let bytes = illustrated_client_hello_record();
    let (whole, _) = run(&ILLUSTRATED_TLS13[..1], usize::MAX);
    for cut in 0..=bytes.len() {
        let mut session = TlsSession::new();
        let mut events = Vec::new();
        session.on_data(Side::Orig, &bytes[..cut], at(5), &mut events);
        session.on_data(Side::Orig, &bytes[cut..], at(5), &mut events);
        assert_eq!(session.summary(), whole.summary(), "cut {cut}");
    }
}

#[test]
fn client_hello_split_across_two_records_at_every_boundary() {
    let bytes = illustrated_client_hello_record();
    let message = &bytes[5..];
    let (whole, _) = run(&ILLUSTRATED_TLS13[..1], usize::MAX);
    for cut in 1..message.len() {
        let mut stream = record(22, &message[..cut]);
        stream.extend_from_slice(&record(22, &message[cut..]));
        let mut session = TlsSession::new();
        let mut events = Vec::new();
        session.on_data(Side::Orig, &stream, at(5), &mut events);
        assert_eq!(session.summary(), whole.summary(), "cut {cut}");
    }
}

#[test]
fn every_prefix_is_incomplete_never_invalid() {
    for conversation in [ILLUSTRATED_TLS12, ILLUSTRATED_TLS13] {
        for (n, &(_, is_client, hex)) in conversation.iter().enumerate() {
            let payload = unhex(hex);
            for cut in 0..payload.len() {
                let (mut session, _) = run(&conversation[..n], usize::MAX);
                let mut events = Vec::new();
                session.on_data(side_of(is_client), &payload[..cut], at(99), &mut events);
                session.on_close(side_of(is_client), at(99), &mut events);
                let invalid = events
                    .iter()
                    .any(|e| matches!(e.event, TlsEvent::Invalid { .. }));
                assert!(!invalid, "payload {n} cut {cut}: {events:?}");
            }
        }
    }
}

#[test]
fn hello_retry_request_then_second_client_hello() {
    let mut events = Vec::new();
    let mut session = TlsSession::new();
    let client_hello = illustrated_client_hello_record();
    session.on_data(Side::Orig, &client_hello, at(1), &mut events);
    let mut hrr = vec![0x03, 0x03];
    hrr.extend_from_slice(&HELLO_RETRY_REQUEST_RANDOM);
    hrr.extend_from_slice(&[0, 0x13, 0x01, 0, 0, 6, 0, 43, 0, 2, 3, 4]);
    let mut server = record(22, &handshake(2, &hrr));
    server.extend_from_slice(&record(20, &[1]));
    session.on_data(Side::Resp, &server, at(2), &mut events);
    // RFC 8446 Appendix D.4: the client's compatibility CCS may precede its second hello.
    let mut client = record(20, &[1]);
    client.extend_from_slice(&client_hello);
    session.on_data(Side::Orig, &client, at(3), &mut events);
    let summary = session.summary();
    assert_eq!(summary.hello_retry_request, Some(at(2)));
    assert_eq!(summary.client_hello_count, 2);
    assert!(summary.server_hello.is_none());
    assert_eq!(
        kinds(&events),
        [
            "client_hello",
            "hello_retry_request",
            "change_cipher_spec",
            "change_cipher_spec",
            "client_hello"
        ]
    );
}

#[test]
fn sslv2_client_hello_is_decoded() {
    let mut session = TlsSession::new();
    let mut events = Vec::new();
    let hello = crate::proto::tls::test_fixtures::sslv2_client_hello_record();
    session.on_data(Side::Orig, &hello, at(1), &mut events);
    let info = session.summary().client_hello.as_ref().expect("hello");
    assert!(info.sslv2_format);
    assert_eq!(info.legacy_version, 0x0301);
    assert_eq!(session.summary().client_side, Some(Side::Orig));
    // The TLS reply and the client's next TLS record are framed as TLS again.
    session.on_data(Side::Resp, &record(21, &[2, 40]), at(2), &mut events);
    session.on_data(Side::Orig, &record(21, &[2, 0]), at(3), &mut events);
    assert_eq!(session.summary().alerts.len(), 2);
}

#[test]
fn plaintext_alert_before_server_hello() {
    let (mut session, mut events) = run(&ILLUSTRATED_TLS12[..1], usize::MAX);
    session.on_data(Side::Resp, &record(21, &[2, 40]), at(2), &mut events);
    let alert = &session.summary().alerts[0];
    assert_eq!((alert.level, alert.description), (Some(2), Some(40)));
    assert!(!alert.encrypted);
    assert_eq!(alert.side, Side::Resp);
    assert_eq!(alert.record_len, 2);
}

#[test]
fn alert_after_change_cipher_spec_is_encrypted_in_tls12() {
    let (mut session, mut events) = run(&ILLUSTRATED_TLS12[..3], usize::MAX);
    // The client sent CCS in frame 9; a 26-byte alert record is an AES-GCM protected alert.
    session.on_data(Side::Orig, &record(21, &[0x11; 26]), at(20), &mut events);
    // A 2-byte record cannot hold a MAC or tag: plaintext even after CCS.
    session.on_data(Side::Orig, &record(21, &[1, 0]), at(21), &mut events);
    let alerts = &session.summary().alerts;
    assert!(alerts[0].encrypted && alerts[0].description.is_none());
    assert_eq!(alerts[0].record_len, 26);
    assert!(!alerts[1].encrypted);
    assert_eq!(alerts[1].description, Some(0));
}

#[test]
fn alert_sized_record_after_tls13_server_hello_is_an_encrypted_alert() {
    let (mut session, mut events) = run(&ILLUSTRATED_TLS13[..2], usize::MAX);
    // The client rejects the server's certificate: an encrypted alert in an application_data
    // record of 19 bytes instead of its Finished.
    session.on_data(Side::Orig, &record(23, &[0x22; 19]), at(9), &mut events);
    let alerts = &session.summary().alerts;
    assert_eq!(alerts.len(), 1);
    assert!(alerts[0].encrypted);
    assert_eq!(alerts[0].side, Side::Orig);
    assert!(!session.summary().established);
}

#[test]
fn http_answer_to_a_client_hello_is_invalid_and_stops_the_direction() {
    let (mut session, mut events) = run(&ILLUSTRATED_TLS12[..1], usize::MAX);
    session.on_data(
        Side::Resp,
        b"HTTP/1.1 400 Bad Request\r\n",
        at(2),
        &mut events,
    );
    session.on_data(Side::Resp, &record(21, &[2, 40]), at(3), &mut events);
    assert_eq!(kinds(&events), ["client_hello", "invalid"]);
    assert!(session.summary().alerts.is_empty());
}

#[test]
fn oversized_and_wrong_version_records_are_invalid() {
    for bad in [[23u8, 3, 3, 0x48, 0x01], [22, 2, 0, 0, 4], [22, 3, 7, 0, 4]] {
        let mut session = TlsSession::new();
        let mut events = Vec::new();
        session.on_data(Side::Orig, &bad, at(1), &mut events);
        assert_eq!(kinds(&events), ["invalid"], "{bad:?}");
    }
}

#[test]
fn application_data_events_are_capped_but_counted() {
    let mut session = TlsSession::new();
    let mut events = Vec::new();
    for n in 0..10 {
        session.on_data(Side::Orig, &record(23, &[0; 30]), at(n), &mut events);
    }
    let stats = session.summary().app_data[0];
    assert_eq!((stats.records, stats.bytes), (10, 300));
    assert_eq!(stats.first, Some(at(0)));
    assert_eq!(stats.last, Some(at(9)));
    assert_eq!(events.len() as u64, APP_DATA_EVENTS_PER_SIDE);
}

#[test]
fn mid_stream_application_data_both_ways_is_established() {
    let mut session = TlsSession::new();
    let mut events = Vec::new();
    session.on_data(Side::Orig, &record(23, &[0; 30]), at(1), &mut events);
    assert!(!session.summary().established);
    session.on_data(Side::Resp, &record(23, &[0; 30]), at(2), &mut events);
    assert!(session.summary().established);
}

#[test]
fn after_a_gap_parsing_resumes_at_a_record_header() {
    let mut session = TlsSession::new();
    let mut events = Vec::new();
    let first = record(23, &[0; 30]);
    session.on_data(Side::Orig, &first[..10], at(1), &mut events);
    session.on_gap(Side::Orig, 100, at(2), &mut events);
    session.on_data(Side::Orig, &[0x42; 17], at(3), &mut events);
    session.on_data(Side::Orig, &first, at(4), &mut events);
    assert!(
        !events
            .iter()
            .any(|e| matches!(e.event, TlsEvent::Invalid { .. }))
    );
    assert_eq!(session.summary().app_data[0].records, 1);
}

#[test]
fn empty_client_certificate_is_kept() {
    let (mut session, mut events) = run(&ILLUSTRATED_TLS12[..2], usize::MAX);
    let message = handshake(11, &[0, 0, 0]);
    session.on_data(Side::Orig, &record(22, &message), at(9), &mut events);
    let certificates = &session.summary().certificates;
    assert_eq!(certificates.len(), 2);
    assert_eq!(certificates[1].side, Side::Orig);
    assert!(certificates[1].chain.is_empty());
}

#[test]
fn close_inside_a_record_reports_truncation() {
    let bytes = illustrated_client_hello_record();
    let mut session = TlsSession::new();
    let mut events = Vec::new();
    session.on_data(Side::Orig, &bytes[..100], at(1), &mut events);
    session.on_close(Side::Orig, at(2), &mut events);
    assert_eq!(kinds(&events), ["truncated"]);
}

#[test]
fn fuzz_entry_point_survives_the_fixtures() {
    for conversation in [ILLUSTRATED_TLS12, ILLUSTRATED_TLS13] {
        let mut data = fuzz_input(conversation);
        for seed in [0u8, 5, 63, 0x80, 0xff] {
            data[0] = seed;
            crate::proto::tls::fuzz_session(&data);
            crate::proto::tls::fuzz_session(&data[..data.len() / 2]);
        }
    }
}

#[test]
fn mid_stream_long_alert_record_is_encrypted() {
    let mut session = TlsSession::new();
    let mut events = Vec::new();
    session.on_data(Side::Resp, &record(21, &[0x33; 26]), at(1), &mut events);
    let alerts = &session.summary().alerts;
    assert_eq!(alerts.len(), 1);
    assert!(alerts[0].encrypted);
}

#[test]
fn malformed_plaintext_alert_during_handshake_is_invalid() {
    let (mut session, mut events) = run(&ILLUSTRATED_TLS12[..1], usize::MAX);
    session.on_data(Side::Resp, &record(21, &[2, 40, 9]), at(2), &mut events);
    assert_eq!(kinds(&events), ["client_hello", "invalid"]);
    assert!(session.summary().alerts.is_empty());
}

#[test]
fn mutated_fixtures_never_panic() {
    // Deterministic xorshift mutations of the fixture streams: flipped bytes, cut lengths.
    let mut rng = crate::test_rng::XorShift::new(0x9e37_79b9_7f4a_7c15);
    let mut next = move || rng.next_u64();
    for conversation in [ILLUSTRATED_TLS12, ILLUSTRATED_TLS13] {
        let mut base = vec![0u8];
        for &(_, _, hex) in conversation {
            base.extend_from_slice(&unhex(hex));
        }
        for _ in 0..300 {
            let mut data = base.clone();
            for _ in 0..(next() % 8 + 1) {
                let at = (next() as usize) % data.len();
                data[at] = next() as u8;
            }
            let len = (next() as usize) % data.len() + 1;
            crate::proto::tls::fuzz_session(&data[..len]);
        }
    }
}

#[test]
fn finished_after_ccs_is_encrypted_even_when_the_server_hello_was_missed() {
    // The client offered TLS 1.3, the server's answer is not in the capture, the client then
    // sends CCS and a protected Finished (TLS 1.2 was chosen).
    let mut session = TlsSession::new();
    let mut events = Vec::new();
    session.on_data(
        Side::Orig,
        &illustrated_client_hello_record(),
        at(1),
        &mut events,
    );
    let mut client = record(20, &[1]);
    client.extend_from_slice(&record(22, &[0xee; 40]));
    session.on_data(Side::Orig, &client, at(3), &mut events);
    assert_eq!(
        kinds(&events),
        ["client_hello", "change_cipher_spec", "encrypted_handshake"]
    );
}

#[test]
fn floods_are_capped_in_events_and_summary() {
    let (mut session, mut events) = run(&ILLUSTRATED_TLS12[..1], usize::MAX);
    let mut flood = Vec::new();
    for _ in 0..1000 {
        flood.extend_from_slice(&record(21, &[1, 112]));
        flood.extend_from_slice(&record(24, &[1, 0, 0]));
    }
    session.on_data(Side::Resp, &flood, at(2), &mut events);
    assert_eq!(events.len() as u32, MAX_EVENTS_PER_SESSION);
    assert_eq!(session.summary().alerts.len(), MAX_ALERTS_KEPT);
    session.on_data(Side::Resp, b"garbage", at(3), &mut events);
    assert!(matches!(
        events.last().map(|e| &e.event),
        Some(TlsEvent::Invalid { .. })
    ));
}
