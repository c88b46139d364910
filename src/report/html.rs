//! A self-contained HTML page for support tickets: the findings first (with their evidence
//! frames, which match Wireshark's), then the captures and one row per connection. No script,
//! no external resource; every text from the capture is escaped. Secrets are not in the model
//! unless `--reveal`, so they cannot appear here either.

use super::chains::{connection_list, describe, server_chains};
use super::model::{ConnectionReport, Finding, Report};
use std::io::{self, Write};

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
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

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;color:#222}\
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .6em;\
vertical-align:top;text-align:left}th{background:#f3f3f3}.error{color:#b00020}\
.warning{color:#a05a00}.info{color:#555}code{font-size:.95em}";

fn finding_html(f: &Finding, out: &mut dyn Write) -> io::Result<()> {
    let connections: Vec<String> = f.connections.iter().map(usize::to_string).collect();
    writeln!(
        out,
        "<li><b class=\"{sev}\">{sev}</b> <code>{rule}</code> {title} <small>(connections {conns})</small>",
        sev = escape(&f.severity),
        rule = escape(&f.rule),
        title = escape(&f.title),
        conns = escape(&connections.join(", "))
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
    writeln!(out, "</li>")
}

fn connection_row(c: &ConnectionReport, out: &mut dyn Write) -> io::Result<()> {
    let tls = c
        .tls
        .as_ref()
        .map(|t| {
            let sni = t.sni_text();
            let version = t
                .server_hello
                .as_ref()
                .map(|sh| format!("{} {}", sh.version, sh.cipher_suite))
                .unwrap_or_else(|| "no ServerHello".into());
            format!("SNI {sni}; {version}")
        })
        .unwrap_or_default();
    let mqtt = c
        .mqtt
        .as_ref()
        .map(|m| format!("client id {}; {}", m.client_id_text(), m.connack_text()))
        .unwrap_or_default();
    let close = match c.tcp.close.by {
        Some(by) => format!("{:?} by {by}", c.tcp.close.how).to_lowercase(),
        None => "open at end".into(),
    };
    writeln!(
        out,
        "<tr><td>{}</td><td>{}</td><td>{}:{}</td><td>{}:{}</td><td>{}</td><td>{}-{}</td>\
         <td>{} {}<br>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        c.id,
        c.tcp_stream,
        escape(&c.client.ip),
        c.client.port,
        escape(&c.server.ip),
        c.server.port,
        escape(&c.start),
        c.first_frame,
        c.last_frame,
        escape(&c.tcp.state),
        escape(&c.tcp.history),
        escape(&close),
        escape(&tls),
        escape(&mqtt),
        c.findings.len()
    )
}

pub fn write(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>mqpcap report</title><style>{STYLE}</style></head><body>"
    )?;
    writeln!(out, "<h1>mqpcap report</h1>")?;
    let s = &report.summary;
    writeln!(
        out,
        "<p>{} connections: {} errors, {} warnings, {} infos. Times are UTC; frame numbers \
         are Wireshark's.</p>",
        s.connections, s.errors, s.warnings, s.infos
    )?;

    writeln!(out, "<h2>Findings</h2>")?;
    let all: Vec<&Finding> = report
        .connections
        .iter()
        .flat_map(|c| c.findings.iter())
        .chain(report.findings.iter())
        .collect();
    if all.is_empty() {
        writeln!(out, "<p>None.</p>")?;
    } else {
        writeln!(out, "<ul>")?;
        for severity in ["error", "warning", "info"] {
            for f in all.iter().filter(|f| f.severity == severity) {
                finding_html(f, out)?;
            }
        }
        writeln!(out, "</ul>")?;
    }

    writeln!(out, "<h2>Captures</h2><ul>")?;
    for c in &report.captures {
        writeln!(
            out,
            "<li><code>{}</code>: {}, {}, {} frames, {} to {}, sha256 <code>{}</code></li>",
            escape(&c.path),
            escape(c.format),
            escape(&c.link_types.join(", ")),
            c.frames,
            escape(c.first_time.as_deref().unwrap_or("-")),
            escape(c.last_time.as_deref().unwrap_or("-")),
            escape(&c.sha256)
        )?;
        for w in &c.warnings {
            let at = w.frame.map(|f| format!(" (frame {f})")).unwrap_or_default();
            writeln!(out, "<li>warning{at}: {}</li>", escape(&w.message))?;
        }
    }
    writeln!(out, "</ul>")?;

    writeln!(out, "<h2>Connections</h2>")?;
    writeln!(
        out,
        "<table><tr><th>#</th><th>stream</th><th>client</th><th>server</th><th>start</th>\
         <th>frames</th><th>TCP</th><th>TLS</th><th>MQTT</th><th>findings</th></tr>"
    )?;
    for c in &report.connections {
        connection_row(c, out)?;
    }
    writeln!(out, "</table>")?;
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
