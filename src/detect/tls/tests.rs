//! Unit tests of the TLS rules on constructed records, including the traps: a RST after
//! close_notify is teardown, a warning alert the handshake survives is not an error.

use crate::common::Side;
use crate::conn::{AppProtocol, Connection};
use crate::detect::test_support::*;
use crate::flow::TcpEvent;
use crate::proto::tls::TlsEvent;
use crate::proto::tls::message::{
    AlertInfo, CertInfo, CertificateMsg, ServerHelloInfo, TlsSummary,
};

/// A ClientHello to the broker's TLS port 8883 (IANA MQTT over TLS).
fn tls_conn(sni: Option<&str>, version: u16) -> Connection {
    tls_client_hello(8883, sni, version)
}

fn server_hello(c: &mut Connection, version: u16) {
    tls(
        c,
        6,
        3,
        Side::Resp,
        TlsEvent::ServerHello {
            version,
            cipher_suite: 0xc030,
        },
    );
    if let Some(t) = c.tls.as_mut() {
        t.server_hello = Some(ServerHelloInfo {
            at: at(6, 3),
            legacy_version: 0x0303,
            version,
            cipher_suite: 0xc030,
            ..ServerHelloInfo::default()
        });
    }
}

/// `tls_conn` answered by a ServerHello choosing `version` (frame 6).
fn answered_hello(sni: Option<&str>, version: u16) -> Connection {
    let mut c = tls_conn(sni, version);
    server_hello(&mut c, version);
    c
}

/// A TLS alert from `side` at `frame` (ms = frame): as the event stream and the summary
/// both hold it.
fn push_alert(c: &mut Connection, frame: u64, side: Side, read: Option<(u8, u8)>, len: u16) {
    let (level, description) = (read.map(|r| r.0), read.map(|r| r.1));
    let encrypted = read.is_none();
    let event = TlsEvent::Alert {
        level,
        description,
        encrypted,
        record_len: len,
    };
    tls(c, frame, frame as i64, side, event);
    if let Some(t) = c.tls.as_mut() {
        t.alerts.push(AlertInfo {
            at: at(frame, frame as i64),
            side,
            encrypted,
            level,
            description,
            record_len: len,
        });
    }
}

/// A plaintext alert (RFC 5246 §7.2: `level` 1 warning, 2 fatal).
fn alert(c: &mut Connection, frame: u64, side: Side, level: u8, description: u8) {
    push_alert(c, frame, side, Some((level, description)), 2);
}

/// An alert record that cannot be read (after ChangeCipherSpec, or TLS 1.3 without keys).
fn encrypted_alert(c: &mut Connection, frame: u64, side: Side, len: u16) {
    push_alert(c, frame, side, None, len);
}

/// An encrypted handshake record of `len` bytes from `side` at `frame` (ms = frame).
fn encrypted_handshake(c: &mut Connection, frame: u64, side: Side, len: u16) {
    tls(
        c,
        frame,
        frame as i64,
        side,
        TlsEvent::EncryptedHandshake { len },
    );
}

/// An application-data record of `len` bytes from `side` at `frame` (ms = frame).
fn application_data(c: &mut Connection, frame: u64, side: Side, len: u16) {
    tls(
        c,
        frame,
        frame as i64,
        side,
        TlsEvent::ApplicationData { len },
    );
}

fn establish(c: &mut Connection) {
    tls(c, 9, 9, Side::Orig, TlsEvent::Established);
    if let Some(t) = c.tls.as_mut() {
        t.established = true;
        t.app_data[0].records = 3;
        t.app_data[1].records = 3;
    }
}

fn finding_of<'a>(
    f: &'a [crate::detect::Finding],
    rule: &str,
) -> Option<&'a crate::detect::Finding> {
    f.iter().find(|x| x.rule == rule)
}

/// The server's CertificateRequest (frame 7) and the client's Certificate with `chain`
/// (frame 8; empty: it had none to send).
fn requested_client_certificate(c: &mut Connection, chain: Vec<CertInfo>) {
    if let Some(t) = c.tls.as_mut() {
        t.certificate_request = Some(at(7, 4));
        t.certificates.push(CertificateMsg {
            at: at(8, 5),
            side: Side::Orig,
            chain,
        });
    }
}

/// Asserts that `rule` found something on `c` that passes `check`; prints every finding if not.
#[track_caller]
fn assert_finding(c: &Connection, rule: &str, check: impl Fn(&crate::detect::Finding) -> bool) {
    let f = findings(c);
    assert!(finding_of(&f, rule).is_some_and(check), "{rule}: {f:#?}");
}

#[test]
fn unknown_ca_from_client_blames_the_device_trust_store() {
    let mut c = answered_hello(Some("broker.test"), 0x0303);
    alert(&mut c, 10, Side::Orig, 2, 48);
    tcp(&mut c, 11, 12, Side::Resp, TcpEvent::Fin);
    let f = findings(&c);
    let a = finding_of(&f, "tls_alert");
    assert!(
        a.is_some_and(|a| a.title.contains("device does not trust")),
        "{f:#?}"
    );
    assert_eq!(
        a.and_then(|a| a.alert.clone()),
        Some(Some("unknown_ca".to_string()))
    );
    assert!(!problems(&c).contains(&"rst_without_alert"));
    assert!(!problems(&c).contains(&"handshake_incomplete"));
}

#[test]
fn unknown_ca_from_server_blames_the_client_certificate() {
    let mut c = answered_hello(Some("mtls.test"), 0x0303);
    requested_client_certificate(&mut c, vec![Default::default()]);
    alert(&mut c, 10, Side::Resp, 2, 48);
    tcp(&mut c, 11, 12, Side::Resp, TcpEvent::Rst);
    let f = findings(&c);
    // The unknown_ca alert is the rejection's evidence, folded into one finding.
    let rejected = finding_of(&f, "client_cert_rejected");
    assert!(
        rejected.is_some_and(|r| r.merged == ["tls_alert"] && r.title.contains("unknown_ca")),
        "{f:#?}"
    );
    assert!(finding_of(&f, "tls_alert").is_none());
    assert!(finding_of(&f, "rst_without_alert").is_none());
}

