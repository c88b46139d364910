//! Diagnosis: rules that turn connection records into findings with evidence.
//!
//! The text, severity and thresholds of every rule are data (`rules/*.toml`, loaded by
//! [`book`]); the decision of each rule is a small named Rust function (`tcp`, `tls`, `tls_hello`, `certs`,
//! `mqtt`, `cross`, `profile`). A rule function returns [`Hit`]s: which text variant applies,
//! the facts to put in the text, and the frames that prove it. The engine here renders hits
//! into [`Finding`]s. Rules read connection records and their event timelines only, never the
//! parsers, and never print secrets (a JWT is decoded, never shown).
//!
//! Guarantees: deterministic output (rules run in a fixed order, connections in report order);
//! no panics on any connection record; every rule id in code has an entry in `rules/` and
//! vice versa (checked by a test and when a rule directory is loaded).

pub(crate) mod book;
mod certs;
mod combine;
mod cross;
mod cross_learned;
mod dns;
pub(crate) mod explain;
mod facts;
mod fleet;
mod jwt;
mod mqtt;
mod mqtt_sequence;
mod pmtu;
pub(crate) mod ports;
mod profile;
mod summary;
mod tcp;
mod tls;
mod tls13_flight;
mod tls_hello;
mod tls_keys;
mod transport;

#[cfg(test)]
pub(crate) mod test_support;

use crate::common::At;
use crate::conn::Connection;
pub(crate) use crate::finding::{Evidence, Finding, Severity};
pub(crate) use book::{BookError, Profile, RuleBook, RuleDef};
use std::collections::BTreeSet;
pub(crate) use summary::{ConnSummary, summarize};

/// Values substituted for `{name}` in a rule's text.
pub(crate) type Vars = Vec<(&'static str, String)>;

/// What a rule function found; rendered by the engine with the rule's text.
#[derive(Debug, Clone, Default)]
pub(crate) struct Hit {
    /// Key into the rule's `variants` table; `None` uses the rule's own text.
    pub variant: Option<String>,
    pub vars: Vars,
    pub evidence: Vec<Evidence>,
    pub alert: Option<Option<String>>,
    /// Who sent the alert: `client` or `server`.
    pub alert_from: Option<&'static str>,
    /// Concluded from indirect evidence (sizes, timing) rather than read from the protocol.
    pub inferred: bool,
    /// Connections beyond the one being examined (cross-connection rules list all of theirs).
    pub connections: Vec<usize>,
}

impl Hit {
    pub(crate) fn new() -> Hit {
        Hit::default()
    }
    pub(crate) fn variant(mut self, key: impl Into<String>) -> Hit {
        self.variant = Some(key.into());
        self
    }
    pub(crate) fn var(mut self, name: &'static str, value: impl ToString) -> Hit {
        self.vars.push((name, value.to_string()));
        self
    }
    pub(crate) fn at(mut self, at: At, note: impl Into<String>) -> Hit {
        self.evidence.push(Evidence {
            at,
            note: note.into(),
        });
        self
    }
    /// Marks the hit as an inference (`inferred: true` in the finding).
    pub(crate) fn inferred(mut self) -> Hit {
        self.inferred = true;
        self
    }
    /// The finding is about a TLS alert: its name (`None` when encrypted) and its sender.
    pub(crate) fn alert(mut self, name: Option<String>, from: &'static str) -> Hit {
        self.alert = Some(name);
        self.alert_from = Some(from);
        self
    }
}

/// What a per-connection rule sees.
pub(crate) struct ConnCtx<'a> {
    pub conn: &'a Connection,
    /// How far the capture watched this connection: the end of the capture, or where the
    /// engine ended the record (an idle timeout). Rules about silence measure up to here.
    pub observed_until: At,
    pub rule: &'a RuleDef,
    pub profile: &'a Profile,
    pub broker_ports: &'a ports::BrokerPorts,
    /// Rules that already fired on this connection (rules run in registry order).
    pub found: &'a [&'static str],
}

impl ConnCtx<'_> {
    /// A threshold of the rule (its value is in `rules/*.toml`; see [`RuleDef::threshold`]).
    pub(crate) fn threshold(&self, name: &str) -> f64 {
        self.rule.threshold(name)
    }
    pub(crate) fn found(&self, rule: &str) -> bool {
        self.found.contains(&rule)
    }
    /// How far the capture watched this connection: its last packet, or later when the capture
    /// (or the record) went on past it. Silences are measured up to here.
    pub(crate) fn watched_until(&self) -> At {
        if self.observed_until.frame >= self.conn.tcp.last.frame {
            self.observed_until
        } else {
            self.conn.tcp.last
        }
    }
    /// How the connection's server port is spoken to, when it is a broker port.
    pub(crate) fn broker_port(&self) -> Option<ports::BrokerTransport> {
        self.broker_ports.get(self.conn.server_addr().port())
    }
}

