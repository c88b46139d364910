//! Unit tests of the MQTT rules, with mosquitto's silent behaviours as negative controls.

use crate::common::BytesText;
use crate::common::Side;
use crate::detect::test_support::*;
use crate::flow::TcpEvent;
use crate::proto::mqtt::MqttEvent;
use crate::proto::mqtt::event::PacketSummary;

/// A SUBSCRIBE with packet identifier `id` for one `filter`.
fn subscribe(id: u16, filter: &[u8]) -> PacketSummary {
    let mut s = packet("SUBSCRIBE");
    s.packet_id = Some(id);
    s.filters = vec![BytesText::new(filter)];
    s
}

/// A SUBACK for packet identifier `id` with one return code.
fn suback(id: u16, code: u8) -> PacketSummary {
    let mut a = packet("SUBACK");
    a.packet_id = Some(id);
    a.reason_codes = vec![code];
    a
}

/// A QoS 1 PUBLISH with packet identifier `id` to `topic`.
fn publish(id: u16, topic: &[u8]) -> PacketSummary {
    let mut p = packet("PUBLISH");
    p.packet_id = Some(id);
    p.qos = Some(1);
    p.topic = Some(BytesText::new(topic));
    p
}

/// An MQTT 5 PUBACK for packet identifier `id` refusing it: 0x87 not_authorized.
fn puback_not_authorized(id: u16) -> PacketSummary {
    let mut a = packet("PUBACK");
    a.packet_id = Some(id);
    a.reason_codes = vec![0x87];
    a.reason = Some("not_authorized");
    a
}

/// The frames a finding names as evidence, in order.
fn evidence_frames(f: &crate::detect::Finding) -> Vec<u64> {
    f.evidence.iter().map(|e| e.at.frame).collect()
}

fn set_connack(c: &mut crate::conn::Connection, version: u8, code: u8) {
    if let Some(m) = c.mqtt.as_mut() {
        m.protocol_version = Some(version);
        if let Some(a) = m.connack.as_mut() {
            a.code = code;
        }
    }
}

#[test]
fn healthy_session_has_no_findings() {
    let mut c = established_plain();
    mqtt(&mut c, 8, 5, Side::Orig, packet("PUBLISH"));
    normal_end(&mut c, 10, 10);
    assert!(findings(&c).is_empty(), "{:?}", rules_fired(&c));
}

#[test]
fn connack_codes_are_named_per_version() {
    let mut c = established_plain();
    set_connack(&mut c, 4, 5);
    tcp(&mut c, 7, 5, Side::Resp, TcpEvent::Fin);
    let f = findings(&c);
    assert!(
        f.iter()
            .any(|f| f.rule == "connack_refused" && f.title.contains("Not authorized")),
        "{f:#?}"
    );
    set_connack(&mut c, 5, 0x86);
    let f = findings(&c);
    assert!(
        f.iter()
            .any(|f| f.rule == "connack_refused" && f.title.contains("0x86"))
    );
    set_connack(&mut c, 5, 0x8c);
    assert!(
        findings(&c)
            .iter()
            .any(|f| f.title.contains("authentication method"))
    );
    // An MQTT 5 client answered 3.1.1-style (aedes) is refused as well.
    set_connack(&mut c, 5, 1);
    assert!(
        findings(&c)
            .iter()
            .any(|f| f.rule == "connack_refused" && f.title.contains("3.1.1"))
    );
    // The broker closing after a refusal is not a second problem.
    assert!(!rules_fired(&c).contains(&"server_closed_after_request"));
}

#[test]
fn silence_past_one_and_a_half_keepalives_then_server_close_is_a_lapse() {
    let mut c = established_plain();
    if let Some(m) = c.mqtt.as_mut()
        && let Some(x) = m.connect.as_mut()
    {
        x.keep_alive = 5;
    }
    tcp(&mut c, 9, 12_000, Side::Resp, TcpEvent::Fin);
    let f = findings(&c);
    assert!(
        f.iter()
            .any(|f| f.rule == "keepalive_lapse" && f.detail.contains("5 s")),
        "{f:#?}"
    );
    assert!(!rules_fired(&c).contains(&"server_closed_after_request"));
}

