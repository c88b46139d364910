//! The merge: finished connections arrive in any order (from any worker, and from captures
//! read at the same time); they leave for the sink in id order, each capture's record after
//! its last connection. A capture read alongside earlier ones was numbered from 0; its
//! connections get their run ids here ([`Renumber`]), once every earlier capture is out. It
//! keeps the compact summaries for the cross-connection rules (up to a cap), the counts and the
//! overview, and at the end runs the cross-connection rules and hands the sink the findings
//! across connections.
//!
//! How many finished connections can wait here is bounded by the reader's reorder cap (see
//! `flow::directory`), not by timing; what is written depends only on the input. What does not
//! depend on order (counts, failing rules, the summary) is taken when a connection arrives;
//! a waiting connection keeps only its output, client address and capture. Past [`SPILL_AT`]
//! bytes, the JSON of waiting connections goes to an anonymous temporary file (deleted by the
//! system when closed) and is read back in order, so a long connection that holds up the order
//! costs under a hundred bytes per waiting connection, not their JSON.

use super::kept::KeptSummaries;
use super::renumber::Renumber;
use super::reorder::Reorder;
use super::spill::{Spill, Spilled};
use super::worker::Finished;
use crate::capture::{CaptureFacts, CaptureWarning};
use crate::detect::{self, RuleBook};
use crate::finding::{Severity, SeverityCounts};
use crate::proto::dns::{DnsLookup, LookupOutcome};
use crate::report::model::{self, ClientFailures, Overview, Precision, Summary};
use crate::report::redact::{self, Redactor};
use crate::report::sink::{ConnectionOut, HumanRows};
use crate::report::sink::{ReportSink, RunEnd};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::io;
use std::net::IpAddr;

/// Summaries kept for the cross-connection rules (`ConnSummary`, whose size a test bounds). A
/// power of two, so that the list, growing by doubling, lands on it (`KeptSummaries`).
pub(crate) const MAX_SUMMARIES: usize = 131_072;
/// JSON held in memory for waiting connections before it is spilled to a temporary file. On
/// `fleet` a connection cut at the reorder cap holds up the order most of the run, so nearly
/// every connection spills whatever this is (4 MiB: 69,000 of 85,000); reading them back is
/// not on the run's critical path (no spilling at all: the same wall time), and 2 MiB instead
/// of 4 pays for the allocator arenas' share of the 1 GB benchmark's peak (`main.rs`).
pub(crate) const SPILL_AT: usize = 2 << 20;
/// Distinct clients counted separately in the overview.
const MAX_CLIENTS: usize = 100_000;
/// Clients listed in the overview.
const TOP_CLIENTS: usize = 10;

/// A capture whose reading ended: its record waits until its connections are out.
#[derive(Debug)]
pub(super) struct CaptureDone {
    pub index: usize,
    pub facts: CaptureFacts,
    /// The id its first connection was given when it was read (its run id when captures are
    /// read in order, 0 when they are read at the same time).
    pub base: usize,
    /// One past the last connection id of this capture, in the same numbering as `base`.
    pub end_id: usize,
    /// The capture's DNS lookups, in order of first query.
    pub dns_lookups: Vec<DnsLookup>,
}

/// What a finished connection keeps while it waits for earlier ones: what is written in order.
#[derive(Debug)]
struct Waiting {
    /// The id it was given when read.
    id: usize,
    out: ConnectionOut<'static>,
    spilled: Option<Spilled>,
    client_ip: IpAddr,
    failing: bool,
}

pub(super) struct Merge<'a> {
    sink: &'a mut dyn ReportSink,
    /// The capture being written and the next of its connections (from 0).
    current: usize,
    next: usize,
    /// The run id of `current`'s first connection.
    run_base: usize,
    /// Keyed by capture and position in it (the run's order).
    waiting: Reorder<Waiting>,
    /// Bytes of JSON held by `waiting`.
    waiting_bytes: usize,
    spill: Spill,
    /// Captures whose reading ended, by index, until their record is written.
    captures: BTreeMap<usize, CaptureDone>,
    /// Per written capture: its numbering and connection count.
    written: Vec<(Renumber, usize)>,
    /// For the cross-connection rules, up to [`MAX_SUMMARIES`]. Ids as read until the end.
    summaries: KeptSummaries,
    /// Which reports the human formats surely do not list.
    human_rows: HumanRows,
    /// Lookups that never resolved, with their capture's end time, for `dns_failure`.
    dns_unresolved: Vec<(DnsLookup, i64)>,
    /// `--redact-ids`: cross-connection findings and the overview get pseudonyms too.
    redact_ids: bool,
    counts: SeverityCounts,
    /// Per capture, by position in it: whether the connection fails.
    failing: BTreeMap<usize, Vec<bool>>,
    failing_count: usize,
    by_rule: BTreeMap<String, usize>,
    /// Connections and failing connections per client address (u32: 28 bytes an entry).
    clients: HashMap<IpAddr, (u32, u32)>,
    clients_truncated: bool,
    all_micros: bool,
    /// `--jobs`: threads the cross-connection rules may use.
    threads: usize,
}