pub(crate) struct CrossCtx<'a> {
    pub connections: &'a [ConnSummary],
    pub rule: &'a RuleDef,
    /// Connection ids already explained by earlier cross rules (e.g. a duplicate-id fight is
    /// not also a reconnect storm). A set: every connection of the run is looked up in it, and
    /// a list made that quadratic (a tenth of the merge thread on the fleet benchmark).
    pub explained: &'a BTreeSet<usize>,
    pub broker_ports: &'a ports::BrokerPorts,
}

impl CrossCtx<'_> {
    /// A threshold of the rule (its value is in `rules/*.toml`; see [`RuleDef::threshold`]).
    pub(crate) fn threshold(&self, name: &str) -> f64 {
        self.rule.threshold(name)
    }
}

pub(crate) type ConnRule = fn(&ConnCtx) -> Vec<Hit>;
pub(crate) type CrossRule = fn(&CrossCtx) -> Vec<Hit>;

/// Per-connection rules in the order they run; later rules may look at `found`.
pub(crate) const CONNECTION_RULES: &[(&str, ConnRule)] = &[
    ("capture_one_sided", tcp::capture_one_sided),
    ("icmp_unreachable", tcp::icmp_unreachable),
    ("connection_refused", tcp::connection_refused),
    ("syn_unanswered", tcp::syn_unanswered),
    ("capture_gap", tcp::capture_gap),
    ("tcp_retransmissions", tcp::tcp_retransmissions),
    ("zero_window", tcp::zero_window),
    ("pmtu_blackhole", pmtu::pmtu_blackhole),
    ("peer_unresponsive", tcp::peer_unresponsive),
    ("proxy_refused", transport::proxy_refused),
    (
        "websocket_upgrade_failed",
        transport::websocket_upgrade_failed,
    ),
    ("protocol_mismatch", tls_hello::protocol_mismatch),
    ("low_tls_version", tls_hello::low_tls_version),
    ("weak_cipher_suite", tls_keys::weak_cipher_suite),
    ("sni_missing", tls_hello::sni_missing),
    ("sni_ip_literal", tls_hello::sni_ip_literal),
    ("cert_expired", certs::cert_expired),
    ("cert_not_yet_valid", certs::cert_not_yet_valid),
    ("hostname_mismatch", certs::hostname_mismatch),
    ("intermediate_missing", certs::intermediate_missing),
    ("cert_chain_order", certs::cert_chain_order),
    ("tls_alert", tls::tls_alert),
    ("clock_skew_suspected", certs::clock_skew_suspected),
    ("client_cert_missing", tls::client_cert_missing),
    ("client_cert_rejected", tls::client_cert_rejected),
    ("encrypted_alert", tls::encrypted_alert),
    ("rst_without_alert", tls::rst_without_alert),
    ("handshake_incomplete", tls::handshake_incomplete),
    ("keys_not_applied", tls_keys::keys_not_applied),
    ("connack_refused", mqtt::connack_refused),
    ("no_connect_sent", mqtt::no_connect_sent),
    ("server_disconnect", mqtt::server_disconnect),
    ("keepalive_lapse", mqtt::keepalive_lapse),
    (
        "server_closed_after_request",
        mqtt::server_closed_after_request,
    ),
    ("subscribe_refused", mqtt::subscribe_refused),
    ("publish_refused", mqtt::publish_refused),
    ("malformed_mqtt", mqtt::malformed_mqtt),
    (
        "mqtt_sequence_violation",
        mqtt_sequence::mqtt_sequence_violation,
    ),
    ("qos_unsupported", profile::qos_unsupported),
    ("keepalive_out_of_range", profile::keepalive_out_of_range),
    ("client_id_invalid", profile::client_id_invalid),
    ("packet_too_large", profile::packet_too_large),
    ("jwt_invalid", profile::jwt_invalid),
];

/// Cross-connection rules in the order they run.
pub(crate) const CROSS_RULES: &[(&str, CrossRule)] = &[
    ("duplicate_client_id", cross::duplicate_client_id),
    ("rst_intermittent", cross::rst_intermittent),
    ("reconnect_storm", cross::reconnect_storm),
];

