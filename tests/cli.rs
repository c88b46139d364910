//! The command line as users and scripts meet it: exit codes, one-line errors naming the file,
//! stdin, gzip, directories, truncated captures, and byte-identical output for the same input.

// Not library code: here a panic is how a failure shows (see [lints.clippy] in Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{analyze_json, captures_dir, json_document, lab_capture_files, mqpcap, read_text};
use flate2::Compression;
use flate2::write::GzEncoder;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
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
    let Some(mut stdin) = child.stdin.take() else {
        panic!("no stdin to the child")
    };
    if let Err(e) = stdin.write_all(&bytes) {
        panic!("write to mqpcap's stdin: {e}");
    }
    drop(stdin);
    let out = match child.wait_with_output() {
        Ok(o) => o,
        Err(e) => panic!("wait: {e}"),
    };
    let from_stdin = json_document(&out.stdout, "analyze -");
    assert_eq!(from_stdin["connections"], from_file["connections"]);
    assert_eq!(
        from_stdin["captures"][0]["sha256"],
        from_file["captures"][0]["sha256"]
    );

    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    if let Err(e) = gz.write_all(&bytes) {
        panic!("gzip: {e}");
    }
    let gzipped = match gz.finish() {
        Ok(bytes) => bytes,
        Err(e) => panic!("gzip: {e}"),
    };
    let (_dir, gz_path) = temp_file("healthy.pcap.gz", &gzipped);
    let from_gzip = analyze_json(&gz_path, &[]);
    assert_eq!(from_gzip["connections"], from_file["connections"]);
    assert_eq!(
        from_gzip["captures"][0]["format"],
        from_file["captures"][0]["format"]
    );
}

#[test]
fn a_truncated_capture_is_analysed_as_far_as_it_goes_with_a_warning() {
    let bytes = match fs::read(healthy()) {
        Ok(b) => b,
        Err(e) => panic!("read healthy capture: {e}"),
    };
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
    let Some(frames_full) = full["captures"][0]["frames"].as_u64() else {
        panic!("no frame count: {full:#}")
    };
    assert_eq!(doc["captures"][0]["frames"].as_u64(), Some(frames_full - 1));
}

#[test]
fn a_directory_means_every_capture_in_it() {
    let doc = analyze_json(&captures_dir(), &[]);
    let captures = doc["captures"].as_array().cloned().unwrap_or_default();
    let on_disk = lab_capture_files().len();
    assert_eq!(captures.len(), on_disk);
    let ids: Vec<u64> = doc["connections"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["id"].as_u64())
        .collect();
    assert!(ids.len() > 100, "{} connections in the lab", ids.len());
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

/// The lab's bad-password capture was made with `-u lab-user -P wrong`: the password may
/// appear in no format unless `--reveal` (then the JSON shows it); the user name is not a
/// secret and every format shows it.
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
        assert!(text.contains("lab-user"), "{format} hides the user name");
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

#[test]
fn completions_are_scripts_that_know_the_subcommands_and_flags() {
    let bash = mqpcap(&["completions", "bash"]);
    assert_eq!(bash.status.code(), Some(0));
    let text = String::from_utf8_lossy(&bash.stdout);
    assert!(text.contains("complete -F"), "not a bash completion script");
    for word in [
        "analyze", "compare", "rules", "--format", "--keylog", "jsonl",
    ] {
        assert!(text.contains(word), "bash completion lacks {word}");
    }
    for (shell, marker) in [
        ("zsh", "#compdef mqpcap"),
        ("fish", "complete -c mqpcap"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let out = mqpcap(&["completions", shell]);
        assert_eq!(out.status.code(), Some(0), "{shell}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains(marker), "{shell}: no {marker}");
        assert!(text.contains("analyze"), "{shell}: no analyze");
    }
    assert_eq!(mqpcap(&["completions", "tcsh"]).status.code(), Some(2));
}

#[test]
fn man_prints_one_roff_page_with_every_subcommand() {
    let out = mqpcap(&["man"]);
    assert_eq!(out.status.code(), Some(0));
    let roff = String::from_utf8_lossy(&out.stdout);
    assert!(
        roff.lines().any(|l| l.starts_with(".TH mqpcap 1")),
        "no .TH"
    );
    assert_eq!(roff.lines().filter(|l| l.starts_with(".TH")).count(), 1);
    for section in ["ANALYZE", "COMPARE", "RULES", "COMPLETIONS", "MAN"] {
        assert!(
            roff.lines().any(|l| l == format!(".SH \"{section}\"")),
            "no section for {section}"
        );
    }
    // Options of a subcommand, as roff writes them (hyphens escaped).
    assert!(roff.contains("\\-\\-format"));
    assert!(roff.contains("\\-\\-only\\-failures"));
    assert!(roff.contains("mqpcap analyze"));
}

/// A temporary directory holding the healthy lab capture, a text file named like a capture and
/// a README (not named like a capture, so not an input).
fn directory_with_a_broken_file() -> tempfile::TempDir {
    let (dir, _) = temp_file("notes.pcap", b"these are notes, not a capture\n");
    let copy = dir.path().join(HEALTHY);
    if let Err(e) = fs::copy(healthy(), &copy) {
        panic!("copy {}: {e}", healthy().display());
    }
    if let Err(e) = fs::write(dir.path().join("README.txt"), b"read me\n") {
        panic!("write README: {e}");
    }
    dir
}

#[test]
fn a_file_that_is_not_a_capture_in_a_directory_is_a_warning_and_the_rest_is_analysed() {
    let dir = directory_with_a_broken_file();
    let p = dir.path().to_string_lossy().to_string();
    let doc = analyze_json(dir.path(), &[]);
    let captures = doc["captures"].as_array().cloned().unwrap_or_default();
    assert_eq!(
        captures.len(),
        2,
        "README.txt is not an input: {captures:?}"
    );
    // Name order: mqtt311-healthy.pcap, then notes.pcap.
    let notes = &captures[1];
    assert!(
        notes["path"]
            .as_str()
            .unwrap_or_default()
            .ends_with("notes.pcap")
    );
    assert_eq!(notes["frames"], 0);
    let warnings = notes["warnings"].as_array().cloned().unwrap_or_default();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0]["kind"], "unreadable_file");
    assert!(
        warnings[0]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty() && !m.contains('\n'))
    );
    // The healthy capture is analysed as on its own.
    let alone = analyze_json(&healthy(), &[]);
    assert_eq!(captures[0]["sha256"], alone["captures"][0]["sha256"]);
    assert_eq!(captures[0]["warnings"], alone["captures"][0]["warnings"]);
    assert_eq!(
        doc["connections"].as_array().map(Vec::len),
        alone["connections"].as_array().map(Vec::len)
    );
    assert!(doc["connections"].as_array().is_some_and(|c| !c.is_empty()));

    // The table names the file and the warning; the output is the same for any --jobs.
    let table = mqpcap(&["analyze", &p]);
    assert_eq!(table.status.code(), Some(0));
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.contains("notes.pcap"), "{text}");
    assert!(text.contains("unreadable_file"), "{text}");
    let one_job = mqpcap(&["analyze", "--jobs", "1", "--format", "jsonl", &p]);
    let four_jobs = mqpcap(&["analyze", "--jobs", "4", "--format", "jsonl", &p]);
    assert_eq!(one_job.stdout, four_jobs.stdout);
}

