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

#[test]
fn the_explaining_finding_keeps_the_evidence_only_the_explained_one_had() {
    // fold_explained: icmp_unreachable explains syn_unanswered (rules/tcp.toml) and absorbs
    // its evidence. The ICMP host unreachable (RFC 792 type 3 code 1, a soft error TCP may
    // retry: RFC 1122 §4.2.3.9) is at frame 2 after the SYN at frame 1; the client's SYN
    // retransmission at frame 3 (3 s) is syn_unanswered's "last packet of the attempt", which
    // only it shows, so the folded finding must show it too, each frame once.
    use crate::common::Side;
    use crate::flow::TcpEvent;
    let mut c = syn_then_icmp(false, 3, 1);
    let resent = TcpEvent::Retransmission { len: 0 };
    tcp(&mut c, 3, 3_000, Side::Orig, resent);
    let f = findings(&c);
    let icmp = f.iter().find(|f| f.rule == "icmp_unreachable");
    let frames: Option<Vec<u64>> = icmp.map(|f| f.evidence.iter().map(|e| e.at.frame).collect());
    assert!(
        icmp.is_some_and(|f| f.merged.contains(&"syn_unanswered"))
            && !f.iter().any(|f| f.rule == "syn_unanswered")
            && frames == Some(vec![1, 2, 3]),
        "{f:#?}"
    );
}
