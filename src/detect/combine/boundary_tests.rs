//! When findings carry a lower-confidence note (issue 12: tests that can fail).

use super::*;
use crate::detect::test_support::*;

#[test]
fn a_complete_capture_of_the_connection_adds_no_note() {
    // SYN seen, no bytes missing, no events dropped: nothing lowers the confidence.
    assert_eq!(
        confidence_note("keepalive_lapse", &established_plain(), &[]),
        None
    );
}

#[test]
fn capture_gap_itself_is_not_told_about_the_capture() {
    // A mid-stream start or a gap is what capture_gap reports: no note on itself.
    let mut c = conn();
    c.tcp.missing_bytes = 100;
    assert_eq!(confidence_note("capture_gap", &c, &["capture_gap"]), None);
    let note = confidence_note("keepalive_lapse", &c, &["capture_gap"]);
    assert_eq!(
        note.as_deref(),
        Some(
            "Lower confidence: the capture starts in the middle of this connection, so its \
             beginning is not visible; the capture lacks 100 bytes of this connection (see \
             capture_gap)."
        )
    );
}