#[test]
fn empty_client_certificate_then_handshake_failure_is_a_missing_client_cert() {
    let mut c = answered_hello(Some("mtls.test"), 0x0303);
    requested_client_certificate(&mut c, vec![]);
    alert(&mut c, 10, Side::Resp, 2, 40);
    let f = findings(&c);
    // One fault, one finding: the handshake_failure alert is the missing certificate's
    // evidence, not a second finding with the same title.
    let missing = finding_of(&f, "client_cert_missing");
    assert!(
        missing.is_some_and(
            |m| m.merged == ["tls_alert"] && m.alert == Some(Some("handshake_failure".into()))
        ),
        "{f:#?}"
    );
    assert!(finding_of(&f, "tls_alert").is_none(), "{f:#?}");
    assert_eq!(f.first().map(|f| f.rule), Some("client_cert_missing"));
}

#[test]
fn handshake_failure_right_after_client_hello_means_nothing_in_common() {
    let mut c = tls_conn(Some("b.test"), 0x0303);
    alert(&mut c, 5, Side::Resp, 2, 40);
    assert_finding(&c, "tls_alert", |a| a.title.contains("nothing in common"));
}

#[test]
fn a_warning_alert_the_handshake_survives_is_not_a_problem() {
    let mut c = answered_hello(Some("b.test"), 0x0304);
    alert(&mut c, 7, Side::Resp, 1, 112);
    establish(&mut c);
    let f = findings(&c);
    assert_eq!(severity_of(&f, "tls_alert"), Some("info"));
    assert!(problems(&c).is_empty(), "{:?}", problems(&c));
}

#[test]
fn close_notify_is_never_an_alert_finding() {
    let mut c = answered_hello(Some("b.test"), 0x0303);
    establish(&mut c);
    alert(&mut c, 20, Side::Orig, 1, 0);
    assert!(findings(&c).is_empty(), "{:?}", rules_fired(&c));
}

#[test]
fn rst_after_close_notify_is_teardown_not_rst_without_alert() {
    let mut c = answered_hello(Some("b.test"), 0x0303);
    establish(&mut c);
    encrypted_alert(&mut c, 20, Side::Resp, 26);
    encrypted_alert(&mut c, 21, Side::Orig, 26);
    tcp(&mut c, 22, 22, Side::Orig, TcpEvent::Rst);
    assert!(problems(&c).is_empty(), "{:?}", problems(&c));
}

#[test]
fn rst_after_mqtt_disconnect_is_teardown() {
    let mut c = established_plain();
    normal_end(&mut c, 10, 10);
    tcp(&mut c, 13, 13, Side::Orig, TcpEvent::Rst);
    assert!(problems(&c).is_empty(), "{:?}", problems(&c));
}

#[test]
fn rst_from_server_right_after_client_hello_is_rst_without_alert() {
    let mut c = tls_conn(Some("middlebox.test"), 0x0304);
    tcp(&mut c, 6, 3, Side::Resp, TcpEvent::Rst);
    let f = findings(&c);
    let r = finding_of(&f, "rst_without_alert");
    assert!(
        r.is_some_and(|r| r.title.contains("right after the ClientHello")),
        "{f:#?}"
    );
    assert!(finding_of(&f, "handshake_incomplete").is_none());
}

#[test]
fn tls13_encrypted_alert_after_client_finished_points_to_client_certificates() {
    let mut c = answered_hello(Some("mtls.test"), 0x0304);
    encrypted_handshake(&mut c, 8, Side::Orig, 25);
    encrypted_alert(&mut c, 9, Side::Resp, 19);
    tcp(&mut c, 10, 10, Side::Resp, TcpEvent::Rst);
    let f = findings(&c);
    let e = finding_of(&f, "encrypted_alert");
    assert!(
        e.is_some_and(|e| e.title.contains("after the client's Finished")),
        "{f:#?}"
    );
    assert_eq!(e.and_then(|e| e.alert.clone()), Some(None));
    assert!(finding_of(&f, "rst_without_alert").is_none());
}

#[test]
fn handshake_stopped_by_a_fin_is_incomplete_and_capture_end_is_info() {
    let mut c = answered_hello(Some("b.test"), 0x0303);
    tcp(&mut c, 8, 8, Side::Orig, TcpEvent::Fin);
    assert_eq!(
        severity_of(&findings(&c), "handshake_incomplete"),
        Some("warning")
    );
    let c = answered_hello(Some("b.test"), 0x0303);
    assert_eq!(
        severity_of(&findings(&c), "handshake_incomplete"),
        Some("info")
    );
}

#[test]
fn old_versions_sni_ip_and_missing_sni() {
    let mut c = tls_conn(Some("b.test"), 0x0302);
    alert(&mut c, 6, Side::Resp, 2, 70);
    let fired = rules_fired(&c);
    assert!(
        fired.contains(&"low_tls_version") && fired.contains(&"tls_alert"),
        "{fired:?}"
    );
    let c = tls_conn(Some("10.0.0.1"), 0x0304);
    assert!(rules_fired(&c).contains(&"sni_ip_literal"));
    let c = tls_conn(None, 0x0304);
    assert!(rules_fired(&c).contains(&"sni_missing"));
}

#[test]
fn client_hello_to_a_plain_listener_is_a_protocol_mismatch() {
    let mut c = tls_conn(Some("b.test"), 0x0304);
    c.endpoints[1] = std::net::SocketAddr::from(([10, 0, 0, 1], 1883));
    tcp(&mut c, 6, 5, Side::Resp, TcpEvent::Fin);
    let fired = rules_fired(&c);
    assert!(fired.contains(&"protocol_mismatch"), "{fired:?}");
    assert!(!fired.contains(&"handshake_incomplete"));
}

