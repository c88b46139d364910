//! The certificate chains servers sent, for the human formats: one entry per distinct chain
//! (by the certificates' SHA-256), in order of the first connection that received it, with the
//! connections that did. A fleet capture with thousands of connections to one broker shows its
//! chain once. Each certificate gives subject, issuer and validity, and whether the next one in
//! the list is its issuer (RFC 8446 §4.4.2, RFC 5246 §7.4.2).

use super::model::{CertReport, Report};

/// One distinct chain and who received it.
pub(crate) struct ChainSeen<'a> {
    pub connections: Vec<usize>,
    /// Frame of the Certificate message in the first connection.
    pub frame: u64,
    pub chain: &'a [CertReport],
}

/// Distinct server chains, in order of first connection.
pub(crate) fn server_chains(report: &Report) -> Vec<ChainSeen<'_>> {
    let mut seen: Vec<(Vec<&str>, ChainSeen<'_>)> = Vec::new();
    for c in &report.connections {
        let Some(tls) = &c.tls else { continue };
        for msg in tls.certificates.iter().filter(|m| m.from == "server") {
            if msg.chain.is_empty() {
                continue;
            }
            let key: Vec<&str> = msg.chain.iter().map(|cert| cert.sha256.as_str()).collect();
            match seen.iter_mut().find(|(k, _)| *k == key) {
                Some((_, entry)) => entry.connections.push(c.id),
                None => seen.push((
                    key,
                    ChainSeen {
                        connections: vec![c.id],
                        frame: msg.frame,
                        chain: &msg.chain,
                    },
                )),
            }
        }
    }
    seen.into_iter().map(|(_, entry)| entry).collect()
}

/// One certificate as a line: subject, issuer, validity, and a note when the next certificate
/// in the list is not its issuer (or the leaf's issuer is missing).
pub(crate) fn describe(chain: &[CertReport], index: usize) -> String {
    let Some(cert) = chain.get(index) else {
        return String::new();
    };
    if let Some(error) = &cert.parse_error {
        return format!("unreadable certificate ({error})");
    }
    let note = if cert.subject == cert.issuer {
        " (self-signed)".to_string()
    } else {
        match chain.get(index + 1) {
            Some(next) if next.subject == cert.issuer => String::new(),
            Some(_) if chain.iter().any(|c| c.subject == cert.issuer) => {
                " (its issuer is in the chain, but not next: out of order)".to_string()
            }
            _ if chain.iter().any(|c| c.subject == cert.issuer) => {
                " (its issuer is earlier in the chain: out of order)".to_string()
            }
            // The last of a chain is issued by a root the client must hold: roots are not sent.
            _ if index == 0 => " (its issuer was not sent)".to_string(),
            _ => String::new(),
        }
    };
    format!(
        "{}, issued by {}, valid {} to {}{note}",
        cert.subject, cert.issuer, cert.not_before, cert.not_after
    )
}

/// "0" or "0, 3, 7" or "0, 3, 7 and 41 more".
pub(crate) fn connection_list(ids: &[usize]) -> String {
    const SHOWN: usize = 8;
    let mut text = ids
        .iter()
        .take(SHOWN)
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    if ids.len() > SHOWN {
        text.push_str(&format!(" and {} more", ids.len() - SHOWN));
    }
    text
}