#[test]
fn a_lapse_is_counted_from_the_keep_alive_the_platform_uses() {
    // A client asking for 3600 s, silent for 1900 s, then the server closes.
    let mut c = established_plain();
    if let Some(connect) = c.mqtt.as_mut().and_then(|m| m.connect.as_mut()) {
        connect.keep_alive = 3600;
    }
    tcp(&mut c, 9, 1_900_003, Side::Resp, TcpEvent::Fin);
    let lapse = |c: &crate::conn::Connection, end_ms: i64, profile: &str| {
        let book = crate::detect::RuleBook::builtin()
            .with_profile(profile)
            .unwrap_or_else(|e| panic!("{e}"));
        findings_under(c, end_ms, &book)
            .into_iter()
            .find(|f| f.rule == "keepalive_lapse")
    };
    // MQTT's 1.5 x 3600 s is not reached: the broker closed for another reason.
    assert!(lapse(&c, 1_900_003, "generic").is_none());
    // AWS IoT Core uses 1200 s for a longer keep-alive: 1800 s of silence is a lapse there.
    let aws = lapse(&c, 1_900_003, "aws-iot");
    assert!(
        aws.as_ref()
            .is_some_and(|f| f.detail.contains("the platform uses 1200 s")),
        "{aws:#?}"
    );
    // A platform that would wait longer (AWS raises 10 s to 30 s) does not hide a close this
    // broker made after the client's own keep-alive lapsed.
    let mut short = established_plain();
    if let Some(connect) = short.mqtt.as_mut().and_then(|m| m.connect.as_mut()) {
        connect.keep_alive = 10;
    }
    tcp(&mut short, 9, 20_003, Side::Resp, TcpEvent::Fin);
    assert!(lapse(&short, 20_003, "aws-iot").is_some());
}

#[test]
fn a_close_before_one_and_a_half_keepalives_is_no_lapse() {
    let mut c = established_plain();
    tcp(&mut c, 9, 30_000, Side::Resp, TcpEvent::Fin);
    assert!(!rules_fired(&c).contains(&"keepalive_lapse"));
}

#[test]
fn server_close_right_after_a_request_without_answer() {
    let mut c = established_plain();
    let mut p = packet("PUBLISH");
    p.remaining_len = Some(30_000);
    mqtt(&mut c, 8, 6, Side::Orig, p);
    tcp(&mut c, 9, 7, Side::Resp, TcpEvent::Rst);
    assert!(rules_fired(&c).contains(&"server_closed_after_request"));
}

#[test]
fn duplicate_kick_after_an_answered_connect_is_not_a_request_close() {
    // mosquitto closes the old connection with a bare FIN after its CONNECT was answered.
    let mut c = established_plain();
    tcp(&mut c, 9, 500, Side::Resp, TcpEvent::Fin);
    assert!(problems(&c).is_empty(), "{:?}", problems(&c));
}

#[test]
fn refused_subscription_and_publication() {
    let mut c = established_plain();
    mqtt(&mut c, 8, 5, Side::Orig, subscribe(1, b"secret/#"));
    mqtt(&mut c, 9, 6, Side::Resp, suback(1, 0x80));
    let f = findings(&c);
    assert!(
        f.iter()
            .any(|f| f.rule == "subscribe_refused" && f.detail.contains("secret/#")),
        "{f:#?}"
    );

    let mut c = established_plain();
    set_connack(&mut c, 5, 0);
    mqtt(&mut c, 8, 5, Side::Orig, publish(3, b"t/x"));
    mqtt(&mut c, 9, 6, Side::Resp, puback_not_authorized(3));
    assert!(
        findings(&c)
            .iter()
            .any(|f| f.rule == "publish_refused" && f.title.contains("t/x"))
    );
}

#[test]
fn mosquitto_silent_publish_denial_is_healthy() {
    // 3.1.1: a denied QoS 1 PUBLISH still gets a normal PUBACK; nothing is visible.
    let mut c = established_plain();
    let mut p = packet("PUBLISH");
    p.packet_id = Some(1);
    p.qos = Some(1);
    mqtt(&mut c, 8, 5, Side::Orig, p);
    let mut ack = packet("PUBACK");
    ack.packet_id = Some(1);
    mqtt(&mut c, 9, 6, Side::Resp, ack);
    normal_end(&mut c, 10, 10);
    assert!(problems(&c).is_empty());
}

#[test]
fn server_disconnect_names_its_reason() {
    let mut c = established_plain();
    set_connack(&mut c, 5, 0);
    let mut d = packet("DISCONNECT");
    d.reason_codes = vec![0x8e];
    mqtt(&mut c, 9, 100, Side::Resp, d);
    let f = findings(&c);
    assert!(
        f.iter()
            .any(|f| f.rule == "server_disconnect" && f.title.contains("Session taken over")),
        "{f:#?}"
    );
}

#[test]
fn a_client_that_never_sends_connect() {
    let mut c = conn();
    tcp(&mut c, 1, 0, Side::Orig, TcpEvent::Syn);
    tcp(&mut c, 2, 1, Side::Resp, TcpEvent::SynAck);
    tcp(&mut c, 4, 12_000, Side::Orig, TcpEvent::Fin);
    assert!(rules_fired(&c).contains(&"no_connect_sent"));
    // ...but not if the capture simply stopped right after the handshake.
    let mut c = conn();
    tcp(&mut c, 1, 0, Side::Orig, TcpEvent::Syn);
    tcp(&mut c, 2, 1, Side::Resp, TcpEvent::SynAck);
    assert!(!rules_fired(&c).contains(&"no_connect_sent"));
}