/// Rules fired on `c` with `--broker-port` declarations.
fn fired_with_ports(
    c: &Connection,
    ports: &[(u16, crate::detect::ports::BrokerTransport)],
) -> Vec<&'static str> {
    let book = crate::detect::RuleBook::builtin().with_broker_ports(ports);
    let end_ms = (c.tcp.last.time_ns - T0_NS) / 1_000_000;
    findings_under(c, end_ms, &book)
        .into_iter()
        .map(|f| f.rule)
        .collect()
}

#[test]
fn a_declared_broker_port_is_judged_like_the_iana_ones() {
    use crate::detect::ports::BrokerTransport::{Either, Plain, Tls};
    let mut c = tls_conn(Some("b.test"), 0x0304);
    c.endpoints[1] = std::net::SocketAddr::from(([10, 0, 0, 1], 1884));
    tcp(&mut c, 6, 5, Side::Resp, TcpEvent::Fin);
    // Unknown port: nothing says what should listen there.
    assert!(!fired_with_ports(&c, &[]).contains(&"protocol_mismatch"));
    // Declared plain, or declared without a kind and closed by a quick FIN: a plain listener.
    assert!(fired_with_ports(&c, &[(1884, Plain)]).contains(&"protocol_mismatch"));
    assert!(fired_with_ports(&c, &[(1884, Either)]).contains(&"protocol_mismatch"));
    // Declared TLS: a TLS listener that closes is another story, not a mismatch.
    assert!(!fired_with_ports(&c, &[(1884, Tls)]).contains(&"protocol_mismatch"));
}

#[test]
fn on_a_declared_port_a_quick_reset_is_a_plain_listener_a_slow_close_is_not() {
    use crate::detect::ports::BrokerTransport::{Either, Tls};
    let mut rst = tls_conn(Some("b.test"), 0x0304);
    rst.endpoints[1] = std::net::SocketAddr::from(([10, 0, 0, 1], 1884));
    tcp(&mut rst, 6, 5, Side::Resp, TcpEvent::Rst);
    // mosquitto resets on a ClientHello to its plain port (captures/tls-to-plain-port.pcap).
    let fired = fired_with_ports(&rst, &[(1884, Either)]);
    assert!(fired.contains(&"protocol_mismatch"), "{fired:?}");
    // On a port known to be TLS, a reset right after the ClientHello is a middlebox's.
    let fired = fired_with_ports(&rst, &[(1884, Tls)]);
    assert!(!fired.contains(&"protocol_mismatch"), "{fired:?}");
    assert!(fired.contains(&"rst_without_alert"), "{fired:?}");
    let mut slow = tls_conn(Some("b.test"), 0x0304);
    slow.endpoints[1] = std::net::SocketAddr::from(([10, 0, 0, 1], 1884));
    tcp(&mut slow, 6, 5_000, Side::Resp, TcpEvent::Fin);
    assert!(!fired_with_ports(&slow, &[(1884, Either)]).contains(&"protocol_mismatch"));
}

#[test]
fn tls13_client_closing_after_its_finished_is_not_an_encrypted_alert() {
    // zeek hrr.pcap: client flight, server tickets, then the client's close_notify.
    let mut c = answered_hello(Some("b.test"), 0x0304);
    encrypted_handshake(&mut c, 8, Side::Orig, 53);
    application_data(&mut c, 9, Side::Resp, 517);
    encrypted_alert(&mut c, 10, Side::Orig, 19);
    tcp(&mut c, 11, 11, Side::Orig, TcpEvent::Fin);
    assert!(problems(&c).is_empty(), "{:?}", problems(&c));
}

#[test]
fn a_server_answering_tls_with_non_tls_on_another_port_is_a_mismatch() {
    // A ClientHello to `port`, answered by server bytes that are not TLS (`what`), then a FIN.
    let answered = |port: u16, what: &str| {
        let mut c = tls_conn(None, 0x0303);
        c.endpoints[1] = std::net::SocketAddr::from(([10, 0, 0, 1], port));
        let invalid = TlsEvent::Invalid { what: what.into() };
        tls(&mut c, 6, 5, Side::Resp, invalid);
        tcp(&mut c, 7, 6, Side::Resp, TcpEvent::Fin);
        c
    };
    let f = findings(&answered(80, "HTTP"));
    assert!(
        finding_of(&f, "protocol_mismatch").is_some_and(|m| m.title.contains("not TLS")),
        "{f:#?}"
    );
    // On a TLS port, broken server bytes are not called a protocol mismatch.
    let fired = rules_fired(&answered(443, "type 0"));
    assert!(
        !fired.contains(&"protocol_mismatch") && fired.contains(&"handshake_incomplete"),
        "{fired:?}"
    );
}

#[test]
fn missing_sni_is_info_when_the_server_accepted_it() {
    let mut c = answered_hello(None, 0x0303);
    establish(&mut c);
    assert_eq!(severity_of(&findings(&c), "sni_missing"), Some("info"));
}

#[test]
fn unknown_ca_with_a_lone_server_certificate_suggests_a_missing_intermediate() {
    let mut c = answered_hello(Some("b.test"), 0x0303);
    if let Some(t) = c.tls.as_mut() {
        let leaf = crate::proto::tls::message::CertInfo {
            subject: "CN=b.test".into(),
            issuer: "CN=Intermediate".into(),
            ..Default::default()
        };
        t.certificates.push(CertificateMsg {
            at: at(7, 4),
            side: Side::Resp,
            chain: vec![leaf],
        });
    }
    alert(&mut c, 10, Side::Orig, 2, 48);
    let f = findings(&c);
    // The unknown_ca alert is the missing intermediate's effect: one finding, an error.
    let missing = finding_of(&f, "intermediate_missing");
    assert!(
        missing.is_some_and(|m| m.severity.name() == "error"
            && m.merged == ["tls_alert"]
            && m.detail.contains("CN=Intermediate")),
        "{f:#?}"
    );
    assert!(finding_of(&f, "tls_alert").is_none(), "{f:#?}");
}

