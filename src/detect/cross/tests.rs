//! Cross-connection rules: takeovers and fights, intermittent resets, storms vs backoff.

use crate::common::Side;
use crate::conn::Connection;
use crate::detect::RuleBook;
use crate::detect::test_support::*;
use crate::flow::TcpEvent;

/// A plain session starting at `start_ms` on frames from `frame`, client port `port`.
fn session(frame: u64, start_ms: i64, port: u16, id: &[u8], code: u8) -> Connection {
    let mut c = established_plain();
    c.endpoints[0] = std::net::SocketAddr::from(([10, 0, 0, 2], port));
    // Shift the whole session.
    for e in c.events.iter_mut() {
        e.at = at(
            e.at.frame + frame,
            (e.at.time_ns - T0_NS) / 1_000_000 + start_ms,
        );
    }
    if let Some(m) = c.mqtt.as_mut() {
        if let Some(x) = m.connect.as_mut() {
            x.client_id = Some(id.to_vec());
            x.at = at(4 + frame, 3 + start_ms);
        }
        if let Some(a) = m.connack.as_mut() {
            a.code = code;
            a.at = at(6 + frame, 4 + start_ms);
        }
    }
    c.tcp.first = at(1 + frame, start_ms);
    c.tcp.last = at(6 + frame, 4 + start_ms);
    c
}

fn cross_rules(conns: Vec<Connection>) -> Vec<(&'static str, String, Vec<usize>)> {
    findings_with(conns, 1_000_000, &RuleBook::builtin())
        .cross
        .into_iter()
        .map(|f| (f.rule, f.title, f.connections))
        .collect()
}

#[test]
fn newer_connection_with_the_same_id_kicks_the_older() {
    let mut a = session(0, 0, 40000, b"dev", 0);
    let b = session(100, 500, 40001, b"dev", 0);
    tcp(&mut a, 110, 505, Side::Resp, TcpEvent::Fin);
    let got = cross_rules(vec![a, b]);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].0, "duplicate_client_id");
    assert_eq!(got[0].2, vec![0, 1]);
}

#[test]
fn sequential_sessions_with_one_id_are_not_duplicates() {
    let mut a = session(0, 0, 40000, b"dev", 0);
    normal_end(&mut a, 50, 100);
    let b = session(100, 500, 40001, b"dev", 0);
    assert!(cross_rules(vec![a, b]).is_empty());
}

/// Six sessions of client id `twin`, a second apart; the server closes each of the first five
/// just after the next one's CONNECT: five takeovers.
fn twin_fight() -> Vec<Connection> {
    let mut conns = Vec::new();
    for i in 0..6u64 {
        let mut c = session(i * 100, i as i64 * 1000, 40000 + i as u16, b"twin", 0);
        if i < 5 {
            let (frame, ms) = (i * 100 + 150, (i as i64 + 1) * 1000 + 5);
            tcp(&mut c, frame, ms, Side::Resp, TcpEvent::Fin);
        }
        conns.push(c);
    }
    conns
}

#[test]
fn alternating_kicks_are_a_fight_with_a_count() {
    let got = cross_rules(twin_fight());
    assert!(
        got.iter()
            .any(|(r, t, _)| *r == "duplicate_client_id" && t.contains("5 takeovers")),
        "{got:?}"
    );
    // A fight is not also a reconnect storm.
    assert!(
        !got.iter().any(|(r, _, _)| *r == "reconnect_storm"),
        "{got:?}"
    );
}

#[test]
fn fast_refused_retries_are_a_storm_but_exponential_backoff_is_not() {
    let storm: Vec<Connection> = (0..8u64)
        .map(|i| session(i * 100, i as i64 * 500, 40000 + i as u16, b"dev", 5))
        .collect();
    assert!(
        cross_rules(storm)
            .iter()
            .any(|(r, _, _)| *r == "reconnect_storm")
    );
    let mut t = 0i64;
    let mut backoff = Vec::new();
    for i in 0..7u64 {
        backoff.push(session(i * 100, t, 40000 + i as u16, b"dev", 5));
        t += 1000 << i;
    }
    assert!(cross_rules(backoff).is_empty());
}

