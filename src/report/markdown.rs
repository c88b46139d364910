//! Markdown for support tickets: capture facts, one row per connection, UTC times, Wireshark
//! frame numbers, and no secrets (the model holds none unless `--reveal`).

use super::chains::{connection_list, describe, server_chains};
use super::model::Report;
use std::io::{self, Write};

/// Escapes the characters that would break a Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', "<br>")
}

pub fn write(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "# mqpcap report\n")?;
    for capture in &report.captures {
        writeln!(
            out,
            "- `{}`: {}, {}, {} frames, {} to {}, sha256 `{}`",
            capture.path,
            capture.format,
            capture.link_types.join(", "),
            capture.frames,
            capture.first_time.as_deref().unwrap_or("-"),
            capture.last_time.as_deref().unwrap_or("-"),
            capture.sha256
        )?;
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
    for c in &report.connections {
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
            .map(|m| format!("client id `{}`, {}", m.client_id_text(), m.connack_text()))
            .unwrap_or_default();
        writeln!(
            out,
            "| {} | {} | {}:{} | {}:{} | {} | {}-{} | {} {} | {} | {} |",
            c.id,
            c.tcp_stream,
            c.client.ip,
            c.client.port,
            c.server.ip,
            c.server.port,
            c.start,
            c.first_frame,
            c.last_frame,
            c.tcp.state,
            c.tcp.history,
            cell(&tls),
            cell(&mqtt)
        )?;
    }
    let findings: Vec<_> = report
        .connections
        .iter()
        .flat_map(|c| c.findings.iter())
        .chain(report.findings.iter())
        .collect();
    if !findings.is_empty() {
        writeln!(out, "\n## Findings\n")?;
        for f in findings {
            let conns: Vec<String> = f.connections.iter().map(ToString::to_string).collect();
            let frames: Vec<String> = f.evidence.iter().map(|e| e.frame.to_string()).collect();
            writeln!(
                out,
                "- **{}** `{}` (connection {}; frames {}): {}\n  {}\n  *What to do:* {}",
                f.severity,
                f.rule,
                conns.join(", "),
                frames.join(", "),
                f.title,
                f.detail,
                f.remedy
            )?;
        }
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
    Ok(())
}
