//! Decryption inside the session: the Illustrated TLS 1.2 and 1.3 conversations with their key
//! logs, OpenSSL TLS 1.3 ChaCha20 records after a HelloRetryRequest and across a KeyUpdate,
//! wrong keys, missing keys, gaps, and every split of the conversations.

use super::test_support::{at, fuzz_input, handshake, kinds, record, side_of};
use super::*;
use crate::proto::tls::decrypt::KeyLog;
use crate::proto::tls::decrypt::openssl_records::{
    CHACHA13_C0, CHACHA13_C1, CHACHA13_C2, CHACHA13_C3, CHACHA13_RANDOM, CHACHA13_S0,
    chacha13_keylog,
};
use crate::proto::tls::handshake::HELLO_RETRY_REQUEST_RANDOM;
use crate::proto::tls::test_fixtures::{Conversation, ILLUSTRATED_TLS12, ILLUSTRATED_TLS13, unhex};
use std::sync::Arc;

const ILLUSTRATED_RANDOM: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const TLS12_MASTER: &str = "916abf9da55973e13614ae0a3f5d3f37b023ba129aee02cc9134338127cd7049781c8e19fc1eb2a7387ac06ae237344c";

fn tls12_keylog(master: &str) -> Arc<KeyLog> {
    let mut keys = KeyLog::new();
    keys.add_text(format!("CLIENT_RANDOM {ILLUSTRATED_RANDOM} {master}\n").as_bytes());
    Arc::new(keys)
}

fn tls13_keylog() -> Arc<KeyLog> {
    let r = ILLUSTRATED_RANDOM;
    let mut keys = KeyLog::new();
    keys.add_text(format!(
        "SERVER_HANDSHAKE_TRAFFIC_SECRET {r} 23323da031634b241dd37d61032b62a4f450584d1f7f47983ba2f7cc0cdcc39a68f481f2b019f9403a3051908a5d1622\n\
         CLIENT_HANDSHAKE_TRAFFIC_SECRET {r} db89d2d6df0e84fed74a2288f8fd4d0959f790ff23946cdf4c26d85e51bebd42ae184501972f8d30c4a3e4a3693d0ef0\n\
         SERVER_TRAFFIC_SECRET_0 {r} 86c967fd7747a36a0685b4ed8d0e6b4c02b4ddaf3cd294aa44e9f6b0183bf911e89a189ba5dfd71fccffb5cc164901f8\n\
         CLIENT_TRAFFIC_SECRET_0 {r} 9e47af27cb60d818a9ea7d233cb5ed4cc525fcd74614fb24b0ee59acb8e5aa7ff8d88b89792114208fec291a6fa96bad\n"
    ).as_bytes());
    Arc::new(keys)
}

type Run = (TlsSession, Vec<Timed<TlsEvent>>, Vec<(Side, At, Vec<u8>)>);

/// Feeds a conversation in `chunk`-byte calls, taking the plaintext after each call.
fn run(conversation: Conversation, keys: Option<Arc<KeyLog>>, chunk: usize) -> Run {
    let mut session = keys.map_or_else(TlsSession::new, TlsSession::with_keylog);
    let mut events = Vec::new();
    let mut plaintext = Vec::new();
    for &(frame, is_client, hex) in conversation {
        for piece in unhex(hex).chunks(chunk.max(1)) {
            session.on_data(side_of(is_client), piece, at(frame), &mut events);
            plaintext.extend(session.take_plaintext());
        }
    }
    (session, events, plaintext)
}

fn count(events: &[Timed<TlsEvent>], kind: &str) -> usize {
    kinds(events).iter().filter(|k| *k == kind).count()
}

