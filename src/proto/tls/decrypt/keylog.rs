//! NSS key log (SSLKEYLOGFILE) parsing: `LABEL <client_random hex> <secret hex>` per line, as
//! written by NSS, OpenSSL, BoringSSL, GnuTLS, curl, browsers, and embedded in pcapng
//! Decryption Secrets Blocks.
//!
//! Guarantees: any byte input is accepted (never a panic or an error); every non-blank line is
//! counted as used, ignored (comments, labels we do not need such as `EXPORTER_SECRET`,
//! `EARLY_*`, `RSA`, unknown labels) or malformed (a known label with a bad random or secret).
//! Secrets never appear in `Debug` output. Lookups are by the 32-byte ClientHello random.

use std::collections::BTreeMap;
use std::fmt;

/// The secrets a key log holds for one connection (one ClientHello random).
#[derive(Clone, Default, PartialEq, Eq)]
pub(crate) struct SessionSecrets {
    /// TLS 1.2 and below: `CLIENT_RANDOM` (RFC 5246 §8.1 master secret).
    pub master_secret: Option<[u8; 48]>,
    /// TLS 1.3 (RFC 8446 §7.1), 32 or 48 bytes (the suite's hash length).
    pub client_handshake: Option<Vec<u8>>,
    pub server_handshake: Option<Vec<u8>>,
    pub client_traffic_0: Option<Vec<u8>>,
    pub server_traffic_0: Option<Vec<u8>>,
}

impl fmt::Debug for SessionSecrets {
    // Key material must never reach logs or reports: show only which secrets are present.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn shown<T>(secret: &Option<T>) -> &'static str {
            if secret.is_some() {
                "<redacted>"
            } else {
                "None"
            }
        }
        f.debug_struct("SessionSecrets")
            .field(
                "master_secret",
                &format_args!("{}", shown(&self.master_secret)),
            )
            .field(
                "client_handshake",
                &format_args!("{}", shown(&self.client_handshake)),
            )
            .field(
                "server_handshake",
                &format_args!("{}", shown(&self.server_handshake)),
            )
            .field(
                "client_traffic_0",
                &format_args!("{}", shown(&self.client_traffic_0)),
            )
            .field(
                "server_traffic_0",
                &format_args!("{}", shown(&self.server_traffic_0)),
            )
            .finish()
    }
}

/// How the lines of one `add_text` call were used.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct KeyLogStats {
    /// Lines that stored a secret.
    pub used: u64,
    /// Comments and lines with labels we do not need.
    pub ignored: u64,
    /// Lines with a known label but a bad random or secret (wrong length, not hex, missing).
    pub malformed: u64,
}

/// Secrets from one or more key logs, by ClientHello random.
#[derive(Clone, Default)]
pub(crate) struct KeyLog {
    sessions: BTreeMap<[u8; 32], SessionSecrets>,
}

impl fmt::Debug for KeyLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyLog")
            .field("sessions", &self.sessions.len())
            .finish_non_exhaustive()
    }
}

/// The labels that carry something we use (NSS key log format).
#[derive(Clone, Copy)]
enum Label {
    ClientRandom,
    ClientHandshake,
    ServerHandshake,
    ClientTraffic0,
    ServerTraffic0,
}

impl Label {
    fn parse(label: &[u8]) -> Option<Label> {
        Some(match label {
            b"CLIENT_RANDOM" => Label::ClientRandom,
            b"CLIENT_HANDSHAKE_TRAFFIC_SECRET" => Label::ClientHandshake,
            b"SERVER_HANDSHAKE_TRAFFIC_SECRET" => Label::ServerHandshake,
            b"CLIENT_TRAFFIC_SECRET_0" => Label::ClientTraffic0,
            b"SERVER_TRAFFIC_SECRET_0" => Label::ServerTraffic0,
            _ => return None,
        })
    }
}

impl KeyLog {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Adds every usable line of `text` (a whole key log file, or a pcapng DSB's payload).
    /// A later line for the same random and label replaces an earlier one.
    pub(crate) fn add_text(&mut self, text: &[u8]) -> KeyLogStats {
        let mut stats = KeyLogStats::default();
        for line in text.split(|&b| b == b'\n') {
            let line = line.trim_ascii();
            if line.is_empty() {
                continue;
            }
            if line.first() == Some(&b'#') {
                stats.ignored += 1;
                continue;
            }
            let mut fields = line
                .split(|b| b.is_ascii_whitespace())
                .filter(|field| !field.is_empty());
            let Some(label) = fields.next().and_then(Label::parse) else {
                stats.ignored += 1;
                continue;
            };
            let random = fields
                .next()
                .and_then(decode_hex)
                .and_then(|r| <[u8; 32]>::try_from(r).ok());
            let secret = fields.next().and_then(decode_hex);
            let extra = fields.next().is_some();
            let stored = match (random, secret, extra) {
                (Some(random), Some(secret), false) => self.store(label, random, secret),
                _ => false,
            };
            if stored {
                stats.used += 1;
            } else {
                stats.malformed += 1;
            }
        }
        stats
    }

    /// `false` when the secret has the wrong length for its label.
    fn store(&mut self, label: Label, random: [u8; 32], secret: Vec<u8>) -> bool {
        if let Label::ClientRandom = label {
            let Ok(master) = <[u8; 48]>::try_from(secret) else {
                return false;
            };
            self.sessions.entry(random).or_default().master_secret = Some(master);
            return true;
        }
        // TLS 1.3 secrets are Hash.length long: 32 (SHA-256) or 48 (SHA-384) bytes.
        if secret.len() != 32 && secret.len() != 48 {
            return false;
        }
        let session = self.sessions.entry(random).or_default();
        let slot = match label {
            Label::ClientHandshake => &mut session.client_handshake,
            Label::ServerHandshake => &mut session.server_handshake,
            Label::ClientTraffic0 => &mut session.client_traffic_0,
            Label::ServerTraffic0 | Label::ClientRandom => &mut session.server_traffic_0,
        };
        *slot = Some(secret);
        true
    }

    /// The secrets logged for the connection whose ClientHello carried `client_random`.
    pub(crate) fn lookup(&self, client_random: &[u8; 32]) -> Option<&SessionSecrets> {
        self.sessions.get(client_random)
    }

    /// True when no secret was stored.
    pub(crate) fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }
}

