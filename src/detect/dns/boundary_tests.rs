//! Boundaries of `dns_failure` for lookups without answer (issue 12: tests that can fail).

use super::*;
use crate::common::At;

fn at_s(frame: u64, s: i64) -> At {
    At {
        frame,
        time_ns: 1_800_000_000 * 1_000_000_000 + s * 1_000_000_000,
    }
}

/// An unanswered lookup: queries at `first` and `last` (frame, seconds).
fn unanswered(first: (u64, i64), last: (u64, i64)) -> DnsLookup {
    DnsLookup {
        client: std::net::IpAddr::from([10, 0, 0, 2]),
        name: "broker.lab.test".into(),
        resolver: std::net::IpAddr::from([10, 0, 0, 53]),
        queries: if first == last { 1 } else { 2 },
        answers: 0,
        outcome: LookupOutcome::NoAnswer,
        rcode: None,
        first_query: at_s(first.0, first.1),
        last_query: at_s(last.0, last.1),
        answer: None,
        first_query_frame: first.0,
        answer_frame: None,
        addresses: Vec::new(),
        connections: 0,
    }
}

#[test]
fn a_single_recent_query_is_not_yet_a_failure() {
    // dns_failure no_answer: one query, the capture ended 1 s later; neither a retry
    // (RFC 1536 §1) nor min_wait_s of waiting: the answer may lie past the capture end.
    let l = unanswered((1, 0), (1, 0));
    let end = l.last_query.time_ns + 1_000_000_000;
    assert!(dns_failures(&[(l, end)], &RuleBook::builtin()).is_empty());
}

#[test]
fn a_retried_unanswered_lookup_shows_its_last_query() {
    // Evidence: the first query, then the last one (another frame) that was never answered.
    let l = unanswered((1, 0), (3, 4));
    let end = l.last_query.time_ns + 60_000_000_000;
    let got = dns_failures(&[(l, end)], &RuleBook::builtin());
    let frames: Vec<(u64, &str)> = got
        .iter()
        .flat_map(|f| f.evidence.iter().map(|e| (e.at.frame, e.note.as_str())))
        .collect();
    assert_eq!(
        frames,
        [
            (1, "query for broker.lab.test"),
            (3, "last query, never answered")
        ]
    );
    // A single query, unanswered for a minute: the query alone is the evidence.
    let l = unanswered((1, 0), (1, 0));
    let end = l.last_query.time_ns + 60_000_000_000;
    let got = dns_failures(&[(l, end)], &RuleBook::builtin());
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].evidence.len(), 1, "{got:#?}");
}