#[test]
fn tls12_with_the_master_secret_decrypts_finished_data_and_close_notify() {
    let (session, events, plaintext) =
        run(ILLUSTRATED_TLS12, Some(tls12_keylog(TLS12_MASTER)), 4096);
    let summary = session.summary();
    assert!(summary.decrypted);
    assert_eq!(summary.decryption_suite, Some(0xc013));
    assert_eq!(count(&events, "finished"), 2, "{:?}", kinds(&events));
    assert_eq!(count(&events, "encrypted_handshake"), 0);
    assert_eq!(count(&events, "decryption_failed"), 0);
    assert!(summary.established);
    assert_eq!(
        plaintext,
        vec![
            (Side::Orig, at(13), b"ping".to_vec()),
            (Side::Resp, at(15), b"pong".to_vec())
        ]
    );
    // The client's close_notify, readable now: warning(1) close_notify(0).
    assert_eq!(summary.alerts.len(), 1);
    let alert = &summary.alerts[0];
    assert_eq!(
        (alert.encrypted, alert.level, alert.description, alert.side),
        (false, Some(1), Some(0), Side::Orig)
    );
    assert_eq!(summary.app_data[0].records, 1);
    assert_eq!(summary.app_data[1].records, 1);
}

#[test]
fn tls13_with_traffic_secrets_shows_the_encrypted_handshake() {
    let (session, events, plaintext) = run(ILLUSTRATED_TLS13, Some(tls13_keylog()), 4096);
    let summary = session.summary();
    assert!(summary.decrypted);
    assert_eq!(summary.decryption_suite, Some(0x1302));
    assert_eq!(count(&events, "decryption_failed"), 0);
    assert_eq!(count(&events, "encrypted_handshake"), 0);
    for kind in ["encrypted_extensions", "certificate", "certificate_verify"] {
        assert_eq!(count(&events, kind), 1, "{kind}: {:?}", kinds(&events));
    }
    assert_eq!(count(&events, "finished"), 2);
    // Two NewSessionTickets under the server's application traffic secret.
    assert_eq!(count(&events, "new_session_ticket"), 2);
    assert_eq!(summary.certificates.len(), 1);
    let cert = &summary.certificates[0];
    assert_eq!(cert.side, Side::Resp);
    assert_eq!(cert.chain[0].subject, "C=US, CN=example.ulfheim.net");
    assert!(summary.established);
    assert_eq!(
        plaintext,
        vec![
            (Side::Orig, at(11), b"ping".to_vec()),
            (Side::Resp, at(17), b"pong".to_vec())
        ]
    );
    assert!(summary.alerts.is_empty());
}

#[test]
fn wrong_keys_fail_once_per_side_and_yield_no_plaintext() {
    let wrong = TLS12_MASTER.replace("916a", "916b");
    let (session, events, plaintext) = run(ILLUSTRATED_TLS12, Some(tls12_keylog(&wrong)), 4096);
    let (plain_session, plain_events, _) = run(ILLUSTRATED_TLS12, None, 4096);
    assert!(plaintext.is_empty());
    let failures: Vec<Side> = events
        .iter()
        .filter(|e| matches!(e.event, TlsEvent::DecryptionFailed { .. }))
        .map(|e| e.side)
        .collect();
    assert_eq!(failures, [Side::Orig, Side::Resp]);
    let summary = session.summary();
    assert!(!summary.decrypted);
    assert_eq!(
        summary,
        plain_session.summary(),
        "as without keys otherwise"
    );
    let without_failures: Vec<_> = kinds(&events)
        .into_iter()
        .filter(|k| k != "decryption_failed")
        .collect();
    assert_eq!(without_failures, kinds(&plain_events));
}

#[test]
fn keys_for_another_connection_change_nothing() {
    let mut other = KeyLog::new();
    other.add_text(format!("CLIENT_RANDOM {} {TLS12_MASTER}\n", "ab".repeat(32)).as_bytes());
    let other = Arc::new(other);
    for conversation in [ILLUSTRATED_TLS12, ILLUSTRATED_TLS13] {
        let (keyed, keyed_events, plaintext) = run(conversation, Some(other.clone()), 4096);
        let (plain, plain_events, _) = run(conversation, None, 4096);
        assert_eq!(keyed.summary(), plain.summary());
        assert_eq!(keyed_events, plain_events);
        assert!(plaintext.is_empty());
    }
}

