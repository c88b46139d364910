//! The rule book: rule text, severities, thresholds (`rules/*.toml`) and platform profiles
//! (`rules/profiles/*.toml`). The built-in book is compiled in with `include_str!`, so the
//! binary works from any directory; `--rules DIR` overlays another directory on it (a rule or
//! profile defined there replaces the built-in one of the same id).
//!
//! A rule file is a TOML table per rule id:
//! ```toml
//! [connack_refused]
//! severity = "error"
//! title = "Broker refused the MQTT login: {name}"
//! detail = "..."
//! remedy = "..."
//! [connack_refused.thresholds]   # numbers only, read by the rule's code
//! [connack_refused.variants.v4_5] # overrides of severity/title/detail/remedy
//! ```
//! Loading checks every id against the rules the code implements; an error names the file,
//! the line and the reason.

use super::Severity;
use super::ports::{BrokerPorts, BrokerTransport};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

const BUILTIN_RULES: &[(&str, &str)] = &[
    ("rules/tcp.toml", include_str!("../../rules/tcp.toml")),
    ("rules/tls.toml", include_str!("../../rules/tls.toml")),
    ("rules/mqtt.toml", include_str!("../../rules/mqtt.toml")),
    ("rules/dns.toml", include_str!("../../rules/dns.toml")),
    (
        "rules/transport.toml",
        include_str!("../../rules/transport.toml"),
    ),
    (
        "rules/profile.toml",
        include_str!("../../rules/profile.toml"),
    ),
];

const BUILTIN_PROFILES: &[(&str, &str)] = &[
    (
        "rules/profiles/generic.toml",
        include_str!("../../rules/profiles/generic.toml"),
    ),
    (
        "rules/profiles/clearblade.toml",
        include_str!("../../rules/profiles/clearblade.toml"),
    ),
    (
        "rules/profiles/aws-iot.toml",
        include_str!("../../rules/profiles/aws-iot.toml"),
    ),
    (
        "rules/profiles/azure-event-grid.toml",
        include_str!("../../rules/profiles/azure-event-grid.toml"),
    ),
    (
        "rules/profiles/aliyun.toml",
        include_str!("../../rules/profiles/aliyun.toml"),
    ),
];

/// A rule file or profile that could not be used: where and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookError {
    pub path: String,
    pub line: Option<usize>,
    pub reason: String,
}

impl fmt::Display for BookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.path, self.reason),
            None => write!(f, "{}: {}", self.path, self.reason),
        }
    }
}

impl std::error::Error for BookError {}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawText {
    severity: Option<String>,
    title: Option<String>,
    detail: Option<String>,
    remedy: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    severity: String,
    title: String,
    detail: String,
    remedy: String,
    /// Documentation only (shown by `mqpcap rules ID`).
    #[serde(default)]
    summary: Option<String>,
    #[serde(default)]
    thresholds: BTreeMap<String, f64>,
    #[serde(default)]
    variants: BTreeMap<String, RawText>,
    /// The rule concludes from what one side did NOT send: withheld when the capture holds
    /// one direction only (`capture_one_sided`).
    #[serde(default)]
    needs_both_sides: bool,
    /// Rules whose finding on the same connection this one explains: theirs is folded into
    /// this one (one fault, one finding).
    #[serde(default)]
    explains: Vec<String>,
}

/// The text of one finding: severity, title, detail, remedy (templates with `{name}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleText {
    pub severity: Severity,
    pub title: String,
    pub detail: String,
    pub remedy: String,
}

/// One rule as the data defines it.
#[derive(Debug, Clone)]
pub struct RuleDef {
    pub id: String,
    pub summary: String,
    pub base: RuleText,
    pub thresholds: BTreeMap<String, f64>,
    pub variants: BTreeMap<String, RuleText>,
    /// Withheld on a one-sided view (see `capture_one_sided`).
    pub needs_both_sides: bool,
    /// Rules whose finding on the same connection this one absorbs.
    pub explains: Vec<String>,
    /// The file it came from.
    pub source: String,
}

