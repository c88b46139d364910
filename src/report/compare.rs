//! `mqpcap compare`: the facts of a working connection beside those of a failing one, so what
//! changed (TLS version, SNI, certificate, client id, keep-alive, CONNACK...) stands out.
//!
//! Works on the report model only: a connection is compared through its serialised form, so
//! every fact shown here is one the JSON contract also carries.
//!
//! What is random by design never counts as a difference. The model holds no ClientHello random,
//! session id or key share value to begin with; GREASE values (RFC 8701) are gone from every
//! list at parse time; the padding extension (RFC 7685), whose presence depends on the hello's
//! length, is left out of the extensions; and lists are compared as sets first, so an order
//! that varies by design (extension order in Chrome-based stacks) shows as "other order",
//! apart from the members that really differ.

use super::model::{ConnectionReport, Report};
use crate::finding::Severity;
use crate::proto::tls::names;
use comfy_table::{ContentArrangement, Table, presets};
use serde::Serialize;
use serde_json::Value;
use std::io::{self, Write};

/// The first connection of `report` with an error (its own, or a cross-connection one that
/// names it: the connection a duplicate client id kicked off has none of its own), else with a
/// warning, else with an info.
pub(crate) fn pick_failing(report: &Report) -> Option<&ConnectionReport> {
    let has = |c: &ConnectionReport, severity: Severity| {
        c.findings.iter().any(|f| f.severity == severity)
            || report
                .findings
                .iter()
                .any(|f| f.severity == severity && f.connections.contains(&c.id))
    };
    [Severity::Error, Severity::Warning, Severity::Info]
        .into_iter()
        .find_map(|severity| report.connections.iter().find(|c| has(c, severity)))
}

/// The healthy connection of `report` most like `bad`: the same server and SNI, else the same
/// client id, else the first healthy one. `same_report`: `bad` is one of `report`'s own.
pub(crate) fn pick_like<'a>(
    report: &'a Report,
    bad: &ConnectionReport,
    same_report: bool,
) -> Option<&'a ConnectionReport> {
    let other = |c: &ConnectionReport| !same_report || c.id != bad.id;
    // Healthy on its own: a cross-connection finding (intermittent resets) may name the
    // attempts that worked, and those are the ones to compare with.
    let healthy: Vec<&ConnectionReport> = report
        .connections
        .iter()
        .filter(|c| !c.findings.iter().any(super::story::serious) && other(c))
        .collect();
    let sni = |c: &ConnectionReport| {
        c.tls
            .as_ref()
            .and_then(|t| t.client_hello.as_ref())
            .and_then(|h| h.sni.clone())
    };
    let client_id = |c: &ConnectionReport| {
        c.mqtt
            .as_ref()
            .and_then(|m| m.connect.as_ref())
            .and_then(|k| k.client_id.as_ref())
            .map(|id| id.display())
    };
    healthy
        .iter()
        .find(|c| {
            c.server.ip == bad.server.ip && c.server.port == bad.server.port && sni(c) == sni(bad)
        })
        .or_else(|| {
            healthy
                .iter()
                .find(|c| client_id(bad).is_some() && client_id(c) == client_id(bad))
        })
        .or_else(|| healthy.iter().find(|c| c.tls.is_some() || c.mqtt.is_some()))
        .or_else(|| healthy.first())
        .copied()
}

/// One compared fact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct FactRow {
    pub fact: &'static str,
    pub good: String,
    pub bad: String,
    pub differs: bool,
    /// For a list (cipher suites, groups, extensions...): how the two lists differ.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub list: Option<ListDiff>,
}

/// How two offered lists differ, members compared as sets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct ListDiff {
    /// In the good connection's list only, in its order.
    pub only_good: Vec<String>,
    /// In the bad connection's list only, in its order.
    pub only_bad: Vec<String>,
    /// Both hold the same members, in another order.
    pub reordered: bool,
}

/// A ClientHello list compared member by member: where the JSON holds it and how its members
/// are named.
#[derive(Debug, Clone, Copy)]
struct ListFact {
    fact: &'static str,
    pointer: &'static str,
    members: Members,
}

