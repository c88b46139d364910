//! Conformance of our decode with tshark 4.0.17's on every capture of `../shared/corpus`.
//!
//! Per capture and `tcp.stream` we compare the facts `tshark-facts.json` holds (SNI, highest
//! offered version, chosen version, plaintext alerts, MQTT client id, CONNACK code, MQTT packet
//! counts by type). A fact is counted once when either side has it, so a value only we report
//! counts as a disagreement too. Every disagreement is printed, with the reason where we
//! believe tshark is wrong or the fact needs a feature that is not built yet (`KNOWN`). The
//! figure must stay at or above 99%. Frame and stream counts per file must agree exactly.

mod common;

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;

/// Disagreements we understand: (file, stream, fact, why).
const KNOWN: &[(&str, u64, &str, &str)] = &[];

/// Our facts for one connection, normalised like tshark-facts.json.
fn our_facts(conn: &Value) -> BTreeMap<String, String> {
    let mut facts = BTreeMap::new();
    let tls = &conn["tls"];
    if let Some(sni) = tls["client_hello"]["sni"].as_str() {
        facts.insert("sni".into(), sni.into());
    }
    if let Some(v) = tls["client_hello"]["max_version"].as_str() {
        facts.insert("ch_max".into(), v.into());
    }
    if let Some(v) = tls["server_hello"]["version"].as_str() {
        facts.insert("sh_version".into(), v.into());
    }
    for alert in tls["alerts"].as_array().into_iter().flatten() {
        if let Some(d) = alert["description"].as_str() {
            facts.insert(format!("alert {d}"), "seen".into());
        }
    }
    let mqtt = &conn["mqtt"];
    match &mqtt["connect"]["client_id"] {
        Value::String(id) => {
            facts.insert("client_id".into(), id.clone());
        }
        Value::Null => {}
        other => {
            facts.insert("client_id".into(), other.to_string());
        }
    }
    if let Some(code) = mqtt["connack"]["code"].as_u64() {
        facts.insert("connack".into(), code.to_string());
    }
    for (kind, count) in mqtt["packets"].as_object().into_iter().flatten() {
        facts.insert(format!("mqtt {kind}"), count.to_string());
    }
    facts
}

/// tshark's facts for one stream, in the same shape.
fn tshark_stream_facts(stream: &Value) -> BTreeMap<String, String> {
    let mut facts = BTreeMap::new();
    for key in ["sni", "ch_max", "sh_version", "client_id"] {
        if let Some(v) = stream[key].as_str() {
            facts.insert(key.to_string(), v.to_string());
        }
    }
    if let Some(code) = stream["connack"].as_u64() {
        facts.insert("connack".into(), code.to_string());
    }
    for alert in stream["alerts"].as_array().into_iter().flatten() {
        if let Some(d) = alert.as_str() {
            facts.insert(format!("alert {d}"), "seen".into());
        }
    }
    for (kind, count) in stream["mqtt"].as_object().into_iter().flatten() {
        facts.insert(format!("mqtt {kind}"), count.to_string());
    }
    facts
}

/// Key log files tshark was given for a capture (`-o tls.keylog_file:PATH`).
fn keylogs(entry: &Value) -> Vec<String> {
    entry["tshark_options"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|o| o.as_str()?.strip_prefix("-o tls.keylog_file:"))
        .map(str::to_string)
        .collect()
}

#[test]
fn decode_agrees_with_tshark_on_the_public_corpus() {
    let Some(corpus) = common::corpus_dir() else {
        return;
    };
    let facts_text = fs::read_to_string(corpus.join("tshark-facts.json")).unwrap_or_default();
    let tshark: BTreeMap<String, Value> = serde_json::from_str(&facts_text).unwrap_or_default();
    assert!(!tshark.is_empty(), "tshark-facts.json is empty or invalid");
    let summaries = tshark_summaries(&corpus);

    let (mut total, mut agree) = (0usize, 0usize);
    let mut unexplained = Vec::new();
    let mut count_mismatches = Vec::new();
    for (file, entry) in &tshark {
        let path = corpus.join(file);
        // Decryption is not built yet: key logs tshark used only explain disagreements.
        let _ = keylogs(entry);
        let doc = common::analyze_json(&path, &[]);
        let ours = common::connections_by_stream(&doc);

        if let Some(summary) = summaries.get(file) {
            let frames = doc["captures"][0]["frames"].as_u64();
            if frames != summary["frames_tshark"].as_u64() {
                count_mismatches.push(format!(
                    "{file}: frames ours {frames:?} tshark {}",
                    summary["frames_tshark"]
                ));
            }
            if Some(ours.len() as u64) != summary["tcp_streams"].as_u64() {
                count_mismatches.push(format!(
                    "{file}: tcp streams ours {} tshark {}",
                    ours.len(),
                    summary["tcp_streams"]
                ));
            }
        }

        let streams = entry["streams"].as_object().cloned().unwrap_or_default();
        let stream_ids: BTreeSet<u64> = streams
            .keys()
            .filter_map(|k| k.parse().ok())
            .chain(ours.keys().copied())
            .collect();
        for stream in stream_ids {
            let theirs = streams
                .get(&stream.to_string())
                .map(tshark_stream_facts)
                .unwrap_or_default();
            let mine = ours.get(&stream).map(our_facts).unwrap_or_default();
            let keys: BTreeSet<&String> = theirs.keys().chain(mine.keys()).collect();
            for key in keys {
                total += 1;
                let (t, o) = (theirs.get(key), mine.get(key));
                if t == o {
                    agree += 1;
                    continue;
                }
                let known = KNOWN
                    .iter()
                    .find(|(f, s, k, _)| f == file && *s == stream && k == key);
                let line = format!(
                    "{file} stream {stream} {key}: tshark {t:?}, ours {o:?}{}",
                    known.map(|k| format!(" -- {}", k.3)).unwrap_or_default()
                );
                println!("disagreement: {line}");
                if known.is_none() {
                    unexplained.push(line);
                }
            }
        }
    }
    let percent = 100.0 * agree as f64 / total.max(1) as f64;
    println!(
        "conformance: {agree}/{total} facts agree with tshark 4.0.17 ({percent:.2}%), {} unexplained",
        unexplained.len()
    );
    for m in &count_mismatches {
        println!("count mismatch: {m}");
    }
    assert!(count_mismatches.is_empty(), "frame or stream counts differ");
    assert!(
        percent >= 99.0,
        "conformance {percent:.2}% is below 99%: {unexplained:#?}"
    );
}

/// Per-file summaries from `tshark-4.0.17.jsonl` (frame and stream counts).
fn tshark_summaries(corpus: &std::path::Path) -> BTreeMap<String, Value> {
    let text = fs::read_to_string(corpus.join("tshark-4.0.17.jsonl")).unwrap_or_default();
    text.lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter_map(|v| Some((v["file"].as_str()?.to_string(), v)))
        .collect()
}
