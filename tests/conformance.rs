//! Conformance of our decode with tshark 4.0.17's on every capture of `../shared/corpus`.
//!
//! Per capture and `tcp.stream` we compare the facts `tshark-facts.json` holds (SNI, highest
//! offered version, chosen version, plaintext alerts, MQTT client id, CONNACK code, MQTT packet
//! counts by type). A fact is counted once when either side has it, so a value only we report
//! counts as a disagreement too. Every disagreement is printed, with the reason where we
//! believe tshark is wrong or the fact needs a feature that is not built yet (`KNOWN`). The
//! figure must stay at or above 99%. Frame and stream counts per file must agree exactly.

// Not library code: here a panic is how a failure shows (see [lints.clippy] in Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Disagreements we understand: (file, stream, fact, why). Counted as disagreements.
const KNOWN: &[(&str, u64, &str, &str)] = &[];

/// Where `tshark-facts.json` lost or flattened what tshark 4.0.17 itself decodes, the value
/// tshark shows, with the command that shows it: (file, stream, fact, tshark's value, tshark
/// arguments, text its output must contain). When tshark is installed the test runs the
/// command and checks the text, so no correction can drift from what tshark really says.
const TSHARK_SAYS: &[(&str, u64, &str, &str, &str, &str)] = &[
    // tshark dissects TLS on port 80 only when told to (`-d`), so the stored facts have none;
    // with `-d` it shows the ClientHello offering TLS 1.3 in supported_versions.
    (
        "zeek/https-to-http.pcap",
        0,
        "ch_max",
        "TLS 1.3",
        "-d tcp.port==80,tls -Y tls.handshake.type==1 -T fields -e tls.handshake.extensions.supported_version",
        "0x0304",
    ),
    // tshark decodes SSLv2 hellos with its SSLv2 dissector, whose version field the facts
    // script did not read.
    (
        "zeek/ssl-v2.pcap",
        0,
        "ch_max",
        "SSL 2.0",
        "-V -Y frame.number==4",
        "Version: SSL 2.0 (0x0002)",
    ),
    (
        "zeek/ssl-v2.pcap",
        0,
        "sh_version",
        "SSL 2.0",
        "-V -Y frame.number==6",
        "Version: SSL 2.0 (0x0002)",
    ),
    // Draft versions are not among the names the facts script kept.
    (
        "zeek/tls13draft16-ff52.a01.pcap",
        0,
        "sh_version",
        "TLS 1.3 (draft 16)",
        "-Y tls.handshake.type==2 -T fields -e tls.handshake.version",
        "0x7f10",
    ),
    (
        "zeek/tls13draft16-ff52.a01.pcap",
        1,
        "sh_version",
        "TLS 1.3 (draft 16)",
        "-Y tls.handshake.type==2 -T fields -e tls.handshake.version",
        "0x7f10",
    ),
    // Two ClientHellos on one stream: the facts keep the last one (no supported_versions),
    // while the connection's ClientHello is the first, which offers TLS 1.3 and which the
    // server's TLS 1.3 ServerHello answers (frames 7 and 9).
    (
        "suricata-verify/tls-duplicate-hello/input.pcap",
        1,
        "ch_max",
        "TLS 1.3",
        "-Y frame.number==7 -T fields -e tls.handshake.extensions.supported_version",
        "0x0304",
    ),
];

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
        // tshark-facts.json leaves out empty values (a zero-length client id).
        Value::String(id) if id.is_empty() => {}
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
    let tshark = tshark_facts(&corpus);
    let summaries = tshark_summaries(&corpus);

    let (mut total, mut agree) = (0usize, 0usize);
    let mut unexplained = Vec::new();
    let mut count_mismatches = Vec::new();
    for (file, entry) in &tshark {
        let path = corpus.join(file);
        // The key logs tshark decrypted with, given to us the same way.
        let keylog_paths: Vec<String> = keylogs(entry)
            .iter()
            .map(|k| corpus.join(k).to_string_lossy().to_string())
            .collect();
        let mut extra: Vec<&str> = Vec::new();
        for k in &keylog_paths {
            extra.extend(["--keylog", k.as_str()]);
        }
        let doc = common::analyze_json(&path, &extra);
        let ours = common::connections_by_stream(&doc);

        let Some(summary) = summaries.get(file) else {
            panic!("{file}: in tshark-facts.json, not in tshark-4.0.17.jsonl")
        };
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

        let streams = entry["streams"].as_object().cloned().unwrap_or_default();
        let stream_ids: BTreeSet<u64> = streams
            .keys()
            .filter_map(|k| k.parse().ok())
            .chain(ours.keys().copied())
            .collect();
        for stream in stream_ids {
            let mut theirs = streams
                .get(&stream.to_string())
                .map(tshark_stream_facts)
                .unwrap_or_default();
            for (f, s, key, value, _, _) in TSHARK_SAYS {
                if f == file && *s == stream {
                    theirs.insert(key.to_string(), value.to_string());
                }
            }
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

/// Checks each `TSHARK_SAYS` correction against a live tshark, when one is installed.
#[test]
fn corrections_to_the_stored_tshark_facts_are_what_tshark_says() {
    let Some(corpus) = common::corpus_dir() else {
        return;
    };
    if std::process::Command::new("tshark")
        .arg("-v")
        .output()
        .is_err()
    {
        common::skipped("tshark is not installed; corrections checked by review only");
        return;
    }
    for (file, _, _, _, args, must_contain) in TSHARK_SAYS {
        let mut cmd = std::process::Command::new("tshark");
        cmd.arg("-r").arg(corpus.join(file));
        cmd.args(args.split(' '));
        let out = match cmd.output() {
            Ok(out) => out.stdout,
            Err(e) => panic!("cannot run tshark on {file}: {e}"),
        };
        let text = String::from_utf8_lossy(&out);
        assert!(
            text.contains(must_contain),
            "tshark {args} on {file} does not show {must_contain:?}"
        );
    }
}

/// Per-file summaries from `tshark-4.0.17.jsonl` (frame and stream counts); a line that is
/// not JSON or names no file fails the test.
fn tshark_summaries(corpus: &std::path::Path) -> BTreeMap<String, Value> {
    let path = corpus.join("tshark-4.0.17.jsonl");
    let summaries: BTreeMap<String, Value> = common::read_text(&path)
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let v = common::json_of(line.as_bytes(), &path.display().to_string());
            match v["file"].as_str() {
                Some(file) => (file.to_string(), v),
                None => panic!("{}: a line without file: {line}", path.display()),
            }
        })
        .collect();
    assert!(!summaries.is_empty(), "{} is empty", path.display());
    summaries
}