#[test]
fn any_split_decrypts_the_same() {
    for (conversation, keys) in [
        (ILLUSTRATED_TLS12, tls12_keylog(TLS12_MASTER)),
        (ILLUSTRATED_TLS13, tls13_keylog()),
    ] {
        let (whole, whole_events, whole_plain) = run(conversation, Some(keys.clone()), usize::MAX);
        for chunk in [1, 2, 5, 64, 1000] {
            let (split, split_events, split_plain) = run(conversation, Some(keys.clone()), chunk);
            assert_eq!(split.summary(), whole.summary(), "chunk {chunk}");
            assert_eq!(kinds(&split_events), kinds(&whole_events), "chunk {chunk}");
            assert_eq!(split_plain, whole_plain, "chunk {chunk}");
        }
    }
}

#[test]
fn every_prefix_with_keys_never_panics_or_fails_authentication() {
    for (conversation, keys) in [
        (ILLUSTRATED_TLS12, tls12_keylog(TLS12_MASTER)),
        (ILLUSTRATED_TLS13, tls13_keylog()),
    ] {
        let bytes: Vec<(bool, Vec<u8>)> = conversation
            .iter()
            .map(|&(_, client, hex)| (client, unhex(hex)))
            .collect();
        let total: usize = bytes.iter().map(|b| b.1.len()).sum();
        for cut in (0..total).step_by(7) {
            let mut session = TlsSession::with_keylog(keys.clone());
            let mut events = Vec::new();
            let mut left = cut;
            for (client, data) in &bytes {
                let take = left.min(data.len());
                session.on_data(side_of(*client), &data[..take], at(1), &mut events);
                left -= take;
            }
            session.on_close(Side::Orig, at(2), &mut events);
            session.on_close(Side::Resp, at(2), &mut events);
            assert_eq!(count(&events, "decryption_failed"), 0, "cut {cut}");
            assert_eq!(count(&events, "invalid"), 0, "cut {cut}");
        }
    }
}

/// Feeds the Illustrated TLS 1.2 conversation to a session with its keys, the client's "ping"
/// record (frame 13, 53 bytes) lost to a gap; `injected` (frame, bytes) is sent by the client
/// just before that frame's payload.
fn tls12_losing_ping(injected: Option<(u64, Vec<u8>)>) -> (TlsSession, Vec<Timed<TlsEvent>>) {
    let mut session = TlsSession::with_keylog(tls12_keylog(TLS12_MASTER));
    let mut events = Vec::new();
    for &(frame, is_client, hex) in ILLUSTRATED_TLS12 {
        if frame == 13 {
            session.on_gap(Side::Orig, 53, at(frame), &mut events);
            continue;
        }
        if let Some((_, bytes)) = injected.as_ref().filter(|(at_frame, _)| *at_frame == frame) {
            session.on_data(Side::Orig, bytes, at(frame), &mut events);
        }
        session.on_data(side_of(is_client), &unhex(hex), at(frame), &mut events);
    }
    (session, events)
}

#[test]
fn after_a_gap_decryption_resumes_at_the_right_sequence_number() {
    // TLS 1.2: the client's "ping" record (frame 13) is lost; its close_notify is record 2.
    let (mut session, events) = tls12_losing_ping(None);
    assert_eq!(count(&events, "decryption_failed"), 0);
    let plaintext = session.take_plaintext();
    assert_eq!(plaintext, vec![(Side::Resp, at(15), b"pong".to_vec())]);
    let alerts = &session.summary().alerts;
    assert_eq!(alerts.len(), 1);
    assert_eq!(
        (alerts[0].encrypted, alerts[0].description),
        (false, Some(0))
    );

    // TLS 1.3: the server's Certificate .. Finished records are lost, so its application
    // keys (the Finished that switches to them was in the gap) must be found after it.
    let mut session = TlsSession::with_keylog(tls13_keylog());
    let mut events = Vec::new();
    for &(frame, is_client, hex) in ILLUSTRATED_TLS13 {
        let bytes = unhex(hex);
        if frame == 7 {
            // ServerHello (5 + 122), CCS (6) and EncryptedExtensions (5 + 23) arrive.
            let kept = 127 + 6 + 28;
            session.on_data(Side::Resp, &bytes[..kept], at(frame), &mut events);
            let lost = (bytes.len() - kept) as u64;
            session.on_gap(Side::Resp, lost, at(frame), &mut events);
            continue;
        }
        session.on_data(side_of(is_client), &bytes, at(frame), &mut events);
    }
    assert_eq!(
        count(&events, "decryption_failed"),
        0,
        "{:?}",
        kinds(&events)
    );
    assert_eq!(
        count(&events, "new_session_ticket"),
        2,
        "{:?}",
        kinds(&events)
    );
    let plaintext = session.take_plaintext();
    assert!(plaintext.contains(&(Side::Resp, at(17), b"pong".to_vec())));
}