#[test]
fn silence_on_a_declared_broker_port_is_no_connect_sent() {
    let mut c = conn_between(
        std::net::SocketAddr::from(([10, 0, 0, 2], 50000)),
        std::net::SocketAddr::from(([10, 0, 0, 1], 1884)),
    );
    tcp(&mut c, 1, 0, Side::Orig, TcpEvent::Syn);
    tcp(&mut c, 2, 1, Side::Resp, TcpEvent::SynAck);
    tcp(&mut c, 4, 12_000, Side::Orig, TcpEvent::Fin);
    let fired_with = |ports: &[(u16, crate::detect::ports::BrokerTransport)]| -> Vec<&str> {
        let book = crate::detect::RuleBook::builtin().with_broker_ports(ports);
        findings_under(&c, 12_000, &book)
            .into_iter()
            .map(|f| f.rule)
            .collect()
    };
    // Port 1884 means nothing by itself: an idle connection to anything is not a fault.
    assert!(!fired_with(&[]).contains(&"no_connect_sent"));
    let declared = [(1884, crate::detect::ports::BrokerTransport::Either)];
    assert!(fired_with(&declared).contains(&"no_connect_sent"));
}

#[test]
fn violations_are_malformed_mqtt() {
    let mut c = established_plain();
    mqtt_violation(&mut c, 8, 5, Side::Orig);
    let f = findings(&c);
    assert!(
        f.iter()
            .any(|f| f.rule == "malformed_mqtt" && f.detail.contains("QoS 3")),
        "{f:#?}"
    );
    // Bytes missing from the capture: the decoder resynchronised after them, and what it
    // read as a violation may be the middle of a packet.
    c.tcp.missing_bytes = 1;
    assert!(!rules_fired(&c).contains(&"malformed_mqtt"));
    let _ = MqttEvent::Resync {
        skipped: 0,
        resumed: true,
    };
}

#[test]
fn inside_tls_without_keys_a_long_client_silence_then_server_close_is_an_inferred_lapse() {
    use crate::proto::tls::TlsEvent;
    let mut c = tls_exchange_without_keys(8883, 40, 20);
    // The server's encrypted close_notify just before its FIN is part of the close.
    tls(
        &mut c,
        7,
        25_000,
        Side::Resp,
        TlsEvent::Alert {
            level: None,
            description: None,
            encrypted: true,
            record_len: 26,
        },
    );
    tcp(&mut c, 8, 25_001, Side::Resp, TcpEvent::Fin);
    let f = findings(&c);
    let lapse = f.iter().find(|f| f.rule == "keepalive_lapse");
    assert!(
        lapse.is_some_and(|l| l.severity.name() == "warning" && l.title.starts_with("Inferred")),
        "{f:#?}"
    );
    // A short pause is not a lapse.
    let mut c2 = c.clone();
    for e in c2.events.iter_mut() {
        if e.at.frame >= 7 {
            e.at.time_ns = T0_NS + 3_000_000_000;
        }
    }
    assert!(!rules_fired(&c2).contains(&"keepalive_lapse"));
}

#[test]
fn an_mqtt5_session_taken_over_disconnect_marks_the_takeover() {
    let mut c = established_plain();
    set_connack(&mut c, 5, 0);
    let mut d = packet("DISCONNECT");
    d.reason_codes = vec![0x8d];
    mqtt(&mut c, 9, 100_000, Side::Resp, d);
    tcp(&mut c, 10, 100_001, Side::Resp, TcpEvent::Fin);
    let fired = rules_fired(&c);
    assert!(
        fired.contains(&"server_disconnect") && fired.contains(&"keepalive_lapse"),
        "{fired:?}"
    );
}

#[test]
fn a_connect_with_a_will_closed_without_connack_names_the_will_topic() {
    let mut c = established_plain();
    if let Some(m) = c.mqtt.as_mut() {
        m.connack = None;
        if let Some(x) = m.connect.as_mut() {
            x.will = Some(crate::proto::mqtt::message::WillInfo {
                topic: b"forbidden/lwt".to_vec(),
                qos: 1,
                retain: true,
                payload_len: 3,
            });
        }
    }
    c.events.retain(|e| e.at.frame != 6);
    tcp(&mut c, 7, 10, Side::Resp, TcpEvent::Fin);
    let f = findings(&c);
    let r = f.iter().find(|f| f.rule == "server_closed_after_request");
    assert!(
        r.is_some_and(|r| r.detail.contains("forbidden/lwt")),
        "{f:#?}"
    );
}

/// A TLS connection without keys where the client sent one application record (`client_records`
/// in all), the server answered it and closed 1 ms later.
fn tls_single_request_then_server_close(client_records: u64, port: u16) -> crate::conn::Connection {
    let mut c = tls_exchange_without_keys(port, 60, 28);
    if let Some(t) = c.tls.as_mut() {
        t.app_data[0].records = client_records;
        t.app_data[0].first = Some(at(5, 5));
        t.app_data[1].last = Some(at(6, 6));
    }
    tcp(&mut c, 7, 7, Side::Resp, TcpEvent::Fin);
    c
}