impl<'a> Merge<'a> {
    pub(super) fn new(sink: &'a mut dyn ReportSink, redact_ids: bool, threads: usize) -> Self {
        Merge {
            threads,
            sink,
            redact_ids,
            current: 0,
            next: 0,
            run_base: 0,
            waiting: Reorder::default(),
            waiting_bytes: 0,
            spill: Spill::default(),
            captures: BTreeMap::new(),
            written: Vec::new(),
            summaries: KeptSummaries::new(MAX_SUMMARIES),
            human_rows: HumanRows::default(),
            dns_unresolved: Vec::new(),
            counts: SeverityCounts::default(),
            failing: BTreeMap::new(),
            failing_count: 0,
            by_rule: BTreeMap::new(),
            clients: HashMap::new(),
            clients_truncated: false,
            all_micros: true,
        }
    }

    /// A finished connection; its JSON is a range in `json_text`.
    pub(super) fn finished(&mut self, f: Finished, json_text: &str) -> io::Result<()> {
        let Finished {
            id,
            position,
            report,
            unlisted,
            json,
            summary,
            client_ip,
            failing_rules,
            counts,
        } = f;
        self.counts.add(counts);
        let failing = !failing_rules.is_empty();
        for rule in failing_rules {
            *self.by_rule.entry(rule.to_string()).or_default() += 1;
        }
        let capture = summary.capture;
        let flags = self.failing.entry(capture).or_default();
        if flags.len() <= position {
            flags.resize(position + 1, false);
        }
        if let Some(flag) = flags.get_mut(position) {
            *flag = failing;
        }
        self.failing_count += usize::from(failing);
        self.summaries.keep(summary);
        // A report the human formats will not list is cut down to its findings now, not
        // held whole while it waits for its turn.
        let (report, unlisted) = match (report, unlisted) {
            (Some(r), None) if self.human_rows.surely_unlisted(capture, position, failing) => {
                (None, Some(r.findings))
            }
            other => other,
        };
        let json = json.map(|range| json_text.get(range).unwrap_or("{}"));
        if (capture, position) == (self.current, self.next) && self.waiting.pass(capture, position)
        {
            // The next one to write (so its capture is not complete): straight from the
            // worker's text, without a copy.
            let out = ConnectionOut {
                report,
                unlisted,
                json: json.map(Cow::Borrowed),
            };
            self.write(id, out, client_ip, failing)?;
            return self.drain();
        }
        let json_len = json.map_or(0, str::len);
        let (json, spilled) = match json {
            Some(text) if self.waiting_bytes + json_len > SPILL_AT => {
                (None, Some(self.spill.append(text.as_bytes())?))
            }
            _ => {
                self.waiting_bytes += json_len;
                (json.map(|text| Cow::Owned(text.to_owned())), None)
            }
        };
        let waiting = Waiting {
            id,
            out: ConnectionOut {
                report,
                unlisted,
                json,
            },
            spilled,
            client_ip,
            failing,
        };
        // A position is finished once (the reader ends each record once).
        let _ = self.waiting.insert(capture, position, waiting);
        self.drain()
    }

    pub(super) fn capture_done(&mut self, done: CaptureDone) -> io::Result<()> {
        self.all_micros &= done.facts.microsecond_times;
        self.captures.insert(done.index, done);
        self.drain()
    }

