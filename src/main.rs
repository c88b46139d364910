//! The `mqpcap` binary: parses flags, runs, and maps the outcome to CONTRACT.md's exit codes
//! (0 clean, 1 findings at or above `--fail-on`, 2 could not analyse). A closed stdout (e.g.
//! `| head`) ends the run quietly.

use clap::Parser;
use mqpcap::cli::{self, Cli, Outcome};
use mqpcap::error::Error;
use std::io::{self, BufWriter, ErrorKind};
use std::process::ExitCode;

fn main() -> ExitCode {
    limit_allocator_arenas();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let stdout = io::stdout();
    // 256 KiB rather than 8: a fleet's JSON is over 100 MB, and each write is a system call.
    let mut out = BufWriter::with_capacity(256 * 1024, stdout.lock());
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

/// glibc gives every thread that allocates a heap of its own (up to 8 per core); memory freed
/// in one stays there, so each thread holds its own high-water mark. Unlimited, the 1 GB
/// benchmark peaked at 138 MiB. Two arenas peaked at 123 MiB, but the reader, two workers,
/// merge and hasher then took turns on two locks: 94 % of the run's futex calls were
/// glibc's arena lock, and waking the waiter cost each worker about a quarter of its time.
/// With four, most of the five threads have an arena of their own (the hasher allocates
/// little): `fleet` 0.87x the wall time, fleet-1g about 0.9x, for about 2 MiB more at the peak
/// (BENCHMARKS.md).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)] // The one unsafe call of the crate (Cargo.toml [lints]: unsafe_code = deny).
fn limit_allocator_arenas() {
    // SAFETY: `mallopt` only sets an allocator parameter; it runs before any other thread.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 4);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn limit_allocator_arenas() {}
