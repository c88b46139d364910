//! The `mqpcap` binary: parses flags, runs, and maps the outcome to CONTRACT.md's exit codes
//! (0 clean, 1 findings at or above `--fail-on`, 2 could not analyse). A closed stdout (e.g.
//! `| head`) ends the run quietly.

use clap::Parser;
use mqpcap::cli::{self, Cli, Outcome};
use mqpcap::error::Error;
use std::io::{self, BufWriter, ErrorKind};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    match cli::run(cli, &mut out) {
        Ok(Outcome::Clean) => ExitCode::SUCCESS,
        Ok(Outcome::Failures) => ExitCode::from(1),
        Err(Error::Output(e)) if e.kind() == ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mqpcap: {e}");
            ExitCode::from(2)
        }
    }
}
