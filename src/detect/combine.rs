//! How the findings of one connection combine once every rule has run: rules that need both
//! directions are held back on a one-sided capture (`capture_one_sided` names them), findings
//! of one fault fold into the one that explains them (`explains` in `rules/`), and capture
//! artifacts add a lower-confidence note. Pure functions of the findings, the record and the
//! rule data.

use super::{Finding, Hit, RuleBook, RuleDef, base_vars, render};
use crate::conn::Connection;

/// One fault, one finding: a finding whose rule `explains` another rule that also fired on
/// this connection (`rule`; `rule:alert` for a finding about that TLS alert; or
/// `rule:alert_from_client` / `_from_server` for that alert from that side) absorbs it
/// (its evidence, alert name and severity if worse) and takes the earlier of the two places,
/// so the root cause comes first (e.g. `client_cert_missing` absorbs the `tls_alert` about the
/// same handshake_failure).
pub(super) fn fold_explained(findings: Vec<Finding>, book: &RuleBook) -> Vec<Finding> {
    let mut slots: Vec<Option<Finding>> = findings.into_iter().map(Some).collect();
    for i in 0..slots.len() {
        // Borrowed from the book, not the findings: the loop below moves findings around.
        let explains: &[String] = slots
            .get(i)
            .and_then(Option::as_ref)
            .and_then(|f| book.rule(f.rule))
            .map_or(&[], |r| r.explains.as_slice());
        for explained in explains {
            // `rule`, `rule:alert` or `rule:alert_from_SIDE`: the latter two only when the
            // finding is about that alert (from that side).
            let (rule, alert) = match explained.split_once(':') {
                Some((rule, alert)) => (rule, Some(alert)),
                None => (explained.as_str(), None),
            };
            let matches =
                |f: &Finding| f.rule == rule && alert.is_none_or(|wanted| about_alert(f, wanted));
            let Some(j) = slots.iter().position(|s| s.as_ref().is_some_and(matches)) else {
                continue;
            };
            let Some(absorbed) = slots.get_mut(j).and_then(Option::take) else {
                continue;
            };
            let Some(mut keeper) = slots.get_mut(i).and_then(Option::take) else {
                continue;
            };
            for e in absorbed.evidence {
                if !keeper.evidence.iter().any(|k| k.at.frame == e.at.frame) {
                    keeper.evidence.push(e);
                }
            }
            keeper.evidence.sort_by_key(|e| e.at.frame);
            if keeper.alert.is_none() {
                keeper.alert = absorbed.alert;
                keeper.alert_from = absorbed.alert_from;
            }
            // The fault is as bad as its worst effect (a malformed packet the broker closed
            // the connection for is an error); an inference keeps its own, lower certainty.
            if !keeper.inferred {
                keeper.severity = keeper.severity.max(absorbed.severity);
            }
            keeper.merged.push(absorbed.rule);
            keeper.merged.extend(absorbed.merged);
            // The root cause takes the earlier place.
            // Both places are slots (`i` and `j` index them), so the keeper is never dropped.
            if let Some(place) = slots.get_mut(i.min(j)) {
                *place = Some(keeper);
            }
        }
    }
    slots.into_iter().flatten().collect()
}

/// Whether `f` is about the TLS alert `wanted`: its name (`unknown_ca`), or its name and
/// sender (`unknown_ca_from_client`).
fn about_alert(f: &Finding, wanted: &str) -> bool {
    let Some(Some(name)) = &f.alert else {
        return false;
    };
    wanted == name
        || wanted
            .strip_prefix(name.as_str())
            .and_then(|rest| rest.strip_prefix("_from_"))
            .is_some_and(|side| f.alert_from == Some(side))
}

/// A one-sided view: the findings of rules that need both directions (`needs_both_sides` in
/// `rules/`) are withheld, since the missing direction's silence is the capture's, not the
/// peer's; the `capture_one_sided` finding comes first and names what it held back.
pub(super) fn hold_back(
    findings: Vec<Finding>,
    rule: &RuleDef,
    hit: Hit,
    connections: Vec<usize>,
    conn: &Connection,
    book: &RuleBook,
) -> Vec<Finding> {
    let (held, kept): (Vec<Finding>, Vec<Finding>) = findings
        .into_iter()
        .partition(|f| book.rule(f.rule).is_some_and(|r| r.needs_both_sides));
    let mut held_ids: Vec<&str> = held.iter().map(|f| f.rule).collect();
    held_ids.dedup();
    let held_text = match held_ids.as_slice() {
        [] => "none of them would have fired here".to_string(),
        [one] => format!("{one} would have fired"),
        many => format!("{} would have fired", many.join(", ")),
    };
    let hit = hit.var("held_back", held_text);
    let mut out = vec![render(
        "capture_one_sided",
        rule,
        hit,
        connections,
        &base_vars(conn),
    )];
    out.extend(kept);
    out
}

/// Capture artifacts lower the confidence of what is said about a connection (DESIGN.md:
/// a gap or a mid-stream start is never itself a protocol finding, but findings say so).
pub(super) fn confidence_note(rule_id: &str, conn: &Connection, found: &[&str]) -> Option<String> {
    let mut notes = Vec::new();
    if !conn.tcp.syn_seen && rule_id != "capture_gap" {
        notes.push(
            "the capture starts in the middle of this connection, so its beginning is not visible"
                .to_string(),
        );
    }
    if conn.tcp.missing_bytes > 0 && rule_id != "capture_gap" {
        // Only point at a finding that is in the output.
        let see = if found.contains(&"capture_gap") {
            " (see capture_gap)"
        } else {
            ""
        };
        notes.push(format!(
            "the capture lacks {} bytes of this connection{see}",
            conn.tcp.missing_bytes
        ));
    }
    if conn.events_dropped > 0 {
        notes.push(format!(
            "{} later events of this long connection were not kept",
            conn.events_dropped
        ));
    }
    (!notes.is_empty()).then(|| format!("Lower confidence: {}.", notes.join("; ")))
}

#[cfg(test)]
mod boundary_tests;
