//! The HTML report in a real browser: headless Chromium (Debian's `chromium`, installed by
//! `.ci/run`) loads the page of a TLS failure, a storm, a duplicate client id and a healthy
//! capture, with no console message (the page has no script; a broken SVG or markup error
//! would show as one), and its DOM holds the verdict. Skipped, and said so, without Chromium.

// Not library code: here a panic is how a failure shows (see [lints.clippy] in Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::captures_dir;
use std::process::Command;

fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser"].into_iter().find(|c| {
        Command::new(c)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

#[test]
fn html_reports_load_in_chromium_without_console_messages() {
    let Some(browser) = chromium() else {
        common::skipped("chromium not installed (apt-get install chromium)");
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let mut loaded = 0;
    for capture in [
        "tls12-unknown-ca.pcap",
        "reconnect-storm.pcap",
        "mqtt311-duplicate-client-id.pcap",
        "mqtt311-healthy.pcap",
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_mqpcap"))
            .args(["analyze", "--format", "html"])
            .arg(captures_dir().join(capture))
            .output()
            .expect("run mqpcap");
        assert!(matches!(out.status.code(), Some(0 | 1)), "{capture}");
        let page = dir.path().join(format!("{capture}.html"));
        std::fs::write(&page, &out.stdout).expect("write page");
        let profile = dir.path().join(format!("profile-{capture}"));
        let run = Command::new(browser)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--enable-logging=stderr",
                "--v=0",
                "--dump-dom",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg(format!("file://{}", page.display()))
            .output()
            .expect("run chromium");
        let dom = String::from_utf8_lossy(&run.stdout);
        let log = String::from_utf8_lossy(&run.stderr);
        assert!(run.status.success(), "{capture}: chromium failed: {log}");
        assert!(
            dom.contains("class=\"verdict"),
            "{capture}: no verdict in the DOM"
        );
        assert!(
            dom.contains("</svg>") || capture.contains("healthy"),
            "{capture}: no drawing"
        );
        let console: Vec<&str> = log.lines().filter(|l| l.contains("CONSOLE")).collect();
        assert!(
            console.is_empty(),
            "{capture}: console messages: {console:?}"
        );
        loaded += 1;
    }
    assert_eq!(loaded, 4);
}
