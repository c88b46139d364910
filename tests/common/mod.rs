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
    say("skipped", why);
}

/// Says on stderr, past libtest's capture like [`skipped`], something a passing test wants
/// seen (a tool version other than the one the test was written with).
pub fn notice(what: &str) {
    say("notice", what);
}

fn say(kind: &str, text: &str) {
    use std::io::Write;
    let thread = std::thread::current();
    let test = match thread.name() {
        Some(name) if name != "main" => name,
        _ => "corpus test",
    };
    let _ = writeln!(std::io::stderr(), "{kind}: {test}: {text}");
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
    json_document(&out.stdout, &path.display().to_string())
}

/// `bytes` parsed as one JSON document; output that is not JSON panics with the output (it
/// never becomes `null`, which would read as "no findings"). `what` names the run.
pub fn json_of(bytes: &[u8], what: &str) -> Value {
    match serde_json::from_slice(bytes) {
        Ok(v) => v,
        Err(e) => panic!(
            "{what}: output is not JSON ({e}):\n{}",
            String::from_utf8_lossy(bytes)
        ),
    }
}

/// An `analyze` document: JSON with a `captures` list and `connections` and `findings` arrays,
/// so that a check over its findings has something to look at.
pub fn json_document(bytes: &[u8], what: &str) -> Value {
    let doc = json_of(bytes, what);
    assert!(
        doc["captures"].as_array().is_some_and(|c| !c.is_empty())
            && doc["connections"].is_array()
            && doc["findings"].is_array(),
        "{what}: not an analyze document:\n{doc:#}"
    );
    doc
}

/// The text of a file the test needs; a missing or unreadable file fails the test.
pub fn read_text(path: &Path) -> String {
    match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) => panic!("cannot read {}: {e}", path.display()),
    }
}

/// The lab's manifest, `captures/expected.json`; it must list files.
pub fn lab_manifest() -> Value {
    let path = captures_dir().join("expected.json");
    let manifest = json_of(read_text(&path).as_bytes(), &path.display().to_string());
    assert!(
        manifest["files"].as_object().is_some_and(|f| !f.is_empty()),
        "{} lists no file",
        path.display()
    );
    manifest
}

/// Every capture file (`.pcap`, `.pcapng`) of `captures/`, sorted; none fails the test.
pub fn lab_capture_files() -> Vec<PathBuf> {
    let dir = captures_dir();
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) => panic!("cannot list {}: {e}", dir.display()),
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| match e {
            Ok(e) => e.path(),
            Err(e) => panic!("cannot list {}: {e}", dir.display()),
        })
        .filter(|p| p.extension().is_some_and(|e| e == "pcap" || e == "pcapng"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no capture in {}", dir.display());
    files
}

/// The connection objects of a document keyed by `tcp_stream`. A document without a
/// `connections` array, or a connection without a `tcp_stream`, fails the test.
pub fn connections_by_stream(doc: &Value) -> std::collections::BTreeMap<u64, Value> {
    let Some(conns) = doc["connections"].as_array() else {
        panic!("no connections array in {doc:#}")
    };
    conns
        .iter()
        .map(|c| match c["tcp_stream"].as_u64() {
            Some(stream) => (stream, c.clone()),
            None => panic!("a connection without tcp_stream: {c:#}"),
        })
        .collect()
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
/// decode; `None` (after a visible notice) when the corpus is not beside this checkout. Once the
/// corpus is there, anything missing or unreadable in it fails the test: a manifest or decode
/// file that cannot be read, a line that is not JSON, a missing column, a listed capture without
/// a path, a SHA-256 or a stored decode, or no capture at all.
pub fn corpus_captures() -> Option<Vec<CorpusCapture>> {
    let corpus = corpus_dir()?;
    let manifest = read_text(&corpus.join("MANIFEST.tsv"));
    let decode_path = corpus.join("tshark-4.0.17.jsonl");
    let decodes: Vec<Value> = read_text(&decode_path)
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            json_of(
                l.as_bytes(),
                &format!("{}:{}", decode_path.display(), i + 1),
            )
        })
        .collect();
    let Some(first) = manifest.lines().next() else {
        panic!("{}/MANIFEST.tsv is empty", corpus.display())
    };
    let header: Vec<&str> = first.split('\t').collect();
    let column = |name: &str| match header.iter().position(|c| *c == name) {
        Some(i) => i,
        None => panic!("MANIFEST.tsv has no column {name}: {header:?}"),
    };
    let (path_column, kind_column, sha_column) =
        (column("local_path"), column("kind"), column("sha256"));
    let mut out = Vec::new();
    for line in manifest.lines().skip(1) {
        let fields: Vec<&str> = line.split('\t').collect();
        if fields.get(kind_column) != Some(&"capture") {
            continue;
        }
        let field = |i: usize, name: &str| match fields.get(i) {
            Some(f) if !f.is_empty() => f.to_string(),
            _ => panic!("MANIFEST.tsv: a capture row without {name}: {line}"),
        };
        let local = field(path_column, "local_path");
        let sha256 = field(sha_column, "sha256");
        let Some(tshark) = decodes.iter().find(|v| v["file"].as_str() == Some(&local)) else {
            panic!("{local}: no tshark decode stored");
        };
        out.push(CorpusCapture {
            path: corpus.join(&local),
            local,
            sha256,
            tshark: tshark.clone(),
        });
    }
    assert!(!out.is_empty(), "MANIFEST.tsv lists no capture");
    Some(out)
}