#[test]
fn profiles_raise_the_minimum_version_and_require_client_certificates() {
    let mut c = answered_hello(Some("b.test"), 0x0303);
    establish(&mut c);
    let book = crate::detect::RuleBook::builtin();
    let run = |book: &crate::detect::RuleBook| -> Vec<&'static str> {
        findings_with(vec![c.clone()], 100, book)
            .per_connection
            .into_iter()
            .flatten()
            .map(|f| f.rule)
            .collect()
    };
    assert!(run(&book).is_empty());
    let azure = book.clone().with_profile("azure-event-grid");
    let Ok(azure) = azure else {
        panic!("{azure:?}")
    };
    assert!(run(&azure).contains(&"client_cert_missing"));
}

#[test]
fn reset_right_after_a_completed_handshake_without_any_answer() {
    let mut c = answered_hello(Some("b.test"), 0x0303);
    establish(&mut c);
    if let Some(t) = c.tls.as_mut() {
        t.app_data[1].records = 0;
    }
    tcp(&mut c, 12, 12, Side::Resp, TcpEvent::Rst);
    assert_finding(&c, "rst_without_alert", |r| r.title.contains("right after"));
}

/// A TLS 1.3 connection to `sni` whose server sent its ServerHello and its encrypted flight
/// (EncryptedExtensions, Certificate, CertificateVerify, Finished: frames 7 to 10) without keys.
fn tls13_after_server_flight(sni: &str) -> Connection {
    let mut c = answered_hello(Some(sni), 0x0304);
    for (frame, len) in [(7, 62), (8, 1911), (9, 281), (10, 69)] {
        tls(
            &mut c,
            frame,
            frame as i64,
            Side::Resp,
            TlsEvent::EncryptedHandshake { len },
        );
    }
    c
}

/// A TLS 1.3 handshake without keys whose client answers the server's flight with a first
/// record of `first_len` bytes, and the server refuses with an encrypted alert.
fn tls13_refused_after_client_record(first_len: u16) -> Connection {
    let mut c = tls13_after_server_flight("mtls.test");
    tls(
        &mut c,
        12,
        12,
        Side::Orig,
        TlsEvent::EncryptedHandshake { len: first_len },
    );
    application_data(&mut c, 13, Side::Orig, 69);
    encrypted_alert(&mut c, 14, Side::Resp, 19);
    tcp(&mut c, 15, 15, Side::Resp, TcpEvent::Rst);
    c
}

#[test]
fn tls13_refusal_after_an_empty_certificate_is_an_inferred_missing_certificate() {
    let f = findings(&tls13_refused_after_client_record(25));
    let missing = finding_of(&f, "client_cert_missing");
    assert!(
        missing.is_some_and(|m| m.inferred
            && m.severity.name() == "warning"
            && m.merged == ["encrypted_alert"]
            && m.detail.contains("25 bytes")),
        "{f:#?}"
    );
    assert!(finding_of(&f, "client_cert_rejected").is_none());
}

#[test]
fn tls13_refusal_after_a_certificate_is_an_inferred_rejection() {
    let f = findings(&tls13_refused_after_client_record(894));
    assert!(
        finding_of(&f, "client_cert_rejected").is_some_and(|r| r.inferred),
        "{f:#?}"
    );
    assert!(finding_of(&f, "client_cert_missing").is_none());
}

#[test]
fn tls13_refusal_after_a_finished_alone_says_nothing_about_certificates() {
    let f = findings(&tls13_refused_after_client_record(53));
    assert!(finding_of(&f, "client_cert_missing").is_none(), "{f:#?}");
    assert!(finding_of(&f, "client_cert_rejected").is_none(), "{f:#?}");
    assert!(finding_of(&f, "encrypted_alert").is_some(), "{f:#?}");
}

// ---- Conditions of the TLS rules (issue 12: tests that can fail). ----

#[test]
fn a_tls_alert_names_the_last_message_before_it() {
    // tls_alert `{after}`: the last TLS message before the alert's frame, not the alert; the
    // evidence names the level (RFC 5246 §7.2: 2 = fatal).
    let mut c = answered_hello(Some("b.test"), 0x0303);
    alert(&mut c, 8, Side::Resp, 2, 40);
    tcp(&mut c, 9, 9, Side::Resp, TcpEvent::Fin);
    assert_finding(&c, "tls_alert", |a| {
        a.detail.contains("(frame 6)")
            && a.evidence.iter().any(|e| e.note.starts_with("fatal alert"))
    });
    // RFC 5246 §7.2: 1 = warning (here a certificate warning the handshake survived or not).
    let mut c = answered_hello(Some("b.test"), 0x0303);
    alert(&mut c, 8, Side::Resp, 1, 45);
    tcp(&mut c, 9, 9, Side::Resp, TcpEvent::Fin);
    assert_finding(&c, "tls_alert", |a| {
        a.evidence
            .iter()
            .any(|e| e.note.starts_with("warning alert"))
    });
}

#[test]
fn tls13_client_alert_instead_of_its_flight_is_an_encrypted_alert() {
    // RFC 8446 §4.4.4, §6: a client rejecting the server's flight sends an alert instead of
    // its Finished; without its own flight before, this is no close_notify.
    let mut c = tls13_after_server_flight("b.test");
    encrypted_alert(&mut c, 12, Side::Orig, 19);
    tcp(&mut c, 13, 13, Side::Orig, TcpEvent::Fin);
    let fired = rules_fired(&c);
    assert!(fired.contains(&"encrypted_alert"), "{fired:?}");
}