/// `n` identical sessions of client id `dev`, a second apart; attempts 0, 2, 4... are reset by
/// the server before their CONNACK.
fn every_other_attempt_reset(n: u64) -> Vec<Connection> {
    let mut conns = Vec::new();
    for i in 0..n {
        let mut c = session(i * 100, i as i64 * 1000, 40000 + i as u16, b"dev", 0);
        if i % 2 == 0 {
            // Reset before the CONNACK: drop it and reset.
            if let Some(m) = c.mqtt.as_mut() {
                m.connack = None;
            }
            c.events.retain(|e| e.at.frame != 6 + i * 100);
            tcp(
                &mut c,
                i * 100 + 5,
                i as i64 * 1000 + 3,
                Side::Resp,
                TcpEvent::Rst,
            );
        }
        conns.push(c);
    }
    conns
}

#[test]
fn identical_attempts_some_reset_some_fine_are_intermittent() {
    let got = cross_rules(every_other_attempt_reset(4));
    assert!(
        got.iter()
            .any(|(r, t, ids)| *r == "rst_intermittent" && t.contains("2 of 4") && ids.len() == 4),
        "{got:?}"
    );
}

#[test]
fn an_mqtt5_takeover_disconnect_counts_as_the_drop() {
    let mut a = session(0, 0, 40000, b"dev", 0);
    let b = session(100, 500, 40001, b"dev", 0);
    let mut d = packet("DISCONNECT");
    d.reason_codes = vec![0x8e];
    mqtt(&mut a, 108, 504, Side::Resp, d);
    tcp(&mut a, 109, 900, Side::Resp, TcpEvent::Fin);
    let got = cross_rules(vec![a, b]);
    assert!(
        got.iter().any(|(r, _, _)| *r == "duplicate_client_id"),
        "{got:?}"
    );
}

/// A plain MQTT session with a broker on port 1884, and another client of that endpoint that
/// connects (frames 20-21) and closes 12 s later without sending a byte.
fn mqtt_and_silent_client_of_port_1884() -> (Connection, Connection) {
    let server = std::net::SocketAddr::from(([10, 0, 0, 1], 1884));
    let mut mqtt = established_plain();
    mqtt.endpoints[1] = server;
    let mut silent = conn_between(std::net::SocketAddr::from(([10, 0, 0, 3], 40000)), server);
    tcp(&mut silent, 20, 100, Side::Orig, TcpEvent::Syn);
    tcp(&mut silent, 21, 101, Side::Resp, TcpEvent::SynAck);
    tcp(&mut silent, 22, 12_000, Side::Orig, TcpEvent::Fin);
    (mqtt, silent)
}

#[test]
fn an_endpoint_that_answered_mqtt_is_a_broker_for_its_silent_clients() {
    let (mqtt, silent) = mqtt_and_silent_client_of_port_1884();
    let book = RuleBook::builtin();
    let learned = |conns: Vec<Connection>| {
        findings_with(conns, 12_000, &book)
            .cross
            .into_iter()
            .filter(|f| f.rule == "no_connect_sent")
            .collect::<Vec<_>>()
    };
    // Port 1884 alone says nothing: no finding on the silent connection by itself.
    assert!(learned(vec![silent.clone()]).is_empty());
    // Another connection got a CONNACK from the same endpoint: it is a broker.
    let found = learned(vec![mqtt, silent]);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].connections, [1]);
    assert!(
        found[0].detail.contains("connection 0"),
        "{}",
        found[0].detail
    );
}

// ---- Boundaries of the cross-connection rules (issue 12: tests that can fail). ----

#[test]
fn a_takeover_evidence_says_how_long_after_the_connect_the_drop_came() {
    // duplicate_client_id: the newer CONNECT at 503 ms, the older dropped at 505 ms.
    let mut a = session(0, 0, 40000, b"dev", 0);
    let b = session(100, 500, 40001, b"dev", 0);
    tcp(&mut a, 110, 505, Side::Resp, TcpEvent::Fin);
    let cross = findings_with(vec![a, b], 1_000_000, &RuleBook::builtin()).cross;
    let notes: Vec<&str> = cross
        .iter()
        .flat_map(|f| f.evidence.iter().map(|e| e.note.as_str()))
        .collect();
    assert!(
        notes.contains(&"server drops connection 0 2 ms later"),
        "{notes:?}"
    );
}

#[test]
fn an_older_connection_the_client_closed_first_was_not_taken_over() {
    // MQTT 3.1.1 §3.1.4 step 2: the broker drops an open connection; one its client already
    // closed (FIN at frame 50) before the newer CONNECT (frame 104) was not dropped for it.
    let mut a = session(0, 0, 40000, b"dev", 0);
    tcp(&mut a, 50, 100, Side::Orig, TcpEvent::Fin);
    tcp(&mut a, 110, 505, Side::Resp, TcpEvent::Fin);
    let b = session(100, 500, 40001, b"dev", 0);
    let got = cross_rules(vec![a, b]);
    assert!(
        !got.iter().any(|(r, _, _)| *r == "duplicate_client_id"),
        "{got:?}"
    );
}