#[test]
fn a_missing_file_among_several_is_a_warning() {
    let h = healthy().to_string_lossy().to_string();
    let out = mqpcap(&[
        "analyze",
        "--format",
        "json",
        "/nonexistent/dir/capture.pcap",
        &h,
    ]);
    assert_eq!(out.status.code(), Some(0));
    let doc = json_document(&out.stdout, "analyze of a missing and a readable file");
    assert_eq!(doc["captures"][0]["path"], "/nonexistent/dir/capture.pcap");
    assert_eq!(doc["captures"][0]["warnings"][0]["kind"], "unreadable_file");
    assert_eq!(doc["captures"][1]["path"], h.as_str());
    // Connections of the readable capture point at its index.
    assert!(
        doc["connections"]
            .as_array()
            .is_some_and(|c| !c.is_empty() && c.iter().all(|c| c["capture"] == 1))
    );
}

#[test]
fn several_inputs_none_readable_is_one_line_and_exit_2() {
    let (dir, notes) = temp_file("notes.txt", b"notes\n");
    let other = dir.path().join("other.pcap");
    if let Err(e) = fs::write(&other, b"not a capture either\n") {
        panic!("write {}: {e}", other.display());
    }
    let (n, o) = (notes.to_string_lossy(), other.to_string_lossy());
    assert_one_line_error(&["analyze", &n, &o], &n);
    assert_one_line_error(&["analyze", &dir.path().to_string_lossy()], "other.pcap");
}

#[test]
fn an_empty_directory_is_one_line_and_exit_2() {
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => panic!("tempdir: {e}"),
    };
    let p = dir.path().to_string_lossy().to_string();
    assert_one_line_error(&["analyze", &p], &p);
    // Files not named like captures do not count.
    if let Err(e) = fs::write(dir.path().join("README.txt"), b"read me\n") {
        panic!("write README.txt: {e}");
    }
    assert_one_line_error(&["analyze", &p], &p);
}

#[test]
fn a_single_text_file_is_one_line_and_exit_2() {
    let (_dir, path) = temp_file("notes.txt", b"these are notes, not a capture\n");
    let p = path.to_string_lossy();
    assert_one_line_error(&["analyze", &p], &p);
}

