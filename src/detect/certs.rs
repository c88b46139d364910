//! Certificate rules over the certificates the capture shows (TLS <= 1.2, or decrypted): validity
//! at the capture's own time (RFC 5280 §4.1.2.5), host name coverage (RFC 6125 §6.4, one
//! wildcard label), and a client rejecting a certificate that was valid (its clock is wrong).

use super::facts::{self, unix_secs};
use super::{ConnCtx, Hit};
use crate::proto::tls::message::{CertInfo, CertificateMsg};
use crate::timefmt::rfc3339_seconds;

const CERTIFICATE_EXPIRED: u8 = 45;

fn messages<'a>(ctx: &'a ConnCtx) -> impl Iterator<Item = &'a CertificateMsg> {
    ctx.conn.tls.iter().flat_map(|t| t.certificates.iter())
}

fn parsed(chain: &[CertInfo]) -> impl Iterator<Item = (usize, &CertInfo)> {
    chain
        .iter()
        .enumerate()
        .filter(|(_, c)| c.parse_error.is_none())
}

fn position(i: usize) -> &'static str {
    if i == 0 { "leaf" } else { "chain" }
}

fn validity_hits(ctx: &ConnCtx, outside: fn(i64, &CertInfo) -> bool) -> Vec<Hit> {
    let mut hits = Vec::new();
    for m in messages(ctx) {
        let now = unix_secs(m.at);
        for (i, c) in parsed(&m.chain) {
            if !outside(now, c) {
                continue;
            }
            let from = ctx.conn.role(m.side);
            let accepted = ctx.conn.tls.as_ref().is_some_and(|t| t.established);
            let variant = if accepted {
                "accepted".to_string()
            } else {
                format!("{from}_{}", position(i))
            };
            hits.push(
                Hit::new()
                    .variant(variant)
                    .var("from", from)
                    .var("subject", &c.subject)
                    .var("issuer", &c.issuer)
                    .var("not_before", rfc3339_seconds(c.not_before))
                    .var("not_after", rfc3339_seconds(c.not_after))
                    .var("capture_time", rfc3339_seconds(now))
                    .var("days_after", now.saturating_sub(c.not_after) / 86_400)
                    .var("days_before", c.not_before.saturating_sub(now) / 86_400)
                    .var("frame", m.at.frame)
                    .at(m.at, format!("{from} certificate {}", c.subject)),
            );
        }
    }
    hits
}

pub(crate) fn cert_expired(ctx: &ConnCtx) -> Vec<Hit> {
    validity_hits(ctx, |now, c| now > c.not_after)
}

pub(crate) fn cert_not_yet_valid(ctx: &ConnCtx) -> Vec<Hit> {
    validity_hits(ctx, |now, c| now < c.not_before)
}

/// RFC 6125 §6.4.3: `*` only as the whole left-most label, matching exactly one label.
pub(crate) fn name_matches(pattern: &str, host: &str) -> bool {
    let pattern = pattern.trim_end_matches('.').to_ascii_lowercase();
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    match pattern.strip_prefix("*.") {
        Some(rest) => host
            .split_once('.')
            .is_some_and(|(label, domain)| !label.is_empty() && domain == rest),
        None => pattern == host,
    }
}

/// The CN of a subject written as `CN=broker.test, O=...`.
fn common_name(subject: &str) -> Option<&str> {
    subject
        .split(", ")
        .find_map(|part| part.strip_prefix("CN="))
}