#[test]
fn three_identical_attempts_are_enough_for_intermittent_resets() {
    // rst_intermittent: min_attempts = 3.0 (attempts 0 and 2 reset before CONNACK).
    let attempts = |n: u64| cross_rules(every_other_attempt_reset(n));
    let three = attempts(3);
    assert!(
        three
            .iter()
            .any(|(r, t, _)| *r == "rst_intermittent" && t.contains("2 of 3")),
        "{three:?}"
    );
    assert!(!attempts(2).iter().any(|(r, _, _)| *r == "rst_intermittent"));
}

/// Refused attempts starting at `starts_ms`.
fn attempts_at(starts_ms: &[i64]) -> Vec<(&'static str, String, Vec<usize>)> {
    let conns = starts_ms
        .iter()
        .enumerate()
        .map(|(i, &ms)| session(i as u64 * 100, ms, 40000 + i as u16, b"dev", 5))
        .collect();
    cross_rules(conns)
}

#[test]
fn a_mean_interval_of_exactly_ten_seconds_is_still_a_storm() {
    // reconnect_storm: max_mean_interval_s = 10.0 (inclusive), min_attempts = 5.
    let storm =
        |got: &[(&str, String, Vec<usize>)]| got.iter().any(|(r, _, _)| *r == "reconnect_storm");
    assert!(storm(&attempts_at(&[0, 10_000, 20_000, 30_000, 40_000])));
    assert!(!storm(&attempts_at(&[0, 10_001, 20_002, 30_003, 40_004])));
}

#[test]
fn fast_but_doubling_intervals_are_backoff_not_a_storm() {
    // reconnect_storm: intervals 0.5, 1, 2, 4, 8 s (mean 3.1 s) each grow by >= 1.5x.
    let got = attempts_at(&[0, 500, 1_500, 3_500, 7_500, 15_500]);
    assert!(
        !got.iter().any(|(r, _, _)| *r == "reconnect_storm"),
        "{got:?}"
    );
    // The same count at a steady 1 s is a storm.
    let got = attempts_at(&[0, 1_000, 2_000, 3_000, 4_000, 5_000]);
    assert!(got.iter().any(|(r, _, _)| *r == "reconnect_storm"));
}

#[test]
fn a_connection_with_missing_bytes_is_not_judged_silent_by_a_learned_broker() {
    // no_connect_sent (learned): bytes the capture lacks may hold the CONNECT.
    let (mqtt, mut silent) = mqtt_and_silent_client_of_port_1884();
    silent.tcp.missing_bytes = 40;
    let cross = findings_with(vec![mqtt, silent], 12_000, &RuleBook::builtin()).cross;
    assert!(
        !cross.iter().any(|f| f.rule == "no_connect_sent"),
        "{cross:#?}"
    );
}

#[test]
fn a_reset_after_the_connack_is_not_an_intermittent_failure() {
    // rst_intermittent counts resets before the session was up; one after CONNACK 0 (frame
    // 6 + i * 100) ended a working session.
    let mut conns = Vec::new();
    for i in 0..3u64 {
        let mut c = session(i * 100, i as i64 * 1000, 40000 + i as u16, b"dev", 0);
        if i == 0 {
            tcp(&mut c, 50, 500, Side::Resp, TcpEvent::Rst);
        }
        conns.push(c);
    }
    let got = cross_rules(conns);
    assert!(
        !got.iter().any(|(r, _, _)| *r == "rst_intermittent"),
        "{got:?}"
    );
}

#[test]
fn attempts_at_the_same_instant_are_a_storm_not_backoff() {
    // reconnect_storm: a zero interval did not grow (backoff means waiting longer each time);
    // attempts whose starts share one timestamp (a client retrying at once, at the capture's
    // clock resolution) are the fastest retries there are.
    let got = attempts_at(&[0, 0, 0, 0, 0]);
    assert!(
        got.iter().any(|(r, _, _)| *r == "reconnect_storm"),
        "{got:?}"
    );
}

