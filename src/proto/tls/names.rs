//! Human names for TLS code points: protocol versions, cipher suites (IANA names, from
//! tls-parser's table) and alert descriptions (RFC 8446 §6 spelling). Total functions: every
//! value has a name, unknown ones print as `unknown(0x..)`.

/// "TLS 1.3", "TLS 1.2", ..., "SSL 2.0", TLS 1.3 drafts as "TLS 1.3 (draft N)", else
/// `unknown(0x....)`.
pub(crate) fn version_name(version: u16) -> String {
    match version {
        0x0304 => "TLS 1.3".to_string(),
        0x0303 => "TLS 1.2".to_string(),
        0x0302 => "TLS 1.1".to_string(),
        0x0301 => "TLS 1.0".to_string(),
        0x0300 => "SSL 3.0".to_string(),
        0x0002 => "SSL 2.0".to_string(),
        // draft-ietf-tls-tls13-NN announced itself as 0x7f00 + NN.
        0x7f00..=0x7fff => format!("TLS 1.3 (draft {})", version & 0xff),
        _ => format!("unknown(0x{version:04x})"),
    }
}

/// Whether `version` is TLS 1.3 or one of its drafts (0x7fNN, RFC 8446 §4.2.1 in its draft
/// history): such versions encrypt everything after the ServerHello.
pub(crate) fn is_tls13_family(version: u16) -> bool {
    version == 0x0304 || (0x7f00..=0x7fff).contains(&version)
}

/// GREASE values (RFC 8701 §2): 0x0a0a, 0x1a1a, ..., 0xfafa.
pub(crate) fn is_grease(value: u16) -> bool {
    value & 0x0f0f == 0x0a0a && (value >> 8) == (value & 0xff)
}

/// IANA name of a cipher suite ("TLS_AES_128_GCM_SHA256"), or `unknown(0x....)`.
pub(crate) fn cipher_suite_name(suite: u16) -> String {
    match suite {
        0x00ff => "TLS_EMPTY_RENEGOTIATION_INFO_SCSV".to_string(),
        0x5600 => "TLS_FALLBACK_SCSV".to_string(),
        _ if is_grease(suite) => format!("GREASE(0x{suite:04x})"),
        _ => match tls_parser::TlsCipherSuite::from_id(suite) {
            Some(known) => known.name.to_string(),
            None => format!("unknown(0x{suite:04x})"),
        },
    }
}

/// "warning" (1) or "fatal" (2), RFC 5246 §7.2; `None` for any other code.
pub(crate) fn alert_level(level: u8) -> Option<&'static str> {
    match level {
        1 => Some("warning"),
        2 => Some("fatal"),
        _ => None,
    }
}

/// Alert description in RFC 8446 §6 snake_case, else `unknown(0x..)`.
pub(crate) fn alert_description_name(description: u8) -> String {
    let name = match description {
        0 => "close_notify",
        10 => "unexpected_message",
        20 => "bad_record_mac",
        21 => "decryption_failed",
        22 => "record_overflow",
        30 => "decompression_failure",
        40 => "handshake_failure",
        41 => "no_certificate",
        42 => "bad_certificate",
        43 => "unsupported_certificate",
        44 => "certificate_revoked",
        45 => "certificate_expired",
        46 => "certificate_unknown",
        47 => "illegal_parameter",
        48 => "unknown_ca",
        49 => "access_denied",
        50 => "decode_error",
        51 => "decrypt_error",
        60 => "export_restriction",
        70 => "protocol_version",
        71 => "insufficient_security",
        80 => "internal_error",
        86 => "inappropriate_fallback",
        90 => "user_canceled",
        100 => "no_renegotiation",
        109 => "missing_extension",
        110 => "unsupported_extension",
        111 => "certificate_unobtainable",
        112 => "unrecognized_name",
        113 => "bad_certificate_status_response",
        114 => "bad_certificate_hash_value",
        115 => "unknown_psk_identity",
        116 => "certificate_required",
        120 => "no_application_protocol",
        121 => "ech_required",
        _ => return format!("unknown(0x{description:02x})"),
    };
    name.to_string()
}

/// Name of a supported group / key share group (IANA TLS Supported Groups registry).
pub(crate) fn named_group_name(group: u16) -> String {
    let name = match group {
        23 => "secp256r1",
        24 => "secp384r1",
        25 => "secp521r1",
        29 => "x25519",
        30 => "x448",
        256 => "ffdhe2048",
        257 => "ffdhe3072",
        258 => "ffdhe4096",
        259 => "ffdhe6144",
        260 => "ffdhe8192",
        0x11eb => "SecP256r1MLKEM768",
        0x11ec => "X25519MLKEM768",
        0x11ed => "SecP384r1MLKEM1024",
        0x6399 => "X25519Kyber768Draft00",
        _ if is_grease(group) => return format!("GREASE(0x{group:04x})"),
        _ => return format!("unknown(0x{group:04x})"),
    };
    name.to_string()
}

