//! The one serialisable report model (docs/contract.md, schema `mqpcap/1`). Table, JSON, JSON
//! Lines, Markdown and HTML only render it. Built from connection records and the findings the
//! rules already made (the report never runs a rule); never reaches below `conn` except for
//! code-point names.
//!
//! Field order is fixed by the struct definitions and maps are `BTreeMap`s, so the same input
//! always gives byte-identical output.

use crate::capture::{CaptureFacts, CaptureWarning};
pub(crate) use crate::common::BytesText;
use crate::common::{At, Side};
use crate::conn::{AppProtocol, ClientBasis, Connection, EventKind, role_of};
use crate::finding::{self, SeverityCounts};
use crate::flow::CloseHow;
use crate::flow::directory::EndReason;
use crate::proto::dns::DnsLookup;
use crate::proto::mqtt::Version;
use crate::proto::mqtt::message::MqttSummary;
use crate::proto::mqtt::reason::{code_label, connack_code_name};
use crate::proto::tls::message::{CertInfo, KeysNotApplied, TlsSummary};
use crate::proto::tls::names::{alert_description_name, cipher_suite_name, version_name};
use crate::proto::transport::Transport;
use crate::report::redact::{self, Redactor};
pub(crate) use crate::timefmt::Precision;
use crate::timefmt::{rfc3339, rfc3339_seconds};
use serde::Serialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;

pub(crate) const SCHEMA: &str = "mqpcap/1";

/// Which connection timelines the report carries (`--events`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum EventsPolicy {
    /// Connections with a warning or error finding of their own.
    #[default]
    Failures,
    All,
    None,
}

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ReportOptions {
    /// Show passwords (`--reveal`); they are redacted by default.
    pub reveal: bool,
    pub events: EventsPolicy,
    /// Replace client ids, user names, host names and addresses by pseudonyms (`--redact-ids`).
    pub redact_ids: bool,
}

#[derive(Debug, Serialize)]
pub(crate) struct Report {
    pub schema: &'static str,
    pub tool: Tool,
    pub captures: Vec<CaptureReport>,
    pub connections: Vec<ConnectionReport>,
    pub findings: Vec<Finding>,
    pub overview: Overview,
    pub summary: Summary,
    /// Connections a human format does not list one by one (a fleet capture), with their
    /// findings merged per rule and title.
    #[serde(skip)]
    pub omitted: Omitted,
}

/// What a human report leaves out of its connection list.
#[derive(Debug, Default)]
pub(crate) struct Omitted {
    pub connections: usize,
    /// One finding per (rule, severity, title), listing every omitted connection it concerns;
    /// `repeats` says how many findings it stands for.
    pub findings: Vec<(Finding, usize)>,
}

/// The run at a glance: what a fleet capture's reader wants before any connection.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct Overview {
    pub connections: usize,
    /// Connections with a warning or error finding, their own or across connections.
    pub failing: usize,
    /// Rule id -> connections with a warning or error finding of that rule.
    pub failures_by_rule: BTreeMap<String, usize>,
    /// Clients (IP addresses) with the most failing connections, most first.
    pub top_clients: Vec<ClientFailures>,
    /// True when more distinct clients were seen than the overview counts separately.
    pub clients_truncated: bool,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct ClientFailures {
    pub client: String,
    pub connections: usize,
    pub failing: usize,
}

#[derive(Debug, Serialize)]
pub(crate) struct Tool {
    pub name: &'static str,
    pub version: &'static str,
}

#[derive(Debug, Serialize)]
pub(crate) struct CaptureReport {
    pub path: String,
    pub sha256: String,
    /// Bytes of the input as given (compressed bytes for gzip).
    pub bytes: u64,
    pub format: &'static str,
    pub link_types: Vec<String>,
    pub frames: u64,
    pub first_time: Option<String>,
    pub last_time: Option<String>,
    pub warnings: Vec<CaptureWarning>,
    /// pcapng Decryption Secrets Blocks present (their contents are never printed).
    pub embedded_secrets: usize,
    /// Frames that carried no TCP we analyse, by kind (empty when every frame was TCP).
    pub frames_not_analyzed: BTreeMap<&'static str, u64>,
    /// DNS and mDNS lookups in the capture, one per client and name, in order of first query.
    pub dns_lookups: Vec<serde_json::Value>,
}