/// A TLS 1.3 ClientHello (frame 4 at 2 ms) from 10.0.0.3 to the plain broker of
/// `mqtt_and_silent_client_of_port_1884`, which resets `close_ms` later without a TLS answer.
fn tls_hello_to_port_1884_closed_after(close_ms: i64) -> Connection {
    let mut c = tls_client_hello(1884, Some("b.test"), 0x0304);
    c.endpoints[0] = std::net::SocketAddr::from(([10, 0, 0, 3], 40001));
    tcp(&mut c, 5, 2 + close_ms, Side::Resp, TcpEvent::Rst);
    c
}

#[test]
fn a_learned_plain_broker_closing_on_a_client_hello_within_a_second_is_a_mismatch() {
    // protocol_mismatch learned_tls_to_plain: max_plain_close_s = 1.0, inclusive as on a
    // declared port; a plain broker reads the ClientHello as a malformed packet and closes at
    // once (its first byte 0x16 is a CONNECT with invalid flags, MQTT 3.1.1 §2.2.2); a later
    // close is some other story.
    let mismatch = |close_ms: i64| {
        let (mqtt, _) = mqtt_and_silent_client_of_port_1884();
        let conns = vec![mqtt, tls_hello_to_port_1884_closed_after(close_ms)];
        findings_with(conns, 10_000, &RuleBook::builtin())
            .cross
            .into_iter()
            .find(|f| f.rule == "protocol_mismatch")
    };
    for quick in [5, 1_000] {
        let found = mismatch(quick);
        assert!(
            found.as_ref().is_some_and(|f| f.connections == [1]
                && f.title == "TLS ClientHello sent to the plain MQTT broker on port 1884"),
            "{quick} ms: {found:#?}"
        );
    }
    for slow in [1_001, 5_000] {
        let found = mismatch(slow);
        assert!(found.is_none(), "{slow} ms: {found:#?}");
    }
}

#[test]
fn a_connection_seen_mid_stream_is_not_an_attempt_reset_before_its_session() {
    // rst_intermittent groups attempts seen from their SYN. A connection the capture joined
    // mid-stream lacks its CONNACK because it came before the capture (MQTT 3.1.1 §3.2: the
    // broker answers CONNECT first), so its reset cannot be called a reset before the session
    // was up: two good sessions and that one are no intermittent resets.
    let mut conns: Vec<Connection> = (0..2u64)
        .map(|i| session(i * 100, i as i64 * 1000, 40000 + i as u16, b"dev", 0))
        .collect();
    let mut joined = conn();
    joined.endpoints[0] = std::net::SocketAddr::from(([10, 0, 0, 2], 40002));
    joined.protocol = crate::conn::AppProtocol::Mqtt;
    joined.mqtt = Some(crate::proto::mqtt::message::MqttSummary::default());
    mqtt(&mut joined, 201, 2000, Side::Orig, packet("PINGREQ"));
    tcp(&mut joined, 202, 2001, Side::Resp, TcpEvent::Rst);
    joined.tcp.first = at(201, 2000);
    conns.push(joined);
    let got = cross_rules(conns.clone());
    assert!(
        !got.iter().any(|(r, _, _)| *r == "rst_intermittent"),
        "{got:?}"
    );
    // The same reset with the SYN in the capture (and no CONNACK after it) is one.
    let mut attempt = conns.pop().unwrap_or_else(conn);
    tcp(&mut attempt, 200, 1999, Side::Orig, TcpEvent::Syn);
    attempt.tcp.first = at(200, 1999);
    conns.push(attempt);
    let got = cross_rules(conns);
    assert!(
        got.iter()
            .any(|(r, t, _)| *r == "rst_intermittent" && t.contains("1 of 3")),
        "{got:?}"
    );
}

#[test]
fn a_storm_counts_the_attempts_that_failed() {
    // reconnect_storm's detail says how many attempts failed: a plain attempt succeeds with
    // CONNACK 0 (MQTT 3.1.1 §3.2.2.3); four CONNACK 5 (not authorized) and one accepted, a
    // second apart, are a storm with 4 failures.
    let conns: Vec<Connection> = [5u8, 5, 5, 5, 0]
        .iter()
        .enumerate()
        .map(|(i, &code)| {
            session(
                i as u64 * 100,
                i as i64 * 1000,
                40000 + i as u16,
                b"dev",
                code,
            )
        })
        .collect();
    let cross = findings_with(conns, 1_000_000, &RuleBook::builtin()).cross;
    let storm = cross.iter().find(|f| f.rule == "reconnect_storm");
    assert!(
        storm.is_some_and(|f| f.detail.contains("(60.0 per minute, 4 of them failed)")),
        "{cross:#?}"
    );
}