/// Every example in GUIDE.md (a fenced block starting `$ mqpcap ...`) is what the binary prints
/// for that command today: each line shown is a line of the real output, in order (`...`
/// stands for lines left out). The examples are run with `COLUMNS=100` and `NO_COLOR`.
#[test]
fn guide_examples_are_the_real_output() {
    let guide_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("GUIDE.md");
    let guide = read_text(&guide_path);
    let mut examples = 0;
    let mut lines = guide.lines();
    while let Some(line) = lines.next() {
        if line.trim() != "```" {
            continue;
        }
        let block: Vec<&str> = lines.by_ref().take_while(|l| l.trim() != "```").collect();
        let Some(command) = block.first().and_then(|l| l.strip_prefix("$ mqpcap ")) else {
            continue;
        };
        examples += 1;
        let out = match Command::new(env!("CARGO_BIN_EXE_mqpcap"))
            .args(command.split_whitespace())
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("COLUMNS", "100")
            .env("NO_COLOR", "1")
            .output()
        {
            Ok(out) => out,
            Err(e) => panic!("cannot run mqpcap: {e}"),
        };
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "GUIDE.md: `mqpcap {command}` failed"
        );
        let text = String::from_utf8_lossy(&out.stdout);
        let mut printed = text.lines().map(str::trim_end);
        for shown in block[1..].iter().map(|l| l.trim_end()) {
            if shown == "..." {
                continue;
            }
            assert!(
                printed.any(|p| p == shown),
                "GUIDE.md: `mqpcap {command}` no longer prints (in this order):\n{shown}\n\
                 regenerate the example from the real output:\n{text}"
            );
        }
    }
    assert!(examples >= 5, "GUIDE.md examples not found ({examples})");
}

/// `--redact-ids`: no client id, user name, host name or address of the lab remains in any
/// format; the same value gets the same pseudonym in every record and for every `--jobs`.
#[test]
fn redacted_reports_hold_no_identifier_and_stable_pseudonyms() {
    let secrets = [
        "lab-storm",
        "lab-user",
        "10.78.0.2",
        "10.78.0.15",
        "broker.test",
        "10.78.0.1:",
    ];
    for capture in [
        "reconnect-storm.pcap",
        "tls12-unknown-ca.pcap",
        "dns-nxdomain.pcap",
        "proxy-connect-tls-healthy.pcap",
    ] {
        let path = captures_dir().join(capture).to_string_lossy().to_string();
        let mut outputs = Vec::new();
        for format in ["json", "jsonl", "table", "markdown", "html"] {
            let out = mqpcap(&["analyze", "--redact-ids", "--format", format, &path]);
            assert!(
                matches!(out.status.code(), Some(0 | 1)),
                "{capture} {format}"
            );
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            for secret in secrets {
                assert!(!text.contains(secret), "{capture} {format} shows {secret}");
            }
            assert!(text.contains("ip-"), "{capture} {format}: no pseudonym");
            outputs.push(text);
        }
        let jobs1 = mqpcap(&[
            "analyze",
            "--redact-ids",
            "--jobs",
            "1",
            "--format",
            "json",
            &path,
        ]);
        assert_eq!(
            String::from_utf8_lossy(&jobs1.stdout),
            outputs[0],
            "{capture}"
        );
    }
    let storm = captures_dir().join("reconnect-storm.pcap");
    let doc = analyze_json(&storm, &["--redact-ids"]);
    let ids: std::collections::BTreeSet<String> = doc["connections"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| c["mqtt"]["connect"]["client_id"].to_string())
        .collect();
    assert_eq!(ids.len(), 1, "one device, one pseudonym: {ids:?}");
    assert!(ids.iter().all(|id| id.contains("client-")), "{ids:?}");
    let both = mqpcap(&[
        "analyze",
        "--redact-ids",
        "--reveal",
        &storm.to_string_lossy(),
    ]);
    assert_eq!(both.status.code(), Some(2));
}

/// Across captures: a device that fails in every capture it appears in is said once, naming
/// its connections in each; a healthy device seen twice is not.
#[test]
fn a_device_failing_in_every_capture_is_one_finding_across_them() {
    let storm = captures_dir().join("reconnect-storm.pcap");
    let storm = storm.to_string_lossy();
    let out = mqpcap(&["analyze", "--format", "json", &storm, &storm]);
    let doc = json_document(&out.stdout, "analyze of the storm twice");
    let found: Vec<&serde_json::Value> = doc["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["rule"] == "failing_in_every_capture")
        .collect();
    assert_eq!(found.len(), 1, "{:?}", doc["findings"]);
    assert_eq!(found[0]["connections"].as_array().map(Vec::len), Some(30));
    assert!(
        found[0]["title"]
            .as_str()
            .unwrap_or_default()
            .contains("lab-storm")
    );
    let healthy = captures_dir().join("mqtt311-healthy.pcap");
    let healthy = healthy.to_string_lossy();
    let out = mqpcap(&["analyze", "--format", "json", &healthy, &healthy]);
    assert_eq!(out.status.code(), Some(0));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("failing_in_every_capture"));
}