/// An established TLS connection to `port` without keys: one application record from the
/// client (frame 5, `client_len` bytes), then one from the server (frame 6, `server_len`).
fn tls_exchange_without_keys(
    port: u16,
    client_len: u16,
    server_len: u16,
) -> crate::conn::Connection {
    use crate::proto::tls::TlsEvent;
    use crate::proto::tls::message::TlsSummary;
    let mut c = conn();
    c.endpoints[1] = std::net::SocketAddr::from(([10, 0, 0, 1], port));
    c.protocol = crate::conn::AppProtocol::Tls;
    tcp(&mut c, 1, 0, Side::Orig, TcpEvent::Syn);
    tcp(&mut c, 2, 1, Side::Resp, TcpEvent::SynAck);
    c.tls = Some(TlsSummary {
        established: true,
        ..TlsSummary::default()
    });
    if let Some(t) = c.tls.as_mut() {
        t.app_data[0].records = 1;
        t.app_data[1].records = 1;
    }
    let client = TlsEvent::ApplicationData { len: client_len };
    tls(&mut c, 5, 5, Side::Orig, client);
    let server = TlsEvent::ApplicationData { len: server_len };
    tls(&mut c, 6, 6, Side::Resp, server);
    c
}

#[test]
fn inside_tls_without_keys_one_request_answered_then_closed_is_an_inferred_refusal() {
    let f = findings(&tls_single_request_then_server_close(1, 8883));
    let refusal = f.iter().find(|f| f.rule == "connack_refused");
    assert!(
        refusal.is_some_and(|r| r.severity.name() == "warning" && r.title.starts_with("Inferred")),
        "{f:#?}"
    );
}

#[test]
fn a_client_that_kept_talking_or_a_non_mqtt_port_is_no_inferred_refusal() {
    let kept_talking = tls_single_request_then_server_close(3, 8883);
    assert!(!rules_fired(&kept_talking).contains(&"connack_refused"));
    let https = tls_single_request_then_server_close(1, 443);
    assert!(!rules_fired(&https).contains(&"connack_refused"));
}

// ---- Boundaries and conditions of the MQTT rules (issue 12: tests that can fail). ----

fn set_keep_alive(c: &mut crate::conn::Connection, secs: u16) {
    if let Some(connect) = c.mqtt.as_mut().and_then(|m| m.connect.as_mut()) {
        connect.keep_alive = secs;
    }
}

fn finding<'a>(f: &'a [crate::detect::Finding], rule: &str) -> Option<&'a crate::detect::Finding> {
    f.iter().find(|x| x.rule == rule)
}

/// A TLS session to 8883 (MQTT over TLS, IANA) without keys, the handshake complete at 9 ms;
/// no application records yet.
fn tls_session() -> crate::conn::Connection {
    use crate::proto::tls::TlsEvent;
    use crate::proto::tls::message::TlsSummary;
    let mut c = conn();
    c.endpoints[1] = std::net::SocketAddr::from(([10, 0, 0, 1], 8883));
    c.protocol = crate::conn::AppProtocol::Tls;
    tcp(&mut c, 1, 0, Side::Orig, TcpEvent::Syn);
    tcp(&mut c, 2, 1, Side::Resp, TcpEvent::SynAck);
    tls(&mut c, 9, 9, Side::Orig, TlsEvent::Established);
    c.tls = Some(TlsSummary {
        client_side: Some(Side::Orig),
        established: true,
        ..TlsSummary::default()
    });
    c
}

/// Adds `side`'s application records (counted in the TLS summary and as events).
fn app_record(c: &mut crate::conn::Connection, frame: u64, ms: i64, side: Side) {
    tls(
        c,
        frame,
        ms,
        side,
        crate::proto::tls::TlsEvent::ApplicationData { len: 40 },
    );
    if let Some(t) = c.tls.as_mut() {
        let s = &mut t.app_data[side.index()];
        s.records += 1;
        s.bytes += 40;
        s.first.get_or_insert(at(frame, ms));
        s.last = Some(at(frame, ms));
    }
}

#[test]
fn connack_refused_names_the_protocol_version() {
    // connack_refused v3_1 `{version}`: the level of the CONNECT the broker refused
    // (4 = MQTT 3.1.1, §3.1.2.2; CONNACK 1 = unacceptable protocol version, §3.2.2.3).
    let mut c = established_plain();
    set_connack(&mut c, 4, 1);
    tcp(&mut c, 7, 5, Side::Resp, TcpEvent::Fin);
    let f = findings(&c);
    let refused = finding(&f, "connack_refused");
    assert!(
        refused.is_some_and(|r| r.detail.contains("MQTT 3.1.1")),
        "{f:#?}"
    );
}

/// The client's only record at 100 ms, the server's answer at 150 ms, its FIN at `close_ms`.
fn refused_inside_tls(close_ms: i64) -> crate::conn::Connection {
    let mut c = tls_session();
    app_record(&mut c, 10, 100, Side::Orig);
    app_record(&mut c, 11, 150, Side::Resp);
    tcp(&mut c, 12, close_ms, Side::Resp, TcpEvent::Fin);
    c
}

