//! The table fits the terminal: on every lab capture, with `COLUMNS` at 80 and at 100, no line
//! of the table output is wider (in characters), and `NO_COLOR` (or a pipe) gives no escape
//! sequence. The verdict comes first.

// Not library code: here a panic is how a failure shows (see [lints.clippy] in Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::lab_capture_files;
use std::process::Command;

fn table(capture: &std::path::Path, columns: usize) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_mqpcap"))
        .env("COLUMNS", columns.to_string())
        .env("NO_COLOR", "1")
        .args(["analyze", "--format", "table"])
        .arg(capture)
        .output();
    let Ok(out) = out else {
        panic!("cannot run mqpcap")
    };
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}: exit {:?}",
        capture.display(),
        out.status.code()
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn every_lab_capture_fits_80_and_100_columns() {
    let captures = lab_capture_files();
    assert!(
        captures.len() > 100,
        "lab captures not found: {}",
        captures.len()
    );
    let mut checked = 0;
    for capture in &captures {
        for width in [80, 100] {
            let text = table(capture, width);
            assert!(
                !text.contains('\x1b'),
                "{}: colour in a pipe",
                capture.display()
            );
            let first = text.lines().next().unwrap_or_default();
            assert!(
                first.contains("connection") || first.contains("No TCP"),
                "{}: no verdict first: {first}",
                capture.display()
            );
            for line in text.lines() {
                assert!(
                    line.chars().count() <= width,
                    "{} at {width} columns: a line of {} characters:\n{line}",
                    capture.display(),
                    line.chars().count()
                );
            }
            checked += 1;
        }
    }
    println!("{checked} table outputs fit their width");
}