#[test]
fn an_sslv2_hello_has_no_cipher_suite_to_judge() {
    // weak_cipher_suite: a version under SSL 3.0 (0x0300) is an SSL 2.0 hello, whose suite
    // numbers are not TLS suites (RFC 6176).
    let with_version = |version: u16| {
        let mut c = tls_conn(Some("b.test"), 0x0303);
        server_hello(&mut c, version);
        if let Some(sh) = c.tls.as_mut().and_then(|t| t.server_hello.as_mut()) {
            sh.cipher_suite = 0x0005; // TLS_RSA_WITH_RC4_128_SHA
        }
        rules_fired(&c)
    };
    assert!(with_version(0x0303).contains(&"weak_cipher_suite"));
    assert!(!with_version(0x0002).contains(&"weak_cipher_suite"));
}

#[test]
fn an_encrypted_alert_on_a_connection_seen_mid_stream_is_its_close_notify() {
    // encrypted_alert: no ClientHello nor ServerHello in the capture, so no handshake to end:
    // a 26-byte alert (2 bytes under AES-GCM, TLS 1.2) closing the session is close_notify.
    let mut c = conn();
    c.endpoints[1] = std::net::SocketAddr::from(([10, 0, 0, 1], 8883));
    c.protocol = AppProtocol::Tls;
    c.tls = Some(TlsSummary {
        client_side: Some(Side::Orig),
        ..TlsSummary::default()
    });
    encrypted_alert(&mut c, 5, Side::Orig, 26);
    tcp(&mut c, 6, 6, Side::Orig, TcpEvent::Fin);
    assert!(!rules_fired(&c).contains(&"encrypted_alert"));
}

#[test]
fn a_tls12_server_alert_is_not_blamed_on_the_device() {
    // encrypted_alert tls13_client_after_server_flight is for a TLS 1.3 *client* alert; a
    // TLS 1.2 server alert before any client flight keeps the base text.
    let mut c = answered_hello(Some("b.test"), 0x0303);
    encrypted_alert(&mut c, 8, Side::Resp, 26);
    tcp(&mut c, 9, 9, Side::Resp, TcpEvent::Fin);
    let f = findings(&c);
    let hit = finding_of(&f, "encrypted_alert");
    assert!(
        hit.is_some_and(|h| !h.title.starts_with("The device refused")),
        "{f:#?}"
    );
}

#[test]
fn tls13_client_short_record_after_its_own_flight_is_its_close() {
    // RFC 8446 §6.1: after its encrypted flight, a client's short encrypted record is its
    // close_notify, not a refusal.
    let mut c = tls13_after_server_flight("b.test");
    encrypted_handshake(&mut c, 12, Side::Orig, 69);
    encrypted_alert(&mut c, 13, Side::Orig, 19);
    tcp(&mut c, 14, 14, Side::Orig, TcpEvent::Fin);
    assert!(
        !rules_fired(&c).contains(&"encrypted_alert"),
        "{:?}",
        rules_fired(&c)
    );
}

/// The server's Certificate message at frame 7 with `chain` (subject, issuer).
fn server_certificates(c: &mut Connection, chain: &[(&str, &str)]) {
    if let Some(t) = c.tls.as_mut() {
        t.certificates.push(CertificateMsg {
            at: at(7, 7),
            side: Side::Resp,
            chain: chain
                .iter()
                .map(|(subject, issuer)| crate::proto::tls::message::CertInfo {
                    subject: (*subject).into(),
                    issuer: (*issuer).into(),
                    not_after: T0_NS / 1_000_000_000 + 86_400,
                    san: vec!["b.test".into()],
                    ..Default::default()
                })
                .collect(),
        });
    }
}

#[test]
fn unknown_ca_after_a_self_signed_server_certificate_says_so() {
    // tls_alert unknown_ca (48) from the client: the server's lone certificate is its own
    // issuer (RFC 5280 §6.1: no trust anchor can be built to it).
    let mut c = answered_hello(Some("b.test"), 0x0303);
    server_certificates(&mut c, &[("CN=b.test", "CN=b.test")]);
    alert(&mut c, 8, Side::Orig, 2, 48);
    let f = findings(&c);
    assert!(
        f.iter()
            .any(|x| x.detail.contains("self-signed certificate (CN=b.test)")),
        "{f:#?}"
    );
}

#[test]
fn an_empty_client_certificate_is_not_a_rejected_one() {
    // RFC 5246 §7.4.6: an empty client Certificate means no certificate; the server's own
    // certificate is not the client's.
    let mut c = answered_hello(Some("b.test"), 0x0303);
    server_certificates(&mut c, &[("CN=b.test", "CN=b.test")]);
    if let Some(t) = c.tls.as_mut() {
        t.certificates.push(CertificateMsg {
            at: at(9, 9),
            side: Side::Orig,
            chain: Vec::new(),
        });
    }
    alert(&mut c, 10, Side::Resp, 2, 42);
    let fired = rules_fired(&c);
    assert!(!fired.contains(&"client_cert_rejected"), "{fired:?}");
}

#[test]
fn a_reset_after_the_server_sent_application_data_is_no_tls_matter() {
    // rst_without_alert "right after": only when the server sent no application data yet.
    let mut c = answered_hello(Some("b.test"), 0x0303);
    establish(&mut c);
    tcp(&mut c, 20, 20, Side::Resp, TcpEvent::Rst);
    assert!(!rules_fired(&c).contains(&"rst_without_alert"));
}

#[test]
fn neither_tls_nor_mqtt_on_a_broker_port_is_a_mismatch() {
    // protocol_mismatch neither: bytes that are neither on 1883 (IANA MQTT); on another port
    // nothing says MQTT was expected.
    let on_port = |port: u16| {
        let mut c = conn();
        c.endpoints[1] = std::net::SocketAddr::from(([10, 0, 0, 1], port));
        c.protocol = AppProtocol::Unknown;
        tcp(&mut c, 1, 0, Side::Orig, TcpEvent::Syn);
        tcp(&mut c, 2, 1, Side::Resp, TcpEvent::SynAck);
        rules_fired(&c)
    };
    assert!(on_port(1883).contains(&"protocol_mismatch"));
    assert!(!on_port(8080).contains(&"protocol_mismatch"));
}

