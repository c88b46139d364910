//! Traffic inside tunnels and traffic that is not TCP, on lab captures made by real software
//! (captures/README.md: kernel VXLAN, `scripts/lab/tunnel.py` for GTP-U, GRE, MPLS and PPPoE,
//! mosquitto sessions through them; ping and a DNS query beside an MQTT session). The inner TCP is
//! analysed as if captured directly; every other frame is counted by kind.

// Not library code: here a panic is how a failure shows (see [lints.clippy] in Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{analyze_json, captures_dir};
use serde_json::{Value, json};

fn analyze(file: &str) -> Value {
    let path = captures_dir().join(file);
    assert!(path.is_file(), "{} is missing", path.display());
    analyze_json(&path, &[])
}

fn healthy_inner_sessions(file: &str, overlay: &str) -> Value {
    let doc = analyze(file);
    let connections = doc["connections"].as_array().cloned().unwrap_or_default();
    assert_eq!(connections.len(), 2, "{file}: subscriber and publisher");
    for (c, role) in connections.iter().zip(["sub", "pub"]) {
        assert_eq!(
            c["client"]["ip"],
            format!("{overlay}.2"),
            "{file}: inner client"
        );
        assert_eq!(
            c["server"]["ip"],
            format!("{overlay}.1"),
            "{file}: inner server"
        );
        assert_eq!(c["server"]["port"], 1883);
        assert_eq!(c["mqtt"]["connack"]["code"], 0, "{file}");
        let id = c["mqtt"]["connect"]["client_id"]
            .as_str()
            .unwrap_or_default();
        assert!(id.ends_with(role), "{file}: client id {id}");
        assert_eq!(c["tcp"]["state"], "SF", "{file}: a complete connection");
    }
    assert_eq!(doc["summary"]["errors"], 0, "{file}");
    assert_eq!(doc["summary"]["warnings"], 0, "{file}");
    doc
}

#[test]
fn mqtt_inside_vxlan_gtpu_gre_mpls_and_pppoe_is_analysed_as_inner_tcp() {
    let vxlan = healthy_inner_sessions("tunnel-vxlan.pcap", "10.79.0");
    // The ARP inside the VXLAN is counted, not analysed.
    assert_eq!(
        vxlan["captures"][0]["frames_not_analyzed"],
        json!({"arp": 2})
    );
    for (file, overlay) in [
        ("tunnel-gtpu.pcap", "10.79.1"),
        ("tunnel-gre.pcap", "10.79.2"),
        ("tunnel-mpls.pcap", "10.79.3"),
        ("tunnel-pppoe.pcap", "10.79.4"),
    ] {
        let doc = healthy_inner_sessions(file, overlay);
        let capture = &doc["captures"][0];
        assert_eq!(capture["frames_not_analyzed"], json!({}), "{file}");
        assert_eq!(capture["warnings"], json!([]), "{file}");
    }
}

#[test]
fn frames_without_tcp_are_counted_by_kind_never_dropped_silently() {
    let doc = analyze("other-traffic.pcap");
    let capture = &doc["captures"][0];
    // Two echo requests and replies, the port unreachable answering the DNS query. The DNS
    // query itself is analysed: it is a lookup of the capture, never answered.
    assert_eq!(capture["frames_not_analyzed"], json!({"icmp": 5}));
    assert_eq!(capture["dns_lookups"][0]["name"], "broker.test");
    assert_eq!(capture["dns_lookups"][0]["outcome"], "no_answer");
    assert_eq!(capture["dns_lookups"][0]["first_query_frame"], 5);
    let warnings = capture["warnings"].as_array().cloned().unwrap_or_default();
    let warning = warnings
        .iter()
        .find(|w| w["kind"] == "traffic_not_analyzed");
    let Some(warning) = warning else {
        panic!("no traffic_not_analyzed warning in {warnings:?}");
    };
    assert_eq!(warning["frame"], 1);
    let message = warning["message"].as_str().unwrap_or_default();
    assert!(message.contains("5 ICMP"), "{message}");
    // The MQTT session beside it is analysed as usual.
    assert_eq!(doc["connections"].as_array().map(Vec::len), Some(1));
    assert_eq!(doc["connections"][0]["mqtt"]["connack"]["code"], 0);
}

#[test]
fn a_lab_capture_of_tcp_only_counts_nothing() {
    let doc = analyze("mqtt311-healthy.pcap");
    assert_eq!(doc["captures"][0]["frames_not_analyzed"], json!({}));
}
