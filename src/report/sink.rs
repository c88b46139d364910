//! Where a run's report goes as it is made: connections arrive in id order as they end, each
//! capture's record after its connections, and the findings across connections, the overview
//! and the counts at the end.
//!
//! - [`JsonDocumentSink`] writes the JSON document as it goes (`--format json`): the
//!   connections array first, one connection a line, then captures, findings, overview and
//!   summary; nothing is held but the capture records.
//! - [`JsonLinesSink`] writes one typed record a line (`--format jsonl`): `connection`,
//!   `capture`, `finding`.
//! - [`HumanSink`] gathers a [`Report`] for the table, Markdown and HTML, keeping every
//!   connection of a small run but, past [`HUMAN_ROWS`], only failing ones (up to the same
//!   cap) with the findings of the others merged per rule: memory stays bounded.

use super::model::{
    CaptureReport, ConnectionReport, Finding, Omitted, Overview, Report, SCHEMA, Summary, Tool,
};
use crate::finding::{Severity, SeverityCounts};
use std::borrow::Cow;
use std::collections::BinaryHeap;
use std::io::{self, Write};

/// Connections a human report lists one by one.
pub(crate) const HUMAN_ROWS: usize = 1_000;

/// A connection as it leaves the engine: its report, and its compact JSON when the sink
/// writes JSON (serialised by the worker that built it, in parallel; borrowed when it is
/// written straight from the worker's text).
#[derive(Debug)]
pub(crate) struct ConnectionOut<'a> {
    /// The report, when the sink gathers reports (human formats).
    pub report: Option<Box<ConnectionReport>>,
    /// Instead of `report`, for a connection a human report surely does not list one by one
    /// ([`HumanRows`]): its findings, which the report merges per rule.
    pub unlisted: Option<Vec<Finding>>,
    /// The connection object as compact JSON (no trailing newline), when asked for.
    pub json: Option<Cow<'a, str>>,
}

impl<'a> ConnectionOut<'a> {
    /// The compact JSON: as serialised by the worker, else made from the report.
    pub(crate) fn into_json(self) -> io::Result<Cow<'a, str>> {
        match self.json {
            Some(json) => Ok(json),
            None => Ok(Cow::Owned(serde_json::to_string(&self.report)?)),
        }
    }
}

/// Which connections a human report surely does not list one by one, told as they finish in
/// any order, so that the engine need not hold their whole reports until their turn (a fleet
/// capture's connections wait behind a long early one by the ten thousand). [`HumanSink`]
/// lists the first [`HUMAN_ROWS`] connections of the run, and each later failing one takes
/// the place of a healthy one while any is listed. So a healthy connection past the first
/// `HUMAN_ROWS` is never listed, nor a failing one that `HUMAN_ROWS` failing ones precede:
/// by its turn they fill the list. Positions are within a capture, which the run's never
/// undercut; order is (capture, position), the run's.
#[derive(Debug, Default)]
pub(crate) struct HumanRows {
    /// The earliest `HUMAN_ROWS` failing connections seen so far, latest on top.
    first_failing: BinaryHeap<(usize, usize)>,
}

impl HumanRows {
    /// Whether a healthy connection at `position` of its capture is surely not listed: it is
    /// past the first [`HUMAN_ROWS`] of the run. Needs no other connection, so a worker can
    /// tell on its own.
    pub(crate) fn healthy_unlisted(position: usize) -> bool {
        position >= HUMAN_ROWS
    }

    /// Whether connection `position` of capture `capture` is surely not listed; notes it when
    /// it is `failing` (a warning or error finding of its own, as [`HumanSink`] counts).
    pub(crate) fn surely_unlisted(
        &mut self,
        capture: usize,
        position: usize,
        failing: bool,
    ) -> bool {
        if !failing {
            return HumanRows::healthy_unlisted(position);
        }
        let key = (capture, position);
        if self.first_failing.len() < HUMAN_ROWS {
            self.first_failing.push(key);
            return false;
        }
        match self.first_failing.peek_mut() {
            Some(mut latest) if key < *latest => {
                *latest = key;
                false
            }
            _ => true,
        }
    }
}

