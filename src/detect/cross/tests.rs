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

#[test]
fn alternating_kicks_are_a_fight_with_a_count() {
    let mut conns = Vec::new();
    for i in 0..6u64 {
        let mut c = session(i * 100, i as i64 * 1000, 40000 + i as u16, b"twin", 0);
        if i < 5 {
            tcp(
                &mut c,
                i * 100 + 150,
                (i as i64 + 1) * 1000 + 5,
                Side::Resp,
                TcpEvent::Fin,
            );
        }
        conns.push(c);
    }
    let got = cross_rules(conns);
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

#[test]
fn identical_attempts_some_reset_some_fine_are_intermittent() {
    let mut conns = Vec::new();
    for i in 0..4u64 {
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
    let got = cross_rules(conns);
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

#[test]
fn an_endpoint_that_answered_mqtt_is_a_broker_for_its_silent_clients() {
    let server = std::net::SocketAddr::from(([10, 0, 0, 1], 1884));
    let mut mqtt = established_plain();
    mqtt.endpoints[1] = server;
    let mut silent = conn_between(std::net::SocketAddr::from(([10, 0, 0, 3], 40000)), server);
    tcp(&mut silent, 20, 100, Side::Orig, TcpEvent::Syn);
    tcp(&mut silent, 21, 101, Side::Resp, TcpEvent::SynAck);
    tcp(&mut silent, 22, 12_000, Side::Orig, TcpEvent::Fin);
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