/// Rules on capture-level facts rather than connections (DNS lookups): see [`dns_failures`].
pub(crate) const CAPTURE_RULES: &[&str] = &["dns_failure", "failing_in_every_capture"];

pub(crate) use dns::dns_failures;
pub(crate) use fleet::failing_in_every_capture;

/// Per-connection rules run again across connections, for the connections they could not
/// judge alone (broker ports learned from other connections; see `cross_learned`). Their ids
/// are already in [`CONNECTION_RULES`].
pub(crate) const LEARNED_RULES: &[(&str, CrossRule)] = &[
    ("no_connect_sent", cross_learned::learned_no_connect),
    ("protocol_mismatch", cross_learned::learned_tls_to_plain),
];

/// Every rule id the code implements, in run order.
pub(crate) fn rule_ids() -> Vec<&'static str> {
    CONNECTION_RULES
        .iter()
        .map(|(id, _)| *id)
        .chain(CROSS_RULES.iter().map(|(id, _)| *id))
        .chain(CAPTURE_RULES.iter().copied())
        .collect()
}

/// Cross rules that read [`CrossCtx::explained`]; every other cross rule is given an empty set.
const READS_EXPLAINED: &[&str] = &["reconnect_storm"];

/// Below this many summaries the cross rules all run on the calling thread.
pub(crate) const PARALLEL_FROM: usize = 16_384;

/// Runs the cross-connection rules over the summaries of a run (in report-id order), on up to
/// `threads` threads. Findings come in rule order whatever the threads.
///
/// Why threads: at the end of a fleet run only the merge works, and these rules are most of
/// that time (duplicate_client_id and rst_intermittent about 20 ms each on the fleet
/// benchmark). The rules that do not read what earlier rules explained run first, split over
/// two threads; those that do then run in order, each seeing the connections of every hit of
/// the rules before it, as when all ran one after another.
pub(crate) fn cross_findings(
    summaries: &[ConnSummary],
    book: &RuleBook,
    threads: usize,
) -> Vec<Finding> {
    // The rules the book defines, looked up once.
    let rules: Vec<(&'static str, CrossRule, &RuleDef)> = CROSS_RULES
        .iter()
        .chain(LEARNED_RULES)
        .filter_map(|&(id, rule_fn)| Some((id, rule_fn, book.rule(id)?)))
        .collect();
    let run = |rule_fn: CrossRule, rule: &RuleDef, explained: &BTreeSet<usize>| {
        rule_fn(&CrossCtx {
            connections: summaries,
            rule,
            explained,
            broker_ports: book.broker_ports(),
        })
    };
    let nothing_explained = BTreeSet::new();
    let independent: Vec<usize> = rules
        .iter()
        .enumerate()
        .filter(|(_, (id, _, _))| !READS_EXPLAINED.contains(id))
        .map(|(i, _)| i)
        .collect();
    // The hits of the rules at `indexes`, run with nothing explained.
    let run_independent = |indexes: &[usize]| -> Vec<(usize, Vec<Hit>)> {
        indexes
            .iter()
            .filter_map(|&i| {
                let &(_, rule_fn, rule) = rules.get(i)?;
                Some((i, run(rule_fn, rule, &nothing_explained)))
            })
            .collect()
    };
    let done = if threads > 1 && summaries.len() >= PARALLEL_FROM {
        // Every other rule to each thread: the two heavy ones come first and land apart.
        let every_other = |parity: usize| -> Vec<usize> {
            let numbered = independent.iter().enumerate();
            numbered
                .filter(|(n, _)| n % 2 == parity)
                .map(|(_, &i)| i)
                .collect()
        };
        let (mine, theirs) = (every_other(0), every_other(1));
        std::thread::scope(|scope| {
            let there =
                std::thread::Builder::new().spawn_scoped(scope, || run_independent(&theirs));
            let mut done = run_independent(&mine);
            // A thread that could not start, or failed (rules do not panic): its rules run here.
            done.extend(match there {
                Ok(handle) => handle.join().unwrap_or_else(|_| run_independent(&theirs)),
                Err(_) => run_independent(&theirs),
            });
            done
        })
    } else {
        run_independent(&independent)
    };
    let mut results: Vec<Option<Vec<Hit>>> = (0..rules.len()).map(|_| None).collect();
    for (i, hits) in done {
        if let Some(slot) = results.get_mut(i) {
            *slot = Some(hits);
        }
    }
    let mut cross = Vec::new();
    let mut explained: BTreeSet<usize> = BTreeSet::new();
    for (i, &(id, rule_fn, rule)) in rules.iter().enumerate() {
        let hits = if READS_EXPLAINED.contains(&id) {
            run(rule_fn, rule, &explained)
        } else {
            results
                .get_mut(i)
                .and_then(Option::take)
                .unwrap_or_default()
        };
        for hit in hits {
            explained.extend(hit.connections.iter().copied());
            let mut connections = hit.connections.clone();
            connections.sort_unstable();
            connections.dedup();
            cross.push(render(id, rule, hit, connections, &Vec::new()));
        }
    }
    cross
}

/// Fuzz entry (called by `engine::fuzz_detect` with the connections the pipeline made of the
/// same bytes): `data` as a rule file and a profile file, then every rule under every built-in
/// profile over `connections`. Must never panic.
pub(crate) fn fuzz_rules(data: &[u8], connections: &[Connection], observed_until: At) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = book::parse_rules("fuzz.toml", text);
        let _ = book::parse_profile("fuzz.toml", text);
    }
    let base = RuleBook::builtin();
    let names: Vec<String> = base.profiles().map(|p| p.name.clone()).collect();
    let summaries: Vec<ConnSummary> = connections
        .iter()
        .enumerate()
        .map(|(id, conn)| summarize(id, conn))
        .collect();
    for name in names {
        if let Ok(book) = base.clone().with_profile(&name) {
            for (id, conn) in connections.iter().enumerate() {
                let _ = connection_findings(id, conn, observed_until, &book);
            }
            let _ = cross_findings(&summaries, &book, 1);
        }
    }
}