/// What comes at the end of a run.
#[derive(Debug)]
pub(crate) struct RunEnd {
    pub findings: Vec<Finding>,
    pub overview: Overview,
    pub summary: Summary,
}

/// Receives a run's report in order (see the module documentation).
pub(crate) trait ReportSink {
    /// True when connections should come with their compact JSON.
    fn wants_json(&self) -> bool;
    fn connection(&mut self, connection: ConnectionOut<'_>) -> io::Result<()>;
    fn capture(&mut self, index: usize, capture: CaptureReport) -> io::Result<()>;
    fn finish(&mut self, end: RunEnd) -> io::Result<()>;
}

fn tool() -> Tool {
    Tool {
        name: "mqpcap",
        version: env!("CARGO_PKG_VERSION"),
    }
}

/// `--format json`, streamed.
pub(crate) struct JsonDocumentSink<'a> {
    out: &'a mut dyn Write,
    started: bool,
    connections: usize,
    captures: Vec<CaptureReport>,
}

impl<'a> JsonDocumentSink<'a> {
    pub(crate) fn new(out: &'a mut dyn Write) -> Self {
        JsonDocumentSink {
            out,
            started: false,
            connections: 0,
            captures: Vec::new(),
        }
    }

    fn start(&mut self) -> io::Result<()> {
        if !self.started {
            self.started = true;
            write!(self.out, "{{\n  \"schema\": ")?;
            serde_json::to_writer(&mut *self.out, SCHEMA)?;
            write!(self.out, ",\n  \"tool\": ")?;
            serde_json::to_writer(&mut *self.out, &tool())?;
            write!(self.out, ",\n  \"connections\": [")?;
        }
        Ok(())
    }

    /// Writes `"name": value` with the value pretty-printed at the document's second level.
    fn field(&mut self, name: &str, value: &impl serde::Serialize, last: bool) -> io::Result<()> {
        let text = serde_json::to_string_pretty(value)?;
        write!(self.out, "  \"{name}\": {}", text.replace('\n', "\n  "))?;
        writeln!(self.out, "{}", if last { "" } else { "," })
    }
}

impl ReportSink for JsonDocumentSink<'_> {
    fn wants_json(&self) -> bool {
        true
    }

    fn connection(&mut self, connection: ConnectionOut<'_>) -> io::Result<()> {
        self.start()?;
        let json = connection.into_json()?;
        let separator = if self.connections == 0 { "" } else { "," };
        write!(self.out, "{separator}\n    {json}")?;
        self.connections += 1;
        Ok(())
    }

    fn capture(&mut self, _index: usize, capture: CaptureReport) -> io::Result<()> {
        self.captures.push(capture);
        Ok(())
    }

    fn finish(&mut self, end: RunEnd) -> io::Result<()> {
        self.start()?;
        if self.connections > 0 {
            write!(self.out, "\n  ")?;
        }
        writeln!(self.out, "],")?;
        let captures = std::mem::take(&mut self.captures);
        self.field("captures", &captures, false)?;
        self.field("findings", &end.findings, false)?;
        self.field("overview", &end.overview, false)?;
        self.field("summary", &end.summary, true)?;
        writeln!(self.out, "}}")
    }
}

/// `--format jsonl`: every line one record that stands alone.
pub(crate) struct JsonLinesSink<'a> {
    out: &'a mut dyn Write,
}

impl<'a> JsonLinesSink<'a> {
    pub(crate) fn new(out: &'a mut dyn Write) -> Self {
        JsonLinesSink { out }
    }

    /// Writes `{"record":KIND,` then the object `json` without its opening brace.
    fn record(&mut self, kind: &str, extra: &str, json: &str) -> io::Result<()> {
        let body = json.strip_prefix('{').unwrap_or(json);
        let comma = if body.starts_with('}') { "" } else { "," };
        writeln!(self.out, "{{\"record\":\"{kind}\"{extra}{comma}{body}")
    }
}

