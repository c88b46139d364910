//! `--rules DIR` refuses a rule file with a key mqpcap does not know: exit 2, one line naming
//! the file and the line (unit tests in `src/detect/book.rs` cover every kind of key).

// Not library code: here a panic is how a failure shows (see [lints.clippy] in Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::Path;
use std::process::Command;

const CAPTURE: &str = "captures/mqtt311-healthy.pcap";

/// Runs `mqpcap analyze --rules DIR` on the healthy capture with `rule` as `DIR/mine.toml`;
/// returns the exit code, stderr and the rule file's path.
fn analyze_with(rule: &str) -> (Option<i32>, String, String) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    assert!(root.join(CAPTURE).is_file(), "{CAPTURE} is missing");
    let Ok(dir) = tempfile::tempdir() else {
        panic!("no temporary directory")
    };
    let mine = dir.path().join("mine.toml");
    if let Err(e) = std::fs::write(&mine, rule) {
        panic!("write {}: {e}", mine.display());
    }
    let out = Command::new(env!("CARGO_BIN_EXE_mqpcap"))
        .current_dir(root)
        .args(["analyze", "--rules"])
        .arg(dir.path())
        .arg(CAPTURE)
        .output();
    let Ok(out) = out else {
        panic!("cannot run mqpcap")
    };
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        mine.display().to_string(),
    )
}

const RULE: &str =
    "[syn_unanswered]\nseverity = \"error\"\ntitle = \"T\"\ndetail = \"D\"\nremedy = \"R\"\n";

#[test]
fn a_misspelt_threshold_is_exit_2_with_path_and_line() {
    let (code, err, path) = analyze_with(&format!(
        "{RULE}[syn_unanswered.thresholds]\nmin_wiat_s = 3.0\n"
    ));
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains(&format!("{path}:7: ")), "{err}");
    assert!(
        err.contains("min_wiat_s") && err.contains("min_wait_s"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn a_misspelt_rule_key_is_exit_2_with_path_and_line() {
    let (code, err, path) = analyze_with(&format!("{RULE}sumary = \"s\"\n"));
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains(&format!("{path}:6: ")), "{err}");
    assert!(err.contains("sumary"), "{err}");
}

#[test]
fn a_rule_that_sets_some_thresholds_is_accepted() {
    let (code, err, _) = analyze_with(&format!(
        "{RULE}[syn_unanswered.thresholds]\nmin_wait_s = 3.0\n"
    ));
    assert_eq!(code, Some(0), "{err}");
}

#[test]
fn an_explained_alert_must_be_a_tls_alert_name() {
    // `explains = ["tls_alert:NAME"]` folds a tls_alert finding only when NAME is the alert's
    // RFC 8446 §6 name: a misspelt one would silently never match.
    let with = |entry: &str| {
        analyze_with(&format!(
            "[hostname_mismatch]\nseverity = \"error\"\ntitle = \"T\"\ndetail = \"D\"\n\
             remedy = \"R\"\nexplains = [\"{entry}\"]\n"
        ))
    };
    let (code, err, path) = with("tls_alert:unknown_caa");
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains(&format!("{path}:1: ")) && err.contains("unknown_caa"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    for good in ["tls_alert:unknown_ca", "tls_alert:unknown_ca_from_client"] {
        let (code, err, _) = with(good);
        assert_ne!(code, Some(2), "{good}: {err}");
    }
}