#[test]
fn a_server_sending_half_rtt_data_before_the_client_flight_is_no_completed_handshake() {
    // handshake_done (TLS 1.3 without keys): RFC 8446 §4.4.4 lets a server send data right
    // after its own flight (0.5-RTT), before the client's Finished; only the client's flight
    // followed by the server's data says the client was accepted. Here the client never sent
    // its flight and closed: the handshake did not complete.
    let mut c = tls13_after_server_flight("b.test");
    application_data(&mut c, 11, Side::Resp, 250);
    tcp(&mut c, 12, 12, Side::Orig, TcpEvent::Fin);
    assert!(!crate::detect::tls::handshake_done(&c));
    assert_finding(&c, "handshake_incomplete", |h| {
        h.evidence
            .iter()
            .any(|e| e.at.frame == 12 && e.note == "FIN from client")
    });
    // With the client's flight in between, the same server data is its acceptance.
    let mut c = tls13_after_server_flight("b.test");
    encrypted_handshake(&mut c, 11, Side::Orig, 53);
    application_data(&mut c, 12, Side::Resp, 250);
    assert!(crate::detect::tls::handshake_done(&c));
}

#[test]
fn an_encrypted_alert_after_a_server_hello_counts_though_the_client_hello_was_missed() {
    // encrypted_alert: only a connection with no handshake message at all in the capture is
    // seen mid-stream; one whose capture started between the ClientHello and the ServerHello
    // still shows the handshake the alert ended (RFC 8446 §4.4.4: the client alerts instead
    // of sending its Finished).
    let mut c = tls13_after_server_flight("b.test");
    c.events.retain(|e| {
        !matches!(
            e.kind,
            crate::conn::EventKind::Tls(TlsEvent::ClientHello { .. })
        )
    });
    if let Some(t) = c.tls.as_mut() {
        t.client_hello = None;
        t.client_hello_count = 0;
    }
    encrypted_alert(&mut c, 12, Side::Orig, 19);
    tcp(&mut c, 13, 13, Side::Orig, TcpEvent::Fin);
    let fired = rules_fired(&c);
    assert!(fired.contains(&"encrypted_alert"), "{fired:?}");
}

#[test]
fn a_server_reset_after_its_own_hello_is_no_reset_right_after_the_client_hello() {
    // rst_without_alert: the middlebox variant needs the ClientHello to be the last message;
    // a server that already answered with its ServerHello is a TLS stack, named by side.
    let mut c = answered_hello(Some("b.test"), 0x0303);
    tcp(&mut c, 8, 8, Side::Resp, TcpEvent::Rst);
    assert_finding(&c, "rst_without_alert", |r| {
        r.title.contains("server") && !r.title.contains("right after the ClientHello")
    });
    // A client reset right after its own ClientHello is the client's, not a middlebox's.
    let mut c = tls_conn(Some("b.test"), 0x0303);
    tcp(&mut c, 6, 6, Side::Orig, TcpEvent::Rst);
    assert_finding(&c, "rst_without_alert", |r| {
        r.title.starts_with("The client reset")
    });
}

#[test]
fn a_client_alert_after_its_flight_is_not_the_server_refusing_it() {
    // refused_client_flight: the refusal is the *server's* encrypted alert, else its close
    // (RFC 8446 §6); a client's own alert after its flight is neither.
    let mut c = tls13_after_server_flight("mtls.test");
    encrypted_handshake(&mut c, 12, Side::Orig, 894);
    encrypted_alert(&mut c, 13, Side::Orig, 19);
    tcp(&mut c, 14, 14, Side::Resp, TcpEvent::Fin);
    let flight = crate::detect::tls13_flight::refused_client_flight(&c, 10.0);
    assert!(
        flight.is_some_and(|f| !f.by_alert && f.refusal.frame == 14),
        "{flight:?}"
    );
}

#[test]
fn plain_mqtt_to_the_tls_port_closed_unanswered_is_a_protocol_mismatch() {
    // protocol_mismatch plain_to_tls: a plain CONNECT to 8883 (IANA MQTT over TLS) that the
    // server closed without one MQTT packet back; a server that answered MQTT is no TLS
    // listener.
    let unanswered = || {
        // The plain session of `established_plain`, to port 8883 and without its CONNACK.
        let mut c = established_plain();
        c.endpoints[1] = std::net::SocketAddr::from(([10, 0, 0, 1], 8883));
        if let Some(m) = c.mqtt.as_mut() {
            m.connack = None;
            m.packets.remove("CONNACK");
            m.last_activity[Side::Resp.index()] = None;
        }
        c.events
            .retain(|e| e.side == Side::Orig || !matches!(e.kind, crate::conn::EventKind::Mqtt(_)));
        c
    };
    let mut c = unanswered();
    tcp(&mut c, 6, 5, Side::Resp, TcpEvent::Rst);
    assert_finding(&c, "protocol_mismatch", |m| {
        m.title == "Plain MQTT sent to a TLS listener on port 8883"
    });
    let mut c = unanswered();
    mqtt(&mut c, 5, 4, Side::Resp, packet("PINGRESP"));
    tcp(&mut c, 6, 5, Side::Resp, TcpEvent::Rst);
    assert!(!rules_fired(&c).contains(&"protocol_mismatch"));
}

