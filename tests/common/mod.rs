//! Helpers shared by the integration tests: run the real binary, find the public corpus.

#![allow(dead_code)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The public capture corpus beside the repository (`../shared/corpus`), if present.
pub fn corpus_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    if dir.join("tshark-facts.json").is_file() {
        Some(dir)
    } else {
        println!("NOTICE: ../shared/corpus is not beside this checkout; corpus tests are skipped");
        None
    }
}

pub fn captures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("captures")
}

/// Runs `mqpcap` with `args`.
pub fn mqpcap(args: &[&str]) -> Output {
    match Command::new(env!("CARGO_BIN_EXE_mqpcap"))
        .args(args)
        .output()
    {
        Ok(out) => out,
        Err(e) => panic!("cannot run mqpcap: {e}"),
    }
}

/// Runs `mqpcap analyze --format json` (plus `extra` flags) on `path` and parses the document.
pub fn analyze_json(path: &Path, extra: &[&str]) -> Value {
    let path_text = path.to_string_lossy().to_string();
    let mut args = vec!["analyze", "--format", "json"];
    args.extend_from_slice(extra);
    args.push(&path_text);
    let out = mqpcap(&args);
    assert!(
        out.status.code() == Some(0) || out.status.code() == Some(1),
        "mqpcap failed on {}: {:?}\n{}",
        path.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    match serde_json::from_slice(&out.stdout) {
        Ok(v) => v,
        Err(e) => panic!("invalid JSON for {}: {e}", path.display()),
    }
}

/// The connection objects of a document keyed by `tcp_stream`.
pub fn connections_by_stream(doc: &Value) -> std::collections::BTreeMap<u64, Value> {
    doc["connections"]
        .as_array()
        .map(|conns| {
            conns
                .iter()
                .filter_map(|c| Some((c["tcp_stream"].as_u64()?, c.clone())))
                .collect()
        })
        .unwrap_or_default()
}
