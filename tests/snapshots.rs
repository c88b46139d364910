//! Snapshots of the human outputs (table at 100 and 80 columns, Markdown, HTML) for a handful
//! of lab captures (a TLS failure, a storm, a duplicate client id, healthy sessions), so a
//! change in what a person reads is seen in review. Update with `INSTA_UPDATE=always cargo
//! test --test snapshots` and read the diff.

// Not library code: here a panic is how a failure shows (see [lints.clippy] in Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::process::Command;

fn render(format: &str, capture: &str) -> String {
    render_at(format, capture, "100")
}

/// Renders with `COLUMNS` set (the width the table must fit) and no colour.
fn render_at(format: &str, capture: &str, columns: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_mqpcap"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("COLUMNS", columns)
        .env("NO_COLOR", "1")
        .args([
            "analyze",
            "--format",
            format,
            &format!("captures/{capture}"),
        ])
        .output();
    match out {
        Ok(out) => {
            // 0 for a healthy capture, 1 when it has an error finding (CONTRACT.md).
            assert!(matches!(out.status.code(), Some(0 | 1)), "{capture}");
            String::from_utf8_lossy(&out.stdout).into_owned()
        }
        Err(e) => panic!("cannot run mqpcap: {e}"),
    }
}

#[test]
fn table_of_a_healthy_plain_session() {
    insta::assert_snapshot!(render("table", "mqtt311-healthy.pcap"));
}

#[test]
fn table_of_a_refused_mqtt5_login() {
    insta::assert_snapshot!(render("table", "mqtt5-bad-password.pcap"));
}

#[test]
fn table_of_a_client_rejecting_the_server_ca() {
    insta::assert_snapshot!(render("table", "tls12-unknown-ca.pcap"));
}

#[test]
fn table_of_a_middlebox_reset_and_a_refused_connection() {
    insta::assert_snapshot!(render("table", "middlebox-rst-after-clienthello.pcap"));
    insta::assert_snapshot!(render("table", "connection-refused.pcap"));
}

#[test]
fn markdown_of_a_tls13_session() {
    insta::assert_snapshot!(render("markdown", "tls13-healthy.pcap"));
}

#[test]
fn table_at_80_columns_of_a_storm_and_a_duplicate_id() {
    insta::assert_snapshot!(render_at("table", "reconnect-storm.pcap", "80"));
    insta::assert_snapshot!(render_at("table", "mqtt311-duplicate-client-id.pcap", "80"));
}

#[test]
fn markdown_of_a_tls_failure_a_storm_a_duplicate_id_and_a_healthy_capture() {
    for capture in [
        "tls12-unknown-ca.pcap",
        "reconnect-storm.pcap",
        "mqtt311-duplicate-client-id.pcap",
        "mqtt311-healthy.pcap",
    ] {
        insta::assert_snapshot!(format!("markdown-{capture}"), render("markdown", capture));
    }
}

#[test]
fn html_of_a_tls_failure_a_storm_a_duplicate_id_and_a_healthy_capture() {
    for capture in [
        "tls12-unknown-ca.pcap",
        "reconnect-storm.pcap",
        "mqtt311-duplicate-client-id.pcap",
        "mqtt311-healthy.pcap",
    ] {
        insta::assert_snapshot!(format!("html-{capture}"), render("html", capture));
    }
}
