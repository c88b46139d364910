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
//! Loading checks every id against the rules the code implements, refuses any key it does not
//! know (in a rule, in a variant, and a threshold the rule's code does not read: see
//! [`THRESHOLDS`]); an error names the file, the line and the reason.
//!
//! Threshold values are written once, in the built-in `rules/*.toml`: the code reads them
//! without a default ([`RuleDef::threshold`]), every built-in rule sets every threshold its
//! code reads (a test checks it), and an overlay that leaves one out keeps the built-in value.

use super::ports::{BrokerPorts, BrokerTransport};
use super::{CONNECTION_RULES, Severity};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

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

/// The thresholds each rule's code reads, by rule id: the one list of their names. A rule file
/// may set these and nothing else; their values are in the built-in `rules/*.toml`.
pub(crate) const THRESHOLDS: &[(&str, &[&str])] = &[
    ("syn_unanswered", &["min_wait_s"]),
    (
        "tcp_retransmissions",
        &["info_rate", "warning_rate", "warning_min_count"],
    ),
    ("zero_window", &["min_stall_s"]),
    ("pmtu_blackhole", &["min_segment", "min_retransmissions"]),
    (
        "peer_unresponsive",
        &["min_retransmissions", "min_silence_s"],
    ),
    ("protocol_mismatch", &["max_plain_close_s"]),
    // Both read the two record sizes: one tells an empty Certificate from one with a chain.
    (
        "client_cert_missing",
        &[
            "max_empty_certificate_record",
            "min_certificate_record",
            "max_refusal_delay_s",
        ],
    ),
    (
        "client_cert_rejected",
        &[
            "max_empty_certificate_record",
            "min_certificate_record",
            "max_refusal_delay_s",
        ],
    ),
    ("connack_refused", &["inferred_max_delay_s"]),
    ("no_connect_sent", &["min_wait_s"]),
    (
        "keepalive_lapse",
        &["factor", "tolerance_s", "inferred_min_silence_s"],
    ),
    ("server_closed_after_request", &["max_delay_s"]),
    ("subscribe_refused", &["max_findings"]),
    ("publish_refused", &["max_findings"]),
    ("mqtt_sequence_violation", &["min_delay_s", "max_close_s"]),
    (
        "duplicate_client_id",
        &[
            "max_takeover_delay_s",
            "max_overlapping",
            "fight_min_takeovers",
        ],
    ),
    ("rst_intermittent", &["min_attempts"]),
    (
        "reconnect_storm",
        &[
            "min_attempts",
            "max_mean_interval_s",
            "backoff_ratio",
            "backoff_share",
        ],
    ),
    ("dns_failure", &["min_wait_s"]),
];

/// The thresholds the code of rule `id` reads (none for most rules).
pub(crate) fn threshold_names(id: &str) -> &'static [&'static str] {
    THRESHOLDS
        .iter()
        .find(|(rule, _)| *rule == id)
        .map_or(&[], |(_, names)| names)
}

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
    /// Spanned: an unknown name is reported at its line.
    #[serde(default)]
    thresholds: BTreeMap<String, toml::Spanned<f64>>,
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
pub(crate) struct RuleText {
    pub severity: Severity,
    pub title: String,
    pub detail: String,
    pub remedy: String,
}

/// One rule as the data defines it.
#[derive(Debug, Clone)]
pub(crate) struct RuleDef {
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
    /// A threshold the rule's code reads. Its names are declared in [`THRESHOLDS`] and the
    /// loader gives each one a value (the built-in files set them all; an overlay keeps the
    /// built-in value of one it leaves out), so there is no default here: a name missing from
    /// [`THRESHOLDS`] fails the tests (debug builds) and reads as NaN in release.
    pub(crate) fn threshold(&self, name: &str) -> f64 {
        debug_assert!(
            self.thresholds.contains_key(name),
            "rule `{}` reads threshold `{name}`, which it does not declare in book::THRESHOLDS",
            self.id
        );
        self.thresholds.get(name).copied().unwrap_or(f64::NAN)
    }
    /// The text of a variant (falling back field by field to the rule's own), or the rule's.
    pub(crate) fn text(&self, variant: Option<&str>) -> RuleText {
        match variant.and_then(|v| self.variants.get(v)) {
            Some(v) => v.clone(),
            None => self.base.clone(),
        }
    }
}