/// How the members of a ClientHello list are written in the comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Members {
    /// As the JSON names them (cipher suites).
    AsWritten,
    /// IANA TLS Supported Groups names (RFC 8446 §4.2.7).
    Groups,
    /// IANA TLS SignatureScheme names (RFC 8446 §4.2.3).
    SignatureSchemes,
    /// Extension names from the JA3 string's third field (GREASE already left out by JA3),
    /// without padding.
    Ja3Extensions,
}

/// ClientHello lists, compared member by member (see the module documentation).
const LIST_FACTS: &[ListFact] = &[
    ListFact {
        fact: "cipher suites offered",
        pointer: "/tls/client_hello/cipher_suites",
        members: Members::AsWritten,
    },
    ListFact {
        fact: "groups offered",
        pointer: "/tls/client_hello/groups",
        members: Members::Groups,
    },
    ListFact {
        fact: "key share groups",
        pointer: "/tls/client_hello/key_share_groups",
        members: Members::Groups,
    },
    ListFact {
        fact: "signature algorithms",
        pointer: "/tls/client_hello/signature_algorithms",
        members: Members::SignatureSchemes,
    },
    ListFact {
        fact: "extensions",
        pointer: "/tls/client_hello/ja3_full",
        members: Members::Ja3Extensions,
    },
];

/// The padding extension (RFC 7685): present or not depending on the hello's length.
const PADDING_EXTENSION: &str = "21";

impl ListFact {
    /// The list of `conn` as texts; `None` when the connection has none.
    fn members(&self, conn: &Value) -> Option<Vec<String>> {
        let value = conn.pointer(self.pointer)?;
        if self.members == Members::Ja3Extensions {
            let ja3 = value.as_str()?;
            let field = ja3.split(',').nth(2)?;
            return Some(
                field
                    .split('-')
                    .filter(|e| !e.is_empty() && *e != PADDING_EXTENSION)
                    .map(|e| match e.parse::<u16>() {
                        Ok(n) => names::extension_name(n),
                        Err(_) => e.to_string(),
                    })
                    .collect(),
            );
        }
        // An empty list is an extension the hello does not carry (no key_share below TLS 1.3).
        let items = value.as_array().filter(|items| !items.is_empty())?;
        Some(
            items
                .iter()
                .map(|item| {
                    let code = item.as_u64().and_then(|n| u16::try_from(n).ok());
                    match (code, self.members) {
                        (Some(n), Members::Groups) => names::named_group_name(n),
                        (Some(n), Members::SignatureSchemes) => names::signature_scheme_name(n),
                        (Some(n), _) => format!("0x{n:04x}"),
                        (None, _) => text(item),
                    }
                })
                .collect(),
        )
    }

    /// The comparison row of this list between `good` and `bad`.
    fn row(&self, good: &Value, bad: &Value) -> FactRow {
        list_row(self.fact, self.members(good), self.members(bad))
    }
}

/// The row of a list fact: each cell its count and how many members only it has; the members
/// themselves are listed under the table.
fn list_row(fact: &'static str, good: Option<Vec<String>>, bad: Option<Vec<String>>) -> FactRow {
    let cell = |list: &Option<Vec<String>>, only: &[String], reordered: bool| match list {
        None => "-".to_string(),
        Some(l) if !only.is_empty() => format!("{} ({} only here)", l.len(), only.len()),
        Some(l) if reordered => format!("{} (other order)", l.len()),
        Some(l) => l.len().to_string(),
    };
    let (g, b) = (
        good.clone().unwrap_or_default(),
        bad.clone().unwrap_or_default(),
    );
    let only_good: Vec<String> = g.iter().filter(|m| !b.contains(m)).cloned().collect();
    let only_bad: Vec<String> = b.iter().filter(|m| !g.contains(m)).cloned().collect();
    let reordered = only_good.is_empty() && only_bad.is_empty() && g != b;
    let differs = good.is_some() != bad.is_some() || g != b;
    FactRow {
        fact,
        good: cell(&good, &only_good, reordered),
        bad: cell(&bad, &only_bad, reordered),
        differs,
        list: differs.then_some(ListDiff {
            only_good,
            only_bad,
            reordered,
        }),
    }
}

/// Where a compared connection came from.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Which {
    pub capture: String,
    pub connection: usize,
    pub tcp_stream: u32,
    pub first_frame: u64,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Comparison {
    pub schema: &'static str,
    pub good: Which,
    pub bad: Which,
    pub facts: Vec<FactRow>,
    /// `severity rule: title` of the failing connection's findings.
    pub bad_findings: Vec<String>,
}

