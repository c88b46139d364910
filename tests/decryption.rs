//! TLS decryption end to end: the binary with `--keylog` (and with pcapng-embedded secrets) on
//! the public corpus captures that come with key logs and on the lab's key-logged captures.
//! Every record must authenticate (`decrypted`, no `decryption_failed` event), the alerts tshark
//! shows with the same key log must be readable, and the MQTT inside TLS must agree with
//! `captures/expected.json` (made with tshark and the same key logs).

// Not library code: here a panic is how a failure shows (see [lints.clippy] in Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{analyze_json, captures_dir, lab_manifest, mqpcap, read_text};
use serde_json::Value;
use std::path::Path;

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus");

/// (capture, key log) in the public corpus, with the readable alerts tshark lists.
const CORPUS_KEYLOGGED: &[(&str, &str, &[&str])] = &[
    (
        "illustrated-tls12/capture.pcap",
        "illustrated-tls12/keylog.txt",
        &["close_notify"],
    ),
    (
        "illustrated-tls13/capture.pcap",
        "illustrated-tls13/keylog.txt",
        &[],
    ),
    (
        "zeek/tls12-decryption.pcap",
        "zeek/tls12-decryption.pcap.keylog",
        &["close_notify"],
    ),
    (
        "zeek/tls-1.2-stream-keylog.pcap",
        "zeek/tls-1.2-stream-keylog.pcap.keylog",
        &["close_notify"],
    ),
];