/// `tshark-facts.json`: per capture file, tshark's facts; unreadable or empty fails the test.
fn tshark_facts(corpus: &std::path::Path) -> BTreeMap<String, Value> {
    let path = corpus.join("tshark-facts.json");
    let text = common::read_text(&path);
    let facts: BTreeMap<String, Value> = match serde_json::from_str(&text) {
        Ok(facts) => facts,
        Err(e) => panic!("{}: {e}", path.display()),
    };
    assert!(!facts.is_empty(), "{} is empty", path.display());
    facts
}

/// JA3 of each connection's first ClientHello equals tshark's `tls.handshake.ja3` (live
/// tshark; skipped with a notice when it is not installed).
#[test]
fn ja3_equals_tshark_on_every_corpus_client_hello() {
    let Some(corpus) = common::corpus_dir() else {
        return;
    };
    if std::process::Command::new("tshark")
        .arg("-v")
        .output()
        .is_err()
    {
        common::skipped("tshark is not installed; JA3 comparison skipped");
        return;
    }
    let tshark = tshark_facts(&corpus);
    let (mut compared, mut mismatches) = (0, Vec::new());
    for file in tshark.keys() {
        let path = corpus.join(file);
        let out = std::process::Command::new("tshark")
            .arg("-r")
            .arg(&path)
            .args(["-Y", "tls.handshake.type==1", "-T", "fields"])
            .args(["-e", "tcp.stream", "-e", "tls.handshake.ja3"])
            .output();
        let out = match out {
            Ok(out) => out.stdout,
            Err(e) => panic!("cannot run tshark on {file}: {e}"),
        };
        // tshark prints one line per ClientHello; the connection keeps the first per stream.
        let mut theirs: BTreeMap<u64, String> = BTreeMap::new();
        for line in String::from_utf8_lossy(&out).lines() {
            let mut fields = line.split('\t');
            if let (Some(Ok(stream)), Some(ja3)) = (fields.next().map(str::parse), fields.next())
                && !ja3.is_empty()
            {
                theirs.entry(stream).or_insert_with(|| ja3.to_string());
            }
        }
        let doc = common::analyze_json(&path, &[]);
        for (stream, conn) in common::connections_by_stream(&doc) {
            let ours = conn["tls"]["client_hello"]["ja3"].as_str().unwrap_or("");
            if let Some(ja3) = theirs.get(&stream) {
                compared += 1;
                if ja3 != ours {
                    mismatches.push(format!("{file} stream {stream}: tshark {ja3}, ours {ours}"));
                }
            }
        }
    }
    println!(
        "ja3: {} of {compared} ClientHellos equal tshark's",
        compared - mismatches.len()
    );
    assert!(compared > 20, "too few ClientHellos compared: {compared}");
    assert!(mismatches.is_empty(), "{mismatches:#?}");
}
