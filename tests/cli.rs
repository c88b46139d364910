//! The command line as users and scripts meet it: exit codes, one-line errors naming the file,
//! stdin, gzip, directories, truncated captures, and byte-identical output for the same input.

mod common;

use common::{analyze_json, captures_dir, mqpcap};
use flate2::Compression;
use flate2::write::GzEncoder;
use std::fs;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// A healthy plain MQTT session made by mosquitto (see captures/README.md).
const HEALTHY: &str = "mqtt311-healthy.pcap";

fn healthy() -> PathBuf {
    captures_dir().join(HEALTHY)
}

fn temp_file(name: &str, bytes: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => panic!("tempdir: {e}"),
    };
    let path = dir.path().join(name);
    if let Err(e) = fs::write(&path, bytes) {
        panic!("write {}: {e}", path.display());
    }
    (dir, path)
}

fn assert_one_line_error(args: &[&str], must_name: &str) {
    let out = mqpcap(args);
    assert_eq!(out.status.code(), Some(2), "{args:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "one line expected: {stderr:?}");
    assert!(
        stderr.contains(must_name),
        "{stderr:?} should name {must_name}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn a_file_that_is_not_a_capture_is_one_line_and_exit_2() {
    let (_dir, path) = temp_file("notes.pcap", b"<!DOCTYPE html><html>not a capture</html>\n");
    let p = path.to_string_lossy();
    assert_one_line_error(&["analyze", &p], &p);
}

#[test]
fn an_empty_file_is_one_line_and_exit_2() {
    let (_dir, path) = temp_file("empty.pcap", b"");
    let p = path.to_string_lossy();
    assert_one_line_error(&["analyze", &p], &p);
}

#[test]
fn a_missing_file_is_one_line_and_exit_2() {
    assert_one_line_error(
        &["analyze", "/nonexistent/dir/capture.pcap"],
        "/nonexistent/dir/capture.pcap",
    );
}

#[test]
fn bad_flags_exit_2() {
    let out = mqpcap(&["analyze", "--format", "yaml", "x.pcap"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn the_same_input_gives_byte_identical_json() {
    let p = healthy().to_string_lossy().to_string();
    let first = mqpcap(&["analyze", "--format", "json", &p]);
    let second = mqpcap(&["analyze", "--format", "json", &p]);
    assert_eq!(first.status.code(), Some(0));
    assert!(!first.stdout.is_empty());
    assert_eq!(first.stdout, second.stdout);
}

#[test]
fn stdin_and_gzip_give_the_same_connections_as_the_file() {
    let bytes = match fs::read(healthy()) {
        Ok(b) => b,
        Err(e) => panic!("read healthy capture: {e}"),
    };
    let from_file = analyze_json(&healthy(), &[]);

    let mut child = match Command::new(env!("CARGO_BIN_EXE_mqpcap"))
        .args(["analyze", "--format", "json", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => panic!("spawn: {e}"),
    };
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(&bytes);
    }
    let out = match child.wait_with_output() {
        Ok(o) => o,
        Err(e) => panic!("wait: {e}"),
    };
    let from_stdin: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    assert_eq!(from_stdin["connections"], from_file["connections"]);
    assert_eq!(
        from_stdin["captures"][0]["sha256"],
        from_file["captures"][0]["sha256"]
    );

    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    let _ = gz.write_all(&bytes);
    let (_dir, gz_path) = temp_file("healthy.pcap.gz", &gz.finish().unwrap_or_default());
    let from_gzip = analyze_json(&gz_path, &[]);
    assert_eq!(from_gzip["connections"], from_file["connections"]);
    assert_eq!(
        from_gzip["captures"][0]["format"],
        from_file["captures"][0]["format"]
    );
}

#[test]
fn a_truncated_capture_is_analysed_as_far_as_it_goes_with_a_warning() {
    let bytes = fs::read(healthy()).unwrap_or_default();
    assert!(bytes.len() > 200);
    let cut = &bytes[..bytes.len() - 7];
    let (_dir, path) = temp_file("cut.pcap", cut);
    let doc = analyze_json(&path, &[]);
    let warnings = doc["captures"][0]["warnings"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        warnings.iter().any(|w| w["kind"] == "truncated_file"),
        "{warnings:?}"
    );
    let full = analyze_json(&healthy(), &[]);
    let frames_full = full["captures"][0]["frames"].as_u64().unwrap_or(0);
    assert_eq!(doc["captures"][0]["frames"].as_u64(), Some(frames_full - 1));
}

#[test]
fn a_directory_means_every_capture_in_it() {
    let doc = analyze_json(&captures_dir(), &[]);
    let captures = doc["captures"].as_array().cloned().unwrap_or_default();
    let on_disk = fs::read_dir(captures_dir())
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter(|e| {
                    let n = e.file_name().to_string_lossy().to_string();
                    n.ends_with(".pcap") || n.ends_with(".pcapng")
                })
                .count()
        })
        .unwrap_or(0);
    assert_eq!(captures.len(), on_disk);
    let ids: Vec<u64> = doc["connections"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["id"].as_u64())
        .collect();
    assert_eq!(ids, (0..ids.len() as u64).collect::<Vec<_>>());
}

#[test]
fn jsonl_writes_one_typed_record_a_line() {
    let p = healthy().to_string_lossy().to_string();
    let out = mqpcap(&["analyze", "--format", "jsonl", &p]);
    assert_eq!(out.status.code(), Some(0));
    let doc = analyze_json(&healthy(), &[]);
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<serde_json::Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert_eq!(text.lines().count(), lines.len(), "a line that is not JSON");
    let of_kind = |kind: &str| -> Vec<serde_json::Value> {
        lines
            .iter()
            .filter(|l| l["record"] == kind)
            .map(|l| {
                let mut l = l.clone();
                if let Some(o) = l.as_object_mut() {
                    o.remove("record");
                    if kind == "capture" {
                        o.remove("capture");
                    }
                }
                l
            })
            .collect()
    };
    let connections = of_kind("connection");
    assert!(!connections.is_empty(), "no connection record");
    assert_eq!(serde_json::Value::Array(connections), doc["connections"]);
    assert_eq!(
        serde_json::Value::Array(of_kind("capture")),
        doc["captures"]
    );
    // Connections first, then the capture record.
    assert_eq!(
        lines.last().map(|l| l["record"].clone()),
        Some("capture".into())
    );
}

/// The lab's bad-password capture was made with `-u lab-user -P wrong`: neither value may
/// appear in any format unless `--reveal`, and with it the JSON shows them.
#[test]
fn credentials_appear_in_no_format_unless_revealed() {
    let p = captures_dir()
        .join("mqtt311-bad-password.pcap")
        .to_string_lossy()
        .to_string();
    for format in ["table", "json", "jsonl", "markdown", "html"] {
        let out = mqpcap(&["analyze", "--format", format, &p]);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{format}: the refusal is an error"
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(!text.contains("lab-user"), "{format} shows the user name");
        assert!(!text.contains("\"wrong\""), "{format} shows the password");
    }
    let revealed = analyze_json(
        &captures_dir().join("mqtt311-bad-password.pcap"),
        &["--reveal"],
    );
    let connect = &revealed["connections"][0]["mqtt"]["connect"];
    assert_eq!(connect["username"], "lab-user");
    assert_eq!(connect["password"], "wrong");
}

#[test]
fn html_is_one_self_contained_page_with_the_findings() {
    let p = captures_dir()
        .join("tls12-client-clock-ahead.pcap")
        .to_string_lossy()
        .to_string();
    let out = mqpcap(&["analyze", "--format", "html", &p]);
    let html = String::from_utf8_lossy(&out.stdout);
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.trim_end().ends_with("</html>"));
    assert!(html.contains("<code>clock_skew_suspected</code>"));
    assert!(!html.contains("<script") && !html.contains("http://") && !html.contains("https://"));
}
