//! Command-line flags (clap derive) and their translation into a run. The binary stays thin:
//! `main.rs` only maps the outcome to an exit code (CONTRACT.md: 0, 1, 2).

use crate::capture::CaptureReader;
use crate::detect::RuleBook;
use crate::detect::ports::{BrokerPorts, BrokerTransport};
use crate::engine::{self, Input, RunOptions};
use crate::error::Error;
use crate::proto::tls::decrypt::KeyLog;
use crate::report::model::{EventsPolicy, ReportOptions, Summary};
use crate::report::sink::{HumanSink, JsonDocumentSink, JsonLinesSink};
use crate::report::{self, HumanFormat, model};
use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug, Parser)]
#[command(
    name = "mqpcap",
    version,
    about = "Says, per connection, why MQTT and MQTT-over-TLS connections in a capture failed"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Decode captures and print one record per TCP connection (TCP, TLS and MQTT facts).
    Analyze(AnalyzeArgs),
    /// Compare a working connection with a failing one: GOOD BAD (two captures), or one capture
    /// holding both.
    Compare(CompareArgs),
    /// List the diagnosis rules and platform profiles, or explain one rule or profile.
    Rules(RulesArgs),
    /// Print a shell completion script to stdout (e.g. `mqpcap completions bash >
    /// /etc/bash_completion.d/mqpcap`).
    Completions(CompletionsArgs),
    /// Print the man page (roff) to stdout (e.g. `mqpcap man > mqpcap.1`).
    Man,
}

#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: ShellArg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ShellArg {
    Bash,
    Zsh,
    Fish,
    Powershell,
}