/// Runs the per-connection rules on one connection, which has report id `id` and was watched
/// until `observed_until`.
pub(crate) fn connection_findings(
    id: usize,
    conn: &Connection,
    observed_until: At,
    book: &RuleBook,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut found: Vec<&'static str> = Vec::new();
    let mut one_sided = None;
    let profile = book.profile();
    for (slot, (rule_id, rule_fn)) in CONNECTION_RULES.iter().enumerate() {
        let Some(rule) = book.connection_rule(slot) else {
            continue;
        };
        let ctx = ConnCtx {
            conn,
            observed_until,
            rule,
            profile,
            broker_ports: book.broker_ports(),
            found: &found,
        };
        let hits = rule_fn(&ctx);
        if !hits.is_empty() {
            found.push(rule_id);
        }
        if hits.is_empty() {
            continue;
        }
        let base = base_vars(conn);
        for hit in hits {
            let mut connections = vec![id];
            connections.extend(hit.connections.iter().copied());
            connections.sort_unstable();
            connections.dedup();
            if rule_id == &"capture_one_sided" {
                // Rendered last: its text names the rules it held back.
                one_sided = Some((rule, hit, connections));
                continue;
            }
            let mut finding = render(rule_id, rule, hit, connections, &base);
            if let Some(note) = combine::confidence_note(rule_id, conn, &found) {
                finding.detail.push(' ');
                finding.detail.push_str(&note);
            }
            findings.push(finding);
        }
    }
    if let Some((rule, hit, connections)) = one_sided {
        findings = combine::hold_back(findings, rule, hit, connections, conn, book);
    }
    combine::fold_explained(findings, book)
}

/// Variables every per-connection text may use.
fn base_vars(conn: &Connection) -> Vars {
    vec![
        ("client", conn.client_addr().to_string()),
        ("server", conn.server_addr().to_string()),
        ("stream", conn.tcp_stream.to_string()),
    ]
}

