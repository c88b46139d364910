//! The story a human report opens with: a one-line verdict, then the findings grouped by cause
//! (the same rule and title on many connections is one group with a count and connection
//! ranges), errors first, then warnings, then infos; within a severity, the cause that concerns
//! the most connections first. Every human format (table, Markdown, HTML) uses these, so they
//! tell the same story in the same order.

use super::model::{ConnectionReport, Finding, Report};
use crate::finding::Severity;

/// Findings of one cause.
pub(crate) struct Group<'a> {
    /// The first finding of the group: its detail, remedy and evidence stand for all.
    pub first: &'a Finding,
    /// How many findings fell in the group.
    pub count: usize,
    /// Connections concerned, sorted, without repeats.
    pub connections: Vec<usize>,
}

/// A warning or an error.
pub(crate) fn serious(f: &Finding) -> bool {
    f.severity >= Severity::Warning
}

/// True when a connection has a warning or error finding, its own or a cross-connection one
/// that names it.
pub(crate) fn failing(report: &Report, c: &ConnectionReport) -> bool {
    c.findings.iter().any(serious)
        || report
            .findings
            .iter()
            .any(|f| serious(f) && f.connections.contains(&c.id))
}

/// Every finding of the report grouped by cause. With `only_failures`, infos and the findings
/// of healthy connections are left out.
pub(crate) fn groups(report: &Report, only_failures: bool) -> Vec<Group<'_>> {
    let all = report
        .connections
        .iter()
        .filter(|c| !only_failures || failing(report, c))
        .flat_map(|c| c.findings.iter())
        .chain(report.findings.iter())
        .filter(|f| !only_failures || serious(f));
    let mut groups: Vec<Group<'_>> = Vec::new();
    for f in all {
        match groups.iter_mut().find(|g| {
            g.first.rule == f.rule && g.first.severity == f.severity && g.first.title == f.title
        }) {
            Some(g) => {
                g.count += 1;
                g.connections.extend(f.connections.iter().copied());
            }
            None => groups.push(Group {
                first: f,
                count: 1,
                connections: f.connections.clone(),
            }),
        }
    }
    // Connections a fleet report does not list one by one still count in their causes.
    for (f, repeats) in &report.omitted.findings {
        if only_failures && !serious(f) {
            continue;
        }
        match groups.iter_mut().find(|g| {
            g.first.rule == f.rule && g.first.severity == f.severity && g.first.title == f.title
        }) {
            Some(g) => {
                g.count += repeats;
                g.connections.extend(f.connections.iter().copied());
            }
            None => groups.push(Group {
                first: f,
                count: *repeats,
                connections: f.connections.clone(),
            }),
        }
    }
    for g in &mut groups {
        g.connections.sort_unstable();
        g.connections.dedup();
    }
    // Stable: equal groups keep the order of their first finding (connection order).
    groups.sort_by_key(|g| {
        (
            // Errors first, then warnings, then infos.
            std::cmp::Reverse(g.first.severity),
            std::cmp::Reverse(g.connections.len().max(g.count)),
        )
    });
    groups
}

/// Causes a human report details one by one; the others are counted in one line after them
/// (a fleet's titles can name thousands of client ids; the JSON formats hold every finding).
pub(crate) const SHOWN_CAUSES: usize = 50;

