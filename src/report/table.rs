//! The human report for a terminal: the verdict, the captures, one entry per connection, the
//! findings grouped by cause, the certificate chains concerned, and the counts. It fits the
//! terminal: `width` columns (from `COLUMNS`, else the terminal, else 100); a layout whose
//! table would not fit is stacked, one block per connection and per cause. Colour by
//! severity on a terminal only (never with `NO_COLOR`, in a pipe or a file). Free to change
//! (not part of docs/contract.md), but snapshot-tested.

use super::cells::{
    clock, endpoint_lines, event_label, host, mqtt_cell, size_text, tcp_cell, tls_cell, via_lines,
};
use super::chains::{connection_list, describe, server_chains};
use super::model::Report;
use super::story::{self, Group, failing, id_ranges, serious};
use crate::finding::Severity;
use comfy_table::{Cell, Color, ContentArrangement, Table, presets};
use std::io::{self, IsTerminal, Write};

/// Width when neither `COLUMNS` nor a terminal says.
pub(crate) const DEFAULT_WIDTH: usize = 100;
/// Below this, tables are not tried: the stacked layout is used.
const MIN_TABLE_WIDTH: usize = 90;

/// How the human formats are rendered (not part of the report model: JSON always has every
/// connection).
#[derive(Debug, Clone, Copy)]
pub(crate) struct TableOptions {
    /// Hide connections without a warning or error finding, and infos (`--only-failures`).
    pub only_failures: bool,
    /// Columns the table output must fit.
    pub width: usize,
    /// ANSI colour by severity.
    pub colour: bool,
    /// Add each failing connection's ladder (`--verbose`).
    pub verbose: bool,
}

impl Default for TableOptions {
    fn default() -> Self {
        TableOptions {
            only_failures: false,
            width: DEFAULT_WIDTH,
            colour: false,
            verbose: false,
        }
    }
}

impl TableOptions {
    /// Width and colour for standard output: `COLUMNS`, else the terminal's width, else 100;
    /// colour on a terminal unless `NO_COLOR` is set or `TERM` is `dumb`.
    pub(crate) fn for_stdout(only_failures: bool) -> Self {
        let tty = io::stdout().is_terminal();
        let width = std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.trim().parse::<usize>().ok())
            .filter(|&w| w >= 20)
            .or_else(|| if tty { terminal_width() } else { None })
            .unwrap_or(DEFAULT_WIDTH);
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let dumb = std::env::var("TERM").is_ok_and(|t| t == "dumb");
        TableOptions {
            only_failures,
            width,
            colour: tty && !no_color && !dumb,
            verbose: false,
        }
    }
}

/// The terminal's columns when standard output is one (comfy-table asks the terminal).
fn terminal_width() -> Option<usize> {
    Table::new().width().map(usize::from).filter(|&w| w >= 20)
}