/// The server sent its leaf without the certificate that issued it (RFC 5246 §7.4.2, RFC 8446
/// §4.4.2: the server sends its chain, each certificate certifying the one before; only the
/// root may be left out). A leaf issued directly by a root looks the same on the wire, so the
/// finding is an error only when the client then refused the chain (unknown_ca and its
/// relatives), and info when the session went on (the client had the intermediate).
pub(crate) fn intermediate_missing(ctx: &ConnCtx) -> Vec<Hit> {
    let conn = ctx.conn;
    let Some(tls) = &conn.tls else { return vec![] };
    let (client, server) = (facts::client(conn), facts::server(conn));
    let Some(msg) = tls.certificates.iter().find(|m| m.side == server) else {
        return vec![];
    };
    let Some(leaf) = msg.chain.first().filter(|c| c.parse_error.is_none()) else {
        return vec![];
    };
    let issued_by_sent = msg.chain.iter().skip(1).any(|c| c.subject == leaf.issuer);
    if leaf.issuer == leaf.subject || issued_by_sent {
        return vec![];
    }
    // unknown_ca (48), bad_certificate (42), certificate_unknown (46): how TLS stacks say they
    // could not build a path to a root they trust.
    let refusal = tls.alerts.iter().find(|a| {
        a.side == client && a.at.frame > msg.at.frame && matches!(a.description, Some(42 | 46 | 48))
    });
    let hit = Hit::new()
        .var("subject", &leaf.subject)
        .var("issuer", &leaf.issuer)
        .var("sent", msg.chain.len())
        .var("frame", msg.at.frame)
        .at(
            msg.at,
            format!("server Certificate: {} certificate(s)", msg.chain.len()),
        );
    let hit = match refusal {
        Some(a) => hit
            .variant("refused")
            .at(a.at, "the client refuses the chain"),
        None if tls.established => hit.variant("accepted"),
        None => hit,
    };
    vec![hit]
}

/// The server's chain is not in issuing order: RFC 5246 §7.4.2 requires each certificate to be
/// followed by the one that certified it; RFC 8446 §4.4.2 keeps only "the end-entity first" as a
/// MUST. Strict stacks (older mbedTLS, some RTOS TLS ports) refuse a misordered chain.
pub(crate) fn cert_chain_order(ctx: &ConnCtx) -> Vec<Hit> {
    let conn = ctx.conn;
    let Some(tls) = &conn.tls else { return vec![] };
    let (client, server) = (facts::client(conn), facts::server(conn));
    let Some(msg) = tls.certificates.iter().find(|m| m.side == server) else {
        return vec![];
    };
    let chain = &msg.chain;
    if chain.len() < 2 || chain.iter().any(|c| c.parse_error.is_some()) {
        return vec![];
    }
    let sent = |subject: &str| chain.iter().position(|c| c.subject == subject);
    // The first certificate issues another one of the list: it is a CA, not the server's own.
    let leaf_not_first = chain.split_first().is_some_and(|(first, others)| {
        others
            .iter()
            .any(|c| c.issuer == first.subject && c.subject != c.issuer)
    });
    let misplaced = chain.iter().enumerate().find(|(i, c)| {
        c.subject != c.issuer
            && sent(&c.issuer).is_some_and(|at| at != i + 1)
            && chain.get(i + 1).is_none_or(|next| next.subject != c.issuer)
    });
    let Some((index, cert)) = misplaced.or(if leaf_not_first {
        chain.first().map(|c| (0, c))
    } else {
        None
    }) else {
        return vec![];
    };
    let order: Vec<String> = chain
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{}. {}", i + 1, c.subject))
        .collect();
    let refusal = tls.alerts.iter().find(|a| {
        a.side == client && a.at.frame > msg.at.frame && matches!(a.description, Some(42 | 46 | 48))
    });
    let mut hit = Hit::new()
        .var("frame", msg.at.frame)
        .var("position", index + 1)
        .var("subject", &cert.subject)
        .var("issuer", &cert.issuer)
        .var("order", order.join("; "))
        .at(
            msg.at,
            format!("server Certificate: {} certificate(s)", chain.len()),
        );
    if leaf_not_first {
        hit = hit.variant("leaf_not_first");
    } else if let Some(a) = refusal {
        hit = hit
            .variant("refused")
            .at(a.at, "the client refuses the chain");
    }
    vec![hit]
}

