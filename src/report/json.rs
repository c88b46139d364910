//! JSON output: the whole document (`--format json`) or one connection object a line
//! (`--format jsonl`), as CONTRACT.md specifies.

use super::model::Report;
use std::io::{self, Write};

pub fn write_document(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report)?;
    writeln!(out)
}

/// One connection a line; each line is a complete JSON object with `capture` as an index into
/// the captures, whose facts are not repeated.
pub fn write_lines(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    for connection in &report.connections {
        serde_json::to_writer(&mut *out, connection)?;
        writeln!(out)?;
    }
    Ok(())
}
