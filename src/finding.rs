//! The finding: what a rule concluded about one or more connections, with the frames that
//! prove it. Defined below `detect` (which makes findings) and `report` (which renders them),
//! so neither needs the other.

use crate::common::At;
use serde::Serialize;

/// How bad a finding is. A connection with no `Warning` or `Error` finding is healthy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
    pub(crate) fn parse(text: &str) -> Option<Severity> {
        match text {
            "info" => Some(Severity::Info),
            "warning" => Some(Severity::Warning),
            "error" => Some(Severity::Error),
            _ => None,
        }
    }
}

/// Findings counted by severity (CONTRACT.md `summary`: `errors`, `warnings`, `infos`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub(crate) struct SeverityCounts {
    pub errors: usize,
    pub warnings: usize,
    pub infos: usize,
}

impl SeverityCounts {
    /// Counts one finding of `severity`.
    pub(crate) fn count(&mut self, severity: Severity) {
        match severity {
            Severity::Error => self.errors += 1,
            Severity::Warning => self.warnings += 1,
            Severity::Info => self.infos += 1,
        }
    }

    /// Adds `other`'s counts.
    pub(crate) fn add(&mut self, other: SeverityCounts) {
        self.errors += other.errors;
        self.warnings += other.warnings;
        self.infos += other.infos;
    }
}

impl std::fmt::Display for Severity {
    /// The name as in JSON (`info`, `warning`, `error`); honours width and alignment.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.name())
    }
}

/// One frame that supports a finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Evidence {
    pub at: At,
    pub note: String,
}

/// A rendered diagnosis (CONTRACT.md `FINDING`, times still as [`At`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Finding {
    pub rule: &'static str,
    pub severity: Severity,
    pub title: String,
    pub detail: String,
    pub remedy: String,
    /// `Some` only on `tls_alert` and `encrypted_alert`: the alert name, `None` when unknown.
    pub alert: Option<Option<String>>,
    /// Who sent that alert (`client` or `server`): an `explains` entry may name the sender,
    /// since the same alert judges the server's certificate from the client and the client's
    /// from the server.
    pub alert_from: Option<&'static str>,
    /// Report ids of the connections concerned.
    pub connections: Vec<usize>,
    pub evidence: Vec<Evidence>,
    /// Rules whose findings on the same fault were folded into this one (its evidence holds
    /// theirs): one fault, one finding.
    pub merged: Vec<&'static str>,
    /// Concluded from indirect evidence (record sizes, timing), not read from the protocol.
    pub inferred: bool,
}
