//! `dns_failure`: a client's lookup of a name that never gave an address (NXDOMAIN,
//! SERVFAIL, REFUSED, an answer without address, or no answer at all) in a capture, so no
//! connection to that name could follow. A name that failed and then resolved (a retry, the
//! second resolver) is not a failure: the lookup's outcome is its last word.

use super::book::RuleBook;
use super::{Hit, render};
use crate::finding::Finding;
use crate::proto::dns::{DnsLookup, LookupOutcome, rcode_name};

/// The failed lookups of a run, each with its capture's last frame time, in capture then
/// first-query order.
pub(crate) fn dns_failures(lookups: &[(DnsLookup, i64)], book: &RuleBook) -> Vec<Finding> {
    let Some(rule) = book.rule("dns_failure") else {
        return Vec::new();
    };
    // A lookup without answer is judged only when the capture went on this long after its last
    // query, or when it was asked again a quarter of this after the first query
    // (`rules/dns.toml`): else an answer may be just past the capture end.
    let min_wait_ns = (rule.threshold("min_wait_s") * 1e9) as i64;
    let mut findings = Vec::new();
    for (l, capture_end_ns) in lookups {
        let variant = match l.outcome {
            LookupOutcome::Resolved => continue,
            LookupOutcome::Failed => match l.rcode {
                Some(2) => "servfail",
                Some(3) => "nxdomain",
                Some(5) => "refused",
                _ => "other",
            },
            LookupOutcome::NoAddress => "no_address",
            LookupOutcome::NoAnswer => {
                // Unanswered for good: the client gave up waiting and asked again (a
                // resolver retry, RFC 1536 §1), or the capture went on long enough after.
                let retried = l.last_query.time_ns - l.first_query.time_ns >= min_wait_ns / 4;
                let waited = capture_end_ns.saturating_sub(l.last_query.time_ns) >= min_wait_ns;
                if !retried && !waited {
                    continue;
                }
                "no_answer"
            }
        };
        let span_s = (l.last_query.time_ns - l.first_query.time_ns) as f64 / 1e9;
        let mut hit = Hit::new()
            .variant(variant)
            .var("name", &l.name)
            .var("client", l.client)
            .var("resolver", l.resolver)
            .var("queries", l.queries)
            .var("span", format!("{span_s:.1} s"))
            .var("rcode", l.rcode.map_or("none", rcode_name))
            .at(l.first_query, format!("query for {}", l.name));
        if let Some(answer) = l.answer {
            hit = hit.at(
                answer,
                match l.rcode {
                    Some(r) => format!("answer {}", rcode_name(r)),
                    None => "answer without address".to_string(),
                },
            );
        } else if l.last_query.frame != l.first_query.frame {
            hit = hit.at(l.last_query, "last query, never answered");
        }
        findings.push(render("dns_failure", rule, hit, Vec::new(), &[]));
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::At;

    fn lookup(outcome: LookupOutcome, rcode: Option<u8>) -> DnsLookup {
        let at = |frame: u64, s: i64| At {
            frame,
            time_ns: s * 1_000_000_000,
        };
        DnsLookup {
            client: "10.0.0.2".parse().unwrap(),
            name: "missing.lab.test".into(),
            resolver: "10.0.0.53".parse().unwrap(),
            queries: 2,
            answers: u32::from(rcode.is_some()),
            outcome,
            rcode,
            first_query: at(1, 0),
            last_query: at(3, 1),
            answer: rcode.map(|_| at(4, 1)),
            first_query_frame: 1,
            answer_frame: rcode.map(|_| 4),
            addresses: Vec::new(),
            connections: 0,
        }
    }

    #[test]
    fn each_failure_is_named_and_resolved_or_recent_lookups_are_not() {
        let book = RuleBook::builtin();
        let end = 10_000_000_000;
        let got = dns_failures(
            &[
                (lookup(LookupOutcome::Failed, Some(3)), end),
                (lookup(LookupOutcome::Failed, Some(5)), end),
                (lookup(LookupOutcome::NoAnswer, None), end),
                (lookup(LookupOutcome::Resolved, None), end),
                (
                    DnsLookup {
                        last_query: At::default(),
                        ..lookup(LookupOutcome::NoAnswer, None)
                    },
                    1_500_000_000,
                ),
            ],
            &book,
        );
        let titles: Vec<&str> = got.iter().map(|f| f.title.as_str()).collect();
        assert_eq!(got.len(), 3, "{titles:?}");
        assert!(titles[0].contains("does not exist"), "{titles:?}");
        assert!(titles[1].contains("refused"), "{titles:?}");
        assert!(titles[2].contains("No DNS answer"), "{titles:?}");
        assert!(
            got.iter()
                .all(|f| f.connections.is_empty() && !f.evidence.is_empty())
        );
    }
}

#[cfg(test)]
mod boundary_tests;