fn render(
    rule_id: &'static str,
    rule: &RuleDef,
    mut hit: Hit,
    connections: Vec<usize>,
    base: &[(&'static str, String)],
) -> Finding {
    let text = rule.text(hit.variant.as_deref());
    let mut vars = hit.vars.clone();
    vars.extend(base.iter().cloned());
    hit.evidence.sort_by_key(|e| e.at.frame);
    Finding {
        rule: rule_id,
        severity: text.severity,
        title: fill(&text.title, &vars),
        detail: fill(&text.detail, &vars),
        remedy: fill(&text.remedy, &vars),
        alert: hit.alert,
        alert_from: hit.alert_from,
        connections,
        evidence: hit.evidence,
        merged: Vec::new(),
        inferred: hit.inferred,
    }
}

/// Replaces `{name}` with its value; unknown names stay as written so a typo is visible.
pub(crate) fn fill(template: &str, vars: &Vars) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                let name = &after[..close];
                match vars.iter().find(|(n, _)| *n == name) {
                    Some((_, value)) => out.push_str(value),
                    None => {
                        out.push('{');
                        out.push_str(name);
                        out.push('}');
                    }
                }
                rest = &after[close + 1..];
            }
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fuzz_entry_survives_odd_inputs() {
        let until = At::default();
        fuzz_rules(b"", &[], until);
        fuzz_rules(b"[tls_alert]\nseverity = 1\n", &[], until);
        fuzz_rules(
            b"name = \"x\"\ntitle = \"y\"\n[limits]\nmax_qos = 300\n",
            &[test_support::established_plain()],
            until,
        );
    }

    #[test]
    fn fill_substitutes_known_names_and_keeps_unknown_ones() {
        let vars: Vars = vec![("code", "5".into()), ("name", "not_authorized".into())];
        assert_eq!(
            fill("CONNACK {code} ({name}) {nope} {", &vars),
            "CONNACK 5 (not_authorized) {nope} {"
        );
    }

    #[test]
    fn a_per_connection_text_names_the_connections_server_address() {
        // base_vars: {client}, {server} and {stream} are always available to per-connection
        // texts (rules/tcp.toml header). connection_refused's detail names the host whose RST
        // answered the SYN (RFC 9293 §3.10.7.2); its code supplies no `server` of its own.
        use crate::common::Side;
        use crate::flow::TcpEvent;
        let mut c = test_support::conn();
        test_support::tcp(&mut c, 1, 0, Side::Orig, TcpEvent::Syn);
        test_support::tcp(&mut c, 2, 1, Side::Resp, TcpEvent::Rst);
        let f = test_support::findings(&c);
        let refused = f.iter().find(|f| f.rule == "connection_refused");
        assert!(
            refused.is_some_and(
                |r| r.detail.contains("by a RST from 10.0.0.1:1883 (frame 2)")
                    && !r.detail.contains('{')
            ),
            "{f:#?}"
        );
    }

    #[test]
    fn every_rule_in_code_has_an_entry_in_rules_and_back() {
        let book = RuleBook::builtin();
        let code: std::collections::BTreeSet<&str> = rule_ids().into_iter().collect();
        assert_eq!(code.len(), rule_ids().len(), "a rule id registered twice");
        let data: std::collections::BTreeSet<&str> = book.rule_ids().into_iter().collect();
        let missing_in_data: Vec<_> = code.difference(&data).collect();
        let missing_in_code: Vec<_> = data.difference(&code).collect();
        assert!(
            missing_in_data.is_empty(),
            "no rules/ entry: {missing_in_data:?}"
        );
        assert!(missing_in_code.is_empty(), "no code: {missing_in_code:?}");
    }

    #[test]
    fn every_connack_refusal_code_has_its_own_text() {
        // MQTT 3.1.1 §3.2.2.3 table 3.1 and MQTT 5.0 §3.2.2.2 (CONNACK reason codes >= 0x80).
        let book = RuleBook::builtin();
        let Some(rule) = book.rule("connack_refused") else {
            panic!("connack_refused missing")
        };
        let v3 = (1..=5).map(|c| format!("v3_{c}"));
        let v5 = [
            0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8c, 0x90, 0x95,
            0x97, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9f,
        ]
        .into_iter()
        .map(|c| format!("v5_0x{c:02x}"));
        for key in v3.chain(v5) {
            assert!(rule.variants.contains_key(&key), "{key}");
        }
    }

    #[test]
    fn every_contract_rule_id_is_implemented() {
        let contract = [
            "connection_refused",
            "syn_unanswered",
            "tcp_retransmissions",
            "capture_gap",
            "protocol_mismatch",
            "low_tls_version",
            "tls_alert",
            "encrypted_alert",
            "rst_without_alert",
            "handshake_incomplete",
            "client_cert_missing",
            "client_cert_rejected",
            "cert_expired",
            "cert_not_yet_valid",
            "hostname_mismatch",
            "clock_skew_suspected",
            "sni_missing",
            "sni_ip_literal",
            "no_connect_sent",
            "connack_refused",
            "keepalive_lapse",
            "server_disconnect",
            "server_closed_after_request",
            "subscribe_refused",
            "publish_refused",
            "malformed_mqtt",
            "duplicate_client_id",
            "reconnect_storm",
            "rst_intermittent",
            "qos_unsupported",
            "keepalive_out_of_range",
            "client_id_invalid",
            "packet_too_large",
            "jwt_invalid",
        ];
        let ids = rule_ids();
        for id in contract {
            assert!(ids.contains(&id), "{id}");
        }
    }
}