impl ReportSink for JsonLinesSink<'_> {
    fn wants_json(&self) -> bool {
        true
    }

    fn connection(&mut self, connection: ConnectionOut<'_>) -> io::Result<()> {
        let json = connection.into_json()?;
        self.record("connection", "", &json)
    }

    fn capture(&mut self, index: usize, capture: CaptureReport) -> io::Result<()> {
        let json = serde_json::to_string(&capture)?;
        self.record("capture", &format!(",\"capture\":{index}"), &json)
    }

    fn finish(&mut self, end: RunEnd) -> io::Result<()> {
        for finding in &end.findings {
            let json = serde_json::to_string(finding)?;
            self.record("finding", "", &json)?;
        }
        Ok(())
    }
}

/// Gathers a bounded [`Report`] for the human formats.
#[derive(Debug, Default)]
pub(crate) struct HumanSink {
    connections: Vec<ConnectionReport>,
    captures: Vec<CaptureReport>,
    omitted: Omitted,
    /// Index into `omitted.findings` by (rule, severity, title).
    groups: std::collections::HashMap<(String, Severity, String), usize>,
    /// Healthy connections among those kept.
    healthy_kept: usize,
    end: Option<RunEnd>,
}

impl HumanSink {
    pub(crate) fn new() -> Self {
        HumanSink::default()
    }

    /// The report gathered; call after [`ReportSink::finish`].
    pub(crate) fn into_report(self) -> Report {
        let end = self.end.unwrap_or(RunEnd {
            findings: Vec::new(),
            overview: Overview::default(),
            summary: Summary {
                connections: 0,
                findings: SeverityCounts::default(),
            },
        });
        Report {
            schema: SCHEMA,
            tool: tool(),
            captures: self.captures,
            connections: self.connections,
            findings: end.findings,
            overview: end.overview,
            summary: end.summary,
            omitted: self.omitted,
        }
    }

    fn omit(&mut self, findings: Vec<Finding>) {
        self.omitted.connections += 1;
        for f in findings {
            let key = (f.rule.clone(), f.severity, f.title.clone());
            match self
                .groups
                .get(&key)
                .and_then(|&i| self.omitted.findings.get_mut(i))
            {
                Some((group, repeats)) => {
                    group.connections.extend(f.connections.iter().copied());
                    *repeats += 1;
                }
                None => {
                    self.groups.insert(key, self.omitted.findings.len());
                    self.omitted.findings.push((f, 1));
                }
            }
        }
    }
}

fn failing(findings: &[Finding]) -> bool {
    findings.iter().any(|f| f.severity >= Severity::Warning)
}

impl ReportSink for HumanSink {
    fn wants_json(&self) -> bool {
        false
    }

    fn connection(&mut self, connection: ConnectionOut<'_>) -> io::Result<()> {
        if let Some(findings) = connection.unlisted {
            self.omit(findings);
            return Ok(());
        }
        let Some(report) = connection.report.map(|r| *r) else {
            return Ok(());
        };
        if self.connections.len() < HUMAN_ROWS {
            self.healthy_kept += usize::from(!failing(&report.findings));
            self.connections.push(report);
            return Ok(());
        }
        // Past the cap: a failing connection takes the place of the first healthy one kept.
        if failing(&report.findings)
            && self.healthy_kept > 0
            && let Some(pos) = self.connections.iter().position(|c| !failing(&c.findings))
        {
            let healthy = self.connections.remove(pos);
            self.healthy_kept -= 1;
            self.omit(healthy.findings);
            self.connections.push(report);
        } else {
            self.omit(report.findings);
        }
        Ok(())
    }

    fn capture(&mut self, _index: usize, capture: CaptureReport) -> io::Result<()> {
        self.captures.push(capture);
        Ok(())
    }

    fn finish(&mut self, end: RunEnd) -> io::Result<()> {
        self.end = Some(end);
        Ok(())
    }
}
