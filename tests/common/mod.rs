//! Helpers shared by the integration tests: run the real binary, find the public corpus.

#![allow(dead_code)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The public capture corpus beside the repository (`../shared/corpus`), if present. When it
/// is absent the calling test should return (it passes), and this says so on stderr.
pub fn corpus_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    if dir.join("tshark-facts.json").is_file() {
        Some(dir)
    } else {
        skipped(&format!("corpus not found at {}", dir.display()));
        None
    }
}

/// Says on stderr that the running test is skipped and why. Stable Rust has no way for a test
/// to mark itself ignored at run time, and libtest captures `println!`/`eprintln!` of passing
/// tests, so this writes to the stderr stream itself: the line shows in `cargo test` output.
pub fn skipped(why: &str) {
    use std::io::Write;
    let thread = std::thread::current();
    let test = match thread.name() {
        Some(name) if name != "main" => name,
        _ => "corpus test",
    };
    let _ = writeln!(std::io::stderr(), "skipped: {test}: {why}");
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

/// One capture of the public corpus: its path, its manifest row's SHA-256 and tshark 4.0.17's
/// stored decode of it (a line of `tshark-4.0.17.jsonl`).
pub struct CorpusCapture {
    pub path: PathBuf,
    /// The path as the manifest lists it (`zeek/mqtt.pcap`).
    pub local: String,
    pub sha256: String,
    pub tshark: Value,
}

/// Every capture `MANIFEST.tsv` lists (kind `capture`), in manifest order, with its stored
/// decode; `None` (after a notice) when the corpus is not beside this checkout. A listed capture
/// without a stored decode is a broken corpus and fails the test.
pub fn corpus_captures() -> Option<Vec<CorpusCapture>> {
    let corpus = corpus_dir()?;
    let manifest = std::fs::read_to_string(corpus.join("MANIFEST.tsv")).ok()?;
    let decode = std::fs::read_to_string(corpus.join("tshark-4.0.17.jsonl")).ok()?;
    let decodes: Vec<Value> = decode
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let header: Vec<&str> = manifest.lines().next()?.split('\t').collect();
    let column = |name: &str| header.iter().position(|c| *c == name);
    let (path_column, kind_column, sha_column) =
        (column("local_path")?, column("kind")?, column("sha256")?);
    let mut out = Vec::new();
    for line in manifest.lines().skip(1) {
        let fields: Vec<&str> = line.split('\t').collect();
        if fields.get(kind_column) != Some(&"capture") {
            continue;
        }
        let Some(local) = fields.get(path_column) else {
            continue;
        };
        let Some(tshark) = decodes.iter().find(|v| v["file"].as_str() == Some(*local)) else {
            panic!("{local}: no tshark decode stored");
        };
        out.push(CorpusCapture {
            path: corpus.join(local),
            local: local.to_string(),
            sha256: fields.get(sha_column).unwrap_or(&"").to_string(),
            tshark: tshark.clone(),
        });
    }
    Some(out)
}
