//! The capture lab (`captures/`, made by `scripts/make-captures.sh` with mosquitto and
//! OpenSSL): our JSON must agree with the facts tshark gave when each capture was made
//! (`captures/expected.json`): per `tcp.stream` the endpoints, frame count, TLS versions, SNI,
//! cipher suite, alerts and their sender, MQTT client id, version, CONNACK code, packet counts,
//! first DISCONNECT, and how and by whom the connection closed.

// Not library code: here a panic is how a failure shows (see [lints.clippy] in Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{analyze_json, captures_dir, connections_by_stream, lab_capture_files, lab_manifest};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// Facts we knowingly report differently: (file, stream, fact, why).
/// (ICMP errors that quote a segment are left out of its stream by scripts/expected-facts.py,
/// as mqpcap attaches them to the connection as `icmp` events, not as its packets.)
const KNOWN: &[(&str, u64, &str, &str)] = &[];

/// Facts that tshark reads inside a TLS session it decrypted.
const INSIDE_TLS: &[&str] = &[
    "alerts",
    "encrypted_alerts",
    "client_id",
    "mqtt_version",
    "connack",
    "suback_codes",
    "pub_ack_reasons",
    "disconnects",
    "mqtt",
];

/// `--keylog` arguments for the key log tshark was given (`-o tls.keylog_file:keys/...`,
/// relative to `captures/`).
fn keylog_args(entry: &Value) -> Vec<String> {
    let options: Vec<&str> = entry["tshark_options"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    options
        .iter()
        .filter_map(|o| o.strip_prefix("tls.keylog_file:"))
        .flat_map(|k| {
            [
                "--keylog".to_string(),
                captures_dir().join(k).to_string_lossy().to_string(),
            ]
        })
        .collect()
}

fn endpoint(v: &Value) -> Value {
    let ip = v["ip"].as_str().unwrap_or_default();
    let port = v["port"].as_u64().unwrap_or_default();
    if ip.contains(':') {
        json!(format!("[{ip}]:{port}"))
    } else {
        json!(format!("{ip}:{port}"))
    }
}

/// Our facts for one connection in the manifest's shape.
fn our_facts(conn: &Value) -> BTreeMap<String, Value> {
    let mut f = BTreeMap::new();
    f.insert("client".into(), endpoint(&conn["client"]));
    f.insert("server".into(), endpoint(&conn["server"]));
    let packets = conn["tcp"]["client_packets"].as_u64().unwrap_or(0)
        + conn["tcp"]["server_packets"].as_u64().unwrap_or(0);
    f.insert("frames".into(), json!(packets));
    let close = &conn["tcp"]["close"];
    f.insert(
        "close".into(),
        json!({"how": close["how"], "by": close["by"], "frame": close["frame"]}),
    );
    let resets: BTreeSet<String> = conn["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["layer"] == "tcp" && e["what"]["type"] == "rst")
        .filter_map(|e| e["from"].as_str().map(str::to_string))
        .collect();
    f.insert("resets_by".into(), json!(resets));

    let tls = &conn["tls"];
    let hello = &tls["client_hello"];
    for (key, value) in [
        ("ch_max", &hello["max_version"]),
        ("sni", &hello["sni"]),
        ("sh_version", &tls["server_hello"]["version"]),
    ] {
        if !value.is_null() {
            f.insert(key.into(), value.clone());
        }
    }
    if let Some(code) = tls["server_hello"]["cipher_suite_code"].as_u64() {
        f.insert("cipher_suite".into(), json!(format!("0x{code:04x}")));
    }
    let alerts = tls["alerts"].as_array().cloned().unwrap_or_default();
    let plain: Vec<Value> = alerts
        .iter()
        .filter(|a| a["encrypted"] == false)
        .map(|a| json!({"description": a["description"], "from": a["from"]}))
        .collect();
    if !plain.is_empty() {
        f.insert("alerts".into(), sorted(plain));
    }
    let encrypted: Vec<Value> = alerts
        .iter()
        .filter(|a| a["encrypted"] == true)
        .map(|a| json!({"from": a["from"]}))
        .collect();
    if !encrypted.is_empty() {
        f.insert("encrypted_alerts".into(), sorted(encrypted));
    }

    let mqtt = &conn["mqtt"];
    if !mqtt.is_null() {
        let connect = &mqtt["connect"];
        if !connect.is_null() {
            f.insert("client_id".into(), connect["client_id"].clone());
            f.insert("mqtt_version".into(), mqtt["protocol_version"].clone());
        }
        if !mqtt["connack"].is_null() {
            f.insert("connack".into(), mqtt["connack"]["code"].clone());
        }
        f.insert("mqtt".into(), mqtt["packets"].clone());
        for (fact, types) in [
            ("suback_codes", &["SUBACK"][..]),
            ("pub_ack_reasons", &["PUBACK", "PUBREC"][..]),
        ] {
            let codes = mqtt_reason_codes(conn, types);
            if !codes.is_empty() {
                f.insert(fact.into(), Value::Array(codes));
            }
        }
        let d = &mqtt["disconnect"];
        if !d.is_null() {
            f.insert(
                "disconnects".into(),
                json!([{"from": d["from"], "reason_code": d["reason_code"]}]),
            );
        }
    }
    f
}

/// Reason codes of the timeline's MQTT packets of `types`, in order (MQTT 5 PUBACK/PUBREC
/// without a reason byte carry none, as in the manifest).
fn mqtt_reason_codes(conn: &Value, types: &[&str]) -> Vec<Value> {
    conn["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["layer"] == "mqtt" && e["what"]["type"] == "packet")
        .filter(|e| types.iter().any(|t| e["what"]["packet_type"] == *t))
        .flat_map(|e| {
            e["what"]["reason_codes"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .collect()
}

fn sorted(mut items: Vec<Value>) -> Value {
    items.sort_by_key(|v| v.to_string());
    Value::Array(items)
}

/// The manifest's facts for one stream, normalised like ours. The manifest lists every
/// DISCONNECT; the connection record keeps the first.
fn expected_facts(stream: &Value) -> BTreeMap<String, Value> {
    let mut f: BTreeMap<String, Value> = stream
        .as_object()
        .map(|o| o.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    if let Some(Value::Array(ds)) = f.get("disconnects").cloned() {
        f.insert(
            "disconnects".into(),
            Value::Array(ds.into_iter().take(1).collect()),
        );
    }
    for key in ["alerts", "encrypted_alerts"] {
        if let Some(Value::Array(items)) = f.get(key).cloned() {
            f.insert(key.into(), sorted(items));
        }
    }
    if let Some(Value::Array(r)) = f.get("resets_by").cloned() {
        let set: BTreeSet<String> = r
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect();
        f.insert("resets_by".into(), json!(set));
    }
    f
}

#[test]
fn every_lab_capture_agrees_with_the_facts_tshark_gave() {
    let manifest = lab_manifest();
    let files = manifest["files"].as_object().cloned().unwrap_or_default();
    let (mut total, mut agree) = (0usize, 0usize);
    let mut unexplained = Vec::new();
    for (file, entry) in &files {
        let keylogs = keylog_args(entry);
        // The facts include timelines of healthy connections: ask for every timeline.
        let mut extra: Vec<&str> = vec!["--events", "all"];
        extra.extend(keylogs.iter().map(String::as_str));
        let doc = analyze_json(&captures_dir().join(file), &extra);
        assert_eq!(
            doc["captures"][0]["frames"], entry["frames"],
            "{file}: frames"
        );
        let ours = connections_by_stream(&doc);
        let Some(streams) = entry["streams"].as_object() else {
            panic!("{file}: no streams object in captures/expected.json")
        };
        assert_eq!(ours.len(), streams.len(), "{file}: number of TCP streams");
        for (stream_text, expected) in streams {
            let Ok(stream) = stream_text.parse::<u64>() else {
                panic!("{file}: stream {stream_text:?} is not a number")
            };
            let theirs = expected_facts(expected);
            let Some(mine) = ours.get(&stream).map(our_facts) else {
                panic!("{file}: no connection for tcp.stream {stream}")
            };
            // A session whose key log we cannot apply says so (`tls.keys_not_applied`); tshark
            // decrypts more suites and versions, so what it read inside is not comparable.
            let keys_not_applied = ours
                .get(&stream)
                .map(|c| c["tls"]["keys_not_applied"].clone())
                .filter(|v| !v.is_null());
            for (key, want) in &theirs {
                if let Some(why) = &keys_not_applied
                    && INSIDE_TLS.contains(&key.as_str())
                {
                    println!(
                        "not comparable: {file} stream {stream} {key}: keys_not_applied {why}"
                    );
                    continue;
                }
                total += 1;
                let got = mine.get(key).unwrap_or(&Value::Null);
                if got == want {
                    agree += 1;
                    continue;
                }
                let known = KNOWN
                    .iter()
                    .find(|(f, s, k, _)| f == file && *s == stream && k == key);
                let line = format!(
                    "{file} stream {stream} {key}: expected {want}, ours {got}{}",
                    known.map(|k| format!(" -- {}", k.3)).unwrap_or_default()
                );
                println!("disagreement: {line}");
                if known.is_none() {
                    unexplained.push(line);
                }
            }
        }
    }
    println!("lab captures: {agree}/{total} facts agree with the manifest");
    assert!(total > 0, "no fact compared");
    assert!(unexplained.is_empty(), "{unexplained:#?}");
}

#[test]
fn every_capture_file_is_in_the_manifest() {
    let manifest = lab_manifest();
    let listed: BTreeSet<String> = manifest["files"]
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    let on_disk: BTreeSet<String> = lab_capture_files()
        .iter()
        .filter_map(|p| p.file_name())
        .map(|n| n.to_string_lossy().to_string())
        .collect();
    assert_eq!(listed, on_disk);
}
