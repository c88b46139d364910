//! `failing_in_every_capture` over two or more captures (issue 12: tests that can fail).

use super::*;
use crate::detect::summarize;
use crate::detect::test_support::*;

/// The device `dev-1` (established_plain) once in each of `captures`.
fn summaries(captures: &[usize]) -> Vec<ConnSummary> {
    captures
        .iter()
        .enumerate()
        .map(|(id, &capture)| {
            let mut c = established_plain();
            c.capture = capture;
            summarize(id, &c)
        })
        .collect()
}

#[test]
fn a_device_failing_in_both_of_its_captures_is_reported_once() {
    let got = failing_in_every_capture(&summaries(&[0, 1]), &[true, true], &RuleBook::builtin());
    assert_eq!(got.len(), 1, "{got:#?}");
    assert_eq!(got[0].rule, "failing_in_every_capture");
    assert!(
        got[0]
            .title
            .contains("client id \"dev-1\" fails in all 2 captures"),
        "{}",
        got[0].title
    );
    assert!(got[0].detail.starts_with("2 of its 2 connection(s) failed"));
    assert_eq!(got[0].connections, [0, 1]);
}

#[test]
fn one_capture_or_one_good_capture_is_not_a_device_fault() {
    let book = RuleBook::builtin();
    // A single capture says nothing about the device travelling with its fault.
    assert!(failing_in_every_capture(&summaries(&[0, 0]), &[true, true], &book).is_empty());
    // It worked in capture 1.
    assert!(failing_in_every_capture(&summaries(&[0, 1]), &[true, false], &book).is_empty());
}
