//! The diagnosis against real captures: every lab capture in `captures/expected.json` gets the
//! rules its row names (`expected_rules`), healthy captures get no finding of severity warning
//! or error, and a few public corpus stories get the findings their story implies. Prints the
//! figures (expected findings found / total, false findings). An expectation that cannot be met
//! is listed in KNOWN with the reason instead of weakening the check.

// Not library code: here a panic is how a failure shows (see [lints.clippy] in Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{corpus_dir, json_document, lab_capture_files, lab_manifest};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

/// (capture, rule, why it is not found).
const KNOWN: &[(&str, &str, &str)] = &[];

fn run_json(args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_mqpcap"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output();
    let Ok(out) = out else {
        panic!("cannot run mqpcap {args:?}")
    };
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{args:?}: exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    json_document(&out.stdout, &format!("mqpcap {args:?}"))
}

/// Every finding of a document: per connection, then across connections.
fn every_finding(doc: &Value) -> impl Iterator<Item = &Value> {
    let per_conn = doc["connections"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|c| c["findings"].as_array().into_iter().flatten());
    let cross = doc["findings"].as_array().into_iter().flatten();
    per_conn.chain(cross)
}

/// (rule, severity, title) of every finding, per connection and across connections.
fn all_findings(doc: &Value) -> Vec<(String, String, String)> {
    every_finding(doc)
        .map(|f| {
            let s = |k: &str| match f[k].as_str() {
                Some(text) => text.to_string(),
                None => panic!("a finding without {k}: {f:#}"),
            };
            (s("rule"), s("severity"), s("title"))
        })
        .collect()
}

/// Rules folded into other findings (`merged_rules`), per connection and across connections.
fn merged_rules(doc: &Value) -> Vec<String> {
    every_finding(doc)
        .flat_map(|f| f["merged_rules"].as_array().cloned().unwrap_or_default())
        .filter_map(|r| r.as_str().map(String::from))
        .collect()
}

/// A `{name}` placeholder left in a text means the rule's code did not supply that fact.
fn unfilled_placeholders(doc: &Value) -> Vec<String> {
    let mut bad = Vec::new();
    for f in every_finding(doc) {
        for key in ["title", "detail", "remedy"] {
            let text = f[key].as_str().unwrap_or_default();
            let mut rest = text;
            while let Some(open) = rest.find('{') {
                let after = &rest[open + 1..];
                let name: String = after
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                    .collect();
                if !name.is_empty() && after[name.len()..].starts_with('}') {
                    bad.push(format!("{} {key}: {{{name}}}", f["rule"]));
                }
                rest = after;
            }
        }
    }
    bad
}

/// Lab captures that need a flag to be diagnosed as their scenario says: the broker listens on
/// a port that is not 1883 or 8883 (captures/README.md, group 10).
const EXTRA_ARGS: &[(&str, &[&str])] = &[
    ("broker-port-silent-client.pcap", &["--broker-port", "1884"]),
    ("broker-port-tls-to-plain.pcap", &["--broker-port", "1884"]),
];

fn serious(severity: &str) -> bool {
    severity == "error" || severity == "warning"
}