fn decryption_failures(conn: &Value) -> usize {
    conn["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["what"]["type"] == "decryption_failed")
        .count()
}

fn readable_alerts(conn: &Value) -> Vec<String> {
    conn["tls"]["alerts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| a["encrypted"] == false)
        .filter_map(|a| a["description"].as_str().map(str::to_string))
        .collect()
}

fn only_connection(doc: &Value) -> &Value {
    let conns = doc["connections"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    assert_eq!(conns.len(), 1, "one TCP connection expected");
    &conns[0]
}

#[test]
fn corpus_captures_decrypt_fully_with_their_key_logs() {
    let corpus = Path::new(CORPUS);
    if !corpus.join("tshark-facts.json").is_file() {
        common::skipped(&format!("corpus not found at {CORPUS}"));
        return;
    }
    for (capture, keylog, alerts) in CORPUS_KEYLOGGED {
        let keylog = corpus.join(keylog).to_string_lossy().to_string();
        let doc = analyze_json(&corpus.join(capture), &["--keylog", &keylog]);
        let conn = only_connection(&doc);
        assert_eq!(conn["tls"]["decrypted"], true, "{capture}");
        assert_eq!(decryption_failures(conn), 0, "{capture}");
        assert_eq!(readable_alerts(conn), *alerts, "{capture}");
        assert!(conn["tls"]["decryption_suite"].is_string(), "{capture}");
        // Decryption makes the handshake visible: Finished both ways, the certificate.
        assert_eq!(conn["tls"]["established"], true, "{capture}");
        assert!(
            !conn["tls"]["certificates"]
                .as_array()
                .is_none_or(Vec::is_empty),
            "{capture}: certificate visible"
        );

        // Without the key log: nothing decrypted, as before.
        let doc = analyze_json(&corpus.join(capture), &[]);
        assert_eq!(
            only_connection(&doc)["tls"]["decrypted"],
            false,
            "{capture}"
        );
    }
}

/// The lab's key-logged captures: (capture, key file under captures/keys or None for the
/// pcapng whose secrets are embedded).
const LAB_KEYLOGGED: &[(&str, Option<&str>)] = &[
    (
        "keylog-tls12-aes128gcm.pcap",
        Some("keylog-tls12-aes128gcm.keys"),
    ),
    ("keylog-tls12-cbc.pcap", Some("keylog-tls12-cbc.keys")),
    (
        "keylog-tls12-chacha20.pcap",
        Some("keylog-tls12-chacha20.keys"),
    ),
    (
        "keylog-tls13-aes256gcm.pcap",
        Some("keylog-tls13-aes256gcm.keys"),
    ),
    (
        "keylog-tls13-chacha20.pcap",
        Some("keylog-tls13-chacha20.keys"),
    ),
    (
        "keylog-tls12-bad-password.pcap",
        Some("keylog-tls12-bad-password.keys"),
    ),
    (
        "keylog-tls13-bad-password.pcap",
        Some("keylog-tls13-bad-password.keys"),
    ),
    ("keys-embedded-tls13-bad-password.pcapng", None),
];

#[test]
fn lab_captures_show_the_mqtt_inside_tls() {
    let manifest = lab_manifest();
    for (capture, keys) in LAB_KEYLOGGED {
        let path = captures_dir().join(capture);
        assert!(path.is_file(), "captures/{capture} is missing");
        let key_path = keys.map(|k| captures_dir().join("keys").join(k));
        let key_text = key_path
            .as_ref()
            .map(|k| k.to_string_lossy().to_string())
            .unwrap_or_default();
        let extra: Vec<&str> = if keys.is_some() {
            vec!["--keylog", &key_text]
        } else {
            Vec::new()
        };
        let doc = analyze_json(&path, &extra);
        let conn = only_connection(&doc);
        let expected = &manifest["files"][capture]["streams"]["0"];
        assert!(
            expected.is_object(),
            "{capture}: no stream 0 in captures/expected.json"
        );
        assert_eq!(conn["tls"]["decrypted"], true, "{capture}");
        assert_eq!(decryption_failures(conn), 0, "{capture}");
        assert_eq!(
            conn["mqtt"]["connect"]["client_id"], expected["client_id"],
            "{capture}"
        );
        assert_eq!(
            conn["mqtt"]["connack"]["code"], expected["connack"],
            "{capture}"
        );
        assert_eq!(conn["mqtt"]["packets"], expected["mqtt"], "{capture}");
        assert_eq!(readable_alerts(conn), ["close_notify"], "{capture}");

        // Without keys (for the pcapng: there are none to withhold) MQTT stays invisible.
        if keys.is_some() {
            let doc = analyze_json(&path, &[]);
            let conn = only_connection(&doc);
            assert_eq!(conn["tls"]["decrypted"], false, "{capture}");
            assert!(conn["mqtt"].is_null(), "{capture}");
        }
    }
}

#[test]
fn a_key_log_for_another_capture_changes_nothing_and_wrong_secrets_fail_once() {
    let path = captures_dir().join("keylog-tls12-aes128gcm.pcap");
    let other = captures_dir().join("keys/keylog-tls13-aes256gcm.keys");
    assert!(path.is_file(), "{} is missing", path.display());
    assert!(other.is_file(), "{} is missing", other.display());
    let with_other = analyze_json(&path, &["--keylog", &other.to_string_lossy()]);
    let without = analyze_json(&path, &[]);
    assert_eq!(with_other["connections"], without["connections"]);

    // The right random with a wrong master secret: one failure per side, no MQTT.
    let text = read_text(&captures_dir().join("keys/keylog-tls12-aes128gcm.keys"));
    assert!(
        text.lines().any(|l| l.starts_with("CLIENT_RANDOM ")),
        "a key log with no secret"
    );
    let wrong: String = text
        .lines()
        .map(|line| {
            let mut fields: Vec<String> = line.split(' ').map(str::to_string).collect();
            if let Some(secret) = fields.get_mut(2) {
                *secret = "00".repeat(48);
            }
            fields.join(" ") + "\n"
        })
        .collect();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let wrong_path = dir.path().join("wrong.keys");
    std::fs::write(&wrong_path, wrong).unwrap_or_else(|e| panic!("write: {e}"));
    let wrong_arg = wrong_path.to_string_lossy();
    let doc = analyze_json(&path, &["--events", "all", "--keylog", &wrong_arg]);
    let conn = only_connection(&doc);
    assert_eq!(decryption_failures(conn), 2);
    assert_eq!(conn["tls"]["decrypted"], false);
    assert!(conn["mqtt"].is_null());
    // Key material never reaches the output.
    assert!(!doc.to_string().contains(&"00".repeat(48)));
}

#[test]
fn a_missing_key_log_is_exit_2_naming_it() {
    let path = captures_dir().join("tls12-healthy.pcap");
    let out = mqpcap(&[
        "analyze",
        "--keylog",
        "/nonexistent/mqpcap-test.keys",
        &path.to_string_lossy(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("/nonexistent/mqpcap-test.keys"), "{stderr}");
}

#[test]
fn key_log_contents_are_never_echoed() {
    let path = captures_dir().join("keylog-tls13-aes256gcm.pcap");
    let keys = captures_dir().join("keys/keylog-tls13-aes256gcm.keys");
    assert!(path.is_file(), "{} is missing", path.display());
    let text = read_text(&keys);
    let secrets: Vec<&str> = text.split_whitespace().filter(|w| w.len() >= 64).collect();
    assert!(!secrets.is_empty(), "no secret in {}", keys.display());
    for format in ["json", "table", "markdown"] {
        let out = mqpcap(&[
            "analyze",
            "--format",
            format,
            "--keylog",
            &keys.to_string_lossy(),
            &path.to_string_lossy(),
        ]);
        let all = [out.stdout, out.stderr].concat();
        let shown = String::from_utf8_lossy(&all);
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "{format}: exit {:?}",
            out.status.code()
        );
        for secret in &secrets {
            assert!(!shown.contains(*secret), "{format} shows a key log field");
        }
    }
}

/// The refusal hidden inside TLS: read with the key log, inferred (and said to be) without it.
#[test]
fn a_refusal_visible_only_inside_tls_is_read_with_keys_and_inferred_without() {
    for (capture, keys) in [
        (
            "keylog-tls13-bad-password.pcap",
            "keys/keylog-tls13-bad-password.keys",
        ),
        (
            "keylog-tls12-bad-password.pcap",
            "keys/keylog-tls12-bad-password.keys",
        ),
    ] {
        let path = captures_dir().join(capture);
        let keys = captures_dir().join(keys).to_string_lossy().to_string();
        let refusal = |doc: &Value| -> Option<Value> {
            doc["connections"][0]["findings"]
                .as_array()?
                .iter()
                .find(|f| f["rule"] == "connack_refused")
                .cloned()
        };
        let read = refusal(&analyze_json(&path, &["--keylog", &keys]));
        let read = read.unwrap_or_else(|| panic!("{capture}: no connack_refused with keys"));
        assert_eq!(read["severity"], "error", "{capture}");
        assert!(!read["title"].as_str().unwrap_or("").starts_with("Inferred"));

        let inferred = refusal(&analyze_json(&path, &[]));
        let inferred = inferred.unwrap_or_else(|| panic!("{capture}: nothing inferred"));
        assert_eq!(inferred["severity"], "warning", "{capture}");
        assert!(
            inferred["title"]
                .as_str()
                .unwrap_or("")
                .starts_with("Inferred")
        );
        assert!(
            inferred["remedy"]
                .as_str()
                .unwrap_or("")
                .contains("--keylog")
        );
    }
}