/// A platform's limits, each optional (absent = not checked). `mqpcap rules PROFILE` lists them
/// in this order ([`Limits::entries`]).
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub(crate) struct Limits {
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
    /// The platform closes idle connections after this many seconds whatever the keep-alive.
    pub idle_timeout_s: Option<u32>,
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
}

impl Limits {
    /// The limits set, as (name, value) in the order of the struct: generated from its serde
    /// names and values, so a new limit is listed without more code.
    pub(crate) fn entries(&self) -> Vec<(&'static str, String)> {
        let Ok(serde_json::Value::Object(values)) = serde_json::to_value(self) else {
            return Vec::new();
        };
        field_names::<Limits>()
            .iter()
            .filter_map(|&name| match values.get(name)? {
                serde_json::Value::Null => None,
                serde_json::Value::String(s) => Some((name, s.clone())),
                v => Some((name, v.to_string())),
            })
            .collect()
    }
}

/// The field names of a struct that derives `Deserialize`, in declaration order: serde's derive
/// hands them to `deserialize_struct`, which this deserializer records and then stops.
fn field_names<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
    use serde::de::{self, Visitor};
    struct Names<'a>(&'a mut &'static [&'static str]);
    impl<'de> de::Deserializer<'de> for Names<'_> {
        type Error = de::value::Error;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(de::Error::custom("not a struct"))
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            *self.0 = fields;
            Err(de::Error::custom("field names only"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
            option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
            ignored_any
        }
    }
    let mut names: &'static [&'static str] = &[];
    let _ = T::deserialize(Names(&mut names));
    names
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub(crate) struct Source {
    pub limit: String,
    pub url: String,
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub(crate) struct Profile {
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
pub(crate) struct RuleBook {
    rules: BTreeMap<String, Arc<RuleDef>>,
    /// `rules` looked up once for each entry of [`CONNECTION_RULES`], in its order: the
    /// per-connection loop indexes this instead of searching the map by name (34 string
    /// searches per connection were a tenth of the fleet benchmark's instructions).
    /// Rebuilt by [`RuleBook::resolve`] whenever `rules` changes.
    connection_slots: Vec<Option<Arc<RuleDef>>>,
    profiles: BTreeMap<String, Profile>,
    selected: String,
    /// The broker ports of the run (IANA ones and `--broker-port`).
    broker_ports: BrokerPorts,
}

impl RuleBook {
    /// The rules and profiles compiled into the binary, with the `generic` profile. Parsed once
    /// per process: tests, the fuzz targets and multi-file runs ask for it many times.
    pub(crate) fn builtin() -> RuleBook {
        static BUILTIN: std::sync::OnceLock<RuleBook> = std::sync::OnceLock::new();
        BUILTIN.get_or_init(RuleBook::parse_builtin).clone()
    }

    fn parse_builtin() -> RuleBook {
        let mut book = RuleBook {
            rules: BTreeMap::new(),
            connection_slots: Vec::new(),
            profiles: BTreeMap::new(),
            selected: "generic".to_string(),
            broker_ports: BrokerPorts::default(),
        };
        // The built-in files are checked by tests; a failure here would be a build mistake,
        // so it degrades to a book without that file rather than a panic.
        for (path, text) in BUILTIN_RULES {
            if let Ok(rules) = parse_builtin_rules(path, text) {
                book.rules
                    .extend(rules.into_iter().map(|r| (r.id.clone(), Arc::new(r))));
            }
        }
        for (path, text) in BUILTIN_PROFILES {
            if let Ok(p) = parse_profile(path, text) {
                book.profiles.insert(p.name.clone(), p);
            }
        }
        book.resolve();
        book
    }

    /// Rebuilds `connection_slots` from `rules`.
    fn resolve(&mut self) {
        self.connection_slots = CONNECTION_RULES
            .iter()
            .map(|(id, _)| self.rules.get(*id).cloned())
            .collect();
    }

    /// The built-in book overlaid with `dir/*.toml` rules and `dir/profiles/*.toml` profiles.
    pub(crate) fn with_dir(mut self, dir: &Path) -> Result<RuleBook, BookError> {
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
            for mut rule in parse_rules(&file.display().to_string(), &text)? {
                // A threshold the overlay does not set keeps the value it replaces.
                if let Some(replaced) = self.rules.get(&rule.id) {
                    for (name, value) in &replaced.thresholds {
                        rule.thresholds.entry(name.clone()).or_insert(*value);
                    }
                }
                self.rules.insert(rule.id.clone(), Arc::new(rule));
            }
        }
        self.resolve();
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
    pub(crate) fn with_profile(mut self, name: &str) -> Result<RuleBook, BookError> {
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

    pub(crate) fn rule(&self, id: &str) -> Option<&RuleDef> {
        self.rules.get(id).map(Arc::as_ref)
    }
    /// The definition of `CONNECTION_RULES[slot]`, if the book has it (the same as
    /// `rule(CONNECTION_RULES[slot].0)`, without the search).
    pub(crate) fn connection_rule(&self, slot: usize) -> Option<&RuleDef> {
        self.connection_slots.get(slot)?.as_deref()
    }
    #[cfg(test)]
    pub(crate) fn rules(&self) -> impl Iterator<Item = &RuleDef> {
        self.rules.values().map(Arc::as_ref)
    }
    #[cfg(test)]
    pub(crate) fn rule_ids(&self) -> Vec<&str> {
        self.rules.keys().map(String::as_str).collect()
    }
    pub(crate) fn profiles(&self) -> impl Iterator<Item = &Profile> {
        self.profiles.values()
    }
    /// Adds broker ports (`--broker-port`) to the IANA ones.
    pub(crate) fn with_broker_ports(mut self, declared: &[(u16, BrokerTransport)]) -> RuleBook {
        for &(port, transport) in declared {
            self.broker_ports.declare(port, transport);
        }
        self
    }

    pub(crate) fn broker_ports(&self) -> &BrokerPorts {
        &self.broker_ports
    }

    /// The selected profile (an empty generic one if the data lacks it).
    pub(crate) fn profile(&self) -> &Profile {
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

/// Parses one rule file and checks it against the rules the code implements: every rule id has
/// code, every key is known, every threshold is one its code reads ([`THRESHOLDS`]). A threshold
/// left out is not an error here (an overlay keeps the built-in value).
pub(crate) fn parse_rules(path: &str, text: &str) -> Result<Vec<RuleDef>, BookError> {
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
            let (rule, alert) = explained
                .split_once(':')
                .map_or((explained.as_str(), None), |(r, a)| (r, Some(a)));
            if !known.contains(&rule) {
                return Err(err(format!(
                    "rule `{id}` explains `{explained}`, which names no rule"
                )));
            }
            if alert.is_some_and(|a| !known_alert(a)) {
                return Err(err(format!(
                    "rule `{id}` explains `{explained}`, which names no TLS alert (RFC 8446 §6 \
                     names, optionally with _from_client or _from_server)"
                )));
            }
        }
        let reads = threshold_names(static_id);
        let mut thresholds = BTreeMap::new();
        for (name, value) in r.thresholds {
            if !reads.contains(&name.as_str()) {
                let known = if reads.is_empty() {
                    "it reads none".to_string()
                } else {
                    format!("it reads {}", reads.join(", "))
                };
                return Err(BookError {
                    path: path.to_string(),
                    line: Some(line_of(text, value.span().start)),
                    reason: format!("rule `{id}`: unknown threshold `{name}` ({known})"),
                });
            }
            thresholds.insert(name, value.into_inner());
        }
        rules.push(RuleDef {
            id: static_id.to_string(),
            summary: r.summary.unwrap_or_default(),
            base,
            thresholds,
            variants,
            needs_both_sides: r.needs_both_sides,
            explains: r.explains,
            source: path.to_string(),
        });
    }
    Ok(rules)
}

/// Parses a built-in rule file: as [`parse_rules`], and every rule sets every threshold its code
/// reads (these values are the only defaults).
fn parse_builtin_rules(path: &str, text: &str) -> Result<Vec<RuleDef>, BookError> {
    let rules = parse_rules(path, text)?;
    for rule in &rules {
        let missing: Vec<&str> = threshold_names(&rule.id)
            .iter()
            .copied()
            .filter(|name| !rule.thresholds.contains_key(*name))
            .collect();
        if !missing.is_empty() {
            return Err(BookError {
                path: path.to_string(),
                line: line_of_table(text, &rule.id),
                reason: format!(
                    "rule `{}`: no value for threshold {} (built-in files set every threshold)",
                    rule.id,
                    missing.join(", ")
                ),
            });
        }
    }
    Ok(rules)
}

/// Parses one profile file.
pub(crate) fn parse_profile(path: &str, text: &str) -> Result<Profile, BookError> {
    toml::from_str(text).map_err(|e| toml_error(path, text, &e))
}

/// Whether `alert` is a TLS alert's name (RFC 8446 §6, as `tls_alert` findings name them),
/// optionally followed by its sender (`_from_client`, `_from_server`).
fn known_alert(alert: &str) -> bool {
    let name = alert
        .strip_suffix("_from_client")
        .or_else(|| alert.strip_suffix("_from_server"))
        .unwrap_or(alert);
    (0..=u8::MAX).any(|code| crate::proto::tls::names::alert_description_name(code) == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_files_all_parse() {
        for (path, text) in BUILTIN_RULES {
            let rules = parse_builtin_rules(path, text);
            assert!(rules.is_ok(), "{rules:?}");
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
    fn an_explains_entry_must_name_a_real_tls_alert() {
        // known_alert: `rule:alert` in `explains` names an RFC 8446 §6 alert (unknown_ca is 48),
        // optionally with its sender. A misspelt name would never match a finding, so the
        // fold would silently not happen: the file is refused instead.
        let with_explains = |explained: &str| {
            let text = format!(
                "[intermediate_missing]\nseverity = \"warning\"\nexplains = [\"{explained}\"]\n\
                 title = \"T\"\ndetail = \"D\"\nremedy = \"R\"\n"
            );
            parse_rules("r.toml", &text)
        };
        for good in [
            "tls_alert:unknown_ca",
            "tls_alert:unknown_ca_from_client",
            "tls_alert:bad_certificate_from_server",
        ] {
            let r = with_explains(good);
            assert!(r.is_ok(), "{good}: {r:?}");
        }
        for bad in [
            "tls_alert:unknwon_ca_from_client",
            "tls_alert:unknown_ca_from_broker",
        ] {
            let e = with_explains(bad).err();
            assert!(
                e.as_ref()
                    .is_some_and(|e| e.reason.contains("names no TLS alert")),
                "{bad}: {e:?}"
            );
        }
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
        // The per-connection loop reads the overlay too, not the built-in it replaced.
        assert_slots_match_rules(&book);
    }

    /// Every connection slot holds what a search by the rule's name finds.
    fn assert_slots_match_rules(book: &RuleBook) {
        assert_eq!(book.connection_slots.len(), CONNECTION_RULES.len());
        for (slot, (id, _)) in CONNECTION_RULES.iter().enumerate() {
            let by_slot = book.connection_rule(slot).map(|r| (&r.id, &r.base));
            let by_name = book.rule(id).map(|r| (&r.id, &r.base));
            assert!(by_slot.is_some(), "{id} has no slot");
            assert_eq!(by_slot, by_name, "{id}");
        }
        assert!(book.connection_rule(CONNECTION_RULES.len()).is_none());
    }

    #[test]
    fn connection_slots_follow_the_registry_order() {
        assert_slots_match_rules(&RuleBook::builtin());
    }

    /// A rule with its four required keys, then `extra` lines.
    fn rule_text(id: &str, extra: &str) -> String {
        format!(
            "[{id}]\nseverity = \"error\"\ntitle = \"T\"\ndetail = \"D\"\nremedy = \"R\"\n{extra}"
        )
    }

    #[test]
    fn a_misspelt_key_names_its_path_and_line() {
        // A rule's own key.
        let text = rule_text("syn_unanswered", "remdy = \"R\"\n");
        let e = parse_rules("rules/x.toml", &text).err();
        assert!(
            matches!(&e, Some(BookError { line: Some(6), reason, .. }) if reason.contains("remdy")),
            "{e:?}"
        );
        assert!(
            e.is_some_and(|e| e.to_string().starts_with("rules/x.toml:6: ")),
            "path:line: reason"
        );
        // A key of a variant.
        let text = rule_text(
            "zero_window",
            "[zero_window.variants.reopened]\ndetail = \"d\"\ntitel = \"t\"\n",
        );
        let e = parse_rules("r.toml", &text).err();
        assert!(
            matches!(&e, Some(BookError { line: Some(8), reason, .. }) if reason.contains("titel")),
            "{e:?}"
        );
    }

    #[test]
    fn a_misspelt_threshold_names_its_path_and_line() {
        let text = rule_text(
            "syn_unanswered",
            "[syn_unanswered.thresholds]\n# the wait\nmin_wiat_s = 3.0\n",
        );
        let e = parse_rules("rules/x.toml", &text).err();
        assert!(
            matches!(&e, Some(BookError { line: Some(8), reason, .. })
                if reason.contains("`min_wiat_s`") && reason.contains("min_wait_s")),
            "{e:?}"
        );
        assert!(
            e.is_some_and(|e| e.to_string().starts_with("rules/x.toml:8: ")),
            "path:line: reason"
        );
        // Inline, and on a rule whose code reads no threshold.
        let text = rule_text("tls_alert", "thresholds = { max_alerts = 2 }\n");
        let e = parse_rules("r.toml", &text).err();
        assert!(
            matches!(&e, Some(BookError { line: Some(6), reason, .. }) if reason.contains("reads none")),
            "{e:?}"
        );
        // A threshold another rule reads is still unknown here.
        let text = rule_text("zero_window", "[zero_window.thresholds]\nmin_wait_s = 1\n");
        let e = parse_rules("r.toml", &text).err();
        assert!(matches!(&e, Some(BookError { line: Some(7), .. })), "{e:?}");
    }

    #[test]
    fn a_builtin_rule_must_set_every_threshold_its_code_reads() {
        let text = rule_text(
            "peer_unresponsive",
            "[peer_unresponsive.thresholds]\nmin_silence_s = 5\n",
        );
        assert!(parse_rules("r.toml", &text).is_ok());
        let e = parse_builtin_rules("r.toml", &text).err();
        assert!(
            matches!(&e, Some(BookError { line: Some(1), reason, .. }) if reason.contains("min_retransmissions")),
            "{e:?}"
        );
    }

    #[test]
    fn every_builtin_rule_has_the_thresholds_its_code_reads_and_no_other() {
        let book = RuleBook::builtin();
        for rule in book.rules() {
            let mut set: Vec<&str> = rule.thresholds.keys().map(String::as_str).collect();
            let mut reads = threshold_names(&rule.id).to_vec();
            set.sort_unstable();
            reads.sort_unstable();
            assert_eq!(set, reads, "{}", rule.id);
        }
        let ids = super::super::rule_ids();
        for (i, (id, names)) in THRESHOLDS.iter().enumerate() {
            assert!(ids.contains(id), "THRESHOLDS names no rule `{id}`");
            assert!(!names.is_empty(), "{id}");
            assert!(
                THRESHOLDS.iter().skip(i + 1).all(|(other, _)| other != id),
                "{id} twice"
            );
        }
    }

    /// Every `threshold("name")` in `src/detect` names a threshold declared in [`THRESHOLDS`],
    /// and every declared name is read somewhere. (Which rule reads it is checked when the
    /// rules run: [`RuleDef::threshold`] asserts it in debug builds.)
    #[test]
    fn every_threshold_the_code_reads_is_declared() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/detect");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            panic!("cannot read {}", dir.display())
        };
        let declared: Vec<&str> = THRESHOLDS
            .iter()
            .flat_map(|(_, names)| names.iter().copied())
            .collect();
        let mut read: Vec<String> = Vec::new();
        for path in entries.filter_map(Result::ok).map(|e| e.path()) {
            if path.extension().is_none_or(|e| e != "rs") || path.ends_with("book.rs") {
                continue;
            }
            let Ok(source) = std::fs::read_to_string(&path) else {
                panic!("cannot read {}", path.display())
            };
            for call in source.split("threshold(\"").skip(1) {
                let name: String = call.chars().take_while(|c| *c != '"').collect();
                assert!(
                    declared.contains(&name.as_str()),
                    "{}: threshold `{name}` is not declared in THRESHOLDS",
                    path.display()
                );
                read.push(name);
            }
        }
        assert!(
            read.len() >= 30,
            "found only {} threshold reads",
            read.len()
        );
        for name in declared {
            assert!(
                read.iter().any(|r| r == name),
                "`{name}` is declared but never read"
            );
        }
    }

    #[test]
    fn an_overlay_is_validated_and_keeps_the_builtin_thresholds_it_leaves_out() {
        let Ok(dir) = tempfile::tempdir() else { return };
        let mine = dir.path().join("mine.toml");
        let text = rule_text(
            "reconnect_storm",
            "[reconnect_storm.thresholds]\nmin_attempts = 9\n",
        );
        assert!(std::fs::write(&mine, text).is_ok());
        let book = RuleBook::builtin().with_dir(dir.path());
        let Ok(book) = book else { panic!("{book:?}") };
        let Some(rule) = book.rule("reconnect_storm") else {
            panic!("no reconnect_storm")
        };
        assert_eq!(rule.threshold("min_attempts"), 9.0);
        assert_eq!(rule.threshold("max_mean_interval_s"), 10.0);
        assert_eq!(rule.threshold("backoff_share"), 0.6);
        // A misspelt threshold in an overlay: the file and the line (exit 2 in the CLI).
        let text = rule_text(
            "reconnect_storm",
            "[reconnect_storm.thresholds]\nmin_atempts = 9\n",
        );
        assert!(std::fs::write(&mine, text).is_ok());
        let e = RuleBook::builtin().with_dir(dir.path()).err();
        assert!(
            e.as_ref().is_some_and(|e| e
                .to_string()
                .starts_with(&format!("{}:7: ", mine.display()))),
            "{e:?}"
        );
    }

    #[test]
    fn the_limits_listing_covers_every_field_of_the_struct() {
        let all = Limits {
            keep_alive_min_s: Some(1),
            keep_alive_max_s: Some(2),
            keep_alive_zero_allowed: Some(false),
            keep_alive_clamped: Some(true),
            keep_alive_grace_s: Some(3),
            idle_timeout_s: Some(4),
            max_qos: Some(1),
            max_packet_bytes: Some(5),
            max_publish_payload_bytes: Some(6),
            client_id_max_bytes: Some(7),
            client_id_format: Some("d/{name}".into()),
            client_id_required: Some(true),
            min_tls_version: Some("1.2".into()),
            sni_required: Some(true),
            client_cert_required: Some(false),
            jwt_password: Some(true),
            jwt_max_lifetime_s: Some(8),
            jwt_aud_required: Some(true),
            jwt_iat_leeway_s: Some(9),
        };
        let entries = all.entries();
        assert_eq!(entries.len(), field_names::<Limits>().len());
        assert_eq!(entries.len(), 19);
        assert_eq!(
            entries.first(),
            Some(&("keep_alive_min_s", "1".to_string()))
        );
        assert!(entries.contains(&("client_id_format", "d/{name}".to_string())));
        assert!(entries.contains(&("min_tls_version", "1.2".to_string())));
        assert!(Limits::default().entries().is_empty());
    }

    #[test]
    fn unknown_profile_is_an_error() {
        assert!(RuleBook::builtin().with_profile("nope").is_err());
        assert!(RuleBook::builtin().with_profile("aws-iot").is_ok());
    }
}