#[test]
fn every_lab_capture_gets_its_expected_rules_and_healthy_ones_no_problem() {
    let manifest = lab_manifest();
    let files = manifest["files"].as_object().cloned().unwrap_or_default();
    let (mut expected_total, mut expected_found) = (0, 0);
    let mut false_on_healthy = Vec::new();
    let mut extra_on_failing = Vec::new();
    let mut missing = Vec::new();
    let mut known_met = Vec::new();
    for (file, entry) in &files {
        let path = format!("captures/{file}");
        // A capture the manifest lists is part of the lab: its absence fails the test.
        assert!(
            Path::new(env!("CARGO_MANIFEST_DIR")).join(&path).is_file(),
            "{file} is listed in captures/expected.json but not present"
        );
        let stem = file.rsplit_once('.').map(|(s, _)| s).unwrap_or(file);
        let keys = format!("captures/keys/{stem}.keys");
        let mut args = vec!["analyze", "--format", "json", path.as_str()];
        if let Some((_, extra)) = EXTRA_ARGS.iter().find(|(f, _)| f == file) {
            args.extend_from_slice(extra);
        }
        if Path::new(env!("CARGO_MANIFEST_DIR")).join(&keys).is_file() {
            args.extend(["--keylog", keys.as_str()]);
        }
        let doc = run_json(&args);
        for bad in unfilled_placeholders(&doc) {
            missing.push(format!("{file}: unfilled placeholder in {bad}"));
        }
        let found = all_findings(&doc);
        // A rule folded into another finding on the same fault (`merged_rules`) was found too.
        let merged = merged_rules(&doc);
        let rules: BTreeSet<&str> = found
            .iter()
            .map(|f| f.0.as_str())
            .chain(merged.iter().map(String::as_str))
            .collect();
        let Some(expected) = entry["expected_rules"].as_array() else {
            panic!("{file}: no expected_rules list in captures/expected.json")
        };
        let expected: Vec<&str> = expected.iter().filter_map(Value::as_str).collect();
        for rule in &expected {
            expected_total += 1;
            let known = KNOWN.iter().find(|k| k.0 == file && k.1 == *rule);
            if rules.contains(rule) {
                expected_found += 1;
                if known.is_some() {
                    known_met.push(format!("{file}: {rule}"));
                }
            } else if let Some(k) = known {
                println!("KNOWN  {file}: {rule} not found -- {}", k.2);
            } else {
                missing.push(format!("{file}: {rule} not found (found: {rules:?})"));
            }
        }
        let Some(healthy) = entry["healthy"].as_bool() else {
            panic!("{file}: no healthy verdict in captures/expected.json")
        };
        assert!(
            healthy || !expected.is_empty(),
            "{file}: a failing capture expects no rule"
        );
        for (rule, severity, title) in &found {
            if !serious(severity) {
                continue;
            }
            if healthy {
                false_on_healthy.push(format!("{file}: {severity} {rule}: {title}"));
            } else if !expected.contains(&rule.as_str()) {
                extra_on_failing.push(format!("{file}: {severity} {rule}: {title}"));
            }
        }
    }
    for line in &extra_on_failing {
        println!("extra  {line}");
    }
    for line in &known_met {
        println!("KNOWN entry now met (remove it): {line}");
    }
    println!(
        "lab findings: {expected_found}/{expected_total} expected findings found; \
         {} false findings on healthy captures; {} extra warning/error findings on failing captures",
        false_on_healthy.len(),
        extra_on_failing.len()
    );
    assert!(missing.is_empty(), "{missing:#?}");
    assert!(false_on_healthy.is_empty(), "{false_on_healthy:#?}");
}