/// The server's leaf certificate does not name the SNI the client asked for.
pub(crate) fn hostname_mismatch(ctx: &ConnCtx) -> Vec<Hit> {
    let conn = ctx.conn;
    let Some(tls) = &conn.tls else { return vec![] };
    let Some(hello) = &tls.client_hello else {
        return vec![];
    };
    let Some(sni) = &hello.sni else { return vec![] };
    let server = facts::server(conn);
    let Some(msg) = tls.certificates.iter().find(|m| m.side == server) else {
        return vec![];
    };
    let Some(leaf) = msg.chain.first().filter(|c| c.parse_error.is_none()) else {
        return vec![];
    };
    let names: Vec<&str> = if leaf.san.is_empty() {
        common_name(&leaf.subject).into_iter().collect()
    } else {
        leaf.san.iter().map(String::as_str).collect()
    };
    let covered = match sni.parse::<std::net::IpAddr>() {
        Ok(ip) => names
            .iter()
            .any(|n| n.parse::<std::net::IpAddr>() == Ok(ip)),
        Err(_) => names.iter().any(|n| name_matches(n, sni)),
    };
    if covered {
        return vec![];
    }
    vec![
        Hit::new()
            .var("sni", sni)
            .var(
                "names",
                if names.is_empty() {
                    "no names".to_string()
                } else {
                    names.join(", ")
                },
            )
            .var("subject", &leaf.subject)
            .at(hello.at, format!("ClientHello asks for {sni}"))
            .at(msg.at, "server certificate"),
    ]
}