#[test]
fn an_empty_client_certificate_answers_a_request_the_capture_missed() {
    // tls_alert handshake_failure_after_empty_client_cert: RFC 5246 §7.4.6 has the client send
    // a Certificate only when the server asked for one, so its empty Certificate proves the
    // CertificateRequest even when a capture hole hid it (no client_cert_missing then); the
    // server's fatal handshake_failure is its refusal of the missing certificate (§7.4.6).
    let mut c = answered_hello(Some("mtls.test"), 0x0303);
    c.tcp.missing_bytes = 300;
    if let Some(t) = c.tls.as_mut() {
        t.certificates.push(CertificateMsg {
            at: at(8, 8),
            side: Side::Orig,
            chain: Vec::new(),
        });
    }
    alert(&mut c, 10, Side::Resp, 2, 40);
    tcp(&mut c, 11, 11, Side::Resp, TcpEvent::Fin);
    assert_finding(&c, "tls_alert", |a| {
        a.title == "The broker requires a client certificate and the device sent none"
    });
}

#[test]
fn a_tls13_server_alert_before_any_client_flight_is_not_blamed_on_the_device() {
    // encrypted_alert tls13_client_after_server_flight is the *client's* alert sent instead of
    // its Finished (RFC 8446 §4.4.4, §6.2); a server that alerts right after its ServerHello,
    // before the client sent anything encrypted, ended the handshake itself.
    let mut c = answered_hello(Some("b.test"), 0x0304);
    encrypted_alert(&mut c, 7, Side::Resp, 19);
    tcp(&mut c, 8, 8, Side::Resp, TcpEvent::Fin);
    assert_finding(&c, "encrypted_alert", |e| {
        e.title == "The server ended the handshake with an encrypted alert"
    });
}

#[test]
fn a_server_reset_after_the_clients_key_exchange_is_no_reset_right_after_the_client_hello() {
    // rst_without_alert server_after_client_hello needs the ClientHello to be the last
    // message. Here the last one is the client's, but its ClientKeyExchange (RFC 5246 §7.3:
    // the client's second flight, after the server's): the server's TLS stack had answered,
    // so no middlebox story; the reset is named by side.
    let mut c = answered_hello(Some("b.test"), 0x0303);
    tls(&mut c, 8, 8, Side::Orig, TlsEvent::ClientKeyExchange);
    tcp(&mut c, 9, 9, Side::Resp, TcpEvent::Rst);
    assert_finding(&c, "rst_without_alert", |r| {
        r.title == "The server reset the connection during the TLS handshake, without an alert"
    });
}

#[test]
fn a_refused_tls13_flight_is_refused_by_the_servers_alert_not_its_later_reset() {
    // refused_client_flight: the refusal is the server's encrypted alert after the client's
    // first record (RFC 8446 §6.2), frame 14; its close (RST, frame 15) is only the fallback
    // when no alert came.
    let c = tls13_refused_after_client_record(25);
    let flight = crate::detect::tls13_flight::refused_client_flight(&c, 1.0);
    assert!(
        flight.is_some_and(|f| f.by_alert && f.refusal.frame == 14),
        "{flight:?}"
    );
    assert_finding(&c, "client_cert_missing", |m| {
        m.detail.contains("by an encrypted alert (frame 14)")
    });
}

#[test]
fn a_refused_tls13_flight_counts_only_the_client_records_before_the_refusal() {
    // refused_client_flight: the flight is what the client sent before the server refused it:
    // the 25-byte empty Certificate and the 69-byte Finished (SHA-384, RFC 8446 §4.4.4). Its
    // MQTT CONNECT (RFC 8446 §4.4.4 lets it follow the Finished at once) crossed the server's
    // alert and is not part of it.
    let mut c = tls13_after_server_flight("mtls.test");
    for (frame, event) in [
        (12, TlsEvent::EncryptedHandshake { len: 25 }),
        (13, TlsEvent::ApplicationData { len: 69 }),
    ] {
        tls(&mut c, frame, frame as i64, Side::Orig, event);
    }
    encrypted_alert(&mut c, 14, Side::Resp, 19);
    application_data(&mut c, 15, Side::Orig, 40);
    tcp(&mut c, 16, 16, Side::Resp, TcpEvent::Rst);
    let flight = crate::detect::tls13_flight::refused_client_flight(&c, 1.0);
    assert!(
        flight.is_some_and(|f| f.records == 2 && f.bytes == 94),
        "{flight:?}"
    );
    assert_finding(&c, "client_cert_missing", |m| {
        m.detail.contains("(2 client record(s), 94 bytes)")
    });
}

#[test]
fn a_profile_requiring_tls13_finds_tls12_too_low() {
    // low_tls_version: a profile's min_tls_version = "1.3" raises the bar above RFC 8996's
    // TLS 1.2 (rules/README.md), both for the version the server chose and for the most the
    // client offered; TLS 1.3 itself passes.
    let dir = tempfile::tempdir();
    let Ok(dir) = dir else { panic!("{dir:?}") };
    let profiles = dir.path().join("profiles");
    let written = std::fs::write(
        dir.path().join("tls.toml"),
        include_str!("../../../rules/tls.toml"),
    )
    .and_then(|()| std::fs::create_dir(&profiles))
    .and_then(|()| {
        std::fs::write(
            profiles.join("tls13-only.toml"),
            "name = \"tls13-only\"\ntitle = \"A broker that accepts TLS 1.3 only\"\n\
             [limits]\nmin_tls_version = \"1.3\"\n",
        )
    });
    assert!(written.is_ok(), "{written:?}");
    let book = crate::detect::RuleBook::builtin()
        .with_dir(dir.path())
        .and_then(|b| b.with_profile("tls13-only"));
    let Ok(book) = book else { panic!("{book:?}") };
    let titles = |c: &Connection| -> Vec<String> {
        let end_ms = (c.tcp.last.time_ns - T0_NS) / 1_000_000;
        findings_under(c, end_ms, &book)
            .into_iter()
            .filter(|f| f.rule == "low_tls_version")
            .map(|f| f.title)
            .collect()
    };
    let mut chosen = tls_conn(Some("b.test"), 0x0304);
    server_hello(&mut chosen, 0x0303);
    establish(&mut chosen);
    assert_eq!(titles(&chosen), ["The server chose TLS 1.2"]);
    let offered = tls_conn(Some("b.test"), 0x0303);
    assert_eq!(titles(&offered), ["The client offers at most TLS 1.2"]);
    let mut tls13 = answered_hello(Some("b.test"), 0x0304);
    establish(&mut tls13);
    assert!(titles(&tls13).is_empty(), "{:?}", titles(&tls13));
    // Under the generic profile TLS 1.2 is fine.
    assert!(!rules_fired(&chosen).contains(&"low_tls_version"));
}