/// The line after the first [`SHOWN_CAUSES`] causes, when there are more: how many, and their
/// findings by severity.
pub(crate) fn more_causes(groups: &[Group<'_>]) -> Option<String> {
    let rest = groups.get(SHOWN_CAUSES..).filter(|rest| !rest.is_empty())?;
    let of = |severity: Severity| -> usize {
        rest.iter()
            .filter(|g| g.first.severity == severity)
            .map(|g| g.count)
            .sum()
    };
    let counts: Vec<String> = [
        (Severity::Error, "error"),
        (Severity::Warning, "warning"),
        (Severity::Info, "info"),
    ]
    .into_iter()
    .filter_map(|(severity, name)| {
        let n = of(severity);
        (n > 0).then(|| format!("{n} {name}"))
    })
    .collect();
    let counts = match counts.as_slice() {
        [] => String::new(),
        [one] => format!(" ({one} findings)"),
        [init @ .., last] => format!(" ({} and {last} findings)", init.join(", ")),
    };
    Some(format!(
        "{} more causes{counts}, each concerning no more connections than those above in its \
         severity; the JSON formats list every finding.",
        rest.len(),
    ))
}

/// Runs of ids a human report spells out for one cause before it says how many more there
/// are: a fleet's cause can concern thousands of connections, whose list would bury the story
/// (and the JSON formats list every one).
const SHOWN_RUNS: usize = 20;

/// `0-14, 17, 20-21`: sorted ids with runs collapsed; past [`SHOWN_RUNS`] runs, `... and 917
/// more` (connections not shown).
pub(crate) fn id_ranges(ids: &[usize]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while let Some(&start) = ids.get(i) {
        if parts.len() == SHOWN_RUNS {
            parts.push(format!("... and {} more", ids.len() - i));
            break;
        }
        let mut end = start;
        while ids.get(i + 1) == Some(&(end + 1)) {
            end += 1;
            i += 1;
        }
        parts.push(if end > start {
            format!("{start}-{end}")
        } else {
            start.to_string()
        });
        i += 1;
    }
    parts.join(", ")
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// One cause in the verdict: its title, and how many connections (or lookups) it concerns.
fn cause(g: &Group<'_>) -> String {
    let title = g.first.title.trim_end_matches('.');
    match g.connections.as_slice() {
        [] if g.count > 1 => format!("{title} (x{})", g.count),
        [] => title.to_string(),
        [one] => format!("{title} (connection {one})"),
        many => format!("{title} ({} connections: {})", many.len(), id_ranges(many)),
    }
}

/// The verdict line: how many connections failed and the main causes, e.g. "40 of 40
/// connections failed: Not authorized (40 connections: 0-39); Reconnect storm ...".
pub(crate) fn verdict(report: &Report) -> String {
    let unread = report
        .captures
        .iter()
        .filter(|c| c.warnings.iter().any(|w| w.kind == "unreadable_file"))
        .count();
    let story = connections_verdict(report);
    match unread {
        0 => story,
        n => format!(
            "{story} {} could not be read (see its warning).",
            plural(n, "file", "files")
        ),
    }
}

fn connections_verdict(report: &Report) -> String {
    let total = report.connections.len().max(report.overview.connections);
    let failing = report.overview.failing;
    let groups = groups(report, true);
    let connections = plural(total, "connection", "connections");
    if groups.is_empty() {
        return if total == 0 {
            "No TCP connection in the capture, and nothing wrong found.".to_string()
        } else if total == 1 {
            "The connection looks healthy: no warning or error.".to_string()
        } else {
            format!("All {connections} look healthy: no warning or error.")
        };
    }
    let head = if failing == 0 {
        if total == 0 {
            "No TCP connection, but".to_string()
        } else {
            format!("No connection failed of {connections}, but")
        }
    } else {
        format!("{failing} of {connections} failed:")
    };
    let shown: Vec<String> = groups.iter().take(2).map(cause).collect();
    let more = groups.len().saturating_sub(2);
    let tail = if more > 0 {
        format!("; and {} more", plural(more, "cause", "causes"))
    } else {
        String::new()
    };
    format!("{head} {}{tail}.", shown.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_collapse_runs() {
        assert_eq!(id_ranges(&[0, 1, 2, 5, 7, 8]), "0-2, 5, 7-8");
        assert_eq!(id_ranges(&[]), "");
    }

    #[test]
    fn ranges_stop_after_twenty_runs_and_count_the_rest() {
        // 25 runs of two (0-1, 3-4, ...): twenty shown, then the 10 ids of the other five.
        let ids: Vec<usize> = (0..25).flat_map(|r| [3 * r, 3 * r + 1]).collect();
        let text = id_ranges(&ids);
        assert!(text.starts_with("0-1, 3-4, "), "{text}");
        assert!(text.ends_with("57-58, ... and 10 more"), "{text}");
        // Exactly twenty runs: all shown.
        assert!(!id_ranges(&ids[..40]).contains("more"));
    }

    #[test]
    fn causes_past_the_first_fifty_are_counted_by_severity() {
        let finding = |severity: Severity| Finding {
            rule: "connack_refused".to_string(),
            severity,
            title: String::new(),
            detail: String::new(),
            remedy: String::new(),
            alert: None,
            connections: Vec::new(),
            evidence: Vec::new(),
            merged_rules: Vec::new(),
            inferred: false,
        };
        let (error, warning) = (finding(Severity::Error), finding(Severity::Warning));
        let group = |first, count| Group {
            first,
            count,
            connections: Vec::new(),
        };
        let mut groups: Vec<Group<'_>> = (0..SHOWN_CAUSES).map(|_| group(&error, 9)).collect();
        assert_eq!(more_causes(&groups), None, "exactly the shown ones");
        groups.extend([group(&error, 2), group(&warning, 3), group(&warning, 1)]);
        let more = more_causes(&groups).unwrap_or_default();
        assert!(
            more.starts_with("3 more causes (2 error and 4 warning findings), each"),
            "{more}"
        );
    }
}