impl RuleDef {
    /// A threshold from the data, else the default the code documents.
    pub fn threshold(&self, name: &str, default: f64) -> f64 {
        self.thresholds.get(name).copied().unwrap_or(default)
    }
    /// The text of a variant (falling back field by field to the rule's own), or the rule's.
    pub fn text(&self, variant: Option<&str>) -> RuleText {
        match variant.and_then(|v| self.variants.get(v)) {
            Some(v) => v.clone(),
            None => self.base.clone(),
        }
    }
}

/// A platform's limits, each optional (absent = not checked).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    pub keep_alive_min_s: Option<u32>,
    pub keep_alive_max_s: Option<u32>,
    /// A keep-alive of 0 (disabled) is refused or replaced by the platform.
    pub keep_alive_zero_allowed: Option<bool>,
    /// The platform does not refuse a non-zero keep-alive outside
    /// `keep_alive_min_s`..`keep_alive_max_s`: it uses the nearest bound instead (AWS IoT Core:
    /// below 30 s it uses 30 s, above 1200 s it uses 1200 s).
    pub keep_alive_clamped: Option<bool>,
    /// Seconds past 1.5x the keep-alive (MQTT 3.1.1 §3.1.2.10) the platform may take to close a
    /// silent client, because it checks on a timer (Alibaba Cloud: every 30 s).
    pub keep_alive_grace_s: Option<u32>,
    pub max_qos: Option<u8>,
    pub max_packet_bytes: Option<u64>,
    pub max_publish_payload_bytes: Option<u64>,
    pub client_id_max_bytes: Option<usize>,
    /// `{name}` matches one or more characters other than `/`; the rest is literal.
    pub client_id_format: Option<String>,
    pub client_id_required: Option<bool>,
    pub min_tls_version: Option<String>,
    pub sni_required: Option<bool>,
    pub client_cert_required: Option<bool>,
    /// The password is a JWT (checks apply to every JWT-looking password anyway).
    pub jwt_password: Option<bool>,
    pub jwt_max_lifetime_s: Option<i64>,
    pub jwt_aud_required: Option<bool>,
    /// Seconds of clock difference tolerated before `iat` counts as in the future.
    pub jwt_iat_leeway_s: Option<i64>,
    /// The platform closes idle connections after this many seconds whatever the keep-alive.
    pub idle_timeout_s: Option<u32>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Source {
    pub limit: String,
    pub url: String,
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub name: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub limits: Limits,
    #[serde(default)]
    pub sources: Vec<Source>,
}

/// Rules and profiles, with the profile in use.
#[derive(Debug, Clone)]
pub struct RuleBook {
    rules: BTreeMap<String, RuleDef>,
    profiles: BTreeMap<String, Profile>,
    selected: String,
    /// The broker ports of the run (IANA ones and `--broker-port`).
    broker_ports: BrokerPorts,
}

impl RuleBook {
    /// The rules and profiles compiled into the binary, with the `generic` profile.
    pub fn builtin() -> RuleBook {
        let mut book = RuleBook {
            rules: BTreeMap::new(),
            profiles: BTreeMap::new(),
            selected: "generic".to_string(),
            broker_ports: BrokerPorts::default(),
        };
        // The built-in files are checked by tests; a failure here would be a build mistake,
        // so it degrades to a book without that file rather than a panic.
        for (path, text) in BUILTIN_RULES {
            if let Ok(rules) = parse_rules(path, text) {
                book.rules
                    .extend(rules.into_iter().map(|r| (r.id.clone(), r)));
            }
        }
        for (path, text) in BUILTIN_PROFILES {
            if let Ok(p) = parse_profile(path, text) {
                book.profiles.insert(p.name.clone(), p);
            }
        }
        book
    }

    /// The built-in book overlaid with `dir/*.toml` rules and `dir/profiles/*.toml` profiles.
    pub fn with_dir(mut self, dir: &Path) -> Result<RuleBook, BookError> {
        let files = toml_files(dir)?;
        if files.is_empty() {
            return Err(BookError {
                path: dir.display().to_string(),
                line: None,
                reason: "no .toml rule files in this directory".into(),
            });
        }
        for file in files {
            let text = read(&file)?;
            for rule in parse_rules(&file.display().to_string(), &text)? {
                self.rules.insert(rule.id.clone(), rule);
            }
        }
        let profiles = dir.join("profiles");
        if profiles.is_dir() {
            for file in toml_files(&profiles)? {
                let text = read(&file)?;
                let p = parse_profile(&file.display().to_string(), &text)?;
                self.profiles.insert(p.name.clone(), p);
            }
        }
        Ok(self)
    }