#[test]
fn groups_come_in_key_order_with_members_in_summary_order() {
    use super::{at_least, groups_of};
    use crate::detect::ConnSummary;
    let summaries: Vec<_> = (0..6)
        .map(|i| crate::detect::summarize(i, &session(i as u64 * 10, 0, 40000, b"x", 0)))
        .collect();
    // Keys out of order, one group too small to keep.
    let keys = [5u8, 3, 5, 9, 3, 5];
    let key = |c: &ConnSummary| keys[c.id];
    let groups = groups_of(summaries.iter(), key, 2);
    let shape: Vec<(u8, Vec<usize>)> = groups
        .iter()
        .map(|(k, members)| (*k, members.iter().map(|c| c.id).collect()))
        .collect();
    assert_eq!(shape, [(3, vec![1, 4]), (5, vec![0, 2, 5])]);
    assert_eq!(groups_of(summaries.iter(), key, 4).len(), 0);
    assert_eq!((at_least(3.0), at_least(2.5), at_least(0.0)), (3, 3, 1));
    assert_eq!(at_least(f64::NAN), 1);
}

#[test]
fn keys_that_share_a_hash_still_group_apart() {
    use super::groups_of;
    use crate::detect::ConnSummary;
    /// Every value hashes alike: only the comparison can tell them apart.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
    struct Colliding(u8);
    impl std::hash::Hash for Colliding {
        fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
            state.write_u8(0);
        }
    }
    let summaries: Vec<_> = (0..5)
        .map(|i| crate::detect::summarize(i, &session(i as u64 * 10, 0, 40000, b"x", 0)))
        .collect();
    let keys = [2u8, 1, 2, 1, 7];
    let key = |c: &ConnSummary| Colliding(keys[c.id]);
    let shape: Vec<(u8, Vec<usize>)> = groups_of(summaries.iter(), key, 2)
        .iter()
        .map(|(k, members)| (k.0, members.iter().map(|c| c.id).collect()))
        .collect();
    assert_eq!(shape, [(1, vec![1, 3]), (2, vec![0, 2])]);
}

#[test]
fn four_fast_attempts_are_not_yet_a_storm() {
    // reconnect_storm: min_attempts = 5; the same retries one short are not judged.
    let storm =
        |got: &[(&str, String, Vec<usize>)]| got.iter().any(|(r, _, _)| *r == "reconnect_storm");
    assert!(storm(&attempts_at(&[0, 1_000, 2_000, 3_000, 4_000])));
    assert!(!storm(&attempts_at(&[0, 1_000, 2_000, 3_000])));
}

#[test]
fn the_rules_find_the_same_on_two_threads_as_on_one() {
    // Past `PARALLEL_FROM` summaries the rules that ignore what others explained run on two
    // threads. The result must not change: a fight (which is not also a storm: `explained`
    // still reaches `reconnect_storm`), a storm, intermittent resets, in rule order.
    let mut conns = twin_fight();
    for i in 0..8u64 {
        let mut c = session(
            1_000 + i * 100,
            10_000 + i as i64 * 500,
            41000 + i as u16,
            b"x",
            5,
        );
        c.endpoints[0] = std::net::SocketAddr::from(([10, 0, 0, 3], 41000 + i as u16));
        conns.push(c);
    }
    for mut c in every_other_attempt_reset(4) {
        c.endpoints[0].set_ip(std::net::IpAddr::from([10, 0, 0, 4]));
        conns.push(c);
    }
    let filler = crate::detect::PARALLEL_FROM as u64;
    for i in 0..filler {
        let id = format!("filler-{i}");
        let mut c = session(10_000 + i * 10, 100_000 + i as i64, 50000, id.as_bytes(), 0);
        c.endpoints[0] = std::net::SocketAddr::from(([10, 9, (i >> 8) as u8, i as u8], 50000));
        conns.push(c);
    }
    let summaries: Vec<_> = conns
        .iter()
        .enumerate()
        .map(|(id, c)| crate::detect::summarize(id, c))
        .collect();
    let book = RuleBook::builtin();
    let one = crate::detect::cross_findings(&summaries, &book, 1);
    let two = crate::detect::cross_findings(&summaries, &book, 2);
    let rules: Vec<&str> = one.iter().map(|f| f.rule).collect();
    assert_eq!(
        rules,
        ["duplicate_client_id", "rst_intermittent", "reconnect_storm"],
        "{one:?}"
    );
    assert_eq!(one, two);
}