    /// Writes what is ready: a capture's record once its connections are out, a connection
    /// once every earlier connection and every earlier capture's record are out.
    fn drain(&mut self) -> io::Result<()> {
        loop {
            let complete = self
                .captures
                .get(&self.current)
                .is_some_and(|c| c.end_id.saturating_sub(c.base) <= self.next);
            if complete {
                if let Some(done) = self.captures.remove(&self.current) {
                    self.emit_capture(done)?;
                }
                continue;
            }
            let Some(mut w) = self.waiting.take(self.current, self.next) else {
                return Ok(());
            };
            match w.spilled {
                Some(spilled) => w.out.json = Some(Cow::Owned(self.spill.read(spilled)?)),
                None => {
                    let len = w.out.json.as_deref().map_or(0, str::len);
                    self.waiting_bytes = self.waiting_bytes.saturating_sub(len);
                }
            }
            self.write(w.id, w.out, w.client_ip, w.failing)?;
        }
    }

    /// Writes connection `next` of capture `current`, read as `id`, in the run's numbering.
    fn write(
        &mut self,
        id: usize,
        mut out: ConnectionOut<'_>,
        client_ip: IpAddr,
        failing: bool,
    ) -> io::Result<()> {
        let renumber = Renumber {
            read_base: id.saturating_sub(self.next),
            run_base: self.run_base,
        };
        if !renumber.is_identity() {
            if let Some(json) = &mut out.json {
                *json = Cow::Owned(renumber.json(json));
            }
            if let Some(report) = &mut out.report {
                renumber.report(report);
            }
            if let Some(findings) = &mut out.unlisted {
                renumber.findings(findings);
            }
        }
        self.count_client(client_ip, 1, failing);
        self.sink.connection(out)?;
        self.next += 1;
        if self.waiting.is_empty() {
            self.spill.restart();
        }
        Ok(())
    }

    fn count_client(&mut self, ip: IpAddr, connections: u32, failing: bool) {
        let failing = u32::from(failing);
        if let Some(entry) = self.clients.get_mut(&ip) {
            entry.0 = entry.0.saturating_add(connections);
            entry.1 = entry.1.saturating_add(failing);
        } else if self.clients.len() < MAX_CLIENTS {
            self.clients.insert(ip, (connections, failing));
        } else {
            self.clients_truncated = true;
        }
    }

    /// Writes the record of capture `current` (all its connections are out) and moves on.
    fn emit_capture(&mut self, done: CaptureDone) -> io::Result<()> {
        let CaptureDone {
            index,
            mut facts,
            base,
            end_id,
            dns_lookups,
        } = done;
        let renumber = Renumber {
            read_base: base,
            run_base: self.run_base,
        };
        let count = end_id.saturating_sub(base);
        self.written.push((renumber, count));
        self.waiting.close(self.current);
        self.current += 1;
        self.next = 0;
        self.run_base += count;
        // Failed lookups wait for the end of the run, when `dns_failure` judges them.
        let capture_end_ns = facts.last_time_ns.unwrap_or_default();
        self.dns_unresolved.extend(
            dns_lookups
                .iter()
                .filter(|l| l.outcome != LookupOutcome::Resolved)
                .map(|l| (l.clone(), capture_end_ns)),
        );
        // Every connection up to this capture's last has arrived, so which of its summaries
        // stay is settled.
        if let Some(first) = self.summaries.first_dropped(index) {
            let first = first.saturating_sub(base) + renumber.run_base;
            facts.warnings.push(CaptureWarning {
                kind: "limit_reached",
                frame: None,
                message: format!(
                    "connection summaries: the cross-connection rules (duplicate client id, \
                     reconnect storm, intermittent resets) see only the first {MAX_SUMMARIES} \
                     connections of the run; connection {first} and later are judged on their \
                     own only"
                ),
            });
        }
        self.sink.capture(
            index,
            model::capture_report(&facts, dns_lookups, self.redact_ids),
        )
    }

    /// The identifying values a cross-connection finding can quote: its connections' client
    /// ids and addresses, or (for a finding on no connection, `dns_failure`) the lookups'.
    fn cross_redactor(&self, f: &crate::finding::Finding) -> Redactor {
        let mut red = Redactor::new();
        for &id in &f.connections {
            let Some(s) = self.summaries.list().get(id).filter(|s| s.id == id) else {
                continue;
            };
            red.add("ip", &s.client().ip().to_string());
            red.add("ip", &s.server().ip().to_string());
            if let Some(Ok(text)) = s.client_id().map(std::str::from_utf8) {
                red.add("client", text);
            }
            if let Some(sni) = s.sni() {
                red.add("host", sni);
            }
        }
        if f.connections.is_empty() {
            for (l, _) in &self.dns_unresolved {
                red.add("host", &l.name);
                red.add("ip", &l.client.to_string());
                red.add("ip", &l.resolver.to_string());
            }
        }
        red
    }

