//! Boundary and variant tests of the certificate rules (issue 12: tests that can fail).

use super::*;
use crate::common::Side;
use crate::detect::Finding;
use crate::detect::test_support::*;
use crate::proto::tls::message::{AlertInfo, ClientHelloInfo, TlsSummary};

/// The capture time of the server's Certificate message (frame 6 at 3 ms), in seconds.
const NOW: i64 = T0_NS / 1_000_000_000;
const DAY: i64 = 86_400;

fn cert(subject: &str, issuer: &str, san: &[&str], not_before: i64, not_after: i64) -> CertInfo {
    CertInfo {
        subject: subject.into(),
        issuer: issuer.into(),
        not_before,
        not_after,
        san: san.iter().map(|s| s.to_string()).collect(),
        ..CertInfo::default()
    }
}

/// A TLS 1.2 session whose server sends `chain` at frame 6 for the SNI `sni`.
fn with_chain(sni: &str, chain: Vec<CertInfo>) -> crate::conn::Connection {
    let mut c = conn();
    c.protocol = crate::conn::AppProtocol::Tls;
    c.endpoints[1] = std::net::SocketAddr::from(([10, 0, 0, 1], 8883));
    let mut tls = TlsSummary {
        client_side: Some(Side::Orig),
        ..TlsSummary::default()
    };
    tls.client_hello = Some(ClientHelloInfo {
        at: at(4, 2),
        legacy_version: 0x0303,
        versions: vec![0x0303],
        sni: Some(sni.into()),
        ..ClientHelloInfo::default()
    });
    tls.certificates.push(CertificateMsg {
        at: at(6, 3),
        side: Side::Resp,
        chain,
    });
    c.tls = Some(tls);
    c
}

/// The client's fatal alert `description` at `frame`.
fn client_alert(c: &mut crate::conn::Connection, frame: u64, description: u8) {
    if let Some(t) = c.tls.as_mut() {
        t.alerts.push(AlertInfo {
            at: at(frame, frame as i64),
            side: Side::Orig,
            encrypted: false,
            level: Some(2),
            description: Some(description),
            record_len: 2,
        });
    }
}

fn finding<'a>(f: &'a [Finding], rule: &str) -> Option<&'a Finding> {
    f.iter().find(|x| x.rule == rule)
}

fn leaf(not_after: i64) -> CertInfo {
    cert("CN=b.test", "CN=Root", &["b.test"], 0, not_after)
}

#[test]
fn a_certificate_expires_after_its_not_after_second() {
    // RFC 5280 §4.1.2.5: notAfter is the last second of validity, inclusive.
    let fired = |not_after| rules_fired(&with_chain("b.test", vec![leaf(not_after)]));
    assert!(!fired(NOW).contains(&"cert_expired"));
    assert!(fired(NOW - 1).contains(&"cert_expired"));
}

#[test]
fn expired_names_the_position_and_whole_days() {
    // cert_expired server_leaf / server_chain: index 0 is the server's own certificate.
    let c = with_chain("b.test", vec![leaf(NOW - 3 * DAY - 100)]);
    let f = findings(&c);
    let hit = finding(&f, "cert_expired");
    assert!(
        hit.is_some_and(|h| h.title.starts_with("The server's certificate expired")
            && h.detail.contains(", 3 days after it expired")),
        "{f:#?}"
    );
    let chain = vec![
        cert("CN=b.test", "CN=Int", &["b.test"], 0, NOW + DAY),
        cert("CN=Int", "CN=Root", &[], 0, NOW - DAY),
    ];
    let f = findings(&with_chain("b.test", chain));
    assert!(
        finding(&f, "cert_expired").is_some_and(|h| h
            .title
            .starts_with("A CA certificate in the server's chain")),
        "{f:#?}"
    );
}

#[test]
fn a_missing_intermediate_refused_later_by_the_client_is_an_error() {
    // intermediate_missing refused: unknown_ca (48) from the client after the Certificate.
    let mut c = with_chain(
        "b.test",
        vec![cert("CN=b.test", "CN=Int", &["b.test"], 0, NOW + DAY)],
    );
    client_alert(&mut c, 8, 48);
    let f = findings(&c);
    let hit = f
        .iter()
        .find(|x| x.rule == "intermediate_missing" || x.merged.contains(&"intermediate_missing"));
    assert!(
        hit.is_some_and(|h| h.evidence.iter().any(|e| e.at.frame == 8)),
        "{f:#?}"
    );
    assert!(
        hit.is_some_and(|h| h.title.contains("and the device refuses it")),
        "{f:#?}"
    );
    assert_eq!(
        severity_of(&f, "intermediate_missing"),
        Some("error"),
        "{f:#?}"
    );
}

#[test]
fn a_ca_certificate_first_is_leaf_not_first() {
    // cert_chain_order leaf_not_first (RFC 8446 §4.4.2, RFC 5246 §7.4.2): the first
    // certificate issued the second one, so it is a CA.
    let chain = vec![
        cert("CN=Int", "CN=Root", &[], 0, NOW + DAY),
        cert("CN=b.test", "CN=Int", &["b.test"], 0, NOW + DAY),
    ];
    let f = findings(&with_chain("b.test", chain));
    assert!(
        finding(&f, "cert_chain_order")
            .is_some_and(|h| h.title.contains("does not start with its own certificate")),
        "{f:#?}"
    );
}

#[test]
fn an_ip_sni_is_covered_by_the_same_ip_san_alone() {
    // RFC 6125 §6.4 / RFC 5280 §4.2.1.6: an IP reference identity matches an iPAddress SAN.
    let c = with_chain(
        "10.0.0.1",
        vec![cert("CN=x", "CN=Root", &["10.0.0.1"], 0, NOW + DAY)],
    );
    assert!(!rules_fired(&c).contains(&"hostname_mismatch"));
    let c = with_chain(
        "10.0.0.1",
        vec![cert("CN=x", "CN=Root", &["10.0.0.2"], 0, NOW + DAY)],
    );
    assert!(rules_fired(&c).contains(&"hostname_mismatch"));
}

#[test]
fn not_yet_valid_counts_whole_days_before() {
    // cert_not_yet_valid: notBefore 3 days and 100 s after the capture (RFC 5280 §4.1.2.5).
    let c = with_chain(
        "b.test",
        vec![cert(
            "CN=b.test",
            "CN=Root",
            &["b.test"],
            NOW + 3 * DAY + 100,
            NOW + 9 * DAY,
        )],
    );
    let f = findings(&c);
    assert!(
        finding(&f, "cert_not_yet_valid").is_some_and(|h| h.detail.contains(", 3 days earlier")),
        "{f:#?}"
    );
}

#[test]
fn the_first_certificate_not_followed_by_its_issuer_is_the_one_named() {
    // cert_chain_order (RFC 5246 §7.4.2): leaf, root, intermediate: the leaf (position 1) is
    // not followed by its issuer CN=Int, which comes third.
    let chain = vec![
        cert("CN=b.test", "CN=Int", &["b.test"], 0, NOW + DAY),
        cert("CN=Root", "CN=Root", &[], 0, NOW + DAY),
        cert("CN=Int", "CN=Root", &[], 0, NOW + DAY),
    ];
    let f = findings(&with_chain("b.test", chain));
    assert!(
        finding(&f, "cert_chain_order").is_some_and(|h| h
            .detail
            .contains("Certificate 1 (CN=b.test) is not followed")),
        "{f:#?}"
    );
}
