//! `mqpcap compare` on lab captures: a healthy TLS session against one whose client rejected
//! the certificate, one capture holding both a good and a reset attempt, and the one-line
//! error when there is nothing to compare.

// Not library code: here a panic is how a failure shows (see [lints.clippy] in Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{captures_dir, json_of, lab_manifest, mqpcap};
use serde_json::Value;

fn capture(name: &str) -> String {
    captures_dir().join(name).to_string_lossy().into_owned()
}

fn compare_json(args: &[&str]) -> Value {
    let mut all = vec!["compare", "--format", "json"];
    all.extend_from_slice(args);
    let out = mqpcap(&all);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc = json_of(&out.stdout, &format!("mqpcap {all:?}"));
    assert!(doc["facts"].is_array(), "no facts in {doc:#}");
    doc
}

/// The row of `fact`; a comparison without it fails the test.
fn row<'a>(doc: &'a Value, fact: &str) -> &'a Value {
    match doc["facts"]
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["fact"] == fact))
    {
        Some(row) => row,
        None => panic!("no {fact:?} row in {:#}", doc["facts"]),
    }
}

#[test]
fn good_and_bad_captures_show_what_changed() {
    let good = capture("tls12-healthy.pcap");
    let bad = capture("tls12-client-clock-ahead.pcap");
    let doc = compare_json(&[&good, &bad]);
    assert_eq!(doc["schema"], "mqpcap-compare/1");
    let alerts = row(&doc, "TLS alerts");
    assert_eq!(alerts["differs"], true);
    assert_eq!(alerts["bad"], "fatal certificate_expired from client");
    assert_eq!(row(&doc, "SNI")["differs"], false);
    assert_eq!(row(&doc, "server")["good"], "10.78.0.1:8883");
    let findings: Vec<&str> = doc["bad_findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        findings.iter().any(|f| f.contains("clock_skew_suspected")),
        "{findings:?}"
    );
}

#[test]
fn one_capture_compares_its_first_good_and_first_failing_connection() {
    let doc = compare_json(&[&capture("middlebox-rst-every-second-attempt.pcap")]);
    assert_ne!(doc["good"]["connection"], doc["bad"]["connection"]);
    assert_eq!(row(&doc, "closed")["bad"], "rst by server");
    assert_eq!(row(&doc, "TLS chosen")["bad"], "-");
}

#[test]
fn nothing_failing_to_compare_is_one_line_and_exit_2() {
    let healthy = capture("mqtt311-healthy.pcap");
    let out = mqpcap(&["compare", &healthy]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("no failing connection"), "{stderr}");
}

/// Every failing lab capture compares against a healthy one (the lab's own verdicts in
/// `captures/expected.json`); a failure on no connection (a DNS lookup) is a one-line exit 2
/// that names it.
#[test]
fn every_failing_lab_capture_compares() {
    let manifest = lab_manifest();
    let files = manifest["files"].as_object().cloned().unwrap_or_default();
    let failing: Vec<&String> = files
        .iter()
        .filter(|(_, v)| v["healthy"] == false)
        .map(|(k, _)| k)
        .collect();
    assert!(
        failing.len() > 50,
        "lab manifest not found: {}",
        failing.len()
    );
    let healthy = capture("mqtt311-healthy.pcap");
    for file in failing {
        let bad = capture(file);
        let mut args = vec!["compare", healthy.as_str(), bad.as_str()];
        if file.starts_with("broker-port-") {
            args.extend(["--broker-port", "1884"]);
        }
        let out = mqpcap(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        if file.starts_with("dns-") {
            assert_eq!(out.status.code(), Some(2), "{file}");
            assert!(
                stderr.contains("concerns no connection"),
                "{file}: {stderr}"
            );
        } else {
            assert_eq!(out.status.code(), Some(0), "{file}: {stderr}");
        }
    }
}
