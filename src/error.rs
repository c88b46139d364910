//! Our own failures (not traffic problems): unreadable inputs and bad flags. Each carries the
//! path or flag it concerns so the one-line message names it.

use crate::capture::CaptureError;
use std::fmt;

#[derive(Debug)]
pub enum Error {
    /// A capture that could not be opened or is not a capture at all.
    Capture(CaptureError),
    /// A file or directory that could not be read, with its path.
    Io {
        path: String,
        source: std::io::Error,
    },
    /// Writing the report failed (a broken pipe is handled by the binary).
    Output(std::io::Error),
    /// A rule file or profile that could not be loaded (path, line, reason).
    Rules(crate::detect::BookError),
    /// A bad argument value that clap cannot check (an unknown rule id).
    Usage(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Capture(e) => write!(f, "{e}"),
            Error::Io { path, source } => write!(f, "{path}: {source}"),
            Error::Output(e) => write!(f, "writing output: {e}"),
            Error::Rules(e) => write!(f, "{e}"),
            Error::Usage(message) => write!(f, "{message}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<CaptureError> for Error {
    fn from(e: CaptureError) -> Self {
        Error::Capture(e)
    }
}