#[test]
fn inferred_connack_refusal_needs_a_close_within_two_seconds() {
    // connack_refused (inferred): inferred_max_delay_s = 2.0 from the client's record to the
    // server's close (a refusing broker closes right after CONNACK, MQTT 3.1.1 §3.2.2.3).
    let inferred = |c: &crate::conn::Connection| {
        findings(c)
            .into_iter()
            .find(|f| f.rule == "connack_refused" && f.inferred)
    };
    let quick = inferred(&refused_inside_tls(1_100));
    assert!(
        quick
            .as_ref()
            .is_some_and(|f| f.severity.name() == "warning" && evidence_frames(f) == [10, 11, 12]),
        "{quick:#?}"
    );
    assert!(inferred(&refused_inside_tls(2_100)).is_some()); // 2.0 s exactly
    assert!(inferred(&refused_inside_tls(3_100)).is_none()); // 3.0 s: closed for another reason
    // Missing bytes: the client may have sent records the capture lacks.
    let mut gap = refused_inside_tls(1_100);
    gap.tcp.missing_bytes = 1;
    assert!(inferred(&gap).is_none());
}

#[test]
fn a_long_session_with_a_connect_is_not_no_connect_sent() {
    // no_connect_sent: a captured CONNECT is enough even when the byte counters say 0.
    let mut c = established_plain();
    mqtt(&mut c, 8, 2_000, Side::Orig, packet("PINGREQ"));
    mqtt(&mut c, 9, 2_001, Side::Resp, packet("PINGRESP"));
    normal_end(&mut c, 10, 5_000);
    assert!(
        !rules_fired(&c).contains(&"no_connect_sent"),
        "{:?}",
        rules_fired(&c)
    );
}

#[test]
fn no_connect_sent_after_tls_counts_from_the_handshake_with_a_one_second_minimum() {
    // no_connect_sent (tls): min_wait_s = 1.0 from the end of the handshake (9 ms).
    let closed_at = |ms: i64| {
        let mut c = tls_session();
        tcp(&mut c, 12, ms, Side::Resp, TcpEvent::Fin);
        c
    };
    let f = findings(&closed_at(1_009));
    let hit = finding(&f, "no_connect_sent");
    assert!(
        hit.is_some_and(|h| h.title.contains("completed TLS") && evidence_frames(h) == [9, 12]),
        "{f:#?}"
    );
    assert!(!rules_fired(&closed_at(1_008)).contains(&"no_connect_sent"));
    // A handshake that never completed is another rule's matter.
    let mut c = closed_at(5_000);
    if let Some(t) = c.tls.as_mut() {
        t.established = false;
    }
    c.events
        .retain(|e| !matches!(e.kind, crate::conn::EventKind::Tls(_)));
    assert!(!rules_fired(&c).contains(&"no_connect_sent"));
}

#[test]
fn keepalive_lapse_boundary_is_one_and_a_half_keepalives_less_the_tolerance() {
    // keepalive_lapse: factor 1.5 x 5 s = 7.5 s, tolerance_s 0.5: a silence of 7.0 s from the
    // CONNECT (3 ms) is a lapse, 6.999 s is not (MQTT 3.1.1 §3.1.2.10).
    let closed_at = |ms: i64| {
        let mut c = established_plain();
        set_keep_alive(&mut c, 5);
        tcp(&mut c, 9, ms, Side::Resp, TcpEvent::Fin);
        c
    };
    assert!(rules_fired(&closed_at(7_003)).contains(&"keepalive_lapse"));
    assert!(!rules_fired(&closed_at(7_002)).contains(&"keepalive_lapse"));
    // Bytes missing: the client may have sent a PINGREQ the capture lacks.
    let mut gap = closed_at(12_000);
    gap.tcp.missing_bytes = 1;
    assert!(!rules_fired(&gap).contains(&"keepalive_lapse"));
}

#[test]
fn a_server_disconnect_of_any_reason_ends_the_silence_keepalive_lapse_measures() {
    // MQTT 5.0 §3.14: the server closes the network connection after its DISCONNECT, so the
    // client's silence is measured up to it. Keep-alive 5 s: a lapse needs 7.5 s of silence.
    let ended_by = |reason: u8, disconnect_ms: i64| {
        let mut c = established_plain();
        set_keep_alive(&mut c, 5);
        let mut d = packet("DISCONNECT");
        d.reason_codes = vec![reason];
        mqtt(&mut c, 8, disconnect_ms, Side::Resp, d);
        tcp(&mut c, 9, 9_000, Side::Resp, TcpEvent::Fin);
        findings(&c)
    };
    let reacted_at = |f: &[crate::detect::Finding], frame: u64| {
        finding(f, "keepalive_lapse").is_some_and(|l| {
            l.evidence
                .iter()
                .any(|e| e.at.frame == frame && e.note == "server closes")
        })
    };
    // 0x8E (session taken over) after 2 s: the broker dropped the client for another reason
    // long before the keep-alive ran out; the FIN at 9 s is not a reaction to silence.
    let f = ended_by(0x8e, 2_000);
    assert!(finding(&f, "keepalive_lapse").is_none(), "{f:#?}");
    // 0x8D (keep alive timeout) after 9 s of silence: the DISCONNECT is the reaction.
    let f = ended_by(0x8d, 8_999);
    assert!(reacted_at(&f, 8), "{f:#?}");
    // Another reason after 9 s of silence: the client had lapsed by then all the same.
    let f = ended_by(0x8e, 8_999);
    assert!(reacted_at(&f, 8), "{f:#?}");
}

