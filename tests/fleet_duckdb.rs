//! docs/fleet.md on the lab captures: `mqpcap analyze --format jsonl captures/` into a file, then
//! every `sql` block of docs/fleet.md run by DuckDB (tests/fleet_queries.py, PyPI `duckdb`), and
//! the answers checked against the lab and against the JSON Lines read here with serde.
//! Skipped with a notice when the Python package `duckdb` is not installed (.ci/run installs it).

// Not library code: here a panic is how a failure shows (see [lints.clippy] in Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::path::Path;
use std::process::{Command, Stdio};

/// The version docs/fleet.md was written with and .ci/run installs.
const DUCKDB: &str = "2.0.1";

fn duckdb_installed() -> bool {
    Command::new("python3")
        .args(["-c", "import duckdb"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A query's answer: rows as column name -> value.
struct Answer {
    rows: Vec<BTreeMap<String, Value>>,
}

impl Answer {
    fn of(results: &Value, query: &str) -> Answer {
        let result = &results[query];
        let columns: Vec<String> = match result["columns"].as_array() {
            Some(cols) => cols
                .iter()
                .filter_map(|c| c.as_str())
                .map(String::from)
                .collect(),
            None => panic!("docs/fleet.md has no query named {query:?}"),
        };
        let Some(rows) = result["rows"].as_array() else {
            panic!("{query}: no rows in the answer {result}")
        };
        let rows = rows
            .iter()
            .map(|row| {
                let Some(values) = row.as_array() else {
                    panic!("{query}: row {row} is not a list")
                };
                assert_eq!(values.len(), columns.len(), "{query}: row {row}");
                columns
                    .iter()
                    .cloned()
                    .zip(values.iter().cloned())
                    .collect()
            })
            .collect();
        Answer { rows }
    }

    fn str<'a>(row: &'a BTreeMap<String, Value>, col: &str) -> Option<&'a str> {
        row.get(col).and_then(Value::as_str)
    }

    fn int(row: &BTreeMap<String, Value>, col: &str) -> i64 {
        match row.get(col).and_then(Value::as_i64) {
            Some(n) => n,
            None => panic!("column {col} is not an integer in {row:?}"),
        }
    }

    /// The rows whose `col` is `value`.
    fn rows_with(&self, col: &str, value: &str) -> Vec<&BTreeMap<String, Value>> {
        self.rows
            .iter()
            .filter(|r| Self::str(r, col) == Some(value))
            .collect()
    }
}

fn is_capture_file(name: &str) -> bool {
    let name = name.strip_suffix(".gz").unwrap_or(name);
    [".pcap", ".pcapng", ".cap", ".ntar"]
        .iter()
        .any(|ext| name.ends_with(ext))
}

fn failing_severity(finding: &Value) -> bool {
    matches!(finding["severity"].as_str(), Some("error" | "warning"))
}

#[test]
fn fleet_md_queries_answer_on_the_lab_captures() {
    if !duckdb_installed() {
        common::skipped(&format!(
            "duckdb not installed (python3 -m pip install duckdb=={DUCKDB}); \
             docs/fleet.md queries not run"
        ));
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let captures = common::captures_dir();
    let mut capture_files = 0;
    for entry in std::fs::read_dir(&captures).expect("captures/ is readable") {
        let name = entry.expect("captures/ entry").file_name();
        if is_capture_file(&name.to_string_lossy()) {
            capture_files += 1;
        }
    }
    for needed in [
        "reconnect-storm.pcap",
        "dns-nxdomain.pcap",
        "ws-upgrade-failed.pcap",
        "mqtt311-bad-password.pcap",
    ] {
        assert!(
            captures.join(needed).is_file(),
            "lab capture {needed} missing"
        );
    }

    // The command of docs/fleet.md.
    let dir = tempfile::tempdir().expect("temp dir");
    let jsonl = dir.path().join("fleet.jsonl");
    let status = Command::new(env!("CARGO_BIN_EXE_mqpcap"))
        .args(["analyze", "--format", "jsonl"])
        .arg(&captures)
        .stdout(File::create(&jsonl).expect("create fleet.jsonl"))
        .status()
        .expect("run mqpcap");
    assert_eq!(status.code(), Some(1), "the lab has failures: exit 1");

    // The same file read here, for facts to hold DuckDB's answers against.
    let text = std::fs::read_to_string(&jsonl).expect("read fleet.jsonl");
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    let kind = |k: &str| -> Vec<&Value> { lines.iter().filter(|l| l["record"] == k).collect() };
    let (conns, caps, cross) = (kind("connection"), kind("capture"), kind("finding"));
    assert_eq!(caps.len(), capture_files, "one capture record per file");
    assert!(conns.len() > 100, "{} connection records", conns.len());
    assert_eq!(conns.len() + caps.len() + cross.len(), lines.len());
    // Connection ids run 0..n and each names a capture record.
    for (i, c) in conns.iter().enumerate() {
        assert_eq!(c["id"].as_u64(), Some(i as u64));
        assert!(
            c["capture"]
                .as_u64()
                .is_some_and(|k| (k as usize) < caps.len())
        );
    }

    let out = Command::new("python3")
        .arg(root.join("tests/fleet_queries.py"))
        .arg(root.join("docs/fleet.md"))
        .arg(&jsonl)
        .output()
        .expect("run python3 tests/fleet_queries.py");
    assert!(
        out.status.success(),
        "fleet_queries.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answer: Value = serde_json::from_slice(&out.stdout).expect("fleet_queries.py JSON");
    if answer["duckdb"] != DUCKDB {
        common::notice(&format!(
            "duckdb {} installed; docs/fleet.md was written with {DUCKDB}",
            answer["duckdb"]
        ));
    }
    let results = &answer["results"];

    // records by kind: DuckDB read every line.
    let records = Answer::of(results, "records by kind");
    let count = |k: &str| {
        records
            .rows_with("record", k)
            .first()
            .map_or(0, |r| Answer::int(r, "records"))
    };
    assert_eq!(count("connection"), conns.len() as i64);
    assert_eq!(count("capture"), caps.len() as i64);
    assert_eq!(count("finding"), cross.len() as i64);

    // failures by rule per hour: per rule, the sum over hours is the number of connections
    // with a warning or error finding of that rule.
    let mut by_rule: BTreeMap<String, i64> = BTreeMap::new();
    for c in &conns {
        for f in c["findings"].as_array().into_iter().flatten() {
            if failing_severity(f) {
                let Some(rule) = f["rule"].as_str() else {
                    panic!("a finding without rule: {f}")
                };
                *by_rule.entry(rule.to_string()).or_default() += 1;
            }
        }
    }
    let per_hour = Answer::of(results, "failures by rule per hour");
    let mut summed: BTreeMap<String, i64> = BTreeMap::new();
    let mut hours = BTreeSet::new();
    for row in &per_hour.rows {
        let hour = Answer::str(row, "hour").expect("hour");
        assert!(hour.ends_with(":00:00"), "hour bucket {hour}");
        hours.insert(hour.to_string());
        *summed
            .entry(Answer::str(row, "rule").expect("rule").to_string())
            .or_default() += Answer::int(row, "connections");
    }
    assert_eq!(summed, by_rule);
    assert!(by_rule.get("connack_refused").is_some_and(|&n| n > 0));
    assert!(by_rule.contains_key("tls_alert"));
    assert!(
        hours.len() >= 2,
        "lab captures span several hours: {hours:?}"
    );

    // top failing client ids: the storm's client leads, every attempt failing.
    let top = Answer::of(results, "top failing client ids");
    assert!(!top.rows.is_empty() && top.rows.len() <= 10);
    let storm = top.rows_with("client_id", "lab-storm");
    let storm = storm
        .first()
        .expect("lab-storm among the top failing client ids");
    assert!(Answer::int(storm, "failing") >= 15);
    assert_eq!(
        Answer::int(storm, "failing"),
        Answer::int(storm, "connections")
    );
    let failing: Vec<i64> = top.rows.iter().map(|r| Answer::int(r, "failing")).collect();
    assert!(failing.windows(2).all(|w| w[0] >= w[1]), "{failing:?}");
    assert_eq!(failing[0], Answer::int(storm, "failing"));

    // TLS versions offered and chosen: every TLS connection counted once.
    let tls = Answer::of(results, "TLS versions offered and chosen");
    let tls_conns = conns.iter().filter(|c| !c["tls"].is_null()).count() as i64;
    assert_eq!(
        tls.rows
            .iter()
            .map(|r| Answer::int(r, "connections"))
            .sum::<i64>(),
        tls_conns
    );
    let pair = |offered: &str, chosen: Option<&str>| {
        tls.rows.iter().any(|r| {
            Answer::str(r, "offered") == Some(offered) && Answer::str(r, "chosen") == chosen
        })
    };
    assert!(pair("TLS 1.3", Some("TLS 1.3")));
    assert!(pair("TLS 1.2", Some("TLS 1.2")));
    assert!(
        pair("TLS 1.1", None),
        "tls11-to-tls12-broker: no ServerHello"
    );

    // DNS lookups that failed: the three error codes of the lab's resolver.
    let dns = Answer::of(results, "DNS lookups that failed");
    for (capture, rcode) in [
        ("dns-nxdomain.pcap", 3),
        ("dns-servfail.pcap", 2),
        ("dns-refused.pcap", 5),
    ] {
        let rows = dns.rows_with("capture", capture);
        assert!(
            rows.iter()
                .any(|r| Answer::str(r, "outcome") == Some("failed")
                    && Answer::int(r, "rcode") == rcode),
            "{capture}: rcode {rcode} in {rows:?}"
        );
    }
    assert!(dns.rows_with("outcome", "resolved").is_empty());
    assert!(dns.rows_with("capture", "dns-healthy.pcap").is_empty());

    // cross-connection findings: one row per finding record.
    let xf = Answer::of(results, "cross-connection findings");
    assert_eq!(xf.rows.len(), cross.len());
    let dns_failures = xf.rows_with("rule", "dns_failure");
    assert!(dns_failures.len() >= 3, "{dns_failures:?}");
    assert!(xf.rows_with("rule", "reconnect_storm").iter().any(|r| {
        Answer::str(r, "captures") == Some("reconnect-storm.pcap")
            && Answer::int(r, "connections") >= 15
    }));
    assert!(xf.rows_with("rule", "duplicate_client_id").len() >= 3);

    // connections through proxies and WebSockets: one row per transport layer.
    let tr = Answer::of(results, "connections through proxies and WebSockets");
    let layers: usize = conns
        .iter()
        .map(|c| c["transport"].as_array().map_or(0, Vec::len))
        .sum();
    assert_eq!(tr.rows.len(), layers);
    for k in ["websocket", "socks", "http_connect", "proxy_protocol"] {
        assert!(!tr.rows_with("kind", k).is_empty(), "no {k} transport");
    }
    let ws_failed = tr.rows_with("capture", "ws-upgrade-failed.pcap");
    assert!(
        ws_failed
            .iter()
            .any(|r| Answer::str(r, "reply") == Some("404")
                && r.get("failures").is_some_and(|f| f
                    .as_array()
                    .is_some_and(|f| f.iter().any(|x| x == "websocket_upgrade_failed")))),
        "{ws_failed:?}"
    );
    assert!(tr.rows_with("kind", "websocket").iter().any(|r| {
        Answer::str(r, "reply") == Some("101")
            && r.get("failures")
                .and_then(Value::as_array)
                .is_some_and(Vec::is_empty)
    }));
}