/// Corpus stories (MANIFEST.tsv `contents`): (capture, check, what).
#[test]
fn corpus_stories_get_their_diagnosis() {
    let Some(corpus) = corpus_dir() else { return };
    let run = |rel: &str| {
        let path = corpus.join(rel);
        let path = path.to_string_lossy().into_owned();
        run_json(&["analyze", "--format", "json", &path])
    };
    let mut met = 0;

    // zeek: the server answers the ClientHello with a fatal handshake_failure.
    let doc = run("zeek/tls-1.2-handshake-failure.pcap");
    let alert = doc["connections"][0]["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|f| f["rule"] == "tls_alert");
    assert_eq!(
        alert.map(|f| f["alert"].clone()),
        Some("handshake_failure".into())
    );
    assert!(alert.is_some_and(|f| f["severity"] == "error"));
    let evidence = alert.map(|f| f["evidence"].to_string()).unwrap_or_default();
    assert!(evidence.contains("from server"), "{evidence}");
    met += 1;

    // zeek: a warning unrecognized_name the handshake survives is not an error.
    let doc = run("zeek/tls-early-alert.pcap");
    let found = all_findings(&doc);
    assert!(found.iter().all(|f| f.1 != "error"), "{found:#?}");
    assert!(found.iter().any(|f| f.0 == "tls_alert" && f.1 == "info"));
    met += 1;

    // suricata-verify: MQTT 5 custom authentication method refused with 0x8C.
    let doc = run("suricata-verify/mqtt5-sub-customauth/input.pcap");
    let found = all_findings(&doc);
    assert!(
        found
            .iter()
            .any(|f| f.0 == "connack_refused" && f.2.contains("0x8C")),
        "{found:#?}"
    );
    met += 1;

    // suricata-verify: stream 0 is a SYN answered by RST.
    let doc = run("suricata-verify/tls-duplicate-hello/input.pcap");
    let stream0 = doc["connections"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["tcp_stream"] == 0);
    let rules: Vec<String> = stream0
        .and_then(|c| c["findings"].as_array())
        .into_iter()
        .flatten()
        .filter_map(|f| f["rule"].as_str().map(String::from))
        .collect();
    assert!(
        rules.contains(&"connection_refused".to_string()),
        "{rules:?}"
    );
    met += 1;
    // More stories from MANIFEST.tsv `contents`: (capture, rule that must be there with its
    // severity, or None for "no error").
    let more: &[(&str, Option<(&str, &str)>)] = &[
        (
            "zeek/https-to-http.pcap",
            Some(("protocol_mismatch", "error")),
        ),
        (
            "suricata-verify/tls-extra-alert/input.pcap",
            Some(("tls_alert", "error")),
        ),
        (
            "zeek/tls13draft16-ff52.a01.pcap",
            Some(("tls_alert", "error")),
        ),
        (
            "suricata-verify/mqtt5-unsub-qos1/input.pcap",
            Some(("connection_refused", "error")),
        ),
        ("zeek/hrr.pcap", None),
        ("zeek/mqtt.pcap", None),
        ("suricata-verify/mqtt5-pub-qos2/input.pcap", None),
        ("illustrated-tls13/capture.pcap", None),
    ];
    for (capture, want) in more {
        let found = all_findings(&run(capture));
        match want {
            Some((rule, severity)) => assert!(
                found.iter().any(|f| f.0 == *rule && f.1 == *severity),
                "{capture}: {found:#?}"
            ),
            None => assert!(
                found.iter().all(|f| f.1 != "error"),
                "{capture}: {found:#?}"
            ),
        }
        met += 1;
    }
    println!(
        "corpus stories: {met}/{} diagnosed as their story says",
        4 + more.len()
    );
}

#[test]
fn a_bad_rule_file_is_exit_2_with_path_and_line() {
    let dir = match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(e) => panic!("tempdir: {e}"),
    };
    let bad = dir.path().join("bad.toml");
    assert!(std::fs::write(&bad, "[tls_alert]\nseverity = \"error\"\ntitle = \"x\n").is_ok());
    let out = Command::new(env!("CARGO_BIN_EXE_mqpcap"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["analyze", "--rules"])
        .arg(dir.path())
        .arg("captures/mqtt311-healthy.pcap")
        .output();
    let Ok(out) = out else {
        panic!("cannot run mqpcap")
    };
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.toml:3:"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn rules_command_lists_and_explains() {
    let out = Command::new(env!("CARGO_BIN_EXE_mqpcap"))
        .args(["rules"])
        .output();
    let Ok(out) = out else {
        panic!("cannot run mqpcap")
    };
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("rst_without_alert") && text.contains("azure-event-grid"));
    let out = Command::new(env!("CARGO_BIN_EXE_mqpcap"))
        .args(["rules", "no_such_rule"])
        .output();
    assert_eq!(out.ok().and_then(|o| o.status.code()), Some(2));
}

#[test]
fn profile_and_only_failures_flags() {
    let out = Command::new(env!("CARGO_BIN_EXE_mqpcap"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "analyze",
            "--only-failures",
            "--profile",
            "aws-iot",
            "captures/mqtt311-healthy.pcap",
        ])
        .output();
    let Ok(out) = out else {
        panic!("cannot run mqpcap")
    };
    // The QoS 2 session breaks AWS IoT Core's QoS limit; the three others are hidden.
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("qos_unsupported"), "{text}");
    assert!(text.contains("(3 healthy connections hidden"), "{text}");
    let out = Command::new(env!("CARGO_BIN_EXE_mqpcap"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "analyze",
            "--profile",
            "nope",
            "captures/mqtt311-healthy.pcap",
        ])
        .output();
    assert_eq!(out.ok().and_then(|o| o.status.code()), Some(2));
}

/// Every prefix of real captures (cut every 199 bytes) goes through the whole pipeline and the
/// rules without a panic: rules see half-built records (no CONNACK, no close, a cut handshake).
#[test]
fn rules_never_panic_on_truncated_captures() {
    let names: Vec<_> = lab_capture_files()
        .into_iter()
        .filter(|p| match p.metadata() {
            Ok(m) => m.len() < 12_000,
            Err(e) => panic!("{}: {e}", p.display()),
        })
        .collect();
    // The lab holds dozens of small captures; finding none means the test would run nothing.
    assert!(
        names.len() >= 10,
        "only {} lab captures under 12,000 bytes",
        names.len()
    );
    let mut runs = 0;
    for path in &names {
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) => panic!("{}: {e}", path.display()),
        };
        for cut in (0..bytes.len()).step_by(199) {
            mqpcap::engine::fuzz_analyze(&bytes[..cut]);
            runs += 1;
        }
    }
    assert!(runs > names.len(), "{runs} truncated captures analysed");
    println!("{runs} truncated captures analysed");
}
