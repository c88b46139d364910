//! Rendering of the report model: table (default), Markdown and HTML from a gathered
//! [`model::Report`]; JSON and JSON Lines streamed by the sinks in [`sink`]. Renderers only
//! format what they are given; they decide nothing and never run a rule.

mod cells;
mod chains;
pub(crate) mod compare;
pub(crate) mod html;
mod html_svg;
pub(crate) mod markdown;
pub(crate) mod model;
pub(crate) mod redact;
pub(crate) mod sink;
pub(crate) mod story;
pub(crate) mod table;

use std::io::{self, Write};

/// The human formats, rendered from a gathered report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HumanFormat {
    Table,
    Markdown,
    Html,
}

/// Writes `report` to `out` in `format`.
pub(crate) fn render(
    report: &model::Report,
    format: HumanFormat,
    out: &mut dyn Write,
    table_options: table::TableOptions,
) -> io::Result<()> {
    match format {
        HumanFormat::Table => table::write_with(report, out, table_options),
        HumanFormat::Markdown => markdown::write(report, out, table_options.only_failures),
        HumanFormat::Html => html::write(report, out, table_options.only_failures),
    }
}
