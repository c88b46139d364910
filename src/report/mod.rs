//! Rendering of the report model: table (default), JSON, JSON Lines, Markdown and HTML. Renderers only
//! format [`model::Report`]; they decide nothing.

pub mod compare;
pub mod html;
pub mod json;
pub mod markdown;
pub mod model;
pub mod table;

use std::io::{self, Write};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    Jsonl,
    Markdown,
    Html,
}

/// Writes `report` to `out` in `format`.
pub fn render(report: &model::Report, format: Format, out: &mut dyn Write) -> io::Result<()> {
    render_with(report, format, out, table::TableOptions::default())
}

/// As [`render`], with options for the human table.
pub fn render_with(
    report: &model::Report,
    format: Format,
    out: &mut dyn Write,
    table_options: table::TableOptions,
) -> io::Result<()> {
    match format {
        Format::Table => table::write_with(report, out, table_options),
        Format::Json => json::write_document(report, out),
        Format::Jsonl => json::write_lines(report, out),
        Format::Markdown => markdown::write(report, out),
        Format::Html => html::write(report, out),
    }
}
