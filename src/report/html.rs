//! A self-contained HTML page for support tickets: the verdict, the findings grouped by cause
//! (with their evidence frames, which match Wireshark's, and a display filter for each), a
//! timeline of every connection, a sequence diagram per failing connection, the captures, one
//! row per connection and the certificate chains. No script,
//! no external resource; every text from the capture is escaped. Secrets are not in the model
//! unless `--reveal`, so they cannot appear here either.

use super::cells::{endpoint_lines, mqtt_cell, size_text, tcp_cell, tls_cell};
use super::chains::{connection_list, describe, server_chains};
use super::html_svg;
use super::model::{ConnectionReport, Finding, Report};
use super::story::{self, Group, failing, id_ranges};

/// Sequence diagrams drawn (the first failing connections).
const MAX_DIAGRAMS: usize = 20;
use std::io::{self, Write};

/// Escapes text for HTML element content and attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1180px;\
color:#1b1b1b;line-height:1.4}h1{font-size:1.5em}.verdict{font-size:1.15em;padding:.6em .9em;\
border-left:6px solid #2e7d32;background:#f1f8f1}.verdict.bad{border-color:#c62828;\
background:#fdf0f0}.verdict.warn{border-color:#ef6c00;background:#fff6ec}\
table{border-collapse:collapse;margin:1em 0;width:100%;table-layout:fixed}\
td,th{border:1px solid #ccc;padding:.3em .5em;vertical-align:top;text-align:left;\
overflow-wrap:anywhere;font-size:.9em}th{background:#f3f3f3}.error{color:#b00020}\
.warning{color:#8a4b00}.info{color:#455a64}code{font-size:.95em}\
li.finding{margin-bottom:1em}.filter{font-family:monospace;background:#f5f5f5;padding:0 .3em}\
svg{width:100%;height:auto;font-family:system-ui,sans-serif}svg .lbl{font-size:9px;\
text-anchor:end;fill:#333}svg .lane{font-size:12px;font-weight:bold;text-anchor:middle}\
svg .life{stroke:#999;stroke-dasharray:4 3}svg .arrow{stroke:#444;stroke-width:1.2}\
svg .arrow.fatal{stroke:#c62828;stroke-width:2.2}svg .msg{font-size:11px;text-anchor:middle}\
svg .msg.fatal{fill:#c62828;font-weight:bold}svg .time{font-size:10px;fill:#555}\
tr.failing td:first-child{border-left:4px solid #c62828}\
@media print{body{margin:0;max-width:none}.verdict{border-width:3px}a{color:inherit}}";

/// `1 error`, `3 errors`.
fn count(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

/// A Wireshark display filter that selects the frames of a finding.
fn display_filter(report: &Report, f: &Finding) -> String {
    let frames: Vec<String> = f.evidence.iter().map(|e| e.frame.to_string()).collect();
    let frames = if frames.is_empty() {
        String::new()
    } else {
        format!("frame.number in {{{}}}", frames.join(" "))
    };
    let stream = f
        .connections
        .first()
        .and_then(|id| report.connections.iter().find(|c| c.id == *id))
        .map(|c| format!("tcp.stream eq {}", c.tcp_stream));
    match (stream, frames.is_empty()) {
        (Some(s), true) => s,
        (Some(s), false) if f.connections.len() == 1 => format!("{s} && {frames}"),
        (_, _) => frames,
    }
}

fn group_html(report: &Report, g: &Group<'_>, out: &mut dyn Write) -> io::Result<()> {
    let f = g.first;
    let conns = if g.connections.is_empty() {
        "the capture".to_string()
    } else {
        format!("connections {}", id_ranges(&g.connections))
    };
    let times = if g.count > 1 {
        format!(", {} times; details of the first", g.count)
    } else {
        String::new()
    };
    writeln!(
        out,
        "<li class=\"finding\"><b class=\"{sev}\">{sev}</b> <code>{rule}</code> <b>{title}</b> \
         <small>({conns}{times})</small>",
        sev = f.severity,
        rule = escape(&f.rule),
        title = escape(&f.title),
        conns = escape(&conns),
    )?;
    writeln!(out, "<p>{}</p>", escape(&f.detail))?;
    writeln!(out, "<p><b>What to do:</b> {}</p>", escape(&f.remedy))?;
    if !f.evidence.is_empty() {
        writeln!(out, "<ul>")?;
        for e in &f.evidence {
            writeln!(
                out,
                "<li>frame {} at {}: {}</li>",
                e.frame,
                escape(&e.time),
                escape(&e.note)
            )?;
        }
        writeln!(out, "</ul>")?;
    }
    let filter = display_filter(report, f);
    if !filter.is_empty() {
        writeln!(
            out,
            "<p>Wireshark filter: <span class=\"filter\">{}</span></p>",
            escape(&filter)
        )?;
    }
    writeln!(out, "</li>")
}

fn connection_row(report: &Report, c: &ConnectionReport, out: &mut dyn Write) -> io::Result<()> {
    let lines = |text: String| text.lines().map(escape).collect::<Vec<_>>().join("<br>");
    let endpoints = lines(endpoint_lines(c).join("\n"));
    let is_failing = failing(report, c);
    writeln!(
        out,
        "<tr{}><td>{}</td><td>{}</td><td>{}</td><td>{}<br>{:.3} s</td><td>{}-{}</td>\
         <td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        if is_failing { " class=\"failing\"" } else { "" },
        c.id,
        c.tcp_stream,
        endpoints,
        escape(&c.start),
        c.duration_s,
        c.first_frame,
        c.last_frame,
        lines(tcp_cell(c)),
        lines(tls_cell(c)),
        lines(mqtt_cell(c)),
        if is_failing {
            "<b class=\"error\">failed</b>"
        } else {
            "ok"
        }
    )
}

pub(crate) fn write(report: &Report, out: &mut dyn Write, only_failures: bool) -> io::Result<()> {
    let name = match report.captures.as_slice() {
        [one] => one.path.clone(),
        many => format!("{} captures", many.len()),
    };
    writeln!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\">\
         <title>mqpcap: {}</title><style>{STYLE}</style></head><body>",
        escape(&name)
    )?;
    writeln!(out, "<h1>mqpcap report: {}</h1>", escape(&name))?;
    let s = &report.summary;
    let tone = if s.findings.errors > 0 {
        " bad"
    } else if s.findings.warnings > 0 {
        " warn"
    } else {
        ""
    };
    writeln!(
        out,
        "<p class=\"verdict{tone}\">{}</p>",
        escape(&story::verdict(report))
    )?;
    writeln!(
        out,
        "<p>{}, {}, {}, {}. Times are UTC; frame numbers are Wireshark's.</p>",
        count(s.connections, "connection"),
        count(s.findings.errors, "error"),
        count(s.findings.warnings, "warning"),
        count(s.findings.infos, "info")
    )?;

    writeln!(out, "<h2>Findings</h2>")?;
    let groups = story::groups(report, only_failures);
    if groups.is_empty() {
        writeln!(out, "<p>None.</p>")?;
    } else {
        writeln!(out, "<ul>")?;
        for g in groups.iter().take(story::SHOWN_CAUSES) {
            group_html(report, g, out)?;
        }
        writeln!(out, "</ul>")?;
        if let Some(more) = story::more_causes(&groups) {
            writeln!(out, "<p>{}</p>", escape(&more))?;
        }
    }

    if report.connections.len() > 1 {
        writeln!(
            out,
            "<h2>Timeline</h2><p>One bar per connection, from its first to its last packet: \
             red failed, orange warning, green healthy.</p>"
        )?;
        writeln!(out, "{}", html_svg::timeline(report))?;
    }
    // One diagram per cause (its first connection with a timeline): forty refused logins are
    // one story, not forty drawings.
    let mut drawn: Vec<(usize, usize)> = Vec::new();
    for g in groups
        .iter()
        .take(story::SHOWN_CAUSES)
        .filter(|g| story::serious(g.first))
    {
        let first = g.connections.iter().find_map(|id| {
            report
                .connections
                .iter()
                .find(|c| c.id == *id && !c.events.is_empty())
        });
        if let Some(c) = first
            && !drawn.iter().any(|(id, _)| *id == c.id)
            && drawn.len() < MAX_DIAGRAMS
        {
            drawn.push((c.id, g.connections.len()));
        }
    }
    if !drawn.is_empty() {
        writeln!(out, "<h2>Failing connections, message by message</h2>")?;
        for (id, of) in drawn {
            let Some(c) = report.connections.iter().find(|c| c.id == id) else {
                continue;
            };
            let same = if of > 1 {
                format!(" <small>(the first of {of} connections with this finding)</small>")
            } else {
                String::new()
            };
            writeln!(
                out,
                "<h3>Connection {} (tcp.stream {}){same}</h3>{}",
                c.id,
                c.tcp_stream,
                html_svg::sequence(c)
            )?;
        }
    }

    writeln!(out, "<h2>Captures</h2><ul>")?;
    for c in &report.captures {
        if c.sha256.is_empty() {
            writeln!(
                out,
                "<li><code>{}</code>: not analysed</li>",
                escape(&c.path)
            )?;
        } else {
            writeln!(
                out,
                "<li><code>{}</code>: {}, {}, {}, {} frames, {} to {}, sha256 <code>{}</code></li>",
                escape(&c.path),
                size_text(c.bytes),
                escape(c.format),
                escape(&c.link_types.join(", ")),
                c.frames,
                escape(c.first_time.as_deref().unwrap_or("-")),
                escape(c.last_time.as_deref().unwrap_or("-")),
                escape(&c.sha256)
            )?;
        }
        for w in &c.warnings {
            let at = w.frame.map(|f| format!(" (frame {f})")).unwrap_or_default();
            writeln!(out, "<li>warning{at}: {}</li>", escape(&w.message))?;
        }
    }
    writeln!(out, "</ul>")?;

    writeln!(out, "<h2>Connections</h2>")?;
    writeln!(
        out,
        "<table><colgroup><col style=\"width:4%\"><col style=\"width:7%\">\
         <col style=\"width:18%\"><col style=\"width:12%\"><col style=\"width:7%\">\
         <col style=\"width:13%\"><col style=\"width:15%\"><col style=\"width:15%\">\
         <col style=\"width:9%\"></colgroup>\
         <tr><th>#</th><th>stream</th><th>client &rarr; server</th><th>start, duration</th>\
         <th>frames</th><th>TCP</th><th>TLS</th><th>MQTT</th><th>outcome</th></tr>"
    )?;
    let mut hidden = 0usize;
    for c in &report.connections {
        if only_failures && !failing(report, c) {
            hidden += 1;
            continue;
        }
        connection_row(report, c, out)?;
    }
    writeln!(out, "</table>")?;
    if hidden > 0 {
        writeln!(
            out,
            "<p>{hidden} healthy connection(s) not listed (<code>--only-failures</code>).</p>"
        )?;
    }
    let chains = server_chains(report);
    if !chains.is_empty() {
        writeln!(out, "<h2>Certificate chains sent by servers</h2><ul>")?;
        for seen in chains {
            writeln!(
                out,
                "<li>connection {} (frame {}):<ol>",
                escape(&connection_list(&seen.connections)),
                seen.frame
            )?;
            for i in 0..seen.chain.len() {
                writeln!(out, "<li>{}</li>", escape(&describe(seen.chain, i)))?;
            }
            writeln!(out, "</ol></li>")?;
        }
        writeln!(out, "</ul>")?;
    }
    writeln!(out, "</body></html>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capture_text_cannot_open_a_tag() {
        assert_eq!(
            escape("<script>alert('x')</script> & \"y\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;y&quot;"
        );
    }
}