#[test]
fn server_closed_after_request_waits_up_to_two_seconds() {
    // server_closed_after_request: max_delay_s = 2.0 from the request to the close.
    let closed_at = |ms: i64| {
        let mut c = established_plain();
        mqtt(&mut c, 8, 1_000, Side::Orig, packet("PUBLISH"));
        tcp(&mut c, 9, ms, Side::Resp, TcpEvent::Fin);
        c
    };
    let f = findings(&closed_at(3_000));
    assert!(
        finding(&f, "server_closed_after_request").is_some_and(|x| evidence_frames(x) == [8, 9]),
        "{f:#?}"
    );
    assert!(!rules_fired(&closed_at(3_001)).contains(&"server_closed_after_request"));
}

#[test]
fn an_unsuback_failure_is_not_a_refused_subscription() {
    // subscribe_refused reads SUBACK only (§3.9.3); UNSUBACK 0x87 (5.0 §3.11.2.1) is not one.
    let mut c = established_plain();
    set_connack(&mut c, 5, 0);
    let mut unsub = packet("UNSUBSCRIBE");
    unsub.packet_id = Some(3);
    mqtt(&mut c, 8, 5, Side::Orig, unsub);
    let mut ack = packet("UNSUBACK");
    ack.packet_id = Some(3);
    ack.reason_codes = vec![0x87];
    mqtt(&mut c, 9, 6, Side::Resp, ack);
    assert!(!rules_fired(&c).contains(&"subscribe_refused"));
}

#[test]
fn a_refusing_server_that_closes_late_did_not_keep_the_connection_open() {
    // mqtt_sequence_violation server_kept_open (3.1.1 §3.2.2.3 [MQTT-3.2.2-5]) is for a server
    // that never closed within max_close_s = 5.0; one that closed (here 6 s later) did close.
    let mut c = established_plain();
    set_connack(&mut c, 4, 5);
    tcp(&mut c, 9, 6_004, Side::Resp, TcpEvent::Fin);
    assert!(!rules_fired(&c).contains(&"mqtt_sequence_violation"));
    // Not closed, but watched only 1 s after the refusal: too early to say.
    let mut open = established_plain();
    set_connack(&mut open, 4, 5);
    assert!(!rules_fired_until(&open, 1_004).contains(&"mqtt_sequence_violation"));
    assert!(rules_fired_until(&open, 5_004).contains(&"mqtt_sequence_violation"));
}

#[test]
fn a_close_explained_by_a_keepalive_lapse_is_not_blamed_on_the_last_request() {
    // server_closed_after_request stands back for keepalive_lapse: with a 1 s keep-alive the
    // broker may close after 1.5 s of silence (MQTT 3.1.1 §3.1.2.10), so a FIN 1.5 s after a
    // QoS 0 PUBLISH (which gets no answer) is the keep-alive timer, one fault, one finding.
    let publish_then_close = |keep_alive: u16| {
        let mut c = established_plain();
        set_keep_alive(&mut c, keep_alive);
        mqtt(&mut c, 8, 1_000, Side::Orig, packet("PUBLISH"));
        tcp(&mut c, 9, 2_500, Side::Resp, TcpEvent::Fin);
        rules_fired(&c)
    };
    let lapsed = publish_then_close(1);
    assert!(
        lapsed.contains(&"keepalive_lapse") && !lapsed.contains(&"server_closed_after_request"),
        "{lapsed:?}"
    );
    // With a 60 s keep-alive the same close is a reaction to the PUBLISH.
    let reacted = publish_then_close(60);
    assert!(
        reacted.contains(&"server_closed_after_request") && !reacted.contains(&"keepalive_lapse"),
        "{reacted:?}"
    );
}

/// The client's PUBLISH at 1 s, then FINs from `first` at 1.01 s and from the other side at
/// 1.02 s.
fn publish_then_fins(first: Side) -> crate::conn::Connection {
    let mut c = established_plain();
    mqtt(&mut c, 8, 1_000, Side::Orig, packet("PUBLISH"));
    tcp(&mut c, 9, 1_010, first, TcpEvent::Fin);
    tcp(&mut c, 10, 1_020, first.other(), TcpEvent::Fin);
    c
}

#[test]
fn the_clients_fin_answering_the_servers_close_does_not_hide_the_close() {
    // server_closed_after_request: the client's FIN after the server's is the usual TCP answer
    // to a close (RFC 9293 §3.6); the server still closed first, right after the request.
    let f = findings(&publish_then_fins(Side::Resp));
    assert!(
        finding(&f, "server_closed_after_request").is_some_and(|x| evidence_frames(x) == [8, 9]),
        "{f:#?}"
    );
}