/// Facts in the order a support engineer reads them: transport, TLS, MQTT, outcome.
const FACTS: &[(&str, &[&str])] = &[
    ("server", &["/server/ip", "/server/port"]),
    ("protocol", &["/protocol"]),
    ("TLS offered (max)", &["/tls/client_hello/max_version"]),
    ("TLS versions offered", &["/tls/client_hello/versions"]),
    ("SNI", &["/tls/client_hello/sni"]),
    ("ALPN offered", &["/tls/client_hello/alpn"]),
    ("JA3", &["/tls/client_hello/ja3"]),
    ("JA4", &["/tls/client_hello/ja4"]),
    ("TLS chosen", &["/tls/server_hello/version"]),
    ("cipher suite", &["/tls/server_hello/cipher_suite"]),
    ("server certificate", &["/tls/certificates"]),
    ("client certificate", &["/tls/certificates"]),
    ("TLS alerts", &["/tls/alerts"]),
    ("TLS established", &["/tls/established"]),
    ("MQTT version", &["/mqtt/protocol_version"]),
    ("client id", &["/mqtt/connect/client_id"]),
    ("keep-alive (s)", &["/mqtt/connect/keep_alive"]),
    ("clean start", &["/mqtt/connect/clean_start"]),
    ("user name sent", &["/mqtt/connect/username_present"]),
    ("password sent", &["/mqtt/connect/password_present"]),
    ("will topic", &["/mqtt/connect/will/topic"]),
    ("CONNACK", &["/mqtt/connack/code", "/mqtt/connack/name"]),
    (
        "DISCONNECT",
        &["/mqtt/disconnect/from", "/mqtt/disconnect/reason_code"],
    ),
    ("closed", &["/tcp/close/how", "/tcp/close/by"]),
    ("TCP state", &["/tcp/state"]),
    ("findings", &["/findings"]),
];

/// A JSON value as a short cell text; `-` when absent.
fn text(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        Value::Array(items) if items.is_empty() => "-".into(),
        Value::Array(items) => items.iter().map(text).collect::<Vec<_>>().join(", "),
        Value::Object(o) => match o.get("bytes_base64") {
            Some(b) => format!("base64:{}", text(b)),
            None => v.to_string(),
        },
        other => other.to_string(),
    }
}

/// The first certificate of the chain `from` sent: subject, issuer and expiry.
fn certificate(conn: &Value, from: &str) -> String {
    let chains = conn.pointer("/tls/certificates").and_then(Value::as_array);
    let Some(msg) = chains.and_then(|c| c.iter().find(|m| m["from"] == from)) else {
        return "-".into();
    };
    match msg["chain"].as_array().and_then(|c| c.first()) {
        Some(leaf) => format!(
            "{} (issuer {}, until {})",
            text(&leaf["subject"]),
            text(&leaf["issuer"]),
            text(&leaf["not_after"])
        ),
        None => "empty (no certificate)".into(),
    }
}

