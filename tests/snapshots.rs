//! Snapshots of the human outputs (table and Markdown) for a handful of lab captures, so a
//! change in what a person reads is seen in review. Update with `INSTA_UPDATE=always cargo
//! test --test snapshots` and read the diff.

use std::process::Command;

fn render(format: &str, capture: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_mqpcap"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "analyze",
            "--format",
            format,
            &format!("captures/{capture}"),
        ])
        .output();
    match out {
        Ok(out) => {
            assert_eq!(out.status.code(), Some(0), "{capture}");
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