/// Name of a signature scheme (RFC 8446 §4.2.3; tls-parser's table of the IANA registry), else
/// `unknown(0xNNNN)` (TLS 1.2 hash/signature pairs such as 0x0402 included).
pub(crate) fn signature_scheme_name(scheme: u16) -> String {
    let name = tls_parser::SignatureScheme(scheme).to_string();
    if name.starts_with("SignatureScheme(") {
        format!("unknown(0x{scheme:04x})")
    } else {
        name
    }
}

/// Name of an extension type (tls-parser's table of the IANA ExtensionType registry, e.g.
/// `SupportedVersions`), else `unknown(N)` with the decimal number JA3 uses.
pub(crate) fn extension_name(extension: u16) -> String {
    let name = tls_parser::TlsExtensionType(extension).to_string();
    if name.starts_with("TlsExtensionType(") {
        format!("unknown({extension})")
    } else {
        name
    }
}

/// Name of a handshake message type (RFC 8446 §4, RFC 5246 §7.4).
pub(crate) fn handshake_type_name(msg_type: u8) -> String {
    let name = match msg_type {
        0 => "hello_request",
        1 => "client_hello",
        2 => "server_hello",
        4 => "new_session_ticket",
        5 => "end_of_early_data",
        8 => "encrypted_extensions",
        11 => "certificate",
        12 => "server_key_exchange",
        13 => "certificate_request",
        14 => "server_hello_done",
        15 => "certificate_verify",
        16 => "client_key_exchange",
        20 => "finished",
        22 => "certificate_status",
        24 => "key_update",
        67 => "next_protocol",
        254 => "message_hash",
        _ => return format!("unknown(0x{msg_type:02x})"),
    };
    name.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_schemes_and_extensions_are_named_or_marked_unknown() {
        assert_eq!(signature_scheme_name(0x0403), "ecdsa_secp256r1_sha256");
        assert_eq!(signature_scheme_name(0x0804), "rsa_pss_rsae_sha256");
        assert_eq!(signature_scheme_name(0x0402), "unknown(0x0402)");
        assert_eq!(extension_name(0), "ServerName");
        assert_eq!(extension_name(43), "SupportedVersions");
        assert_eq!(extension_name(64_000), "unknown(64000)");
    }

    #[test]
    fn versions_have_wireshark_names() {
        assert_eq!(version_name(0x0304), "TLS 1.3");
        assert_eq!(version_name(0x0301), "TLS 1.0");
        assert_eq!(version_name(0x0002), "SSL 2.0");
        assert_eq!(version_name(0x7f10), "TLS 1.3 (draft 16)");
        assert_eq!(version_name(0x1234), "unknown(0x1234)");
    }

    #[test]
    fn cipher_suites_use_iana_names() {
        assert_eq!(cipher_suite_name(0x1301), "TLS_AES_128_GCM_SHA256");
        assert_eq!(
            cipher_suite_name(0xc030),
            "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"
        );
        assert_eq!(
            cipher_suite_name(0x00ff),
            "TLS_EMPTY_RENEGOTIATION_INFO_SCSV"
        );
        assert_eq!(cipher_suite_name(0x2a2a), "GREASE(0x2a2a)");
        assert_eq!(cipher_suite_name(0xfefe), "unknown(0xfefe)");
    }

    #[test]
    fn alerts_use_rfc8446_names() {
        assert_eq!(alert_description_name(0), "close_notify");
        assert_eq!(alert_description_name(48), "unknown_ca");
        assert_eq!(alert_description_name(116), "certificate_required");
        assert_eq!(alert_description_name(0x8f), "unknown(0x8f)");
        assert_eq!(alert_level(2), Some("fatal"));
        assert_eq!(alert_level(3), None);
    }

    #[test]
    fn groups_have_iana_names() {
        assert_eq!(named_group_name(29), "x25519");
        assert_eq!(named_group_name(0x11ec), "X25519MLKEM768");
        assert_eq!(named_group_name(0x1a1a), "GREASE(0x1a1a)");
        assert_eq!(named_group_name(0x1234), "unknown(0x1234)");
    }

    #[test]
    fn grease_values_are_recognised() {
        assert!(is_grease(0x0a0a));
        assert!(is_grease(0xfafa));
        assert!(!is_grease(0x0a1a));
        assert!(!is_grease(0x1301));
    }
}