#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    /// GOOD BAD: the first healthy connection of GOOD against the first failing one of BAD. With
    /// one capture, its first healthy connection against its first failing one.
    #[arg(required = true, num_args = 1..=2, value_name = "CAPTURE")]
    pub files: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = CompareFormat::Table)]
    pub format: CompareFormat,
    /// Platform profile for the rules that decide which connection failed.
    #[arg(long, value_name = "NAME", default_value = "generic")]
    pub profile: String,
    /// Load rule files from this directory over the built-in ones.
    #[arg(long, value_name = "DIR")]
    pub rules: Option<PathBuf>,
    /// NSS key log (SSLKEYLOGFILE) to decrypt TLS with; may be given several times.
    #[arg(long = "keylog", value_name = "FILE")]
    pub keylogs: Vec<PathBuf>,
    /// A server port where an MQTT broker listens, besides 1883 and 8883 (like tshark's `-d`):
    /// PORT, PORT/plain or PORT/tls; may be given several times.
    #[arg(long = "broker-port", value_name = "PORT[/plain|/tls]", value_parser = parse_broker_port)]
    pub broker_ports: Vec<(u16, BrokerTransport)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompareFormat {
    Table,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct RulesArgs {
    /// A rule id (e.g. tls_alert) or a profile name (e.g. aws-iot) to explain.
    #[arg(value_name = "ID")]
    pub id: Option<String>,
    /// Load rules from this directory over the built-in ones.
    #[arg(long, value_name = "DIR")]
    pub rules: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct AnalyzeArgs {
    /// pcap or pcapng files (gzip allowed); `-` reads stdin; a directory means every capture in it.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = FormatArg::Table)]
    pub format: FormatArg,
    /// Exit with 1 when a finding of this severity or worse exists.
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    pub fail_on: FailOn,
    /// Show MQTT passwords instead of redacting them (user names are always shown).
    #[arg(long)]
    pub reveal: bool,
    /// Replace client ids, user names, host names and IP addresses by stable pseudonyms, for
    /// reports that leave the company.
    #[arg(long, conflicts_with = "reveal")]
    pub redact_ids: bool,
    /// Check against a platform's limits: generic, clearblade, aws-iot, azure-event-grid, aliyun.
    #[arg(long, value_name = "NAME", default_value = "generic")]
    pub profile: String,
    /// Load rule files (*.toml, profiles/*.toml) from this directory over the built-in ones.
    #[arg(long, value_name = "DIR")]
    pub rules: Option<PathBuf>,
    /// In the human formats, hide connections without a warning or error finding, and infos.
    #[arg(long)]
    pub only_failures: bool,
    /// In the table, add each failing connection's ladder: time, side, message.
    #[arg(long, short = 'v')]
    pub verbose: bool,
    /// NSS key log (SSLKEYLOGFILE) to decrypt TLS with; may be given several times. Secrets
    /// embedded in pcapng files are used without it.
    #[arg(long = "keylog", value_name = "FILE")]
    pub keylogs: Vec<PathBuf>,
    /// A server port where an MQTT broker listens, besides 1883 and 8883 (like tshark's `-d`):
    /// PORT, PORT/plain or PORT/tls; may be given several times. Silences and wrong protocols
    /// on it are judged as on 1883 (plain) or 8883 (TLS).
    #[arg(long = "broker-port", value_name = "PORT[/plain|/tls]", value_parser = parse_broker_port)]
    pub broker_ports: Vec<(u16, BrokerTransport)>,
    /// Worker threads (default: all cores). The output is the same for every value.
    #[arg(long, short = 'j', value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
    /// Which connections carry their event timeline in JSON and JSON Lines: those with a
    /// warning or error finding, all, or none.
    #[arg(long, value_enum, default_value_t = EventsArg::Failures)]
    pub events: EventsArg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EventsArg {
    Failures,
    All,
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    Table,
    Json,
    Jsonl,
    Markdown,
    Html,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Error,
    Warning,
    Info,
    Never,
}

/// What a completed run found, for the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// No finding at or above `--fail-on`.
    Clean,
    /// At least one finding at or above `--fail-on`.
    Failures,
}

/// Runs a parsed command line, writing the report to `out`.
pub fn run(cli: Cli, out: &mut dyn Write) -> Result<Outcome, Error> {
    match cli.command {
        Command::Analyze(args) => analyze(&args, out),
        Command::Compare(args) => compare(&args, out),
        Command::Rules(args) => {
            let book = rule_book(args.rules.as_deref(), "generic", &[])?;
            crate::detect::explain::write(&book, args.id.as_deref(), out)
                .map_err(Error::Output)?
                .then_some(Outcome::Clean)
                .ok_or_else(|| {
                    Error::Usage(format!(
                        "no rule or profile named `{}` (see `mqpcap rules`)",
                        args.id.as_deref().unwrap_or_default()
                    ))
                })
        }
        Command::Completions(args) => {
            use clap_complete::Shell;
            let shell = match args.shell {
                ShellArg::Bash => Shell::Bash,
                ShellArg::Zsh => Shell::Zsh,
                ShellArg::Fish => Shell::Fish,
                ShellArg::Powershell => Shell::PowerShell,
            };
            clap_complete::generate(shell, &mut Cli::command(), "mqpcap", out);
            out.flush().map_err(Error::Output)?;
            Ok(Outcome::Clean)
        }
        Command::Man => {
            write_man(out).map_err(Error::Output)?;
            out.flush().map_err(Error::Output)?;
            Ok(Outcome::Clean)
        }
    }
}

/// One man page for the whole tool: the top-level sections, then a section per subcommand
/// (synopsis, description and options as subsections), since no `mqpcap-analyze(1)` pages are
/// installed beside it.
fn write_man(out: &mut dyn Write) -> std::io::Result<()> {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let man = clap_mangen::Man::new(cmd.clone());
    man.render_title(out)?;
    man.render_name_section(out)?;
    man.render_synopsis_section(out)?;
    man.render_description_section(out)?;
    man.render_options_section(out)?;
    for sub in cmd.get_subcommands() {
        writeln!(out, ".SH \"{}\"", sub.get_name().to_uppercase())?;
        let sub_man = clap_mangen::Man::new(sub.clone());
        let mut text = Vec::new();
        sub_man.render_synopsis_section(&mut text)?;
        sub_man.render_description_section(&mut text)?;
        sub_man.render_options_section(&mut text)?;
        // Their own `.SH` headings become subsections of this one.
        for line in String::from_utf8_lossy(&text).lines() {
            match line.strip_prefix(".SH ") {
                Some(heading) => writeln!(out, ".SS {heading}")?,
                None => writeln!(out, "{line}")?,
            }
        }
    }
    writeln!(
        out,
        ".SH \"EXIT STATUS\"\n.TP\n0\nanalysed; no finding at or above \\-\\-fail\\-on (default \
         error)\n.TP\n1\nanalysed; a finding at or above \\-\\-fail\\-on\n.TP\n2\ncould not \
         analyse (no such file, not a capture, no input of several readable, bad flags); one \
         line on stderr"
    )?;
    man.render_version_section(out)
}

/// The built-in rules, overlaid with `dir`, with `profile` selected and the broker ports.
fn rule_book(
    dir: Option<&Path>,
    profile: &str,
    broker_ports: &[(u16, BrokerTransport)],
) -> Result<RuleBook, Error> {
    let mut book = RuleBook::builtin();
    if let Some(dir) = dir {
        book = book.with_dir(dir).map_err(Error::Rules)?;
    }
    let book = book.with_profile(profile).map_err(Error::Rules)?;
    Ok(book.with_broker_ports(broker_ports))
}

fn parse_broker_port(text: &str) -> Result<(u16, BrokerTransport), String> {
    BrokerPorts::parse_declaration(text)
}

fn analyze(args: &AnalyzeArgs, out: &mut dyn Write) -> Result<Outcome, Error> {
    // Rules first: a bad rule file or profile is exit 2 before any capture is read.
    let book = rule_book(args.rules.as_deref(), &args.profile, &args.broker_ports)?;
    let keys = read_keylogs(&args.keylogs)?;
    let inputs = open_inputs(&args.files)?;
    let options = RunOptions {
        jobs: args
            .jobs
            .map(usize::from)
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
        report: ReportOptions {
            reveal: args.reveal,
            redact_ids: args.redact_ids,
            events: match args.events {
                EventsArg::Failures => EventsPolicy::Failures,
                EventsArg::All => EventsPolicy::All,
                EventsArg::None => EventsPolicy::None,
            },
        },
        progress: true,
        ..RunOptions::default()
    };
    let human = match args.format {
        FormatArg::Json => {
            let summary = engine::run(
                inputs,
                keys,
                book,
                &options,
                &mut JsonDocumentSink::new(out),
            )?;
            return finish(out, &summary, args.fail_on);
        }
        FormatArg::Jsonl => {
            let summary = engine::run(inputs, keys, book, &options, &mut JsonLinesSink::new(out))?;
            return finish(out, &summary, args.fail_on);
        }
        FormatArg::Table => HumanFormat::Table,
        FormatArg::Markdown => HumanFormat::Markdown,
        FormatArg::Html => HumanFormat::Html,
    };
    let mut sink = HumanSink::new();
    let summary = engine::run(inputs, keys, book, &options, &mut sink)?;
    let report = sink.into_report();
    let table_options = report::table::TableOptions {
        verbose: args.verbose,
        ..report::table::TableOptions::for_stdout(args.only_failures)
    };
    report::render(&report, human, out, table_options).map_err(Error::Output)?;
    finish(out, &summary, args.fail_on)
}

/// Flushes the output and turns the counts into the exit outcome.
fn finish(out: &mut dyn Write, s: &Summary, fail_on: FailOn) -> Result<Outcome, Error> {
    out.flush().map_err(Error::Output)?;
    let s = &s.findings;
    let failing = match fail_on {
        FailOn::Error => s.errors,
        FailOn::Warning => s.errors + s.warnings,
        FailOn::Info => s.errors + s.warnings + s.infos,
        FailOn::Never => 0,
    };
    Ok(if failing > 0 {
        Outcome::Failures
    } else {
        Outcome::Clean
    })
}

/// The inputs, each checked to open as a capture before anything is written. A single input
/// that does not open is exit 2 with nothing on stdout; among several, one that does not open
/// stays in the list and becomes a capture record with an `unreadable_file` warning when its
/// turn comes, and only when none opens is the run exit 2. Files are opened again when their
/// turn comes, so a directory of thousands holds one open at a time; stdin stays open.
fn open_inputs(files: &[PathBuf]) -> Result<Vec<Input>, Error> {
    let paths = expand_inputs(files)?;
    let mut inputs = Vec::new();
    let mut first_failure = None;
    let mut opened = 0;
    for path in &paths {
        match CaptureReader::open(path) {
            Ok(reader) if path.as_os_str() == "-" => inputs.push(Input::Open(Box::new(reader))),
            Ok(_) => inputs.push(Input::Path(path.clone())),
            // Stdin cannot be opened a second time.
            Err(e) if paths.len() == 1 || path.as_os_str() == "-" => return Err(e.into()),
            Err(e) => {
                first_failure.get_or_insert(e);
                inputs.push(Input::Path(path.clone()));
                continue;
            }
        }
        opened += 1;
    }
    match first_failure {
        Some(e) if opened == 0 => Err(Error::Usage(format!(
            "none of the {} inputs could be read; the first: {e}",
            paths.len()
        ))),
        _ => Ok(inputs),
    }
}

/// Analyses one capture for `compare`: every connection kept, with its timeline.
fn compare_report(
    path: &Path,
    keys: &Arc<KeyLog>,
    book: &RuleBook,
) -> Result<model::Report, Error> {
    let mut sink = HumanSink::new();
    let options = RunOptions {
        report: ReportOptions {
            reveal: false,
            redact_ids: false,
            events: EventsPolicy::All,
        },
        ..RunOptions::default()
    };
    let inputs = open_inputs(std::slice::from_ref(&path.to_path_buf()))?;
    engine::run(inputs, keys.clone(), book.clone(), &options, &mut sink)?;
    Ok(sink.into_report())
}

fn compare(args: &CompareArgs, out: &mut dyn Write) -> Result<Outcome, Error> {
    use crate::report::compare;
    let book = rule_book(args.rules.as_deref(), &args.profile, &args.broker_ports)?;
    let keys = read_keylogs(&args.keylogs)?;
    let report_of = |path: &PathBuf| compare_report(path, &keys, &book);
    // clap takes one or two captures; with one, both connections come from the same report.
    let (good_path, other_path) = match args.files.as_slice() {
        [one] => (one, None),
        [good, bad] => (good, Some(bad)),
        _ => {
            return Err(Error::Usage(
                "compare takes one or two captures".to_string(),
            ));
        }
    };
    let good_report = report_of(good_path)?;
    let other_report = other_path.map(report_of).transpose()?;
    let bad_report = other_report.as_ref().unwrap_or(&good_report);
    let missing = |what: &str, path: &PathBuf| {
        Error::Usage(format!(
            "{}: no {what} connection to compare (see `mqpcap analyze`)",
            path.display()
        ))
    };
    let bad_path = other_path.unwrap_or(good_path);
    let bad = compare::pick_failing(bad_report).ok_or_else(|| {
        // A failure on no connection (a DNS lookup) cannot be compared: say which it is.
        match bad_report
            .findings
            .iter()
            .find(|f| f.connections.is_empty())
        {
            Some(f) => Error::Usage(format!(
                "{}: no failing connection to compare; its failure concerns no connection: {} ({})",
                bad_path.display(),
                f.title,
                f.rule
            )),
            None => missing("failing", bad_path),
        }
    })?;
    // The healthy attempt most like the failing one: same server and SNI, else same client id.
    let good = compare::pick_like(&good_report, bad, other_report.is_none())
        .ok_or_else(|| missing("healthy", good_path))?;
    let comparison = compare::compare(&good_report, good, bad_report, bad);
    match args.format {
        CompareFormat::Table => compare::write_table(
            &comparison,
            out,
            report::table::TableOptions::for_stdout(false).width,
        ),
        CompareFormat::Json => compare::write_json(&comparison, out),
    }
    .map_err(Error::Output)?;
    out.flush().map_err(Error::Output)?;
    Ok(Outcome::Clean)
}

/// Reads every `--keylog` file once, for all captures. Their contents are never printed; an
/// unreadable file is an error naming it (exit 2).
fn read_keylogs(paths: &[PathBuf]) -> Result<Arc<KeyLog>, Error> {
    let mut keys = KeyLog::new();
    for path in paths {
        let text = std::fs::read(path).map_err(|source| Error::Io {
            path: format!("key log {}", path.display()),
            source,
        })?;
        keys.add_text(&text);
    }
    Ok(Arc::new(keys))
}

/// Files as given, with each directory replaced by its regular files in name order (not
/// recursive). A directory without a capture file in it is an error naming it; files in a
/// directory that turn out not to be captures are handled like any other input.
fn expand_inputs(inputs: &[PathBuf]) -> Result<Vec<PathBuf>, Error> {
    let mut files = Vec::new();
    for input in inputs {
        if input.as_os_str() != "-" && input.is_dir() {
            files.extend(directory_files(input)?);
        } else {
            files.push(input.clone());
        }
    }
    Ok(files)
}

fn directory_files(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let io_error = |source| Error::Io {
        path: dir.display().to_string(),
        source,
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io_error)? {
        let path = entry.map_err(io_error)?.path();
        if path.is_file() && looks_like_capture_name(&path) {
            files.push(path);
        }
    }
    if files.is_empty() {
        return Err(Error::Usage(format!(
            "{}: no capture file in this directory (*.pcap, *.pcapng, *.cap or *.ntar, \
             optionally .gz)",
            dir.display()
        )));
    }
    files.sort();
    Ok(files)
}

/// In a directory, only files named like captures are read, so key logs and READMEs beside
/// them are not mistaken for broken captures. (Single files are detected by magic bytes.)
fn looks_like_capture_name(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let name = name.strip_suffix(".gz").unwrap_or(&name);
    [".pcap", ".pcapng", ".cap", ".ntar"]
        .iter()
        .any(|ext| name.ends_with(ext))
}
