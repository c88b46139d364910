//! TLS rules about the session's protection itself: a cipher suite that protects nothing or
//! too little (NULL, export, anonymous, RC4, DES and 3DES), and key-logged secrets that match
//! the session but cannot be used, so a run with `--keylog` says why its output shows no
//! decrypted MQTT.

use super::tls::tls_of;
use super::{ConnCtx, Hit};
use crate::proto::tls::message::KeysNotApplied;
use crate::proto::tls::names::{cipher_suite_name, version_name};
use tls_parser::{TlsCipherAu, TlsCipherEnc, TlsCipherKx, TlsCipherSuite};

/// What makes a suite weak, by its registry entry: no encryption, anonymous key exchange (no
/// server authentication), export-grade keys (RFC 5246 Appendix A.5 forbids them), RC4
/// (RFC 7465 prohibits it), single DES and 3DES (RFC 8429 deprecates them; Sweet32).
fn weakness(suite: &TlsCipherSuite) -> Option<&'static str> {
    if suite.enc == TlsCipherEnc::Null {
        Some("null")
    } else if suite.name.contains("EXPORT") {
        Some("export")
    } else if suite.au == TlsCipherAu::Null && suite.kx != TlsCipherKx::Tls13 {
        Some("anonymous")
    } else if suite.enc == TlsCipherEnc::Rc4 {
        Some("rc4")
    } else if matches!(suite.enc, TlsCipherEnc::Des | TlsCipherEnc::TripleDes) {
        Some("des")
    } else {
        None
    }
}

/// The ServerHello chose a weak suite.
pub(crate) fn weak_cipher_suite(ctx: &ConnCtx) -> Vec<Hit> {
    let Some(tls) = tls_of(ctx.conn) else {
        return vec![];
    };
    let Some(hello) = &tls.server_hello else {
        return vec![];
    };
    // TLS_NULL_WITH_NULL_NULL is the "no suite yet" value (RFC 5246 §A.5: never negotiated);
    // an SSL 2.0 hello parsed into a ServerHello carries it.
    if hello.cipher_suite == 0x0000 || hello.version < 0x0300 {
        return vec![];
    }
    let Some(suite) = TlsCipherSuite::from_id(hello.cipher_suite) else {
        return vec![];
    };
    let Some(kind) = weakness(suite) else {
        return vec![];
    };
    vec![
        Hit::new()
            .variant(kind)
            .var("suite", cipher_suite_name(hello.cipher_suite))
            .var("version", version_name(hello.version))
            .at(hello.at, "ServerHello choosing the suite"),
    ]
}

/// The key log matched the session (by its ClientHello random) but its secrets were not used.
pub(crate) fn keys_not_applied(ctx: &ConnCtx) -> Vec<Hit> {
    let Some(tls) = tls_of(ctx.conn) else {
        return vec![];
    };
    let (Some(reason), Some(hello)) = (tls.keys_not_applied, &tls.server_hello) else {
        return vec![];
    };
    let variant = match reason {
        KeysNotApplied::UnsupportedSuite => "unsupported_suite",
        KeysNotApplied::UnsupportedVersion => "unsupported_version",
        KeysNotApplied::MissingMasterSecret => "missing_master_secret",
    };
    vec![
        Hit::new()
            .variant(variant)
            .var("suite", cipher_suite_name(hello.cipher_suite))
            .var("version", version_name(hello.version))
            .at(
                hello.at,
                "ServerHello (the suite and version the keys would be used with)",
            ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weak_suites_by_registry_entry() {
        let kind = |id: u16| TlsCipherSuite::from_id(id).and_then(weakness);
        assert_eq!(kind(0x0002), Some("null")); // TLS_RSA_WITH_NULL_SHA
        assert_eq!(kind(0x0003), Some("export")); // TLS_RSA_EXPORT_WITH_RC4_40_MD5
        assert_eq!(kind(0x0034), Some("anonymous")); // TLS_DH_anon_WITH_AES_128_CBC_SHA
        assert_eq!(kind(0x0005), Some("rc4")); // TLS_RSA_WITH_RC4_128_SHA
        assert_eq!(kind(0x000a), Some("des")); // TLS_RSA_WITH_3DES_EDE_CBC_SHA
        assert_eq!(kind(0xc030), None); // TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384
        assert_eq!(kind(0x1301), None); // TLS_AES_128_GCM_SHA256
        assert_eq!(kind(0xc013), None); // TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA
    }

    #[test]
    fn an_ssl3_server_hello_choosing_rc4_is_a_weak_suite() {
        // weak_cipher_suite: only versions under SSL 3.0 are SSL 2.0 hellos without a TLS suite
        // (RFC 6176); an SSL 3.0 ServerHello (version 0x0300, RFC 6101 §5.6.1.3) names a suite
        // from the same registry, and TLS_RSA_WITH_RC4_128_SHA is as weak there (RFC 7465).
        use crate::common::Side;
        use crate::detect::test_support::*;
        use crate::proto::tls::message::{ServerHelloInfo, TlsSummary};
        let mut c = conn();
        c.endpoints[1] = std::net::SocketAddr::from(([10, 0, 0, 1], 8883));
        c.protocol = crate::conn::AppProtocol::Tls;
        tcp(&mut c, 1, 0, Side::Orig, crate::flow::TcpEvent::Syn);
        tcp(&mut c, 2, 1, Side::Resp, crate::flow::TcpEvent::SynAck);
        c.tls = Some(TlsSummary {
            client_side: Some(Side::Orig),
            server_hello: Some(ServerHelloInfo {
                at: at(5, 3),
                legacy_version: 0x0300,
                version: 0x0300,
                cipher_suite: 0x0005,
                ..ServerHelloInfo::default()
            }),
            ..TlsSummary::default()
        });
        let f = findings(&c);
        assert!(
            f.iter().any(|f| f.rule == "weak_cipher_suite"
                && f.title == "RC4 chosen: TLS_RSA_WITH_RC4_128_SHA"),
            "{f:#?}"
        );
    }
}