    /// Runs the cross-connection rules and ends the report. Returns the counts.
    pub(super) fn finish(mut self, book: &RuleBook) -> io::Result<Summary> {
        self.drain()?;
        // Every capture record is out once every connection is; flush any left (none expected).
        while let Some((_, done)) = self.captures.pop_first() {
            self.emit_capture(done)?;
        }
        // Every capture is written: ids as read become run ids.
        let mut failing_flags = Vec::with_capacity(self.run_base);
        for (index, (_, count)) in self.written.iter().enumerate() {
            let mut flags = self.failing.remove(&index).unwrap_or_default();
            flags.resize(*count, false);
            failing_flags.extend(flags);
        }
        let precision = if self.all_micros {
            Precision::Micros
        } else {
            Precision::Nanos
        };
        // The cap keeps ids 0..MAX_SUMMARIES (ids are dense), so in id order a summary's
        // index is its id.
        let written = &self.written;
        self.summaries.finish(|capture, id| {
            written
                .get(capture)
                .map_or(id, |(renumber, _)| renumber.id(id))
        });
        let mut cross = detect::cross_findings(self.summaries.list(), book, self.threads);
        cross.extend(detect::dns_failures(&self.dns_unresolved, book));
        if self.written.len() > 1 {
            cross.extend(detect::failing_in_every_capture(
                self.summaries.list(),
                &failing_flags,
                book,
            ));
        }
        for f in &cross {
            self.counts.count(f.severity);
            if f.severity < Severity::Warning {
                continue;
            }
            // A finding on no connection (a failed DNS lookup) counts once.
            *self.by_rule.entry(f.rule.to_string()).or_default() += f.connections.len().max(1);
            for &id in &f.connections {
                if let Some(flag) = failing_flags.get_mut(id)
                    && !*flag
                {
                    *flag = true;
                    self.failing_count += 1;
                    if let Some(ip) = self.summaries.list().get(id).map(|s| s.client().ip()) {
                        self.count_client(ip, 0, true);
                    }
                }
            }
        }
        let findings = cross
            .into_iter()
            .map(|f| {
                let redactor = self.redact_ids.then(|| self.cross_redactor(&f));
                let mut report = model::finding_report(f, precision);
                if let Some(red) = redactor {
                    model::redact_finding(&red, &mut report);
                }
                report
            })
            .collect();
        let mut top: Vec<(IpAddr, usize, usize)> = self
            .clients
            .iter()
            .filter(|(_, (_, failing))| *failing > 0)
            .map(|(ip, (conns, failing))| (*ip, *conns as usize, *failing as usize))
            .collect();
        top.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
        top.truncate(TOP_CLIENTS);
        let overview = Overview {
            connections: failing_flags.len(),
            failing: self.failing_count,
            failures_by_rule: self.by_rule,
            top_clients: top
                .into_iter()
                .map(|(ip, connections, failing)| ClientFailures {
                    client: if self.redact_ids {
                        redact::pseudonym("ip", &ip.to_string())
                    } else {
                        ip.to_string()
                    },
                    connections,
                    failing,
                })
                .collect(),
            clients_truncated: self.clients_truncated,
        };
        let summary = Summary {
            connections: failing_flags.len(),
            findings: self.counts,
        };
        self.sink.finish(RunEnd {
            findings,
            overview,
            summary: summary.clone(),
        })?;
        Ok(summary)
    }
}

#[cfg(test)]
mod tests {
    use crate::detect::test_support::established_plain;
    use crate::finding::{Finding, Severity, SeverityCounts};
    use crate::report::model::{
        self, ConnectionReport, Overview, Precision, ReportOptions, Summary,
    };
    use crate::report::sink::{
        ConnectionOut, HUMAN_ROWS, HumanRows, HumanSink, ReportSink, RunEnd,
    };
    use crate::test_rng::XorShift;

    /// Connection `id`: failing (a warning) or healthy (an info), with one of a few titles.
    fn report(id: usize, failing: bool) -> ConnectionReport {
        let finding = Finding {
            rule: if failing {
                "keepalive_lapse"
            } else {
                "tcp_retransmissions"
            },
            severity: if failing {
                Severity::Warning
            } else {
                Severity::Info
            },
            title: format!("title {}", id % 3),
            detail: String::new(),
            remedy: String::new(),
            alert: None,
            alert_from: None,
            connections: vec![id],
            evidence: Vec::new(),
            merged: Vec::new(),
            inferred: false,
        };
        let options = ReportOptions::default();
        model::connection_report(
            id,
            established_plain(),
            vec![finding],
            Precision::Micros,
            options,
        )
    }