    /// Selects a profile by name.
    pub fn with_profile(mut self, name: &str) -> Result<RuleBook, BookError> {
        if !self.profiles.contains_key(name) {
            return Err(BookError {
                path: format!("--profile {name}"),
                line: None,
                reason: format!(
                    "unknown profile (known: {})",
                    self.profiles.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            });
        }
        self.selected = name.to_string();
        Ok(self)
    }

    pub fn rule(&self, id: &str) -> Option<&RuleDef> {
        self.rules.get(id)
    }
    pub fn rules(&self) -> impl Iterator<Item = &RuleDef> {
        self.rules.values()
    }
    pub fn rule_ids(&self) -> Vec<&str> {
        self.rules.keys().map(String::as_str).collect()
    }
    pub fn profiles(&self) -> impl Iterator<Item = &Profile> {
        self.profiles.values()
    }
    /// Adds broker ports (`--broker-port`) to the IANA ones.
    pub fn with_broker_ports(mut self, declared: &[(u16, BrokerTransport)]) -> RuleBook {
        for &(port, transport) in declared {
            self.broker_ports.declare(port, transport);
        }
        self
    }

    pub fn broker_ports(&self) -> &BrokerPorts {
        &self.broker_ports
    }

    /// The selected profile (an empty generic one if the data lacks it).
    pub fn profile(&self) -> &Profile {
        static EMPTY: std::sync::OnceLock<Profile> = std::sync::OnceLock::new();
        self.profiles.get(&self.selected).unwrap_or_else(|| {
            EMPTY.get_or_init(|| Profile {
                name: "generic".into(),
                title: "Generic MQTT broker".into(),
                description: String::new(),
                limits: Limits::default(),
                sources: Vec::new(),
            })
        })
    }
}

fn read(path: &Path) -> Result<String, BookError> {
    std::fs::read_to_string(path).map_err(|e| BookError {
        path: path.display().to_string(),
        line: None,
        reason: e.to_string(),
    })
}

fn toml_files(dir: &Path) -> Result<Vec<PathBuf>, BookError> {
    let entries = std::fs::read_dir(dir).map_err(|e| BookError {
        path: dir.display().to_string(),
        line: None,
        reason: e.to_string(),
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    Ok(files)
}

/// 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()
        .iter()
        .take(offset)
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Line of the `[id]` or `[id.` header, for errors about one rule.
fn line_of_table(text: &str, id: &str) -> Option<usize> {
    text.lines()
        .position(|l| {
            let l = l.trim();
            l == format!("[{id}]") || l.starts_with(&format!("[{id}."))
        })
        .map(|i| i + 1)
}

fn toml_error(path: &str, text: &str, e: &toml::de::Error) -> BookError {
    BookError {
        path: path.to_string(),
        line: e.span().map(|s| line_of(text, s.start)),
        reason: e.message().trim().to_string(),
    }
}

/// Parses one rule file and checks it against the rules the code implements.
pub fn parse_rules(path: &str, text: &str) -> Result<Vec<RuleDef>, BookError> {
    let raw: BTreeMap<String, RawRule> =
        toml::from_str(text).map_err(|e| toml_error(path, text, &e))?;
    let known = super::rule_ids();
    let mut rules = Vec::new();
    for (id, r) in raw {
        let err = |reason: String| BookError {
            path: path.to_string(),
            line: line_of_table(text, &id),
            reason,
        };
        let Some(&static_id) = known.iter().find(|k| **k == id) else {
            return Err(err(format!("rule `{id}` has no code in this mqpcap")));
        };
        let severity = |s: &str| {
            Severity::parse(s).ok_or_else(|| {
                err(format!(
                    "rule `{id}`: severity `{s}` is not info, warning or error"
                ))
            })
        };
        let base = RuleText {
            severity: severity(&r.severity)?,
            title: r.title,
            detail: r.detail,
            remedy: r.remedy,
        };
        let mut variants = BTreeMap::new();
        for (key, v) in r.variants {
            let text = RuleText {
                severity: match &v.severity {
                    Some(s) => severity(s)?,
                    None => base.severity,
                },
                title: v.title.unwrap_or_else(|| base.title.clone()),
                detail: v.detail.unwrap_or_else(|| base.detail.clone()),
                remedy: v.remedy.unwrap_or_else(|| base.remedy.clone()),
            };
            variants.insert(key, text);
        }
        for explained in &r.explains {
            let rule = explained
                .split_once(':')
                .map_or(explained.as_str(), |(r, _)| r);
            if !known.contains(&rule) {
                return Err(err(format!(
                    "rule `{id}` explains `{explained}`, which names no rule"
                )));
            }
        }
        rules.push(RuleDef {
            id: static_id.to_string(),
            summary: r.summary.unwrap_or_default(),
            base,
            thresholds: r.thresholds,
            variants,
            needs_both_sides: r.needs_both_sides,
            explains: r.explains,
            source: path.to_string(),
        });
    }
    Ok(rules)
}

/// Parses one profile file.
pub fn parse_profile(path: &str, text: &str) -> Result<Profile, BookError> {
    toml::from_str(text).map_err(|e| toml_error(path, text, &e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_files_all_parse() {
        for (path, text) in BUILTIN_RULES {
            assert!(
                parse_rules(path, text).is_ok(),
                "{:?}",
                parse_rules(path, text)
            );
        }
        for (path, text) in BUILTIN_PROFILES {
            assert!(
                parse_profile(path, text).is_ok(),
                "{:?}",
                parse_profile(path, text)
            );
        }
        let book = RuleBook::builtin();
        let names: Vec<_> = book.profiles().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "aliyun",
                "aws-iot",
                "azure-event-grid",
                "clearblade",
                "generic"
            ]
        );
    }

    #[test]
    fn every_profile_limit_cites_a_public_source() {
        for p in RuleBook::builtin().profiles() {
            if p.name != "generic" {
                assert!(!p.sources.is_empty(), "{}", p.name);
                assert!(p.sources.iter().all(|s| s.url.starts_with("https://")));
            }
        }
    }

    #[test]
    fn a_syntax_error_names_the_line() {
        let text = "[connection_refused]\nseverity = \"error\"\ntitle = \"x\n";
        let e = parse_rules("r.toml", text).err();
        assert!(matches!(&e, Some(BookError { line: Some(3), .. })), "{e:?}");
    }

    #[test]
    fn an_unknown_rule_or_severity_names_the_table_line() {
        let text = "# c\n[no_such_rule]\nseverity = \"error\"\ntitle = \"\"\ndetail = \"\"\nremedy = \"\"\n";
        let e = parse_rules("r.toml", text).err();
        assert!(
            matches!(&e, Some(BookError { line: Some(2), reason, .. }) if reason.contains("no code")),
            "{e:?}"
        );
        let text =
            "[syn_unanswered]\nseverity = \"fatal\"\ntitle = \"\"\ndetail = \"\"\nremedy = \"\"\n";
        let e = parse_rules("r.toml", text).err();
        assert!(matches!(&e, Some(BookError { line: Some(1), .. })), "{e:?}");
    }

    #[test]
    fn a_missing_field_is_an_error() {
        let text = "[syn_unanswered]\nseverity = \"error\"\ntitle = \"\"\n";
        assert!(parse_rules("r.toml", text).is_err());
    }

    #[test]
    fn a_directory_overlays_the_builtin_rules() {
        let dir = tempfile::tempdir().ok();
        let Some(dir) = dir else { return };
        let text = "[syn_unanswered]\nseverity = \"info\"\ntitle = \"T\"\ndetail = \"D\"\nremedy = \"R\"\n";
        assert!(std::fs::write(dir.path().join("mine.toml"), text).is_ok());
        let book = RuleBook::builtin().with_dir(dir.path());
        let Ok(book) = book else { panic!("{book:?}") };
        let rule = book.rule("syn_unanswered").map(|r| r.base.clone());
        assert_eq!(rule.map(|t| t.severity), Some(Severity::Info));
        assert!(book.rule("tls_alert").is_some());
    }

    #[test]
    fn unknown_profile_is_an_error() {
        assert!(RuleBook::builtin().with_profile("nope").is_err());
        assert!(RuleBook::builtin().with_profile("aws-iot").is_ok());
    }
}
