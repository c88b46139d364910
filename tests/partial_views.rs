//! Captures that show part of what happened: one direction (group 8: healthy lab captures cut
//! with tshark), the end of a session (cut with editcap), or a TLS 1.3 handshake read without
//! its keys. The diagnosis must say what the capture cannot show, never turn the missing part
//! into a failure, and name what it can infer.

// Not library code: here a panic is how a failure shows (see [lints.clippy] in Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{analyze_json, captures_dir};
use serde_json::Value;

fn connections(file: &str) -> Vec<Value> {
    let path = captures_dir().join(file);
    assert!(path.is_file(), "{} is missing", path.display());
    let doc = analyze_json(&path, &[]);
    doc["connections"].as_array().cloned().unwrap_or_default()
}

fn rules(c: &Value) -> Vec<String> {
    c["findings"]
        .as_array()
        .map(|f| {
            f.iter()
                .map(|f| f["rule"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Every connection of `file` gets `capture_one_sided` first and nothing else of warning or
/// error severity; returns the first connection's one-sided detail.
fn one_sided(file: &str, present: &str) -> String {
    let conns = connections(file);
    assert!(!conns.is_empty(), "{file}: no connection");
    for c in &conns {
        let findings = c["findings"].as_array().cloned().unwrap_or_default();
        assert_eq!(
            rules(c).first().map(String::as_str),
            Some("capture_one_sided")
        );
        let others: Vec<&Value> = findings
            .iter()
            .skip(1)
            .filter(|f| f["severity"] != "info")
            .collect();
        assert!(others.is_empty(), "{file}: {others:?}");
        let title = findings[0]["title"].as_str().unwrap_or_default();
        assert!(title.contains(&format!("the {present}'s side")), "{title}");
    }
    conns[0]["findings"][0]["detail"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn the_clients_direction_alone_is_one_sided_not_unanswered() {
    let detail = one_sided("one-sided-client-mqtt311.pcap", "client");
    assert!(
        detail.contains("none of them would have fired here"),
        "{detail}"
    );
    assert_eq!(connections("one-sided-client-mqtt311.pcap").len(), 4);
}

#[test]
fn a_close_notify_seen_from_one_side_is_not_an_encrypted_alert_error() {
    let detail = one_sided("one-sided-server-tls12.pcap", "server");
    assert!(
        detail.contains("encrypted_alert would have fired"),
        "{detail}"
    );
    let c = &connections("one-sided-server-tls12.pcap")[0];
    // The client is known from the SYN-ACK's destination, even without its SYN.
    assert_eq!(c["client"]["port"], 48370);
}

#[test]
fn a_missing_server_flight_is_not_an_incomplete_handshake() {
    let detail = one_sided("one-sided-client-tls13.pcap", "client");
    assert!(
        detail.contains("handshake_incomplete would have fired"),
        "{detail}"
    );
}

#[test]
fn a_session_seen_mid_stream_closes_without_a_handshake_finding() {
    let conns = connections("mid-stream-tls12-close.pcap");
    assert_eq!(conns.len(), 1);
    let c = &conns[0];
    assert_eq!(c["tcp"]["handshake_seen"], false);
    let alerts = c["tls"]["alerts"].as_array().cloned().unwrap_or_default();
    assert_eq!(
        alerts.len(),
        2,
        "both closing alerts are decoded as records"
    );
    for a in &alerts {
        assert_eq!(a["encrypted"], true);
        assert_eq!(a["record_len"], 26, "a 2-byte alert under AES-GCM");
    }
    assert!(rules(c).is_empty(), "{:?}", rules(c));
}

#[test]
fn a_tls13_client_alert_after_the_servers_flight_says_who_refused_what() {
    // GnuTLS refusing the broker's chain (captures/README.md, group 10), read without its keys.
    let conns = connections("keylog-tls13-gnutls-unknown-ca.pcap");
    let findings = conns[0]["findings"].as_array().cloned().unwrap_or_default();
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_eq!(findings[0]["rule"], "encrypted_alert");
    let title = findings[0]["title"].as_str().unwrap_or_default();
    assert!(
        title.contains("device refused the broker's certificate"),
        "{title}"
    );
    // Nothing in it points at the clock.
    assert!(!rules(&conns[0]).contains(&"clock_skew_suspected".to_string()));
}