/// The client refused the server certificate as expired or bad although every visible server
/// certificate was valid at the capture's time: the device clock is probably wrong.
pub(crate) fn clock_skew_suspected(ctx: &ConnCtx) -> Vec<Hit> {
    let conn = ctx.conn;
    let Some(tls) = &conn.tls else { return vec![] };
    let client = facts::client(conn);
    let Some(alert) = tls.alerts.iter().find(|a| {
        a.side == client
            && !a.encrypted
            // Only a verdict about dates points at the clock. bad_certificate is generic
            // (OpenSSL: not yet valid, bad signature; GnuTLS: unknown issuer), so it never
            // counts as evidence on its own.
            && a.description == Some(CERTIFICATE_EXPIRED)
    }) else {
        return vec![];
    };
    let server = facts::server(conn);
    let Some(msg) = tls.certificates.iter().find(|m| m.side == server) else {
        return vec![];
    };
    let now = unix_secs(msg.at);
    let certs: Vec<&CertInfo> = parsed(&msg.chain).map(|(_, c)| c).collect();
    if certs.is_empty()
        || certs
            .iter()
            .any(|c| now < c.not_before || now > c.not_after)
    {
        return vec![];
    }
    let not_after = certs.iter().map(|c| c.not_after).min().unwrap_or(now);
    let not_before = certs.iter().map(|c| c.not_before).max().unwrap_or(now);
    vec![
        Hit::new()
            .variant("clock_ahead")
            .var("description", "certificate_expired")
            .var("capture_time", rfc3339_seconds(now))
            .var("not_before", rfc3339_seconds(not_before))
            .var("not_after", rfc3339_seconds(not_after))
            .at(msg.at, "server certificate, valid at this time")
            .at(alert.at, "client alert"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::Side;
    use crate::detect::test_support::*;
    use crate::proto::tls::message::TlsSummary;

    fn cert(subject: &str, san: &[&str], not_before: i64, not_after: i64) -> CertInfo {
        CertInfo {
            subject: subject.into(),
            issuer: subject.into(),
            not_before,
            not_after,
            san: san.iter().map(|s| s.to_string()).collect(),
            ..CertInfo::default()
        }
    }

    /// A fatal alert (RFC 5246 §7.2: level 2) `description` from `side` at frame 8.
    fn fatal_alert(side: Side, description: u8) -> crate::proto::tls::message::AlertInfo {
        crate::proto::tls::message::AlertInfo {
            at: at(8, 5),
            side,
            encrypted: false,
            level: Some(2),
            description: Some(description),
            record_len: 2,
        }
    }

    fn with_server_cert(sni: Option<&str>, c: CertInfo) -> crate::conn::Connection {
        let mut conn = conn();
        let mut tls = TlsSummary {
            client_side: Some(Side::Orig),
            ..TlsSummary::default()
        };
        tls.client_hello = Some(crate::proto::tls::message::ClientHelloInfo {
            at: at(4, 2),
            legacy_version: 0x0303,
            versions: vec![0x0303],
            sni: sni.map(String::from),
            ..Default::default()
        });
        tls.certificates.push(CertificateMsg {
            at: at(6, 3),
            side: Side::Resp,
            chain: vec![c],
        });
        conn.tls = Some(tls);
        conn.protocol = crate::conn::AppProtocol::Tls;
        conn
    }

    const NOW: i64 = T0_NS / 1_000_000_000;

    #[test]
    fn wildcards_cover_one_label_only() {
        assert!(name_matches("*.broker.test", "eu.broker.test"));
        assert!(!name_matches("*.broker.test", "a.eu.broker.test"));
        assert!(!name_matches("*.broker.test", "broker.test"));
        assert!(name_matches("Broker.Test.", "broker.test"));
    }

    #[test]
    fn expired_and_not_yet_valid_at_capture_time() {
        let c = with_server_cert(
            Some("b.test"),
            cert("CN=b.test", &["b.test"], 0, NOW - 86_400 * 3),
        );
        assert!(rules_fired(&c).contains(&"cert_expired"));
        let c = with_server_cert(
            Some("b.test"),
            cert("CN=b.test", &["b.test"], NOW + 100, NOW + 999),
        );
        assert!(rules_fired(&c).contains(&"cert_not_yet_valid"));
        let c = with_server_cert(Some("b.test"), cert("CN=b.test", &["b.test"], 0, NOW + 999));
        assert!(problems(&c).is_empty(), "{:?}", problems(&c));
    }

    #[test]
    fn sni_not_in_san_is_a_mismatch_and_ip_sans_match_ip_sni() {
        let c = with_server_cert(
            Some("wronghost.test"),
            cert("CN=other", &["other.example"], 0, NOW + 9),
        );
        assert!(rules_fired(&c).contains(&"hostname_mismatch"));
        let c = with_server_cert(
            Some("10.0.0.1"),
            cert("CN=x", &["x.test", "10.0.0.1"], 0, NOW + 9),
        );
        assert!(!rules_fired(&c).contains(&"hostname_mismatch"));
        let c = with_server_cert(Some("cn.test"), cert("O=x, CN=cn.test", &[], 0, NOW + 9));
        assert!(!rules_fired(&c).contains(&"hostname_mismatch"));
    }

    #[test]
    fn client_rejecting_a_valid_certificate_suggests_clock_skew() {
        let mut c = with_server_cert(
            Some("b.test"),
            cert("CN=b.test", &["b.test"], 0, NOW + 9_999),
        );
        if let Some(t) = c.tls.as_mut() {
            t.alerts.push(fatal_alert(Side::Orig, 45));
        }
        // One fault, one finding: the alert is folded into the clock finding.
        let f = findings(&c);
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(f[0].rule, "clock_skew_suspected");
        assert_eq!(f[0].merged, ["tls_alert"]);
        assert!(
            f[0].evidence.iter().any(|e| e.at.frame == 8),
            "the alert's frame"
        );
        // bad_certificate says nothing about dates (GnuTLS sends it for an unknown issuer):
        // the alert stands alone, nothing blames the clock.
        if let Some(t) = c.tls.as_mut() {
            t.alerts[0].description = Some(42);
        }
        let fired = rules_fired(&c);
        assert!(!fired.contains(&"clock_skew_suspected"), "{fired:?}");
        assert!(fired.contains(&"tls_alert"), "{fired:?}");
    }

    #[test]
    fn only_the_clients_verdict_on_a_certificate_valid_at_capture_time_blames_its_clock() {
        // clock_skew_suspected: the device's clock judged the server's certificate. A server
        // sending certificate_expired judged the client's certificate (mutual TLS), which
        // says nothing about the device clock. RFC 5280 §4.1.2.5: the validity period includes
        // notBefore, so a certificate valid from the capture's very second was valid then.
        let rejected_by = |side: Side, not_before: i64| {
            let mut c = with_server_cert(
                Some("b.test"),
                cert("CN=b.test", &["b.test"], not_before, NOW + 9_999),
            );
            if let Some(t) = c.tls.as_mut() {
                t.alerts.push(fatal_alert(side, CERTIFICATE_EXPIRED));
            }
            rules_fired(&c)
        };
        let fired = rejected_by(Side::Orig, NOW);
        assert!(fired.contains(&"clock_skew_suspected"), "{fired:?}");
        let fired = rejected_by(Side::Resp, 0);
        assert!(!fired.contains(&"clock_skew_suspected"), "{fired:?}");
    }

    /// The rules fired on a server certificate valid from `not_before` to `not_after`, then
    /// the client's certificate_expired alert (frame 8).
    fn expired_by_client(not_before: i64, not_after: i64) -> Vec<&'static str> {
        let mut c = with_server_cert(
            Some("b.test"),
            cert("CN=b.test", &["b.test"], not_before, not_after),
        );
        if let Some(t) = c.tls.as_mut() {
            t.alerts.push(fatal_alert(Side::Orig, CERTIFICATE_EXPIRED));
        }
        rules_fired(&c)
    }

    #[test]
    fn a_certificate_in_its_last_valid_second_rejected_as_expired_blames_the_clock() {
        // clock_skew_suspected: RFC 5280 §4.1.2.5, the validity period runs from notBefore
        // through notAfter inclusive, so at the capture's second NOW a certificate with
        // notAfter = NOW is still valid; a client calling it expired has its clock ahead.
        let fired = expired_by_client(0, NOW);
        assert!(fired.contains(&"clock_skew_suspected"), "{fired:?}");
        // One second later it has expired (cert_expired): the client is right, not its clock.
        let fired = expired_by_client(0, NOW - 1);
        assert!(
            fired.contains(&"cert_expired") && !fired.contains(&"clock_skew_suspected"),
            "{fired:?}"
        );
    }

    #[test]
    fn a_certificate_not_yet_valid_rejected_by_the_client_does_not_blame_its_clock() {
        // clock_skew_suspected needs every server certificate valid at capture time
        // (RFC 5280 §4.1.2.5). One whose notBefore is still ahead is not (cert_not_yet_valid),
        // so the client's alert about it says nothing about the device clock.
        let fired = expired_by_client(NOW + 100, NOW + 9_999);
        assert!(
            fired.contains(&"cert_not_yet_valid") && !fired.contains(&"clock_skew_suspected"),
            "{fired:?}"
        );
    }

    #[test]
    fn a_client_alert_after_an_established_session_is_no_refusal_of_the_chain() {
        // intermediate_missing: only the client's unknown_ca, bad_certificate or
        // certificate_unknown after the Certificate refuses the chain (RFC 8446 §6.2: the
        // alerts of a failed path to a trusted root). A session that went on and later ended
        // with the client's encrypted alert (close_notify, RFC 8446 §6.1; its description is
        // unreadable) accepted the chain: info, not an error.
        let mut leaf = cert("CN=b.test", &["b.test"], 0, NOW + 9_999);
        leaf.issuer = "CN=Intermediate".into();
        let mut c = with_server_cert(Some("b.test"), leaf);
        if let Some(t) = c.tls.as_mut() {
            t.established = true;
            t.alerts.push(crate::proto::tls::message::AlertInfo {
                at: at(20, 900),
                side: Side::Orig,
                encrypted: true,
                level: None,
                description: None,
                record_len: 26,
            });
        }
        let f = findings(&c);
        let found = f.iter().find(|f| f.rule == "intermediate_missing");
        assert!(
            found.is_some_and(|f| f.severity.name() == "info"
                && !f
                    .evidence
                    .iter()
                    .any(|e| e.note == "the client refuses the chain")),
            "{f:#?}"
        );
    }

    #[test]
    fn extreme_validity_dates_do_not_overflow() {
        let c = with_server_cert(
            Some("b.test"),
            cert("CN=b.test", &["b.test"], i64::MAX, i64::MIN),
        );
        let fired = rules_fired(&c);
        assert!(fired.contains(&"cert_expired") && fired.contains(&"cert_not_yet_valid"));
    }

    #[test]
    fn a_leaf_without_its_issuer_is_an_intermediate_missing() {
        let mut leaf = cert("CN=b.test", &["b.test"], 0, NOW + 9_999);
        leaf.issuer = "CN=Intermediate".into();
        let mut c = with_server_cert(Some("b.test"), leaf.clone());
        let severity =
            |c: &crate::conn::Connection| severity_of(&findings(c), "intermediate_missing");
        // Not refused, not established: a warning.
        assert_eq!(severity(&c), Some("warning"));
        // The session went on: the client had the intermediate, info.
        if let Some(t) = c.tls.as_mut() {
            t.established = true;
        }
        assert_eq!(severity(&c), Some("info"));
        // The intermediate sent after the leaf: nothing missing.
        let mut intermediate = cert("CN=Intermediate", &[], 0, NOW + 9_999);
        intermediate.issuer = "CN=Root".into();
        if let Some(t) = c.tls.as_mut() {
            t.certificates[0].chain = vec![leaf, intermediate];
        }
        assert_eq!(severity(&c), None);
    }

    #[test]
    fn chain_order_misplaced_issuer_and_leaf_not_first() {
        let issued = |subject: &str, issuer: &str| {
            let mut c = cert(subject, &["b.test"], 0, NOW + 9_999);
            c.issuer = issuer.into();
            c
        };
        let leaf = issued("CN=b.test", "CN=Inter");
        let inter = issued("CN=Inter", "CN=Root");
        let root = issued("CN=Root", "CN=Root");
        let mut c = with_server_cert(Some("b.test"), leaf.clone());
        let mut with_chain = |chain: Vec<CertInfo>| {
            if let Some(t) = c.tls.as_mut() {
                t.certificates[0].chain = chain;
            }
            let f = findings(&c);
            (
                severity_of(&f, "cert_chain_order"),
                f.iter()
                    .find(|f| f.rule == "cert_chain_order")
                    .map(|f| f.title.clone()),
            )
        };
        assert_eq!(with_chain(vec![leaf.clone(), inter.clone()]).0, None);
        assert_eq!(
            with_chain(vec![leaf.clone(), inter.clone(), root.clone()]).0,
            None
        );
        assert_eq!(
            with_chain(vec![leaf.clone(), root.clone(), inter.clone()]).0,
            Some("warning")
        );
        let (severity, title) = with_chain(vec![inter, leaf]);
        assert_eq!(severity, Some("error"));
        assert!(title.is_some_and(|t| t.contains("does not start")));
    }

    #[test]
    fn only_the_clients_certificate_alert_refuses_a_misordered_server_chain() {
        // cert_chain_order refused: the client verifies the server's chain (RFC 5246 §7.4.2),
        // so only its certificate alert after the Certificate refuses the order. The server's
        // bad_certificate (42) is its verdict on the client's certificate in mutual TLS
        // (§7.4.6), which says nothing about the order of its own chain.
        let issued = |subject: &str, issuer: &str| {
            let mut c = cert(subject, &["b.test"], 0, NOW + 9_999);
            c.issuer = issuer.into();
            c
        };
        let chain = vec![
            issued("CN=b.test", "CN=Inter"),
            issued("CN=Root", "CN=Root"),
            issued("CN=Inter", "CN=Root"),
        ];
        let order_after_alert_from = |side: Side| {
            let mut c = with_server_cert(Some("b.test"), chain[0].clone());
            if let Some(t) = c.tls.as_mut() {
                t.certificates[0].chain = chain.clone();
                t.alerts.push(fatal_alert(side, 42));
            }
            findings(&c)
                .into_iter()
                .find(|f| f.rule == "cert_chain_order")
        };
        let refused = |f: &crate::detect::Finding| {
            f.title.ends_with("and the device refuses it")
                && f.evidence
                    .iter()
                    .any(|e| e.note == "the client refuses the chain")
        };
        let by_client = order_after_alert_from(Side::Orig);
        assert!(by_client.as_ref().is_some_and(refused), "{by_client:#?}");
        let by_server = order_after_alert_from(Side::Resp);
        assert!(
            by_server.as_ref().is_some_and(|f| f.title
                == "The broker sends its certificate chain out of order"
                && !refused(f)),
            "{by_server:#?}"
        );
    }
}

#[cfg(test)]
mod boundary_tests;