#[test]
fn a_gap_of_more_records_than_resynchronisation_tries_stops_quietly() {
    // A record no key opens (as after more lost records than we try).
    let garbage = record(23, &[0x33; 40]);
    let (session, events) = tls12_losing_ping(Some((17, garbage)));
    assert_eq!(count(&events, "decryption_failed"), 0);
    assert!(session.summary().alerts.iter().all(|a| a.encrypted));
}

/// The key log of the OpenSSL TLS 1.3 ChaCha20 connection (`openssl_records::CHACHA13_*`).
fn chacha13_keys() -> Arc<KeyLog> {
    let mut keys = KeyLog::new();
    keys.add_text(chacha13_keylog().as_bytes());
    Arc::new(keys)
}

/// The Illustrated ClientHello with the OpenSSL ChaCha20 connection's random (after the record
/// header 5, handshake header 4 and legacy_version 2 bytes).
fn chacha13_client_hello() -> Vec<u8> {
    let mut client_hello = unhex(ILLUSTRATED_TLS13[0].2);
    client_hello[11..43].copy_from_slice(&unhex(CHACHA13_RANDOM));
    client_hello
}

/// A TLS 1.3 ServerHello record with `random` (a HelloRetryRequest with its special random):
/// TLS_CHACHA20_POLY1305_SHA256, no session id, supported_versions TLS 1.3.
fn chacha13_server_hello(random: &[u8; 32]) -> Vec<u8> {
    let mut body = vec![0x03, 0x03];
    body.extend_from_slice(random);
    body.extend_from_slice(&[0, 0x13, 0x03, 0, 0, 6, 0, 43, 0, 2, 3, 4]);
    record(22, &handshake(2, &body))
}

/// A TLS 1.3 ChaCha20 session made with OpenSSL (records from `decrypt::openssl_records`), here
/// after a HelloRetryRequest: the keys come with the second ServerHello.
#[test]
fn tls13_after_hello_retry_request_and_across_key_update() {
    let mut session = TlsSession::with_keylog(chacha13_keys());
    let mut events = Vec::new();
    let client_hello = chacha13_client_hello();
    session.on_data(Side::Orig, &client_hello, at(1), &mut events);
    let hrr = chacha13_server_hello(&HELLO_RETRY_REQUEST_RANDOM);
    session.on_data(Side::Resp, &hrr, at(2), &mut events);
    session.on_data(Side::Orig, &client_hello, at(3), &mut events);
    let mut flight = chacha13_server_hello(&[0x5a; 32]);
    flight.extend_from_slice(&record(20, &[1]));
    flight.extend_from_slice(&unhex(CHACHA13_S0));
    session.on_data(Side::Resp, &flight, at(4), &mut events);
    let mut client = record(20, &[1]);
    for rec in [CHACHA13_C0, CHACHA13_C1, CHACHA13_C2, CHACHA13_C3] {
        client.extend_from_slice(&unhex(rec));
    }
    session.on_data(Side::Orig, &client, at(5), &mut events);

    assert_eq!(
        count(&events, "decryption_failed"),
        0,
        "{:?}",
        kinds(&events)
    );
    assert_eq!(count(&events, "encrypted_extensions"), 1);
    assert_eq!(count(&events, "finished"), 1);
    assert_eq!(count(&events, "key_update"), 1);
    let plaintext: Vec<Vec<u8>> = session.take_plaintext().into_iter().map(|p| p.2).collect();
    assert_eq!(plaintext, [b"hello\n".to_vec(), b"after-update\n".to_vec()]);
    assert_eq!(session.summary().decryption_suite, Some(0x1303));
}