#[test]
fn tls13_client_finished_and_close_notify_in_one_segment_is_its_close() {
    // encrypted_alert: the records of one segment are in order, and a client refusing the
    // server sends its alert instead of its Finished and nothing after it (RFC 8446 §4.4.4,
    // §6.2): a Finished in the alert's own frame came first, so the alert is its close_notify.
    let mut c = tls13_after_server_flight("b.test");
    encrypted_handshake(&mut c, 12, Side::Orig, 69);
    encrypted_alert(&mut c, 12, Side::Orig, 19);
    tcp(&mut c, 13, 13, Side::Orig, TcpEvent::Fin);
    let f = findings(&c);
    assert!(finding_of(&f, "encrypted_alert").is_none(), "{f:#?}");
}

/// The broker's leaf, then the root, then the intermediate: not in issuing order.
const MISORDERED_CHAIN: &[(&str, &str)] = &[
    ("CN=b.test", "CN=Inter"),
    ("CN=Root", "CN=Root"),
    ("CN=Inter", "CN=Root"),
];

#[test]
fn the_servers_unknown_ca_is_about_the_device_certificate_not_the_brokers_chain() {
    // Mutual TLS with a broker chain out of order: the server's unknown_ca judges the client's
    // certificate (RFC 5246 §7.4.6), so it is client_cert_rejected's evidence; cert_chain_order
    // explains only the client's alerts (`unknown_ca_from_client` in rules/tls.toml).
    let mut c = answered_hello(Some("b.test"), 0x0303);
    server_certificates(&mut c, MISORDERED_CHAIN);
    requested_client_certificate(&mut c, vec![Default::default()]);
    alert(&mut c, 10, Side::Resp, 2, 48);
    tcp(&mut c, 11, 12, Side::Resp, TcpEvent::Rst);
    let f = findings(&c);
    assert!(
        finding_of(&f, "client_cert_rejected").is_some_and(|r| r.merged == ["tls_alert"]),
        "{f:#?}"
    );
    assert!(
        finding_of(&f, "cert_chain_order").is_some_and(|o| o.merged.is_empty()),
        "{f:#?}"
    );
    // The client's unknown_ca about the same chain is the order's consequence.
    let mut c = answered_hello(Some("b.test"), 0x0303);
    server_certificates(&mut c, MISORDERED_CHAIN);
    alert(&mut c, 10, Side::Orig, 2, 48);
    assert_finding(&c, "cert_chain_order", |o| o.merged == ["tls_alert"]);
}

#[test]
fn only_the_servers_non_tls_bytes_say_it_speaks_another_protocol() {
    // protocol_mismatch tls_to_other: the server answered the ClientHello with bytes that are
    // not TLS. Bytes of the client's that are not TLS say nothing about the server.
    let mut c = tls_conn(None, 0x0303);
    c.endpoints[1] = std::net::SocketAddr::from(([10, 0, 0, 1], 9000));
    let invalid = TlsEvent::Invalid {
        what: "type 0".into(),
    };
    tls(&mut c, 5, 4, Side::Orig, invalid);
    tcp(&mut c, 7, 6, Side::Resp, TcpEvent::Fin);
    let fired = rules_fired(&c);
    assert!(!fired.contains(&"protocol_mismatch"), "{fired:?}");
}

/// The TLS 1.3 handshake of `tls13_after_server_flight` answered by the client's flight
/// (Certificate of 894 bytes at frame 12, Finished at 13), then the server's `answer`.
fn tls13_flight_then(answer: impl FnOnce(&mut Connection)) -> Connection {
    let mut c = tls13_after_server_flight("mtls.test");
    encrypted_handshake(&mut c, 12, Side::Orig, 894);
    application_data(&mut c, 13, Side::Orig, 69);
    answer(&mut c);
    c
}

#[test]
fn a_server_that_sent_data_after_the_flight_accepted_it_whatever_follows() {
    // refused_client_flight: an accepted TLS 1.3 client gets application data first (session
    // tickets, RFC 8446 §4.6.1; then CONNACK); a close after that is no refusal of the flight.
    let served = tls13_flight_then(|c| {
        application_data(c, 14, Side::Resp, 250);
        tcp(c, 15, 15, Side::Resp, TcpEvent::Fin);
    });
    let flight = crate::detect::tls13_flight::refused_client_flight(&served, 1.0);
    assert_eq!(flight, None);
}

#[test]
fn a_flight_refused_exactly_at_the_maximum_delay_is_refused_later_is_not() {
    // refused_client_flight: the refusal must follow the flight within max_refusal_delay_s
    // (1.0 s in rules/tls.toml), inclusive; a close 1.5 s later is some other story.
    let closed_after =
        |ms: i64| tls13_flight_then(|c| tcp(c, 14, 12 + ms, Side::Resp, TcpEvent::Fin));
    let refused = crate::detect::tls13_flight::refused_client_flight(&closed_after(1_000), 1.0);
    assert!(
        refused.is_some_and(|f| !f.by_alert && f.refusal.frame == 14),
        "{refused:?}"
    );
    let late = crate::detect::tls13_flight::refused_client_flight(&closed_after(1_500), 1.0);
    assert_eq!(late, None);
}