/// `text` in the colour of `severity`; bold only without one (a verdict with no finding).
fn paint(text: &str, severity: Option<Severity>, options: TableOptions) -> String {
    if !options.colour {
        return text.to_string();
    }
    let code = match severity {
        Some(Severity::Error) => "1;31",
        Some(Severity::Warning) => "1;33",
        Some(Severity::Info) => "36",
        None => "1",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

fn severity_colour(severity: Severity) -> Color {
    match severity {
        Severity::Error => Color::Red,
        Severity::Warning => Color::Yellow,
        Severity::Info => Color::Cyan,
    }
}

/// A table that folds its cells to fit `width` columns.
fn new_table(width: usize, header: &[&str]) -> Table {
    let mut table = Table::new();
    table
        .load_style(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(u16::try_from(width).unwrap_or(u16::MAX))
        .set_header(header.to_vec());
    table
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// The widest line of `text`, in characters.
fn widest(text: &str) -> usize {
    text.lines().map(|l| l.chars().count()).max().unwrap_or(0)
}

pub(crate) fn write_with(
    report: &Report,
    out: &mut dyn Write,
    options: TableOptions,
) -> io::Result<()> {
    let width = options.width.max(20);
    let verdict = story::verdict(report);
    let tone = if report.summary.findings.errors > 0 {
        Some(Severity::Error)
    } else if report.summary.findings.warnings > 0 {
        Some(Severity::Warning)
    } else {
        None
    };
    writeln!(out, "{}", paint(&wrap(&verdict, width), tone, options))?;
    for (index, capture) in report.captures.iter().enumerate() {
        let span = match (&capture.first_time, &capture.last_time) {
            (Some(first), Some(last)) => format!(", {first} .. {last}"),
            _ => String::new(),
        };
        let line = if capture.sha256.is_empty() {
            // A file that could not be read: its warning says why.
            format!("capture {index}: {} (not analysed)", capture.path)
        } else {
            format!(
                "capture {index}: {} ({}, {}, {}, {} frames{span})",
                capture.path,
                size_text(capture.bytes),
                capture.format,
                capture.link_types.join(", "),
                capture.frames
            )
        };
        writeln!(out, "{}", wrap(&line, width))?;
        for w in &capture.warnings {
            let at = w
                .frame
                .map(|f| format!(" at frame {f}"))
                .unwrap_or_default();
            let line = format!("warning{at}: {} ({})", w.message, w.kind);
            writeln!(out, "{}", indent(&wrap(&line, width - 2), "  "))?;
        }
    }
    if report.connections.is_empty() {
        writeln!(out, "no TCP connections")?;
    } else {
        write_connections(report, out, options, width)?;
    }
    write_findings(report, out, options, width)?;
    if options.verbose {
        write_ladders(report, out, width)?;
    }
    write_chains(report, out, width)?;
    let s = &report.summary;
    writeln!(
        out,
        "{} connection{}: {} error{}, {} warning{}, {} info{}",
        s.connections,
        plural(s.connections),
        s.findings.errors,
        plural(s.findings.errors),
        s.findings.warnings,
        plural(s.findings.warnings),
        s.findings.infos,
        plural(s.findings.infos)
    )
}

fn indent(text: &str, prefix: &str) -> String {
    text.lines()
        .map(|l| format!("{prefix}{l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn write_connections(
    report: &Report,
    out: &mut dyn Write,
    options: TableOptions,
    width: usize,
) -> io::Result<()> {
    let many_captures = report.captures.len() > 1;
    let shown: Vec<_> = report
        .connections
        .iter()
        .filter(|c| !options.only_failures || failing(report, c))
        .collect();
    let hidden = report.connections.len() - shown.len();
    if !shown.is_empty() {
        let mut table = new_table(
            width,
            &[
                "#",
                "stream",
                "client -> server",
                "start (UTC), duration",
                "TCP",
                "TLS",
                "MQTT",
            ],
        );
        for c in &shown {
            let id = if many_captures {
                format!("{}\n(capture {})", c.id, c.capture)
            } else {
                c.id.to_string()
            };
            let endpoints = endpoint_lines(c).join("\n");
            table.add_row(vec![
                id,
                c.tcp_stream.to_string(),
                endpoints,
                format!("{}\n{:.3} s", clock(&c.start), c.duration_s),
                tcp_cell(c),
                tls_cell(c),
                mqtt_cell(c),
            ]);
        }
        let rendered = table.to_string();
        if width >= MIN_TABLE_WIDTH && widest(&rendered) <= width {
            writeln!(out, "{rendered}")?;
        } else {
            for c in &shown {
                write_stacked_connection(report, c, out, width, many_captures)?;
            }
        }
    }
    if hidden > 0 {
        writeln!(
            out,
            "({hidden} healthy connection{} hidden by --only-failures)",
            plural(hidden)
        )?;
    }
    Ok(())
}

/// One connection as a block of labelled lines (narrow terminals).
fn write_stacked_connection(
    report: &Report,
    c: &super::model::ConnectionReport,
    out: &mut dyn Write,
    width: usize,
    many_captures: bool,
) -> io::Result<()> {
    let capture = if many_captures {
        format!(" (capture {})", c.capture)
    } else {
        String::new()
    };
    let head = format!(
        "#{}{}{capture} stream {}  {}:{} -> {}:{}  {}, {:.3} s",
        c.id,
        if failing(report, c) { " FAILED" } else { "" },
        c.tcp_stream,
        host(&c.client.ip),
        c.client.port,
        host(&c.server.ip),
        c.server.port,
        clock(&c.start),
        c.duration_s,
    );
    writeln!(out, "{}", wrap(&head, width))?;
    let fields = [
        ("via", via_lines(c).join("; ")),
        ("TCP", tcp_cell(c).replace('\n', ", ")),
        ("TLS", tls_cell(c).replace('\n', ", ")),
        ("MQTT", mqtt_cell(c).replace('\n', ", ")),
    ];
    for (label, text) in fields {
        if text.is_empty() {
            continue;
        }
        let body = wrap(&text, width.saturating_sub(7).max(10));
        let mut lines = body.lines();
        if let Some(first) = lines.next() {
            writeln!(out, "  {label:<4} {first}")?;
        }
        for line in lines {
            writeln!(out, "       {line}")?;
        }
    }
    Ok(())
}

/// The findings grouped by cause: a table when it fits, else one block per cause.
fn write_findings(
    report: &Report,
    out: &mut dyn Write,
    options: TableOptions,
    width: usize,
) -> io::Result<()> {
    let groups = story::groups(report, options.only_failures);
    if groups.is_empty() {
        return Ok(());
    }
    writeln!(out, "findings:")?;
    let shown = groups.get(..story::SHOWN_CAUSES).unwrap_or(&groups);
    let rendered = (width >= MIN_TABLE_WIDTH)
        .then(|| findings_table(shown, options, width))
        .filter(|rendered| widest(rendered) <= width);
    if let Some(rendered) = rendered {
        writeln!(out, "{rendered}")?;
    } else {
        for g in shown {
            write_stacked_finding(g, out, options, width)?;
        }
    }
    if let Some(more) = story::more_causes(&groups) {
        writeln!(out, "{}", wrap(&more, width))?;
    }
    Ok(())
}

fn title_of(g: &Group<'_>) -> String {
    if g.count > 1 {
        format!("{} (x{}; details of the first)", g.first.title, g.count)
    } else {
        g.first.title.clone()
    }
}

fn frames_of(g: &Group<'_>) -> String {
    let mut frames: Vec<u64> = g.first.evidence.iter().map(|e| e.frame).collect();
    frames.dedup();
    frames
        .iter()
        .take(6)
        .map(|n| format!("#{n}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn findings_table(groups: &[Group<'_>], options: TableOptions, width: usize) -> String {
    let mut table = new_table(
        width,
        &["severity", "rule", "finding / what to do", "conn", "frames"],
    );
    if options.colour {
        table.enforce_styling();
    } else {
        table.force_no_tty();
    }
    for g in groups {
        let f = g.first;
        let mut severity = Cell::new(f.severity);
        if options.colour {
            severity = severity.fg(severity_colour(f.severity));
        }
        table.add_row(vec![
            severity,
            Cell::new(&f.rule),
            Cell::new(format!("{}\n{}\n-> {}", title_of(g), f.detail, f.remedy)),
            Cell::new(id_ranges(&g.connections)),
            Cell::new(frames_of(g)),
        ]);
    }
    table.to_string()
}

/// One cause as a block: severity, rule and title, then the detail and the remedy.
fn write_stacked_finding(
    g: &Group<'_>,
    out: &mut dyn Write,
    options: TableOptions,
    width: usize,
) -> io::Result<()> {
    let f = g.first;
    let conns = if g.connections.is_empty() {
        String::new()
    } else {
        format!(" [conn {}]", id_ranges(&g.connections))
    };
    let head = format!(
        "{} {}{conns}: {}",
        f.severity.name().to_uppercase(),
        f.rule,
        title_of(g)
    );
    let wrapped = wrap(&head, width);
    let mut lines = wrapped.lines();
    if let Some(first) = lines.next() {
        // Only the severity word is painted, so the line keeps its width.
        let (word, rest) = first.split_at(f.severity.name().len().min(first.len()));
        writeln!(out, "{}{rest}", paint(word, Some(f.severity), options))?;
    }
    for line in lines {
        writeln!(out, "{line}")?;
    }
    writeln!(out, "{}", indent(&wrap(&f.detail, width - 2), "  "))?;
    writeln!(
        out,
        "{}",
        indent(&wrap(&format!("-> {}", f.remedy), width - 2), "  ")
    )?;
    let frames = frames_of(g);
    if !frames.is_empty() {
        writeln!(out, "  frames {frames}")?;
    }
    Ok(())
}

/// Each failing connection's timeline as a ladder: time since its first event, the direction,
/// the message, the frame (`--verbose`).
fn write_ladders(report: &Report, out: &mut dyn Write, width: usize) -> io::Result<()> {
    for c in report.connections.iter().filter(|c| failing(report, c)) {
        if c.events.is_empty() {
            continue;
        }
        writeln!(out, "ladder of connection {}:", c.id)?;
        let t0 = c.events.first().map_or(0, |e| e.time_ns);
        for e in &c.events {
            let arrow = if e.from == "client" {
                "client -> server"
            } else {
                "client <- server"
            };
            let line = format!(
                "{:>10.3} ms  {arrow}  {}  #{}",
                (e.time_ns - t0) as f64 / 1e6,
                event_label(e),
                e.frame
            );
            if line.chars().count() + 2 <= width {
                writeln!(out, "  {line}")?;
            } else {
                writeln!(out, "{}", indent(&wrap(&line, width - 2), "  "))?;
            }
        }
        if c.events_dropped > 0 {
            writeln!(out, "  ({} events not kept)", c.events_dropped)?;
        }
    }
    Ok(())
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
fn write_chains(report: &Report, out: &mut dyn Write, width: usize) -> io::Result<()> {
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
        let head = format!(
            "certificate chain sent to connection {} (frame {}):",
            connection_list(&seen.connections),
            seen.frame
        );
        writeln!(out, "{}", wrap(&head, width))?;
        for i in 0..seen.chain.len() {
            let line = format!("{}. {}", i + 1, describe(seen.chain, i));
            writeln!(out, "{}", indent(&wrap(&line, width - 5), "  "))?;
        }
    }
    Ok(())
}

/// Greedy word wrap at `width` characters; a word longer than the width is cut.
pub(super) fn wrap(text: &str, width: usize) -> String {
    let width = width.max(10);
    let mut lines: Vec<String> = Vec::new();
    for paragraph in text.split('\n') {
        let mut line = String::new();
        for word in paragraph.split_whitespace() {
            let mut word: String = word.to_string();
            while word.chars().count() > width {
                if !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                }
                let head: String = word.chars().take(width).collect();
                word = word.chars().skip(width).collect();
                lines.push(head);
            }
            if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
                lines.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(&word);
        }
        lines.push(line);
    }
    while lines.last().is_some_and(String::is_empty) && lines.len() > 1 {
        lines.pop();
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_keeps_lines_short_and_cuts_long_words() {
        assert_eq!(wrap("aa bb cc", 10), "aa bb cc");
        assert_eq!(wrap("aaaa bbbb cccc", 10), "aaaa bbbb\ncccc");
        assert_eq!(wrap(&"x".repeat(25), 10), "xxxxxxxxxx\nxxxxxxxxxx\nxxxxx");
    }
}
