//! The drawings of the HTML report, as inline SVG (no script, no external resource): a
//! timeline of every connection (one bar from first to last packet, coloured by outcome), so
//! storms, fights over one client id and periodic drops show at once; and per failing
//! connection a sequence diagram (client and server lanes, one arrow per timeline event with
//! its time, the fatal moment marked).

use super::cells::event_label;
use super::html::escape;
use super::model::{ConnectionReport, Report, TimelineEvent};
use super::story::failing;
use crate::finding::Severity;
use std::fmt::Write as _;

/// Bars drawn in the timeline; past it, the first ones (the list says so).
const MAX_BARS: usize = 400;
/// Arrows drawn per sequence diagram.
const MAX_ARROWS: usize = 60;

/// Fill of a connection's bar: failing red, healthy green, with an info finding only grey.
fn outcome_colour(report: &Report, c: &ConnectionReport) -> &'static str {
    if failing(report, c) {
        if c.findings.iter().any(|f| f.severity == Severity::Error)
            || report
                .findings
                .iter()
                .any(|f| f.severity == Severity::Error && f.connections.contains(&c.id))
        {
            "#c62828"
        } else {
            "#ef6c00"
        }
    } else {
        "#2e7d32"
    }
}

/// The timeline of all connections (empty when there is none).
pub(crate) fn timeline(report: &Report) -> String {
    let conns: Vec<&ConnectionReport> = report.connections.iter().take(MAX_BARS).collect();
    let Some(t0) = conns.iter().map(|c| c.start_ns).min() else {
        return String::new();
    };
    let end_of = |c: &ConnectionReport| c.start_ns + (c.duration_s * 1e9) as i64;
    let t1 = conns
        .iter()
        .map(|c| end_of(c))
        .max()
        .unwrap_or(t0)
        .max(t0 + 1);
    let span = (t1 - t0) as f64;
    let (left, width, row) = (60.0, 860.0, 12.0);
    let height = row * conns.len() as f64 + 30.0;
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg class=\"timeline\" viewBox=\"0 0 940 {height}\" role=\"img\" \
         aria-label=\"Timeline of {} connections\">",
        conns.len()
    );
    for (i, c) in conns.iter().enumerate() {
        let y = row * i as f64;
        let x = left + (c.start_ns - t0) as f64 / span * width;
        let w = ((end_of(c) - c.start_ns) as f64 / span * width).max(2.0);
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" class=\"lbl\">#{}</text>\
             <rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"9\" fill=\"{}\">\
             <title>#{} {}:{} -&gt; {}:{}, {:.3} s</title></rect>",
            left - 6.0,
            y + 9.0,
            c.id,
            y + 1.0,
            outcome_colour(report, c),
            c.id,
            escape(&c.client.ip),
            c.client.port,
            escape(&c.server.ip),
            c.server.port,
            c.duration_s
        );
    }
    let y = row * conns.len() as f64 + 20.0;
    let _ = write!(
        svg,
        "<text x=\"{left}\" y=\"{y:.1}\" class=\"lbl\" text-anchor=\"start\">0 s</text>\
         <text x=\"{:.1}\" y=\"{y:.1}\" class=\"lbl\">{:.3} s</text></svg>",
        left + width,
        span / 1e9
    );
    svg + &cut_note(MAX_BARS, report.connections.len(), "connections")
}

/// Says that only the first `shown` of `total` items were drawn (empty when all were).
fn cut_note(shown: usize, total: usize, what: &str) -> String {
    if total > shown {
        format!("<p>The first {shown} of {total} {what} are drawn.</p>")
    } else {
        String::new()
    }
}

/// The sequence diagram of one connection from its timeline (empty when it has none).
pub(crate) fn sequence(c: &ConnectionReport) -> String {
    if c.events.is_empty() {
        return String::new();
    }
    let events: Vec<&TimelineEvent> = c.events.iter().take(MAX_ARROWS).collect();
    // The fatal moment: the last evidence frame of each error finding.
    let fatal: Vec<u64> = c
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .filter_map(|f| f.evidence.iter().map(|e| e.frame).max())
        .collect();
    let t0 = events.first().map_or(0, |e| e.time_ns);
    let (client_x, server_x, row) = (170.0, 640.0, 22.0);
    let height = 40.0 + row * events.len() as f64;
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg class=\"sequence\" viewBox=\"0 0 800 {height}\" role=\"img\" \
         aria-label=\"Sequence of connection {}\">\
         <text x=\"{client_x}\" y=\"14\" class=\"lane\">client {}:{}</text>\
         <text x=\"{server_x}\" y=\"14\" class=\"lane\">server {}:{}</text>\
         <line x1=\"{client_x}\" y1=\"20\" x2=\"{client_x}\" y2=\"{height}\" class=\"life\"/>\
         <line x1=\"{server_x}\" y1=\"20\" x2=\"{server_x}\" y2=\"{height}\" class=\"life\"/>",
        c.id,
        escape(&c.client.ip),
        c.client.port,
        escape(&c.server.ip),
        c.server.port
    );
    for (i, e) in events.iter().enumerate() {
        let y = 36.0 + row * i as f64;
        let (x1, x2) = if e.from == "client" {
            (client_x, server_x)
        } else {
            (server_x, client_x)
        };
        let is_fatal = fatal.contains(&e.frame);
        let class = if is_fatal { "arrow fatal" } else { "arrow" };
        let ms = (e.time_ns - t0) as f64 / 1e6;
        let _ = write!(
            svg,
            "<text x=\"8\" y=\"{:.1}\" class=\"time\">#{} +{ms:.1} ms</text>\
             <line x1=\"{x1}\" y1=\"{y:.1}\" x2=\"{x2}\" y2=\"{y:.1}\" class=\"{class}\" \
             marker-end=\"url(#{}{})\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" class=\"msg{}\">{}</text>",
            y + 4.0,
            e.frame,
            if is_fatal { "headf" } else { "head" },
            c.id,
            (client_x + server_x) / 2.0,
            y - 4.0,
            if is_fatal { " fatal" } else { "" },
            escape(&event_label(e))
        );
    }
    let _ = write!(
        svg,
        "<defs><marker id=\"head{id}\" markerWidth=\"8\" markerHeight=\"8\" refX=\"7\" \
         refY=\"4\" orient=\"auto\" markerUnits=\"userSpaceOnUse\"><path d=\"M0,0 L8,4 L0,8 z\" fill=\"#444\"/></marker>\
         <marker id=\"headf{id}\" markerWidth=\"8\" markerHeight=\"8\" refX=\"7\" refY=\"4\" \
         orient=\"auto\" markerUnits=\"userSpaceOnUse\"><path d=\"M0,0 L8,4 L0,8 z\" fill=\"#c62828\"/></marker></defs></svg>",
        id = c.id
    );
    svg + &cut_note(MAX_ARROWS, c.events.len(), "events")
}
