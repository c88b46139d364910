//! Plain data describing what a TLS connection showed. Filled by the TLS state machine, read by
//! `conn` and the rules. Code points are kept as numbers; names come from the `*_name` helpers.

use crate::common::{At, Side};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub(crate) struct ClientHelloInfo {
    pub at: At,
    /// The record/handshake `legacy_version` (RFC 8446 §4.1.2).
    pub legacy_version: u16,
    /// supported_versions (RFC 8446 §4.2.1) without GREASE, else `[legacy_version]`.
    pub versions: Vec<u16>,
    pub cipher_suites: Vec<u16>,
    pub extensions: Vec<u16>,
    pub sni: Option<String>,
    pub alpn: Vec<String>,
    pub groups: Vec<u16>,
    pub ec_point_formats: Vec<u8>,
    pub signature_algorithms: Vec<u16>,
    pub key_share_groups: Vec<u16>,
    pub ja3: String,
    pub ja3_full: String,
    pub ja4: String,
    /// Sent in the SSLv2-compatible format (RFC 5246 Appendix E.2).
    pub sslv2_format: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub(crate) struct ServerHelloInfo {
    pub at: At,
    pub legacy_version: u16,
    /// The chosen version: supported_versions when present (TLS 1.3), else `legacy_version`.
    pub version: u16,
    pub cipher_suite: u16,
    pub alpn: Option<String>,
    pub extensions: Vec<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub(crate) struct CertInfo {
    pub subject: String,
    pub issuer: String,
    pub serial: String,
    /// Seconds since the epoch (UTC).
    pub not_before: i64,
    pub not_after: i64,
    pub san: Vec<String>,
    pub sha256: String,
    /// Set when the DER could not be parsed; the other fields are then empty.
    pub parse_error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct CertificateMsg {
    pub at: At,
    pub side: Side,
    /// Empty for an empty Certificate message (a client without a certificate, RFC 5246 §7.4.6).
    pub chain: Vec<CertInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct AlertInfo {
    pub at: At,
    pub side: Side,
    /// Sent after the sender's keys changed (TLS 1.3 after ServerHello, TLS 1.2 after
    /// ChangeCipherSpec) and not decrypted: level and description are then unknown. An alert
    /// that was decrypted with key-logged secrets is readable, so it is `false` with its level
    /// and description, like a plaintext one (as tshark shows it with the key log); such an
    /// alert is told apart by `record_len` > 2 (the protected record's length) and
    /// `TlsSummary::decrypted`. Rules about unreadable alerts therefore never see it.
    pub encrypted: bool,
    pub level: Option<u8>,
    pub description: Option<u8>,
    pub record_len: u16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub(crate) struct AppDataStats {
    pub records: u64,
    pub bytes: u64,
    pub first: Option<At>,
    pub last: Option<At>,
}

/// Everything one TLS connection showed, per side where it matters (indexed by `Side::index`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub(crate) struct TlsSummary {
    /// The side that sent the ClientHello.
    pub client_side: Option<Side>,
    pub client_hello: Option<ClientHelloInfo>,
    /// Further ClientHellos (after a HelloRetryRequest, or duplicates) are counted, not kept.
    pub client_hello_count: u32,
    pub hello_retry_request: Option<At>,
    pub server_hello: Option<ServerHelloInfo>,
    pub certificates: Vec<CertificateMsg>,
    pub certificate_request: Option<At>,
    pub alerts: Vec<AlertInfo>,
    pub change_cipher_spec: [Option<At>; 2],
    pub app_data: [AppDataStats; 2],
    /// Both Finished seen, or application data flowed both ways.
    pub established: bool,
    /// At least one record was decrypted with key-logged secrets.
    pub decrypted: bool,
    /// The cipher suite the decrypted records used (the ServerHello's).
    pub decryption_suite: Option<u16>,
    /// The key log had this session's secrets, but they could not be used: why.
    pub keys_not_applied: Option<KeysNotApplied>,
}

/// Why key-logged secrets that match a session were not used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum KeysNotApplied {
    /// The chosen cipher suite is not one we decrypt (RC4, 3DES, NULL, export, CAMELLIA, ...).
    UnsupportedSuite,
    /// SSL 3.0, TLS 1.0 or 1.1: their key derivation (RFC 2246 §6.3 PRF of MD5 and SHA-1) and
    /// CBC with chained IVs are not implemented.
    UnsupportedVersion,
    /// TLS <= 1.2 needs the `CLIENT_RANDOM` master secret; the log has only TLS 1.3 secrets.
    MissingMasterSecret,
}