fn fact_value(conn: &Value, fact: &str, pointers: &[&str]) -> String {
    let at = |p: &str| text(conn.pointer(p).unwrap_or(&Value::Null));
    match fact {
        "server" => match conn.pointer("/server/ip").and_then(Value::as_str) {
            Some(ip) if ip.contains(':') => format!("[{ip}]:{}", at("/server/port")),
            Some(ip) => format!("{ip}:{}", at("/server/port")),
            None => "-".into(),
        },
        "closed" => match (at("/tcp/close/how"), at("/tcp/close/by")) {
            (how, by) if by == "-" => how,
            (how, by) => format!("{how} by {by}"),
        },
        "server certificate" => certificate(conn, "server"),
        "client certificate" => certificate(conn, "client"),
        "TLS alerts" => conn
            .pointer("/tls/alerts")
            .and_then(Value::as_array)
            .map(|alerts| {
                alerts
                    .iter()
                    .map(|a| match a["description"].as_str() {
                        Some(d) => format!("{} {d} from {}", text(&a["level"]), text(&a["from"])),
                        None => format!("encrypted alert from {}", text(&a["from"])),
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "-".into()),
        "findings" => conn["findings"]
            .as_array()
            .map(|fs| {
                fs.iter()
                    .map(|f| format!("{} {}", text(&f["severity"]), text(&f["rule"])))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "none".into()),
        _ => {
            let parts: Vec<String> = pointers
                .iter()
                .map(|p| text(conn.pointer(p).unwrap_or(&Value::Null)))
                .collect();
            if parts.iter().all(|p| p == "-") {
                "-".into()
            } else {
                parts.join(" ")
            }
        }
    }
}

fn which(report: &Report, conn: &ConnectionReport) -> Which {
    Which {
        capture: report
            .captures
            .get(conn.capture)
            .map(|c| c.path.clone())
            .unwrap_or_default(),
        connection: conn.id,
        tcp_stream: conn.tcp_stream,
        first_frame: conn.first_frame,
    }
}

/// Compares `good` (of `good_report`) with `bad` (of `bad_report`).
pub(crate) fn compare(
    good_report: &Report,
    good: &ConnectionReport,
    bad_report: &Report,
    bad: &ConnectionReport,
) -> Comparison {
    let (g, b) = (
        serde_json::to_value(good).unwrap_or(Value::Null),
        serde_json::to_value(bad).unwrap_or(Value::Null),
    );
    let facts = FACTS
        .iter()
        .map(|(fact, pointers)| {
            let (good, bad) = (
                fact_value(&g, fact, pointers),
                fact_value(&b, fact, pointers),
            );
            FactRow {
                fact,
                differs: good != bad,
                good,
                bad,
                list: None,
            }
        })
        .collect::<Vec<_>>();
    // The ClientHello's lists go after its fingerprints, which they explain.
    let after_ja4 = facts
        .iter()
        .position(|row| row.fact == "JA4")
        .map_or(facts.len(), |i| i + 1);
    let lists = LIST_FACTS.iter().map(|list| list.row(&g, &b));
    let mut facts = facts;
    facts.splice(after_ja4..after_ja4, lists);
    // A fact neither side has (MQTT facts of two TLS-only connections) says nothing.
    facts.retain(|row| row.good != "-" || row.bad != "-");
    Comparison {
        schema: "mqpcap-compare/1",
        good: which(good_report, good),
        bad: which(bad_report, bad),
        facts,
        bad_findings: bad
            .findings
            .iter()
            .chain(
                bad_report
                    .findings
                    .iter()
                    .filter(|f| f.connections.contains(&bad.id)),
            )
            .map(|f| format!("{} {}: {}", f.severity, f.rule, f.title))
            .collect(),
    }
}

/// Members listed on one line, at most [`LISTED`] of them.
fn list_text(members: &[String]) -> String {
    let shown: Vec<&str> = members.iter().take(LISTED).map(String::as_str).collect();
    match members.len().saturating_sub(LISTED) {
        0 => shown.join(", "),
        more => format!("{} and {more} more", shown.join(", ")),
    }
}

/// Members of a list difference shown in the table format (JSON has them all).
const LISTED: usize = 12;

pub(crate) fn write_json(c: &Comparison, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, c)?;
    writeln!(out)
}

/// The comparison as a table that fits `width` columns (long values fold inside their cells).
pub(crate) fn write_table(c: &Comparison, out: &mut dyn Write, width: usize) -> io::Result<()> {
    let describe = |w: &Which| {
        format!(
            "{} connection {} (tcp.stream {}, from frame {})",
            w.capture, w.connection, w.tcp_stream, w.first_frame
        )
    };
    writeln!(out, "good: {}", describe(&c.good))?;
    writeln!(out, "bad:  {}", describe(&c.bad))?;
    let mut table = Table::new();
    table
        .load_style(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(u16::try_from(width.max(40)).unwrap_or(u16::MAX))
        .set_header(vec!["", "fact", "good", "bad"]);
    for row in &c.facts {
        let mark = if row.differs { "≠" } else { "" };
        table.add_row(vec![mark, row.fact, &row.good, &row.bad]);
    }
    writeln!(out, "{table}")?;
    let differing = c.facts.iter().filter(|r| r.differs).count();
    writeln!(out, "{differing} of {} facts differ", c.facts.len())?;
    let wrap_width = width.max(40) - 2;
    for (fact, diff) in c
        .facts
        .iter()
        .filter_map(|r| Some((r.fact, r.list.as_ref()?)))
    {
        for (side, only) in [("good", &diff.only_good), ("bad", &diff.only_bad)] {
            if !only.is_empty() {
                let line = format!("{fact}, only in {side}: {}", list_text(only));
                for part in super::table::wrap(&line, wrap_width).lines() {
                    writeln!(out, "  {part}")?;
                }
            }
        }
        if diff.reordered {
            writeln!(out, "  {fact}: the same members in another order")?;
        }
    }
    if !c.bad_findings.is_empty() {
        writeln!(out, "findings on the bad connection:")?;
        for f in &c.bad_findings {
            for line in super::table::wrap(f, width.max(40) - 2).lines() {
                writeln!(out, "  {line}")?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cells_are_short_and_never_lossy() {
        assert_eq!(text(&Value::Null), "-");
        assert_eq!(text(&json!(["TLS 1.3", "TLS 1.2"])), "TLS 1.3, TLS 1.2");
        assert_eq!(text(&json!({"bytes_base64": "/wA="})), "base64:/wA=");
        assert_eq!(text(&json!(60)), "60");
    }

    #[test]
    fn lists_compare_as_sets_without_what_is_random_by_design() {
        let hello = |ja3: &str, suites: Value, groups: Value| {
            json!({"tls": {"client_hello": {
                "ja3_full": ja3, "cipher_suites": suites, "groups": groups}}})
        };
        // The same members: extension order shuffled and padding (21) added, as Chrome does.
        let good = hello(
            "771,4865,0-10-43-51,29,0",
            json!(["A", "B"]),
            json!([29, 23]),
        );
        let bad = hello(
            "771,4865,51-43-0-10-21,29,0",
            json!(["A", "B"]),
            json!([29, 23]),
        );
        let list = |fact: &str| LIST_FACTS.iter().find(|l| l.fact == fact).copied();
        let ext = |c: &Value| list("extensions").and_then(|l| l.members(c));
        let row = list_row("extensions", ext(&good), ext(&bad));
        assert!(row.differs);
        assert_eq!(
            row.list,
            Some(ListDiff {
                only_good: vec![],
                only_bad: vec![],
                reordered: true
            })
        );
        assert_eq!(
            (row.good.as_str(), row.bad.as_str()),
            ("4 (other order)", "4 (other order)")
        );
        // Members that really differ are named, each on its side.
        let bad = hello("771,4865,0-10,29,0", json!(["B", "C"]), json!([29, 256]));
        let suites = |c: &Value| list("cipher suites offered").and_then(|l| l.members(c));
        let row = list_row("cipher suites offered", suites(&good), suites(&bad));
        let diff = row.list.unwrap();
        assert_eq!(
            (diff.only_good, diff.only_bad),
            (vec!["A".to_string()], vec!["C".to_string()])
        );
        assert_eq!(row.good, "2 (1 only here)");
        let groups = |c: &Value| list("groups offered").and_then(|l| l.members(c));
        let row = list_row("groups offered", groups(&good), groups(&bad));
        assert_eq!(row.list.unwrap().only_bad, vec!["ffdhe2048".to_string()]);
        // Equal lists do not differ; a list one side lacks does.
        let row = list_row("extensions", ext(&good), ext(&good));
        assert!(!row.differs && row.list.is_none());
        assert!(list_row("groups offered", groups(&good), None).differs);
    }

    #[test]
    fn a_fact_joins_its_parts_and_certificates_name_the_leaf() {
        let conn = json!({
            "mqtt": {"connack": {"code": 5, "name": "not_authorized"}},
            "tls": {"certificates": [{"from": "server", "chain": [
                {"subject": "CN=broker", "issuer": "CN=ca", "not_after": "2030-01-01T00:00:00Z"}]},
                {"from": "client", "chain": []}]},
            "findings": []
        });
        assert_eq!(
            fact_value(
                &conn,
                "CONNACK",
                &["/mqtt/connack/code", "/mqtt/connack/name"]
            ),
            "5 not_authorized"
        );
        assert_eq!(
            fact_value(&conn, "server certificate", &[]),
            "CN=broker (issuer CN=ca, until 2030-01-01T00:00:00Z)"
        );
        assert_eq!(
            fact_value(&conn, "client certificate", &[]),
            "empty (no certificate)"
        );
        assert_eq!(fact_value(&conn, "findings", &[]), "none");
        assert_eq!(
            fact_value(&conn, "DISCONNECT", &["/mqtt/disconnect/from"]),
            "-"
        );
    }
}
