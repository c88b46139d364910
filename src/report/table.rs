//! The human table: one row per connection, multi-line cells so it stays narrow, then the
//! capture warnings. Free to change (not part of CONTRACT.md), but snapshot-tested.

use super::chains::{connection_list, describe, server_chains};
use super::model::{BytesText, ConnectionReport, Finding, Report};
use comfy_table::{ContentArrangement, Table, presets};
use std::io::{self, Write};

/// Table options (not part of the report model: JSON always has every connection).
#[derive(Debug, Clone, Copy, Default)]
pub struct TableOptions {
    /// Hide connections without a warning or error finding (`--only-failures`).
    pub only_failures: bool,
}

pub fn write(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    write_with(report, out, TableOptions::default())
}

fn serious(f: &Finding) -> bool {
    f.severity == "error" || f.severity == "warning"
}

/// True when a connection has a finding of severity warning or error, its own or one across
/// connections that names it.
fn failing(report: &Report, c: &ConnectionReport) -> bool {
    c.findings.iter().any(serious)
        || report
            .findings
            .iter()
            .any(|f| serious(f) && f.connections.contains(&c.id))
}

pub fn write_with(report: &Report, out: &mut dyn Write, options: TableOptions) -> io::Result<()> {
    for (index, capture) in report.captures.iter().enumerate() {
        let span = match (&capture.first_time, &capture.last_time) {
            (Some(first), Some(last)) => format!(", {first} .. {last}"),
            _ => String::new(),
        };
        writeln!(
            out,
            "capture {index}: {} ({}, {}, {} frames{span})",
            capture.path,
            capture.format,
            capture.link_types.join(", "),
            capture.frames
        )?;
        for w in &capture.warnings {
            let at = w
                .frame
                .map(|f| format!(" at frame {f}"))
                .unwrap_or_default();
            writeln!(out, "  warning{at}: {} ({})", w.message, w.kind)?;
        }
    }
    if report.connections.is_empty() {
        writeln!(out, "no TCP connections")?;
        return Ok(());
    }
    let mut table = Table::new();
    table
        .load_style(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(vec![
            "#",
            "stream",
            "client -> server",
            "start (UTC), duration",
            "TCP",
            "TLS",
            "MQTT",
        ]);
    let many_captures = report.captures.len() > 1;
    let mut hidden = 0usize;
    for c in &report.connections {
        if options.only_failures && !failing(report, c) {
            hidden += 1;
            continue;
        }
        let id = if many_captures {
            format!("{}\n(capture {})", c.id, c.capture)
        } else {
            c.id.to_string()
        };
        table.add_row(vec![
            id,
            c.tcp_stream.to_string(),
            format!(
                "{}:{}\n-> {}:{}",
                host(&c.client.ip),
                c.client.port,
                host(&c.server.ip),
                c.server.port
            ),
            format!("{}\n{:.3} s", clock(&c.start), c.duration_s),
            tcp_cell(c),
            tls_cell(c),
            mqtt_cell(c),
        ]);
    }
    if hidden < report.connections.len() {
        writeln!(out, "{table}")?;
    }
    if hidden > 0 {
        writeln!(
            out,
            "({hidden} healthy connection{} hidden by --only-failures)",
            plural(hidden)
        )?;
    }
    write_findings(report, out, options)?;
    write_chains(report, out)?;
    let s = &report.summary;
    writeln!(
        out,
        "{} connection{}: {} error{}, {} warning{}, {} info{}",
        s.connections,
        plural(s.connections),
        s.errors,
        plural(s.errors),
        s.warnings,
        plural(s.warnings),
        s.infos,
        plural(s.infos)
    )
}

/// Rules whose story is the server's certificate chain: the terminal shows the chain then.
const CHAIN_RULES: &[&str] = &[
    "cert_expired",
    "cert_not_yet_valid",
    "hostname_mismatch",
    "intermediate_missing",
    "cert_chain_order",
    "clock_skew_suspected",
    "tls_alert",
];

/// The chains of the connections with a certificate finding (the terminal keeps the rest out;
/// Markdown and HTML list every chain).
fn write_chains(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let concerned = |id: usize| {
        report.connections.iter().any(|c| {
            c.id == id
                && c.findings
                    .iter()
                    .any(|f| serious(f) && CHAIN_RULES.contains(&f.rule.as_str()))
        })
    };
    let chains: Vec<_> = server_chains(report)
        .into_iter()
        .filter(|seen| seen.connections.iter().any(|&id| concerned(id)))
        .collect();
    for seen in chains {
        writeln!(
            out,
            "certificate chain sent to connection {} (frame {}):",
            connection_list(&seen.connections),
            seen.frame
        )?;
        for i in 0..seen.chain.len() {
            writeln!(out, "  {}. {}", i + 1, describe(seen.chain, i))?;
        }
    }
    Ok(())
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// The findings after the connection table: severity, rule, title (with the remedy below it),
/// connections, key frames. Errors first, then warnings, then infos; within a severity in
/// connection order.
fn write_findings(report: &Report, out: &mut dyn Write, options: TableOptions) -> io::Result<()> {
    let mut rows: Vec<&Finding> = report
        .connections
        .iter()
        .filter(|c| !options.only_failures || failing(report, c))
        .flat_map(|c| c.findings.iter())
        .chain(report.findings.iter())
        .filter(|f| !options.only_failures || f.severity != "info")
        .collect();
    if rows.is_empty() {
        return Ok(());
    }
    let rank = |f: &Finding| match f.severity.as_str() {
        "error" => 0,
        "warning" => 1,
        _ => 2,
    };
    rows.sort_by_key(|f| (rank(f), f.connections.first().copied()));
    // The same finding on many connections (a storm of refused logins) is one row listing
    // them, with the first one's detail and frames.
    let mut groups: Vec<(&Finding, Vec<usize>, usize)> = Vec::new();
    for f in rows {
        match groups
            .iter_mut()
            .find(|(g, _, _)| g.rule == f.rule && g.severity == f.severity && g.title == f.title)
        {
            Some((_, conns, count)) => {
                conns.extend(f.connections.iter().copied());
                *count += 1;
            }
            None => groups.push((f, f.connections.clone(), 1)),
        }
    }
    let mut table = Table::new();
    table
        .load_style(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(vec![
            "severity",
            "rule",
            "finding / what to do",
            "conn",
            "frames",
        ]);
    for (f, mut conns, count) in groups {
        conns.sort_unstable();
        conns.dedup();
        let conns = id_ranges(&conns);
        let mut frames: Vec<u64> = f.evidence.iter().map(|e| e.frame).collect();
        frames.dedup();
        let frames: Vec<String> = frames.iter().take(6).map(|n| format!("#{n}")).collect();
        let title = if count > 1 {
            format!("{} (x{count}; details of the first)", f.title)
        } else {
            f.title.clone()
        };
        table.add_row(vec![
            f.severity.clone(),
            f.rule.clone(),
            format!(
                "{}\n{}\n-> {}",
                title,
                wrap(&f.detail, 90),
                wrap(&f.remedy, 87)
            ),
            wrap(&conns, 12),
            wrap(&frames.join(" "), 16),
        ]);
    }
    writeln!(out, "findings:")?;
    writeln!(out, "{table}")
}

/// `0-14 17 20-21`: sorted ids with runs collapsed.
fn id_ranges(ids: &[usize]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while let Some(&start) = ids.get(i) {
        let mut end = start;
        while ids.get(i + 1) == Some(&(end + 1)) {
            end += 1;
            i += 1;
        }
        parts.push(if end > start + 1 {
            format!("{start}-{end}")
        } else if end == start + 1 {
            format!("{start} {end}")
        } else {
            start.to_string()
        });
        i += 1;
    }
    parts.join(" ")
}

/// Greedy word wrap at `width` characters (cells stay narrow; comfy-table does not wrap when
/// content arrangement is disabled).
fn wrap(text: &str, width: usize) -> String {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines.join("\n")
}

/// IPv6 addresses in brackets so the port stays readable.
fn host(ip: &str) -> String {
    if ip.contains(':') {
        format!("[{ip}]")
    } else {
        ip.to_string()
    }
}

/// `2026-11-22T05:18:58.123456Z` -> `2026-11-22 05:18:58.123`.
fn clock(rfc3339: &str) -> String {
    let mut s = rfc3339.replacen('T', " ", 1);
    if let Some(dot) = s.find('.') {
        s.truncate((dot + 4).min(s.len()));
    }
    s.trim_end_matches('Z').to_string()
}

fn tcp_cell(c: &ConnectionReport) -> String {
    let tcp = &c.tcp;
    let mut lines = vec![format!("{} {}", tcp.state, tcp.history)];
    let closed = match (serde_plain(&tcp.close.how).as_str(), tcp.close.by) {
        ("none", _) => "open at end".to_string(),
        (how, Some(by)) => format!("{how} by {by}"),
        (how, None) => how.to_string(),
    };
    let frame = tcp
        .close
        .frame
        .map(|f| format!(" #{f}"))
        .unwrap_or_default();
    lines.push(format!("{closed}{frame}"));
    if !tcp.handshake_seen {
        lines.push("mid-stream".into());
    }
    if tcp.retransmissions > 0 {
        lines.push(format!("{} retrans", tcp.retransmissions));
    }
    if tcp.missing_bytes > 0 {
        lines.push(format!("{} B missing", tcp.missing_bytes));
    }
    lines.join("\n")
}

fn tls_cell(c: &ConnectionReport) -> String {
    let Some(tls) = &c.tls else {
        return match serde_plain(&c.protocol).as_str() {
            "unknown" => "(not TLS/MQTT)".into(),
            _ => String::new(),
        };
    };
    let mut lines = Vec::new();
    if let Some(ch) = &tls.client_hello {
        lines.push(format!("SNI {}", ch.sni.as_deref().unwrap_or("-")));
        lines.push(format!("offers {}", ch.max_version));
    }
    if let Some(sh) = &tls.server_hello {
        lines.push(format!("{} {}", sh.version, sh.cipher_suite));
    }
    for a in &tls.alerts {
        let what = if a.encrypted {
            format!("encrypted alert ({} B)", a.record_len)
        } else {
            format!(
                "{} {}",
                a.level.unwrap_or("?"),
                a.description.as_deref().unwrap_or("?")
            )
        };
        lines.push(format!("{what} from {} #{}", a.from, a.frame));
    }
    if tls.established {
        lines.push("established".into());
    }
    lines.join("\n")
}

fn mqtt_cell(c: &ConnectionReport) -> String {
    let Some(m) = &c.mqtt else {
        return String::new();
    };
    let mut lines = Vec::new();
    let version = match m.protocol_version {
        Some(3) => "3.1",
        Some(4) => "3.1.1",
        Some(5) => "5.0",
        _ => "?",
    };
    let guessed = if m.version_guessed { "~" } else { "" };
    match &m.connect {
        Some(connect) => lines.push(format!(
            "v{guessed}{version} id {} ka {}s",
            connect
                .client_id
                .as_ref()
                .map_or_else(|| "?".to_string(), BytesText::display),
            connect.keep_alive
        )),
        None => lines.push(format!("v{guessed}{version} (no CONNECT seen)")),
    }
    if let Some(ack) = &m.connack {
        lines.push(format!("CONNACK {} {}", ack.code, ack.name));
    }
    match &m.disconnect {
        Some(d) => lines.push(format!(
            "DISCONNECT by {}{}",
            d.from,
            d.reason_code
                .map(|r| format!(" rc {r}"))
                .unwrap_or_default()
        )),
        None => lines.push("no DISCONNECT".into()),
    }
    let total: u64 = m.packets.values().sum();
    lines.push(format!("{total} packets"));
    lines.join("\n")
}

/// The serde name of a unit enum value (`fin`, `unknown`), for cells.
fn serde_plain<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_ranges_collapse_runs() {
        assert_eq!(id_ranges(&[0, 1, 2, 3, 5, 7, 8]), "0-3 5 7 8");
        assert_eq!(id_ranges(&[]), "");
    }

    #[test]
    fn wrap_keeps_lines_short() {
        assert_eq!(wrap("aa bb cc", 5), "aa bb\ncc");
    }
}
