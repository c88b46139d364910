//! The streaming engine's promises on the lab's captures: the same output for every `--jobs`,
//! every finding of the JSON document in the JSON Lines records too, and an overview whose
//! counts agree with the connections and findings it sums up.

// Not library code: here a panic is how a failure shows (see [lints.clippy] in Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{captures_dir, json_document, lab_capture_files, mqpcap};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::PathBuf;

fn lab_captures() -> Vec<PathBuf> {
    let files = lab_capture_files();
    assert!(files.len() >= 60, "lab captures not found: {}", files.len());
    files
}

fn run(args: &[&str]) -> Vec<u8> {
    let out = mqpcap(args);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "mqpcap {args:?}: {:?} {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn one_job_and_two_jobs_give_byte_identical_output() {
    let dir = captures_dir().to_string_lossy().to_string();
    for format in ["json", "jsonl", "table", "markdown", "html"] {
        let one = run(&[
            "analyze", "--format", format, "--jobs", "1", "--events", "all", &dir,
        ]);
        let two = run(&[
            "analyze", "--format", format, "--jobs", "2", "--events", "all", &dir,
        ]);
        let four = run(&["analyze", "--format", format, "--jobs", "4", &dir]);
        let four_again = run(&["analyze", "--format", format, "--jobs", "1", &dir]);
        assert!(one.len() > 10_000, "{format}: output too small");
        assert!(one == two, "{format}: --jobs 1 and --jobs 2 differ");
        assert!(four == four_again, "{format}: --jobs 4 and --jobs 1 differ");
    }
    // Each file on its own too (a single capture is the common case).
    for file in lab_captures() {
        let f = file.to_string_lossy().to_string();
        let one = run(&["analyze", "--format", "json", "--jobs", "1", &f]);
        let two = run(&["analyze", "--format", "json", "--jobs", "2", &f]);
        assert!(one == two, "{f}: --jobs 1 and --jobs 2 differ");
    }
}

/// (rule, title, connections) of every finding in a JSON document.
fn findings_of_document(doc: &Value) -> BTreeSet<String> {
    let mut all = BTreeSet::new();
    let per_connection = doc["connections"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|c| c["findings"].as_array().into_iter().flatten());
    for f in per_connection.chain(doc["findings"].as_array().into_iter().flatten()) {
        all.insert(f.to_string());
    }
    all
}

fn findings_of_lines(text: &str) -> BTreeSet<String> {
    let mut all = BTreeSet::new();
    for line in text.lines() {
        let Ok(mut v) = serde_json::from_str::<Value>(line) else {
            panic!("not JSON: {line}");
        };
        match v["record"].as_str() {
            Some("connection") => {
                for f in v["findings"].as_array().into_iter().flatten() {
                    all.insert(f.to_string());
                }
            }
            Some("finding") => {
                if let Some(o) = v.as_object_mut() {
                    o.remove("record");
                }
                all.insert(v.to_string());
            }
            Some("capture") => {}
            other => panic!("unknown record {other:?}"),
        }
    }
    all
}

#[test]
fn every_finding_of_the_json_document_is_in_json_lines() {
    let mut cross = 0;
    for file in lab_captures() {
        let f = file.to_string_lossy().to_string();
        let doc = json_document(&run(&["analyze", "--format", "json", &f]), &f);
        let lines = String::from_utf8(run(&["analyze", "--format", "jsonl", &f]))
            .unwrap_or_else(|e| panic!("{f}: {e}"));
        let in_doc = findings_of_document(&doc);
        let in_lines = findings_of_lines(&lines);
        assert_eq!(in_doc, in_lines, "{f}");
        cross += doc["findings"].as_array().map_or(0, Vec::len);
    }
    // The lab has storms, takeovers and intermittent resets: cross findings must be there.
    assert!(
        cross >= 3,
        "only {cross} cross-connection findings in the lab"
    );
}

#[test]
fn timelines_follow_the_events_flag() {
    let f = captures_dir()
        .join("reconnect-storm.pcap")
        .to_string_lossy()
        .to_string();
    let doc_of = |events: &str| -> Value {
        json_document(
            &run(&["analyze", "--format", "json", "--events", events, &f]),
            &format!("{f} --events {events}"),
        )
    };
    let with_events = |doc: &Value| -> usize {
        doc["connections"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|c| c["events"].as_array().is_some_and(|e| !e.is_empty()))
            .count()
    };
    let (all, none, failures) = (doc_of("all"), doc_of("none"), doc_of("failures"));
    let n = all["connections"].as_array().map_or(0, Vec::len);
    assert!(n >= 10, "{n} connections");
    assert_eq!(with_events(&all), n);
    assert_eq!(with_events(&none), 0);
    assert_eq!(none["connections"].as_array().map_or(0, Vec::len), n);
    // Failing connections (refused logins) keep theirs; omitted ones say so.
    let failing = failures["connections"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| {
            c["findings"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|f| f["severity"] == "error" || f["severity"] == "warning")
        })
        .count();
    assert!(failing > 0);
    assert_eq!(with_events(&failures), failing);
    for c in none["connections"].as_array().into_iter().flatten() {
        assert_eq!(c["events_omitted"], true);
    }
}

#[test]
fn the_overview_counts_what_the_connections_and_findings_say() {
    // The merge counts failing connections and failures by rule as connections arrive and
    // adds the cross-connection findings at the end; here the same counts are made again from
    // the document: a connection fails with a warning or error finding of its own or when a
    // warning or error finding across connections names it; a rule counts once per connection
    // it fails (a finding on no connection, a failed DNS lookup, once).
    let dir = captures_dir().to_string_lossy().to_string();
    let doc: Value = serde_json::from_slice(&run(&["analyze", "--format", "json", &dir])).unwrap();
    let bad = |f: &Value| matches!(f["severity"].as_str(), Some("warning" | "error"));
    let connections = doc["connections"].as_array().unwrap();
    let mut failing: BTreeSet<u64> = BTreeSet::new();
    let mut by_rule: std::collections::BTreeMap<String, u64> = Default::default();
    for c in connections {
        let rules: BTreeSet<&str> = c["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| bad(f))
            .filter_map(|f| f["rule"].as_str())
            .collect();
        if !rules.is_empty() {
            failing.insert(c["id"].as_u64().unwrap());
        }
        for rule in rules {
            *by_rule.entry(rule.to_string()).or_default() += 1;
        }
    }
    for f in doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| bad(f))
    {
        let ids: Vec<u64> = f["connections"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_u64)
            .collect();
        failing.extend(&ids);
        *by_rule
            .entry(f["rule"].as_str().unwrap().to_string())
            .or_default() += ids.len().max(1) as u64;
    }
    let overview = &doc["overview"];
    assert_eq!(
        overview["connections"].as_u64(),
        Some(connections.len() as u64)
    );
    assert!(
        failing.len() > 20,
        "lab failures not found: {}",
        failing.len()
    );
    assert_eq!(overview["failing"].as_u64(), Some(failing.len() as u64));
    let counted: std::collections::BTreeMap<String, u64> =
        serde_json::from_value(overview["failures_by_rule"].clone()).unwrap();
    assert_eq!(counted, by_rule);
}
