//! `--redact-ids`: client ids, user names, host names (SNI, certificate names, DNS names,
//! proxy targets) and IP addresses replaced by stable pseudonyms, for reports that leave the
//! company. A pseudonym is a pure function of the value (`client-`, `user-`, `host-` or `ip-`
//! and 8 hex digits of its SHA-256), so the same device gets the same name in every record,
//! every run and for every `--jobs`, with no table shared between threads. Free text (finding
//! titles, details, evidence notes) is rewritten by whole tokens, so `10.0.0.2` does not eat
//! into `10.0.0.21`. Passwords and payloads stay hidden as always (`--reveal` aside).

use sha2::{Digest, Sha256};

/// The pseudonym of `value`: `kind-` and the first 8 hex digits of SHA-256(kind, value).
pub(crate) fn pseudonym(kind: &str, value: &str) -> String {
    let mut hash = Sha256::new();
    hash.update(kind.as_bytes());
    hash.update([0]);
    hash.update(value.as_bytes());
    let digest = hash.finalize();
    format!(
        "{kind}-{}",
        crate::common::hex(digest.get(..4).unwrap_or_default())
    )
}

/// The values of one record (or one finding) and their pseudonyms.
#[derive(Debug, Default, Clone)]
pub(crate) struct Redactor {
    /// (original, pseudonym), longest original first so a host name goes before its parts.
    pairs: Vec<(String, String)>,
}

impl Redactor {
    pub(crate) fn new() -> Self {
        Redactor::default()
    }

    /// Adds `value` (ignored when empty or already known) under `kind`.
    pub(crate) fn add(&mut self, kind: &str, value: &str) {
        let value = value.trim();
        if value.is_empty() || self.pairs.iter().any(|(o, _)| o == value) {
            return;
        }
        self.pairs.push((value.to_string(), pseudonym(kind, value)));
        self.pairs
            .sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(&b.0)));
    }

    /// Adds the host of `host:port` (or `[v6]:port`), as an address when it parses as one.
    pub(crate) fn add_target(&mut self, target: &str) {
        let host = match target.rsplit_once(':') {
            Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
            _ => target,
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.parse::<std::net::IpAddr>().is_ok() {
            self.add("ip", host);
        } else {
            self.add("host", host);
        }
    }

    /// The pseudonym of a value added before, or the text rewritten.
    pub(crate) fn text(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (original, pseudonym) in &self.pairs {
            out = replace_tokens(&out, original, pseudonym);
        }
        out
    }

    pub(crate) fn in_place(&self, text: &mut String) {
        *text = self.text(text);
    }

    /// Every string in a JSON value rewritten.
    pub(crate) fn value(&self, value: &mut serde_json::Value) {
        match value {
            serde_json::Value::String(s) => self.in_place(s),
            serde_json::Value::Array(items) => items.iter_mut().for_each(|v| self.value(v)),
            serde_json::Value::Object(map) => map.values_mut().for_each(|v| self.value(v)),
            _ => {}
        }
    }
}

/// A character that continues a token (an id, a name, an address).
fn word(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '-' | '_')
}

/// Replaces whole-token occurrences of `from` in `text`: not preceded by a word character or
/// a dot, not followed by a word character or by a dot that continues the token (a longer
/// address or host name).
fn replace_tokens(text: &str, from: &str, to: &str) -> String {
    if from.is_empty() || !text.contains(from) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut before: Option<char> = None;
    while let Some(at) = rest.find(from) {
        let prefix = &rest[..at];
        let prev = prefix.chars().next_back().or(before);
        let after = &rest[at + from.len()..];
        let mut next = after.chars();
        let following = next.next();
        let continues = match following {
            Some(c) if word(c) => true,
            Some('.') => next.next().is_some_and(word),
            _ => false,
        };
        let starts = prev.is_some_and(|c| word(c) || c == '.');
        out.push_str(prefix);
        if starts || continues {
            out.push_str(from);
        } else {
            out.push_str(to);
        }
        before = from.chars().next_back();
        rest = after;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pseudonyms_are_stable_and_distinct() {
        assert_eq!(pseudonym("client", "dev-42"), pseudonym("client", "dev-42"));
        assert_ne!(pseudonym("client", "dev-42"), pseudonym("client", "dev-43"));
        assert!(pseudonym("ip", "10.0.0.2").starts_with("ip-"));
        assert_eq!(pseudonym("ip", "10.0.0.2").len(), 11);
    }

    #[test]
    fn whole_tokens_only() {
        let mut r = Redactor::new();
        r.add("ip", "10.0.0.2");
        r.add("client", "dev-4");
        r.add("host", "broker.test");
        let ip = pseudonym("ip", "10.0.0.2");
        let text = r.text("10.0.0.2:1883, 10.0.0.21, 110.0.0.2, \"dev-4\" dev-42 CN=broker.test,");
        assert_eq!(
            text,
            format!(
                "{ip}:1883, 10.0.0.21, 110.0.0.2, \"{}\" dev-42 CN={},",
                pseudonym("client", "dev-4"),
                pseudonym("host", "broker.test")
            )
        );
        assert_eq!(r.text("mtls.broker.test"), "mtls.broker.test");
    }

    #[test]
    fn targets_split_host_and_port() {
        let mut r = Redactor::new();
        r.add_target("broker.test:8883");
        r.add_target("[fd78::1]:1883");
        assert_eq!(r.text("broker.test"), pseudonym("host", "broker.test"));
        assert_eq!(r.text("fd78::1"), pseudonym("ip", "fd78::1"));
    }
}