    /// What a human report holds: the listed ids, and the omitted count and groups.
    fn gathered(outs: Vec<ConnectionOut<'static>>) -> String {
        let mut sink = HumanSink::new();
        for out in outs {
            sink.connection(out).unwrap();
        }
        let end = RunEnd {
            findings: Vec::new(),
            overview: Overview::default(),
            summary: Summary {
                connections: 0,
                findings: SeverityCounts::default(),
            },
        };
        sink.finish(end).unwrap();
        let report = sink.into_report();
        let listed: Vec<usize> = report.connections.iter().map(|c| c.id).collect();
        let groups: Vec<_> = report
            .omitted
            .findings
            .iter()
            .map(|(f, n)| (f.rule.clone(), f.title.clone(), *n, f.connections.clone()))
            .collect();
        format!("{listed:?} {} {groups:?}", report.omitted.connections)
    }

    #[test]
    fn a_human_report_lists_the_first_thousand_then_failing_ones_in_place_of_healthy_ones() {
        // 0..1000: even ids healthy, odd failing; then 300 failing, then 200 healthy.
        let failing = |id: usize| {
            if id < HUMAN_ROWS {
                id % 2 == 1
            } else {
                id < 1_300
            }
        };
        let mut sink = HumanSink::new();
        for id in 0..1_500 {
            let out = ConnectionOut {
                report: Some(Box::new(report(id, failing(id)))),
                unlisted: None,
                json: None,
            };
            sink.connection(out).unwrap();
        }
        let report = sink.into_report();
        let mut listed: Vec<usize> = report.connections.iter().map(|c| c.id).collect();
        listed.sort_unstable();
        // The 300 later failing ones took the places of the first 300 healthy ones (0..600).
        let want: Vec<usize> = (0..1_300)
            .filter(|&id| failing(id) || (600..HUMAN_ROWS).contains(&id))
            .collect();
        assert_eq!(listed, want);
        // Left out: those 300 healthy ones and the last 200, their findings merged by title.
        assert_eq!(report.omitted.connections, 500);
        let mut omitted: Vec<usize> = Vec::new();
        for (f, repeats) in &report.omitted.findings {
            assert_eq!(f.connections.len(), *repeats, "{}", f.title);
            omitted.extend(&f.connections);
        }
        omitted.sort_unstable();
        let want: Vec<usize> = (0..600).step_by(2).chain(1_300..1_500).collect();
        assert_eq!(omitted, want);
        assert_eq!(report.omitted.findings.len(), 3, "one group per title");
    }

    #[test]
    fn reports_cut_to_their_findings_are_never_ones_a_human_report_lists() {
        // Runs where failing connections are rare, common, or most: in each, arrivals in a
        // shuffled order decide which reports are cut; the report gathered in id order must be
        // the same as from the whole reports, and the cuts must have happened.
        let mut rng = XorShift::new(11);
        for failing_in_ten in [1, 5, 9] {
            let n = 3 * HUMAN_ROWS;
            let failing: Vec<bool> = (0..n)
                .map(|_| rng.next_u64() % 10 < failing_in_ten)
                .collect();
            let mut order: Vec<usize> = (0..n).collect();
            for i in (1..n).rev() {
                let j = usize::try_from(rng.next_u64() % (i as u64 + 1)).unwrap_or(0);
                order.swap(i, j);
            }
            let mut rows = HumanRows::default();
            let mut cut = vec![false; n];
            for &id in &order {
                cut[id] = rows.surely_unlisted(0, id, failing[id]);
            }
            assert!(
                cut.iter().filter(|&&c| c).count() > HUMAN_ROWS / 2,
                "{failing_in_ten}"
            );
            let whole = (0..n).map(|id| ConnectionOut {
                report: Some(Box::new(report(id, failing[id]))),
                unlisted: None,
                json: None,
            });
            let slim = (0..n).map(|id| {
                let r = report(id, failing[id]);
                let (report, unlisted) = if cut[id] {
                    (None, Some(r.findings))
                } else {
                    (Some(Box::new(r)), None)
                };
                ConnectionOut {
                    report,
                    unlisted,
                    json: None,
                }
            });
            assert_eq!(
                gathered(whole.collect()),
                gathered(slim.collect()),
                "{failing_in_ten} in ten failing"
            );
        }
    }
}