#[derive(Debug, Serialize)]
pub(crate) struct Endpoint {
    pub ip: String,
    pub port: u16,
}

impl From<SocketAddr> for Endpoint {
    fn from(a: SocketAddr) -> Self {
        Endpoint {
            ip: a.ip().to_string(),
            port: a.port(),
        }
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct CloseReport {
    pub how: CloseHow,
    pub by: Option<&'static str>,
    pub frame: Option<u64>,
}

#[derive(Debug, Serialize)]
pub(crate) struct TcpReport {
    pub state: String,
    pub history: String,
    pub handshake_seen: bool,
    pub retransmissions: u64,
    pub missing_bytes: u64,
    pub close: CloseReport,
    pub client_packets: u64,
    pub server_packets: u64,
    pub client_bytes: u64,
    pub server_bytes: u64,
}

#[derive(Debug, Serialize)]
pub(crate) struct ClientHelloReport {
    pub frame: u64,
    pub legacy_version: String,
    pub versions: Vec<String>,
    pub max_version: String,
    pub sni: Option<String>,
    pub alpn: Vec<String>,
    pub cipher_suites: Vec<String>,
    pub groups: Vec<u16>,
    pub signature_algorithms: Vec<u16>,
    pub key_share_groups: Vec<u16>,
    pub ja3: String,
    pub ja3_full: String,
    pub ja4: String,
    pub sslv2_format: bool,
    /// ClientHellos seen on the connection (2 after a HelloRetryRequest).
    pub count: u32,
}

#[derive(Debug, Serialize)]
pub(crate) struct ServerHelloReport {
    pub frame: u64,
    pub version: String,
    pub cipher_suite: String,
    /// The IANA code point, e.g. 4866 for TLS_AES_256_GCM_SHA384 (0x1302).
    pub cipher_suite_code: u16,
    pub alpn: Option<String>,
    pub hello_retry_request_frame: Option<u64>,
}

#[derive(Debug, Serialize)]
pub(crate) struct CertReport {
    pub subject: String,
    pub issuer: String,
    pub serial: String,
    pub not_before: String,
    pub not_after: String,
    pub san: Vec<String>,
    pub sha256: String,
    pub parse_error: Option<String>,
}

#[derive(Debug, Serialize)]
pub(crate) struct CertificatesReport {
    pub frame: u64,
    pub from: &'static str,
    pub chain: Vec<CertReport>,
}

#[derive(Debug, Serialize)]
pub(crate) struct AlertReport {
    pub frame: u64,
    pub time: String,
    pub from: &'static str,
    pub encrypted: bool,
    pub level: Option<&'static str>,
    pub description: Option<String>,
    pub record_len: u16,
}

#[derive(Debug, Serialize)]
pub(crate) struct AppDataReport {
    pub records: u64,
    pub bytes: u64,
    pub first_frame: Option<u64>,
    pub last_frame: Option<u64>,
}

#[derive(Debug, Serialize)]
pub(crate) struct TlsReport {
    pub client_hello: Option<ClientHelloReport>,
    pub server_hello: Option<ServerHelloReport>,
    pub certificates: Vec<CertificatesReport>,
    pub certificate_request_frame: Option<u64>,
    pub alerts: Vec<AlertReport>,
    pub change_cipher_spec: BTreeMap<&'static str, u64>,
    pub application_data: BTreeMap<&'static str, AppDataReport>,
    pub established: bool,
    pub decrypted: bool,
    /// The cipher suite name of the decrypted records (null when not decrypted).
    pub decryption_suite: Option<String>,
    /// The key log matched this session but could not be used: `unsupported_suite`,
    /// `unsupported_version` or `missing_master_secret` (null otherwise).
    pub keys_not_applied: Option<KeysNotApplied>,
}

impl TlsReport {
    /// The SNI the client asked for, or `-`.
    pub(crate) fn sni_text(&self) -> String {
        self.client_hello
            .as_ref()
            .and_then(|ch| ch.sni.clone())
            .unwrap_or_else(|| "-".into())
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct WillReport {
    pub topic: BytesText,
    pub qos: u8,
    pub retain: bool,
}

#[derive(Debug, Serialize)]
pub(crate) struct ConnectReport {
    pub frame: u64,
    /// Null when the CONNECT was too damaged to locate it.
    pub client_id: Option<BytesText>,
    pub keep_alive: u16,
    pub clean_start: bool,
    pub username_present: bool,
    pub password_present: bool,
    /// The user name is not a secret (the password is): always shown when present.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<BytesText>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<BytesText>,
    pub will: Option<WillReport>,
}

#[derive(Debug, Serialize)]
pub(crate) struct ConnackReport {
    pub frame: u64,
    pub code: u8,
    pub name: String,
    pub session_present: bool,
}

#[derive(Debug, Serialize)]
pub(crate) struct DisconnectReport {
    pub frame: u64,
    pub from: &'static str,
    pub reason_code: Option<u8>,
}

#[derive(Debug, Serialize)]
pub(crate) struct MqttReport {
    pub protocol_version: Option<u8>,
    pub version_guessed: bool,
    pub connect: Option<ConnectReport>,
    pub connack: Option<ConnackReport>,
    pub disconnect: Option<DisconnectReport>,
    pub packets: BTreeMap<&'static str, u64>,
    pub last_activity: BTreeMap<&'static str, String>,
    pub violations: u64,
}

impl MqttReport {
    /// The CONNECT's client id for reading, or `-` (no CONNECT, or an id it hid).
    pub(crate) fn client_id_text(&self) -> String {
        self.connect
            .as_ref()
            .and_then(|c| c.client_id.as_ref())
            .map(BytesText::display)
            .unwrap_or_else(|| "-".into())
    }

    /// `CONNACK 5 not_authorized`, or `no CONNACK`.
    pub(crate) fn connack_text(&self) -> String {
        self.connack
            .as_ref()
            .map(|a| format!("CONNACK {} {}", a.code, a.name))
            .unwrap_or_else(|| "no CONNACK".into())
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct EvidenceItem {
    pub frame: u64,
    pub time: String,
    pub note: String,
}

/// A diagnosis (CONTRACT.md `FINDING`); produced by the rules.
#[derive(Debug, Serialize)]
pub(crate) struct Finding {
    pub rule: String,
    pub severity: finding::Severity,
    pub title: String,
    pub detail: String,
    pub remedy: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alert: Option<Option<String>>,
    pub connections: Vec<usize>,
    pub evidence: Vec<EvidenceItem>,
    /// Rules that found the same fault and were folded into this finding.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub merged_rules: Vec<&'static str>,
    /// Concluded from indirect evidence (sizes, timing); absent when read from the protocol.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub inferred: bool,
}

#[derive(Debug, Serialize)]
pub(crate) struct TimelineEvent {
    pub frame: u64,
    pub time: String,
    /// `time` in nanoseconds since the epoch, for drawings.
    #[serde(skip)]
    pub time_ns: i64,
    pub from: &'static str,
    #[serde(flatten)]
    pub kind: EventPayload,
}

#[derive(Debug, Serialize)]
pub(crate) struct ConnectionReport {
    pub id: usize,
    /// `start` in nanoseconds since the epoch, for drawings.
    #[serde(skip)]
    pub start_ns: i64,
    pub capture: usize,
    pub tcp_stream: u32,
    pub client: Endpoint,
    pub server: Endpoint,
    /// How the client side was decided: syn, client_hello, mqtt_connect, ephemeral_port.
    pub client_inferred_from: ClientBasis,
    pub protocol: AppProtocol,
    pub first_frame: u64,
    pub last_frame: u64,
    pub start: String,
    pub end: String,
    pub duration_s: f64,
    pub tcp: TcpReport,
    pub tls: Option<TlsReport>,
    pub mqtt: Option<MqttReport>,
    /// Layers between TCP and the protocol, outermost first (PROXY header, proxy tunnel,
    /// WebSocket); empty for a direct connection.
    pub transport: Vec<Transport>,
    /// The capture's DNS lookup that gave the server's address, when it holds one.
    pub dns: Option<DnsReport>,
    pub findings: Vec<Finding>,
    pub events: Vec<TimelineEvent>,
    pub events_dropped: u64,
    /// True when `--events` left this connection's timeline out.
    pub events_omitted: bool,
    /// Why the record ended: close, idle_timeout, port_reuse, end_of_capture, flow_limit,
    /// reorder_limit.
    pub ended_by: EndReason,
    /// The record of the same stream that ended early (idle or a cap) before this one.
    pub continues: Option<usize>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Summary {
    pub connections: usize,
    #[serde(flatten)]
    pub findings: SeverityCounts,
}

/// The serialisable form of a rule's finding, times written with `precision`.
pub(crate) fn finding_report(f: finding::Finding, precision: Precision) -> Finding {
    Finding {
        rule: f.rule.to_string(),
        severity: f.severity,
        title: f.title,
        detail: f.detail,
        remedy: f.remedy,
        alert: f.alert,
        connections: f.connections,
        evidence: f
            .evidence
            .into_iter()
            .map(|e| EvidenceItem {
                frame: e.at.frame,
                time: rfc3339(e.at.time_ns, precision),
                note: e.note,
            })
            .collect(),
        merged_rules: f.merged,
        inferred: f.inferred,
    }
}

/// Timestamps are written with the capture's own precision.
pub(crate) fn precision_of(facts: &CaptureFacts) -> Precision {
    if facts.microsecond_times {
        Precision::Micros
    } else {
        Precision::Nanos
    }
}

pub(crate) fn capture_report(
    facts: &CaptureFacts,
    dns_lookups: Vec<DnsLookup>,
    redact_ids: bool,
) -> CaptureReport {
    let dns_lookups = dns_lookups
        .iter()
        .map(|l| {
            let mut value = serde_json::to_value(l).unwrap_or_default();
            if redact_ids {
                let mut red = Redactor::new();
                red.add("ip", &l.client.to_string());
                red.add("ip", &l.resolver.to_string());
                red.add("host", &l.name);
                for a in &l.addresses {
                    red.add("ip", &a.to_string());
                }
                red.value(&mut value);
            }
            value
        })
        .collect();
    let precision = precision_of(facts);
    CaptureReport {
        path: facts.path.clone(),
        sha256: facts.sha256.clone(),
        bytes: facts.bytes,
        format: facts.format,
        link_types: facts.link_types.clone(),
        frames: facts.frames,
        first_time: facts.first_time_ns.map(|t| rfc3339(t, precision)),
        last_time: facts.last_time_ns.map(|t| rfc3339(t, precision)),
        warnings: facts.warnings.clone(),
        embedded_secrets: facts.embedded_secrets.len(),
        frames_not_analyzed: facts.frames_not_analyzed.clone(),
        dns_lookups,
    }
}

/// The report of one finished connection, with its findings. The timeline is kept as
/// `options.events` says: for `Failures`, only when a finding is a warning or an error. It
/// consumes the record: its strings and lists move into the report instead of being copied.
pub(crate) fn connection_report(
    id: usize,
    conn: Connection,
    findings: Vec<finding::Finding>,
    precision: Precision,
    options: ReportOptions,
) -> ConnectionReport {
    let keep_events = match options.events {
        EventsPolicy::All => true,
        EventsPolicy::None => false,
        EventsPolicy::Failures => findings
            .iter()
            .any(|f| f.severity >= finding::Severity::Warning),
    };
    let (client_addr, server_addr) = (conn.client_addr(), conn.server_addr());
    let Connection {
        capture,
        tcp_stream,
        endpoints: _,
        client: client_side,
        client_basis,
        protocol,
        tcp,
        tls,
        mqtt,
        transport,
        dns,
        events,
        events_dropped,
        ended_by,
        continues,
    } = conn;
    let role = |side: Side| role_of(client_side, side);
    let client = client_side.of(&tcp.sides);
    let server = client_side.other().of(&tcp.sides);
    let duration_ns = tcp.last.time_ns.saturating_sub(tcp.first.time_ns);
    let mut report = ConnectionReport {
        id,
        capture,
        tcp_stream,
        client: client_addr.into(),
        server: server_addr.into(),
        client_inferred_from: client_basis,
        protocol,
        first_frame: tcp.first.frame,
        last_frame: tcp.last.frame,
        start: rfc3339(tcp.first.time_ns, precision),
        start_ns: tcp.first.time_ns,
        end: rfc3339(tcp.last.time_ns, precision),
        duration_s: duration_ns as f64 / 1e9,
        tcp: TcpReport {
            handshake_seen: tcp.syn_seen,
            retransmissions: tcp.retransmissions,
            missing_bytes: tcp.missing_bytes,
            close: CloseReport {
                how: tcp.close.how,
                by: tcp.close.by.map(role),
                frame: tcp.close.at.map(|a| a.frame),
            },
            client_packets: client.packets,
            server_packets: server.packets,
            client_bytes: client.bytes,
            server_bytes: server.bytes,
            state: tcp.state,
            history: tcp.history,
        },
        tls: tls.map(|t| tls_report(t, client_side, precision)),
        mqtt: mqtt.map(|m| mqtt_report(m, client_side, precision, options)),
        transport,
        dns: dns.map(|d| DnsReport {
            name: d.name,
            query_frame: d.query_frame,
            answer_frame: d.answer_frame,
            resolver: d.resolver.to_string(),
        }),
        findings: findings
            .into_iter()
            .map(|f| finding_report(f, precision))
            .collect(),
        events: if keep_events {
            events
                .into_iter()
                .map(|e| TimelineEvent {
                    frame: e.at.frame,
                    time: rfc3339(e.at.time_ns, precision),
                    time_ns: e.at.time_ns,
                    from: role(e.side),
                    kind: EventPayload::Typed(e.kind),
                })
                .collect()
        } else {
            Vec::new()
        },
        events_dropped: if keep_events { events_dropped } else { 0 },
        events_omitted: !keep_events,
        ended_by,
        continues,
    };
    if options.redact_ids {
        redact_connection(&mut report);
    }
    report
}

/// The capture's DNS lookup that gave the server's address (`dns`).
#[derive(Debug, Serialize)]
pub(crate) struct DnsReport {
    pub name: String,
    pub query_frame: u64,
    pub answer_frame: u64,
    pub resolver: String,
}

/// A timeline event's layer and content: as recorded, or rewritten by `--redact-ids`.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub(crate) enum EventPayload {
    Typed(EventKind),
    Redacted(serde_json::Value),
}

/// The identifying values of a connection report, for `--redact-ids`.
fn connection_redactor(r: &ConnectionReport) -> Redactor {
    let mut red = Redactor::new();
    red.add("ip", &r.client.ip);
    red.add("ip", &r.server.ip);
    if let Some(tls) = &r.tls {
        if let Some(sni) = tls.client_hello.as_ref().and_then(|h| h.sni.as_deref()) {
            red.add("host", sni);
        }
        for cert in tls.certificates.iter().flat_map(|m| m.chain.iter()) {
            for part in cert.subject.split(", ") {
                if let Some(cn) = part.strip_prefix("CN=") {
                    red.add("host", cn);
                }
            }
            for san in &cert.san {
                red.add_target(san);
            }
        }
    }
    if let Some(connect) = r.mqtt.as_ref().and_then(|m| m.connect.as_ref()) {
        if let Some(BytesText::Text(id)) = &connect.client_id {
            red.add("client", id);
        }
        if let Some(BytesText::Text(user)) = &connect.username {
            red.add("user", user);
        }
    }
    if let Some(dns) = &r.dns {
        red.add("host", &dns.name);
        red.add("ip", &dns.resolver);
    }
    let mut transport = r.transport.clone();
    for field in transport.iter_mut().flat_map(transport_addresses) {
        red.add_target(field);
    }
    red
}

/// The addresses and `host:port` targets a transport layer names.
fn transport_addresses(t: &mut Transport) -> Vec<&mut String> {
    match t {
        Transport::ProxyProtocol {
            source,
            destination,
            ..
        } => [source, destination]
            .into_iter()
            .filter_map(Option::as_mut)
            .collect(),
        Transport::HttpConnect { target, .. } => vec![target],
        Transport::Socks { target, .. } => target.as_mut().into_iter().collect(),
        Transport::Websocket { .. } => Vec::new(),
    }
}

fn redact_bytes_text(red: &Redactor, kind: &str, text: &mut Option<BytesText>) {
    *text = text.take().map(|t| match t {
        BytesText::Text(s) => BytesText::Text(red.text(&s)),
        BytesText::Bytes { bytes_base64 } => {
            BytesText::Text(redact::pseudonym(kind, &bytes_base64))
        }
    });
}

/// Rewrites every identifying value of a connection report (`--redact-ids`).
fn redact_connection(r: &mut ConnectionReport) {
    let red = connection_redactor(r);
    red.in_place(&mut r.client.ip);
    red.in_place(&mut r.server.ip);
    if let Some(tls) = r.tls.as_mut() {
        if let Some(sni) = tls.client_hello.as_mut().and_then(|h| h.sni.as_mut()) {
            red.in_place(sni);
        }
        for cert in tls.certificates.iter_mut().flat_map(|m| m.chain.iter_mut()) {
            red.in_place(&mut cert.subject);
            red.in_place(&mut cert.issuer);
            cert.san.iter_mut().for_each(|s| red.in_place(s));
        }
    }
    if let Some(connect) = r.mqtt.as_mut().and_then(|m| m.connect.as_mut()) {
        redact_bytes_text(&red, "client", &mut connect.client_id);
        redact_bytes_text(&red, "user", &mut connect.username);
    }
    if let Some(dns) = r.dns.as_mut() {
        red.in_place(&mut dns.name);
        red.in_place(&mut dns.resolver);
    }
    for field in r.transport.iter_mut().flat_map(transport_addresses) {
        red.in_place(field);
    }
    for f in &mut r.findings {
        redact_finding(&red, f);
    }
    for e in &mut r.events {
        let mut value = match &e.kind {
            EventPayload::Typed(k) => serde_json::to_value(k).unwrap_or_default(),
            EventPayload::Redacted(v) => v.clone(),
        };
        red.value(&mut value);
        e.kind = EventPayload::Redacted(value);
    }
}

/// Rewrites a finding's text (`--redact-ids`).
pub(crate) fn redact_finding(red: &Redactor, f: &mut Finding) {
    red.in_place(&mut f.title);
    red.in_place(&mut f.detail);
    red.in_place(&mut f.remedy);
    for e in &mut f.evidence {
        red.in_place(&mut e.note);
    }
    if let Some(Some(alert)) = f.alert.as_mut() {
        red.in_place(alert);
    }
}

fn cert_report(c: CertInfo) -> CertReport {
    CertReport {
        not_before: rfc3339_seconds(c.not_before),
        not_after: rfc3339_seconds(c.not_after),
        subject: c.subject,
        issuer: c.issuer,
        serial: c.serial,
        san: c.san,
        sha256: c.sha256,
        parse_error: c.parse_error,
    }
}

fn per_side<T>(client: Side, values: [T; 2]) -> BTreeMap<&'static str, T> {
    let [orig, resp] = values;
    BTreeMap::from([
        (role_of(client, Side::Orig), orig),
        (role_of(client, Side::Resp), resp),
    ])
}

fn tls_report(t: TlsSummary, client: Side, precision: Precision) -> TlsReport {
    let frame = |a: &At| a.frame;
    let role = |side: Side| role_of(client, side);
    let client_hello_count = t.client_hello_count;
    let hello_retry_request_frame = t.hello_retry_request.as_ref().map(frame);
    TlsReport {
        client_hello: t.client_hello.map(|ch| ClientHelloReport {
            frame: ch.at.frame,
            legacy_version: version_name(ch.legacy_version),
            versions: ch.versions.iter().map(|&v| version_name(v)).collect(),
            // One definition for rules and reports (drafts skipped, GREASE dropped at parse).
            max_version: version_name(crate::proto::tls::handshake::max_offered_version(&ch)),
            cipher_suites: ch
                .cipher_suites
                .iter()
                .map(|&c| cipher_suite_name(c))
                .collect(),
            sni: ch.sni,
            alpn: ch.alpn,
            groups: ch.groups,
            signature_algorithms: ch.signature_algorithms,
            key_share_groups: ch.key_share_groups,
            ja3: ch.ja3,
            ja3_full: ch.ja3_full,
            ja4: ch.ja4,
            sslv2_format: ch.sslv2_format,
            count: client_hello_count,
        }),
        server_hello: t.server_hello.map(|sh| ServerHelloReport {
            frame: sh.at.frame,
            version: version_name(sh.version),
            cipher_suite: cipher_suite_name(sh.cipher_suite),
            cipher_suite_code: sh.cipher_suite,
            alpn: sh.alpn,
            hello_retry_request_frame,
        }),
        certificates: t
            .certificates
            .into_iter()
            .map(|m| CertificatesReport {
                frame: m.at.frame,
                from: role(m.side),
                chain: m.chain.into_iter().map(cert_report).collect(),
            })
            .collect(),
        certificate_request_frame: t.certificate_request.as_ref().map(frame),
        alerts: t
            .alerts
            .iter()
            .map(|a| AlertReport {
                frame: a.at.frame,
                time: rfc3339(a.at.time_ns, precision),
                from: role(a.side),
                encrypted: a.encrypted,
                // docs/contract.md: "unknown" for a level code that is neither 1 nor 2.
                level: a
                    .level
                    .map(|l| crate::proto::tls::names::alert_level(l).unwrap_or("unknown")),
                description: a.description.map(alert_description_name),
                record_len: a.record_len,
            })
            .collect(),
        change_cipher_spec: [Side::Orig, Side::Resp]
            .into_iter()
            .filter_map(|s| s.of(&t.change_cipher_spec).map(|a| (role(s), a.frame)))
            .collect(),
        application_data: per_side(
            client,
            t.app_data.map(|d| AppDataReport {
                records: d.records,
                bytes: d.bytes,
                first_frame: d.first.map(|a| a.frame),
                last_frame: d.last.map(|a| a.frame),
            }),
        ),
        established: t.established,
        decrypted: t.decrypted,
        decryption_suite: t.decryption_suite.map(cipher_suite_name),
        keys_not_applied: t.keys_not_applied,
    }
}

fn mqtt_report(
    m: MqttSummary,
    client: Side,
    precision: Precision,
    options: ReportOptions,
) -> MqttReport {
    let role = |side: Side| role_of(client, side);
    let version = m
        .protocol_version
        .and_then(Version::from_level)
        .unwrap_or(Version::V3_1_1);
    MqttReport {
        protocol_version: m.protocol_version,
        version_guessed: m.version_guessed,
        connect: m.connect.as_ref().map(|c| ConnectReport {
            frame: c.at.frame,
            client_id: c.client_id.as_deref().map(BytesText::new),
            keep_alive: c.keep_alive,
            clean_start: c.clean_start,
            username_present: c.username.is_some(),
            password_present: c.password_len.is_some() || c.password.is_some(),
            username: c.username.as_deref().map(BytesText::new),
            password: c
                .password
                .as_deref()
                .filter(|_| options.reveal)
                .map(BytesText::new),
            will: c.will.as_ref().map(|w| WillReport {
                topic: BytesText::new(&w.topic),
                qos: w.qos,
                retain: w.retain,
            }),
        }),
        connack: m.connack.as_ref().map(|c| ConnackReport {
            frame: c.at.frame,
            code: c.code,
            name: code_label(connack_code_name(version, c.code), c.code),
            session_present: c.session_present,
        }),
        disconnect: m.disconnect.as_ref().map(|d| DisconnectReport {
            frame: d.at.frame,
            from: role(d.side),
            reason_code: d.reason_code,
        }),
        packets: m.packets,
        last_activity: [Side::Orig, Side::Resp]
            .into_iter()
            .filter_map(|s| {
                s.of(&m.last_activity)
                    .map(|a| (role(s), rfc3339(a.time_ns, precision)))
            })
            .collect(),
        violations: m.violations,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_text_is_never_lossy() {
        assert_eq!(BytesText::new(b"dev-42"), BytesText::Text("dev-42".into()));
        let raw = BytesText::new(&[0xff, 0x00]);
        assert_eq!(
            serde_json::to_string(&raw).ok().as_deref(),
            Some(r#"{"bytes_base64":"/wA="}"#)
        );
    }
}
