//! `mqpcap explain RULE` shows the rule's summary (issue 12: tests that can fail).

use super::*;

#[test]
fn a_rule_is_explained_with_its_summary() {
    let mut out = Vec::new();
    let found = write(&RuleBook::builtin(), Some("keepalive_lapse"), &mut out).unwrap_or(false);
    let text = String::from_utf8_lossy(&out);
    assert!(found);
    assert!(
        text.lines().nth(1)
            == Some("  The client was silent past 1.5x its keep-alive and the server closed."),
        "{text}"
    );
}
