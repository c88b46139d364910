//! The events a TLS session emits, in stream order, for the connection timeline. Concise on
//! purpose: details live in [`super::message::TlsSummary`].

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum TlsEvent {
    /// RFC 8446 §4.1.2. `max_version` as [`super::handshake::max_offered_version`].
    ClientHello {
        max_version: u16,
        sni: Option<String>,
        sslv2_format: bool,
    },
    /// RFC 8446 §4.1.3; `version` from supported_versions when present.
    ServerHello {
        version: u16,
        cipher_suite: u16,
    },
    /// A ServerHello with the HelloRetryRequest random (RFC 8446 §4.1.3).
    HelloRetryRequest,
    /// A plaintext Certificate message with `count` certificates (0: a client without one).
    Certificate {
        count: u32,
    },
    CertificateRequest,
    ServerKeyExchange,
    ServerHelloDone,
    ClientKeyExchange,
    CertificateVerify,
    Finished,
    NewSessionTicket,
    EncryptedExtensions,
    /// Any other plaintext handshake message (hello_request, certificate_status, ...).
    OtherHandshake {
        msg_type: u8,
    },
    /// A handshake record sent under keys we do not have (TLS <= 1.2: the Finished after CCS;
    /// TLS 1.3: the encrypted flights, seen as application_data records).
    EncryptedHandshake {
        len: u16,
    },
    ChangeCipherSpec,
    /// RFC 8446 §6. `level` and `description` are None when `encrypted`.
    Alert {
        level: Option<u8>,
        description: Option<u8>,
        encrypted: bool,
        record_len: u16,
    },
    /// An application_data record; only the first few per side become events, the summary
    /// counts all of them.
    ApplicationData {
        len: u16,
    },
    Heartbeat {
        len: u16,
    },
    /// A decrypted TLS 1.3 KeyUpdate (RFC 8446 §4.6.3): the sender's keys change after it.
    KeyUpdate,
    /// A record of this side did not decrypt with the key-logged secrets (wrong or stale keys,
    /// corrupted bytes); decryption of this side stopped. Emitted at most once per side.
    DecryptionFailed {
        what: String,
    },
    /// The handshake completed (see the module doc of `state` for the rule).
    Established,
    /// The direction closed with `bytes` of an unfinished record or handshake message buffered.
    Truncated {
        bytes: u64,
    },
    /// The bytes are not TLS (or not any more); parsing of this direction stopped.
    Invalid {
        what: String,
    },
}