#[test]
fn a_client_that_closes_first_was_not_closed_on_by_the_server() {
    // server_closed_after_request: a client FIN before the server's means the client ended the
    // connection; the server's FIN answers it and is no reaction to the PUBLISH.
    let fired = rules_fired(&publish_then_fins(Side::Orig));
    assert!(!fired.contains(&"server_closed_after_request"), "{fired:?}");
}

#[test]
fn a_refused_subscription_is_matched_to_its_subscribe_by_packet_identifier() {
    // subscribe_refused names the filters of the SUBSCRIBE the SUBACK answers: the one with the
    // same packet identifier (MQTT 3.1.1 §3.9.2, 5.0 §3.9.2), not an earlier SUBSCRIBE.
    let mut c = established_plain();
    mqtt(&mut c, 8, 5, Side::Orig, subscribe(1, b"a/allowed"));
    mqtt(&mut c, 9, 6, Side::Resp, suback(1, 0));
    mqtt(&mut c, 10, 7, Side::Orig, subscribe(2, b"b/denied"));
    mqtt(&mut c, 11, 8, Side::Resp, suback(2, 0x80));
    let f = findings(&c);
    let refused = finding(&f, "subscribe_refused");
    assert!(
        refused.is_some_and(|r| r.detail.contains("b/denied")
            && !r.detail.contains("a/allowed")
            && evidence_frames(r) == [10, 11]),
        "{f:#?}"
    );
}

#[test]
fn a_subscribe_released_by_its_subacks_segment_is_still_its_request() {
    // subscribe_refused: client bytes behind a capture hole are delivered when the server's
    // segment acknowledging them arrives, here the SUBACK's (frame 9): the SUBSCRIBE it
    // answers carries the same frame and its filter is still named (MQTT 3.1.1 §3.9.2).
    let mut c = established_plain();
    mqtt(&mut c, 9, 6, Side::Orig, subscribe(7, b"c/denied"));
    mqtt(&mut c, 9, 6, Side::Resp, suback(7, 0x80));
    let f = findings(&c);
    assert!(
        finding(&f, "subscribe_refused").is_some_and(|r| r.detail.contains("c/denied")),
        "{f:#?}"
    );
}

/// A decoder violation in the server's CONNACK (frame 6).
fn connack_violation(c: &mut crate::conn::Connection, what: &str) {
    if let Some(m) = c.mqtt.as_mut() {
        m.violations += 1;
    }
    c.events.push(crate::conn::Event {
        at: at(6, 4),
        side: Side::Resp,
        kind: crate::conn::EventKind::Mqtt(MqttEvent::Violation {
            packet_type: Some("CONNACK"),
            what: what.into(),
        }),
    });
    c.events.sort_by_key(|e| e.at.frame);
}

#[test]
fn only_a_legacy_connack_to_an_mqtt5_client_hides_connack_violations() {
    // malformed_mqtt leaves CONNACK violations to connack_refused only for an MQTT 5 CONNECT
    // answered 3.1.1-style (codes 1-5). A 3.1.1 refusal with session present set breaks
    // [MQTT-3.2.2-4] (§3.2.2.2); a 5.0 success with reserved flag bits breaks 5.0 §3.2.2.1.
    let malformed = |version: u8, code: u8, what: &str| {
        let mut c = established_plain();
        set_connack(&mut c, version, code);
        connack_violation(&mut c, what);
        tcp(&mut c, 7, 5, Side::Resp, TcpEvent::Fin);
        findings(&c)
            .into_iter()
            .find(|f| f.rule == "malformed_mqtt")
    };
    let refusal = malformed(4, 5, "session present with a refusal code");
    assert!(
        refusal
            .as_ref()
            .is_some_and(|f| f.detail.contains("session present")),
        "{refusal:#?}"
    );
    let flags = malformed(5, 0, "reserved connect acknowledge flag bits are set");
    assert!(
        flags
            .as_ref()
            .is_some_and(|f| f.detail.contains("reserved")),
        "{flags:#?}"
    );
    // An MQTT 5 client answered with the 3.1.1 code 5: connack_refused explains it.
    assert!(
        malformed(
            5,
            5,
            "remaining length too short for the CONNACK properties"
        )
        .is_none()
    );
}

#[test]
fn a_publish_released_by_its_pubacks_segment_is_still_its_request() {
    // publish_refused (MQTT 5.0 §3.4.2.1): the refused PUBLISH is the one with the PUBACK's
    // packet identifier, even when it was delivered at the PUBACK's own frame (client bytes
    // behind a capture hole are released by the server segment that acknowledges them).
    let mut c = established_plain();
    set_connack(&mut c, 5, 0);
    mqtt(&mut c, 9, 6, Side::Orig, publish(4, b"t/denied"));
    mqtt(&mut c, 9, 6, Side::Resp, puback_not_authorized(4));
    let f = findings(&c);
    assert!(
        f.iter()
            .any(|f| f.rule == "publish_refused" && f.title.contains("t/denied")),
        "{f:#?}"
    );
}