#[test]
fn decrypting_fuzz_entry_survives_the_fixtures_and_their_mutations() {
    for conversation in [ILLUSTRATED_TLS12, ILLUSTRATED_TLS13] {
        let mut data = fuzz_input(conversation);
        for seed in [0u8, 5, 63, 0x80, 0xff] {
            data[0] = seed;
            crate::proto::tls::fuzz_decrypting_session(&data);
        }
        for flip in (1..data.len()).step_by(17) {
            let mut mutated = data.clone();
            mutated[flip] ^= 0x5a;
            crate::proto::tls::fuzz_decrypting_session(&mutated);
        }
    }
}

#[test]
fn rejected_early_data_before_the_client_handshake_is_skipped() {
    let keys = chacha13_keys();
    for offer_early_data in [true, false] {
        let mut session = TlsSession::with_keylog(keys.clone());
        let mut events = Vec::new();
        let mut client_hello = chacha13_client_hello();
        if offer_early_data {
            // The empty session_ticket extension (0x0023) becomes an empty early_data (0x002a).
            let at_ext = client_hello
                .windows(4)
                .position(|w| w == [0x00, 0x23, 0x00, 0x00])
                .unwrap_or_default();
            client_hello[at_ext + 1] = 0x2a;
        }
        session.on_data(Side::Orig, &client_hello, at(1), &mut events);
        let mut flight = chacha13_server_hello(&[0x5a; 32]);
        flight.extend_from_slice(&unhex(CHACHA13_S0));
        session.on_data(Side::Resp, &flight, at(2), &mut events);
        // A 0-RTT record under the early traffic secret (not in the key log).
        let mut client = record(23, &[0x77; 64]);
        for rec in [CHACHA13_C0, CHACHA13_C1] {
            client.extend_from_slice(&unhex(rec));
        }
        session.on_data(Side::Orig, &client, at(3), &mut events);
        let plaintext: Vec<Vec<u8>> = session.take_plaintext().into_iter().map(|p| p.2).collect();
        if offer_early_data {
            assert_eq!(
                count(&events, "decryption_failed"),
                0,
                "{:?}",
                kinds(&events)
            );
            assert_eq!(plaintext, [b"hello\n".to_vec()]);
        } else {
            assert_eq!(count(&events, "decryption_failed"), 1);
            assert!(plaintext.is_empty());
        }
    }
}

#[test]
fn keys_offered_before_the_server_hello_are_used_and_after_it_are_not() {
    for (offer_before_frame, decrypts) in [(7, true), (9, false)] {
        let mut session = TlsSession::new();
        let mut events = Vec::new();
        for &(frame, is_client, hex) in ILLUSTRATED_TLS12 {
            if frame == offer_before_frame {
                // A pcapng Decryption Secrets Block read mid-capture.
                session.offer_keylog(tls12_keylog(TLS12_MASTER));
            }
            session.on_data(side_of(is_client), &unhex(hex), at(frame), &mut events);
        }
        assert_eq!(
            session.summary().decrypted,
            decrypts,
            "offered at {offer_before_frame}"
        );
        assert_eq!(count(&events, "decryption_failed"), 0);
    }
}

#[test]
fn tls13_with_only_application_secrets_decrypts_the_application_data() {
    let r = ILLUSTRATED_RANDOM;
    let mut keys = KeyLog::new();
    keys.add_text(format!(
        "SERVER_TRAFFIC_SECRET_0 {r} 86c967fd7747a36a0685b4ed8d0e6b4c02b4ddaf3cd294aa44e9f6b0183bf911e89a189ba5dfd71fccffb5cc164901f8\n\
         CLIENT_TRAFFIC_SECRET_0 {r} 9e47af27cb60d818a9ea7d233cb5ed4cc525fcd74614fb24b0ee59acb8e5aa7ff8d88b89792114208fec291a6fa96bad\n"
    ).as_bytes());
    let (session, events, plaintext) = run(ILLUSTRATED_TLS13, Some(Arc::new(keys)), 4096);
    assert_eq!(
        count(&events, "decryption_failed"),
        0,
        "{:?}",
        kinds(&events)
    );
    assert_eq!(count(&events, "new_session_ticket"), 2);
    assert_eq!(
        plaintext,
        vec![
            (Side::Orig, at(11), b"ping".to_vec()),
            (Side::Resp, at(17), b"pong".to_vec())
        ]
    );
    assert!(session.summary().decrypted);
    assert!(session.summary().established);
}
