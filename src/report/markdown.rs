//! Markdown for support tickets: capture facts, one row per connection, UTC times, Wireshark
//! frame numbers, and no secrets (the model holds none unless `--reveal`).

use super::cells::{size_text, via_lines};
use super::chains::{connection_list, describe, server_chains};
use super::model::Report;
use super::story;
use std::io::{self, Write};

/// Escapes the characters that would break a Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', "<br>")
}

pub(crate) fn write(report: &Report, out: &mut dyn Write, only_failures: bool) -> io::Result<()> {
    let title = match report.captures.as_slice() {
        [one] => format!("mqpcap report: `{}`", one.path),
        many => format!("mqpcap report: {} captures", many.len()),
    };
    writeln!(out, "# {title}\n")?;
    writeln!(out, "**{}**\n", story::verdict(report))?;
    write_findings(report, out, only_failures)?;
    writeln!(out, "## Captures\n")?;
    for capture in &report.captures {
        if capture.sha256.is_empty() {
            writeln!(out, "- `{}`: not analysed", capture.path)?;
        } else {
            writeln!(
                out,
                "- `{}`: {}, {}, {}, {} frames, {} to {}, sha256 `{}`",
                capture.path,
                size_text(capture.bytes),
                capture.format,
                capture.link_types.join(", "),
                capture.frames,
                capture.first_time.as_deref().unwrap_or("-"),
                capture.last_time.as_deref().unwrap_or("-"),
                capture.sha256
            )?;
        }
        for w in &capture.warnings {
            let at = w.frame.map(|f| format!(" (frame {f})")).unwrap_or_default();
            writeln!(out, "  - warning{at}: {}", cell(&w.message))?;
        }
    }
    writeln!(out, "\n## Connections\n")?;
    writeln!(
        out,
        "| # | stream | client | server | start (UTC) | frames | TCP | TLS | MQTT |"
    )?;
    writeln!(out, "|---|---|---|---|---|---|---|---|---|")?;
    let mut hidden = 0usize;
    for c in &report.connections {
        if only_failures && !story::failing(report, c) {
            hidden += 1;
            continue;
        }
        let tls = c
            .tls
            .as_ref()
            .map(|t| {
                let sni = t.sni_text();
                let version = t
                    .server_hello
                    .as_ref()
                    .map(|sh| sh.version.clone())
                    .unwrap_or_else(|| "no ServerHello".into());
                let alerts: Vec<String> = t
                    .alerts
                    .iter()
                    .map(|a| {
                        format!(
                            "{} from {} (frame {})",
                            a.description.as_deref().unwrap_or("encrypted alert"),
                            a.from,
                            a.frame
                        )
                    })
                    .collect();
                format!("SNI {sni}, {version} {}", alerts.join(", "))
            })
            .unwrap_or_default();
        let mqtt = c
            .mqtt
            .as_ref()
            .map(|m| {
                let user = m
                    .connect
                    .as_ref()
                    .and_then(|c| c.username.as_ref())
                    .map(|u| format!(", user `{}`", u.display()))
                    .unwrap_or_default();
                format!(
                    "client id `{}`{user}, {}",
                    m.client_id_text(),
                    m.connack_text()
                )
            })
            .unwrap_or_default();
        writeln!(
            out,
            "| {} | {} | {}:{} | {}:{}{} | {} | {}-{} | {} {} | {} | {} |",
            c.id,
            c.tcp_stream,
            c.client.ip,
            c.client.port,
            c.server.ip,
            c.server.port,
            {
                let via = via_lines(c).join("; ");
                if via.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", cell(&via))
                }
            },
            c.start,
            c.first_frame,
            c.last_frame,
            c.tcp.state,
            c.tcp.history,
            cell(&tls),
            cell(&mqtt)
        )?;
    }
    if hidden > 0 {
        writeln!(
            out,
            "\n({hidden} healthy connection(s) not listed: `--only-failures`)"
        )?;
    }
    let chains = server_chains(report);
    if !chains.is_empty() {
        writeln!(out, "\n## Certificate chains sent by servers\n")?;
        for seen in chains {
            writeln!(
                out,
                "- connection {} (frame {}):",
                connection_list(&seen.connections),
                seen.frame
            )?;
            for i in 0..seen.chain.len() {
                writeln!(out, "  {}. {}", i + 1, cell(&describe(seen.chain, i)))?;
            }
        }
    }
    write_checklist(out)
}

/// The findings grouped by cause, root cause first, with counts and connection ranges.
fn write_findings(report: &Report, out: &mut dyn Write, only_failures: bool) -> io::Result<()> {
    let groups = story::groups(report, only_failures);
    if groups.is_empty() {
        return Ok(());
    }
    writeln!(out, "## Findings\n")?;
    for g in groups.iter().take(story::SHOWN_CAUSES) {
        let f = g.first;
        let frames: Vec<String> = f.evidence.iter().map(|e| e.frame.to_string()).collect();
        let times = if g.count > 1 {
            format!(", x{}; details of the first", g.count)
        } else {
            String::new()
        };
        let conns = if g.connections.is_empty() {
            "capture".to_string()
        } else {
            format!("connection {}", story::id_ranges(&g.connections))
        };
        writeln!(
            out,
            "- **{}** `{}` ({conns}{times}; frames {}): {}\n  {}\n  *What to do:* {}",
            f.severity,
            f.rule,
            frames.join(", "),
            f.title,
            f.detail,
            f.remedy
        )?;
    }
    if let Some(more) = story::more_causes(&groups) {
        writeln!(out, "\n{more}")?;
    }
    writeln!(out)
}

/// What a capture cannot show, for the ticket: the questions to answer beside it.
fn write_checklist(out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "\n## What the capture cannot show\n")?;
    for item in [
        "The device's configuration: broker host and port, TLS settings and CA bundle, client id, credentials, keep-alive.",
        "What changed recently: firmware, certificates (rotation, expiry), network (APN, proxy, firewall), broker version or policies.",
        "The broker's logs for these timestamps (UTC above): why it refused or closed a connection.",
        "The device's own logs and clock (a wrong clock breaks certificate checks).",
        "Anything encrypted without a key log: MQTT inside TLS is not visible unless `--keylog` was given.",
    ] {
        writeln!(out, "- [ ] {item}")?;
    }
    Ok(())
}