/// Adds `side`'s DISCONNECT (MQTT 5 reason `reason`) and records it in the summary as the
/// decoder does: `disconnect` is the first DISCONNECT of either side.
fn disconnect_from(c: &mut crate::conn::Connection, frame: u64, ms: i64, side: Side, reason: u8) {
    let mut d = packet("DISCONNECT");
    d.reason_codes = vec![reason];
    mqtt(c, frame, ms, side, d);
    if let Some(m) = c.mqtt.as_mut() {
        m.disconnect
            .get_or_insert(crate::proto::mqtt::message::DisconnectInfo {
                at: at(frame, ms),
                side,
                reason_code: Some(reason),
            });
    }
}

#[test]
fn only_the_clients_own_disconnect_rules_out_a_keepalive_lapse() {
    // keepalive_lapse, keep-alive 5 s (a lapse needs 7.5 s of silence, MQTT 3.1.1 §3.1.2.10).
    // The server's DISCONNECT 0x8D keep_alive_timeout after 9 s of silence is the broker's
    // reaction to the lapse (5.0 §3.14.2.1), even though the summary records it as the
    // session's DISCONNECT.
    let mut c = established_plain();
    set_connack(&mut c, 5, 0);
    set_keep_alive(&mut c, 5);
    disconnect_from(&mut c, 8, 9_000, Side::Resp, 0x8d);
    tcp(&mut c, 9, 9_001, Side::Resp, TcpEvent::Fin);
    let f = findings(&c);
    assert!(finding(&f, "keepalive_lapse").is_some(), "{f:#?}");
    // A client that sent DISCONNECT ended the session itself (§3.14.4: the server SHOULD close the
    // network connection after it); its FIN 20 s later is no lapse, whatever the silence.
    let mut c = established_plain();
    set_connack(&mut c, 5, 0);
    set_keep_alive(&mut c, 5);
    disconnect_from(&mut c, 8, 1_000, Side::Orig, 0x00);
    tcp(&mut c, 9, 21_000, Side::Resp, TcpEvent::Fin);
    let f = findings(&c);
    assert!(finding(&f, "keepalive_lapse").is_none(), "{f:#?}");
}

/// A TLS attempt to 8883 without keys: the client's ClientHello (frame 4, 2 ms), then nothing
/// from the client; the server closes at 30 s. The handshake completed (frame 9) if `done`.
fn tls_client_silent_then_server_close(done: bool) -> crate::conn::Connection {
    let mut c = tls_client_hello(8883, None, 0x0303);
    if done {
        tls(
            &mut c,
            9,
            9,
            Side::Orig,
            crate::proto::tls::TlsEvent::Established,
        );
        if let Some(t) = c.tls.as_mut() {
            t.established = true;
        }
    }
    tcp(&mut c, 12, 30_000, Side::Resp, TcpEvent::Fin);
    c
}

#[test]
fn an_inferred_keepalive_lapse_needs_a_completed_handshake_and_no_keys() {
    // keepalive_lapse (inferred, inferred_min_silence_s = 10.0): 30 s of client silence inside
    // an established TLS session without keys, then the server's close, is a probable lapse.
    let f = findings(&tls_client_silent_then_server_close(true));
    assert!(
        finding(&f, "keepalive_lapse").is_some_and(|l| l.inferred),
        "{f:#?}"
    );
    // The same silence during the handshake: no CONNECT can have been sent, so no keep-alive
    // was in force (MQTT 3.1.1 §3.1.2.10 starts it with CONNECT); the server gave up on TLS.
    let f = findings(&tls_client_silent_then_server_close(false));
    assert!(finding(&f, "keepalive_lapse").is_none(), "{f:#?}");
    // With keys the MQTT is read, not inferred: a decrypted session without any MQTT from the
    // client never sent CONNECT either.
    let mut c = tls_client_silent_then_server_close(true);
    if let Some(t) = c.tls.as_mut() {
        t.decrypted = true;
    }
    let f = findings(&c);
    assert!(finding(&f, "keepalive_lapse").is_none(), "{f:#?}");
}

#[test]
fn a_packet_crossing_a_refusing_connack_is_not_blamed_for_the_close() {
    // server_closed_after_request stands back for connack_refused: a server that refuses the
    // CONNECT must close the connection (MQTT 3.1.1 §3.2.2.3 [MQTT-3.2.2-5]). A PUBLISH the
    // client sent 6 ms after the CONNACK (crossing it on the wire, below mqtt_sequence_violation's
    // min_delay_s = 0.05) and left unanswered is not why the server closed.
    let mut c = established_plain();
    set_connack(&mut c, 4, 5);
    mqtt(&mut c, 7, 10, Side::Orig, packet("PUBLISH"));
    tcp(&mut c, 8, 20, Side::Resp, TcpEvent::Fin);
    let fired = rules_fired(&c);
    assert!(
        fired.contains(&"connack_refused") && !fired.contains(&"server_closed_after_request"),
        "{fired:?}"
    );
}