/// Hex (either case) to bytes; `None` on an odd length or a non-hex digit.
fn decode_hex(text: &[u8]) -> Option<Vec<u8>> {
    fn nibble(digit: u8) -> Option<u8> {
        match digit {
            b'0'..=b'9' => Some(digit - b'0'),
            b'a'..=b'f' => Some(digit - b'a' + 10),
            b'A'..=b'F' => Some(digit - b'A' + 10),
            _ => None,
        }
    }
    if !text.len().is_multiple_of(2) {
        return None;
    }
    text.chunks_exact(2)
        .map(|pair| match pair {
            [high, low] => Some(nibble(*high)? << 4 | nibble(*low)?),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const RANDOM: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    fn random() -> [u8; 32] {
        std::array::from_fn(|i| i as u8)
    }

    #[test]
    fn client_random_line_gives_the_master_secret() {
        let mut log = KeyLog::new();
        let text = format!("CLIENT_RANDOM {RANDOM} {}\n", "ab".repeat(48));
        let stats = log.add_text(text.as_bytes());
        assert_eq!(
            stats,
            KeyLogStats {
                used: 1,
                ignored: 0,
                malformed: 0
            }
        );
        let secrets = log.lookup(&random()).expect("stored");
        assert_eq!(secrets.master_secret, Some([0xab; 48]));
        assert_eq!(secrets.client_traffic_0, None);
        assert!(log.lookup(&[0; 32]).is_none());
    }

    #[test]
    fn tls13_lines_fill_their_slots_and_others_are_ignored() {
        let mut log = KeyLog::new();
        let text = format!(
            "# comment\r\n\
             SERVER_HANDSHAKE_TRAFFIC_SECRET {RANDOM} {s1}\r\n\
             CLIENT_HANDSHAKE_TRAFFIC_SECRET {RANDOM} {s2}\r\n\
             EXPORTER_SECRET {RANDOM} {s1}\r\n\
             CLIENT_EARLY_TRAFFIC_SECRET {RANDOM} {s1}\r\n\
             \r\n\
             SERVER_TRAFFIC_SECRET_0 {RANDOM} {s3}\r\n\
             CLIENT_TRAFFIC_SECRET_0\t{RANDOM}   {s4}",
            s1 = "11".repeat(48),
            s2 = "22".repeat(48),
            s3 = "33".repeat(32),
            s4 = "44".repeat(32),
        );
        let stats = log.add_text(text.as_bytes());
        assert_eq!(
            stats,
            KeyLogStats {
                used: 4,
                ignored: 3,
                malformed: 0
            }
        );
        let s = log.lookup(&random()).expect("stored");
        assert_eq!(s.server_handshake, Some(vec![0x11; 48]));
        assert_eq!(s.client_handshake, Some(vec![0x22; 48]));
        assert_eq!(s.server_traffic_0, Some(vec![0x33; 32]));
        assert_eq!(s.client_traffic_0, Some(vec![0x44; 32]));
        assert_eq!(s.master_secret, None);
    }

    #[test]
    fn bad_lines_are_counted_as_malformed() {
        let mut log = KeyLog::new();
        let text = format!(
            "CLIENT_RANDOM {RANDOM}\n\
             CLIENT_RANDOM {RANDOM} {short}\n\
             CLIENT_RANDOM 0001 {master}\n\
             CLIENT_RANDOM {RANDOM} {master} extra\n\
             CLIENT_RANDOM {RANDOM} {nothex}\n\
             CLIENT_TRAFFIC_SECRET_0 {RANDOM} {odd}\n\
             CLIENT_TRAFFIC_SECRET_0 {RANDOM} {len40}\n",
            short = "ab".repeat(47),
            master = "ab".repeat(48),
            nothex = "zz".repeat(48),
            odd = "a".repeat(63),
            len40 = "ab".repeat(40),
        );
        let stats = log.add_text(text.as_bytes());
        assert_eq!(
            stats,
            KeyLogStats {
                used: 0,
                ignored: 0,
                malformed: 7
            }
        );
        assert!(log.is_empty());
    }

    #[test]
    fn debug_output_never_shows_secrets() {
        let mut log = KeyLog::new();
        let text = format!("CLIENT_RANDOM {RANDOM} {}\n", "5a".repeat(48));
        log.add_text(text.as_bytes());
        let secrets = log.lookup(&random()).expect("stored");
        let shown = format!("{secrets:?} {log:?}");
        assert!(shown.contains("<redacted>"), "{shown}");
        assert!(!shown.contains("5a") && !shown.contains("90"), "{shown}");
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let mut log = KeyLog::new();
        let stats = log.add_text(b"\xff\xfe CLIENT_RANDOM \x00\n\n\n#\nCLIENT_RANDOM \xc3\xa9 x");
        assert_eq!(stats.used, 0);
        for len in 0..200 {
            let junk: Vec<u8> = (0..len).map(|i| (i * 37 % 251) as u8).collect();
            log.add_text(&junk);
        }
    }
}
