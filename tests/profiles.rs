//! Platform profiles (`--profile`) on lab captures made by real software: what the platform
//! documents changes the verdict or its text, never what the capture shows (rules/profiles/).

// Not library code: here a panic is how a failure shows (see [lints.clippy] in Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{analyze_json, captures_dir};
use serde_json::Value;

/// (rule, severity, title) of the first connection's findings under `profile`.
fn findings(file: &str, profile: &str) -> Vec<(String, String, String)> {
    let path = captures_dir().join(file);
    assert!(path.is_file(), "{} is missing", path.display());
    let doc = analyze_json(&path, &["--profile", profile]);
    doc["connections"][0]["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f: &Value| {
            let s = |k: &str| f[k].as_str().unwrap_or_default().to_string();
            (s("rule"), s("severity"), s("title"))
        })
        .collect()
}

fn has(found: &[(String, String, String)], rule: &str, severity: &str) -> bool {
    found.iter().any(|f| f.0 == rule && f.1 == severity)
}

// mosquitto_sub -k 5, stopped until mosquitto closes (captures/README.md).
const LAPSE: &str = "mqtt311-keepalive-lapse.pcap";

#[test]
fn aws_iot_raises_a_short_keep_alive_and_says_so_at_info() {
    let found = findings(LAPSE, "aws-iot");
    let raised = found
        .iter()
        .find(|f| f.0 == "keepalive_out_of_range")
        .unwrap_or_else(|| panic!("no keepalive_out_of_range: {found:#?}"));
    assert_eq!(raised.1, "info", "raising is not a refusal");
    assert!(raised.2.contains("30 s"), "{}", raised.2);
    // The broker in the capture did close after the client's own 7.5 s: still a lapse.
    assert!(has(&found, "keepalive_lapse", "error"), "{found:#?}");
}

#[test]
fn alibaba_refuses_a_keep_alive_below_30_s() {
    let found = findings(LAPSE, "aliyun");
    assert!(
        has(&found, "keepalive_out_of_range", "warning"),
        "{found:#?}"
    );
    assert!(has(&found, "keepalive_lapse", "error"), "{found:#?}");
}

#[test]
fn the_generic_profile_checks_no_platform_limit() {
    let found = findings(LAPSE, "generic");
    assert!(
        !found.iter().any(|f| f.0 == "keepalive_out_of_range"),
        "{found:#?}"
    );
    assert!(has(&found, "keepalive_lapse", "error"), "{found:#?}");
}
