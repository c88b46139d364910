//! Helpers for this module's tests.

use super::{KeyLog, Plaintext, RecordDecryptor, SessionSecrets, tls12_decryptors};

/// Hex to bytes, ignoring whitespace; panics on bad input (test data only).
pub(crate) fn hex(text: &str) -> Vec<u8> {
    let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    assert!(digits.len().is_multiple_of(2), "odd hex length");
    digits
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
        .collect()
}

pub(crate) fn split_record(record: &str) -> ([u8; 5], Vec<u8>) {
    let bytes = hex(record);
    let (header, fragment) = bytes.split_at(5);
    (header.try_into().unwrap(), fragment.to_vec())
}

pub(crate) fn open(decryptor: &mut RecordDecryptor, record: &str) -> Plaintext {
    let (header, fragment) = split_record(record);
    decryptor
        .decrypt(&header, &fragment)
        .expect("record authenticates")
}

pub(crate) fn random(text: &str) -> [u8; 32] {
    hex(text).try_into().unwrap()
}

pub(crate) fn secrets_for(keylog: &str, client_random: &[u8; 32]) -> SessionSecrets {
    let mut log = KeyLog::new();
    let stats = log.add_text(keylog.as_bytes());
    assert_eq!(stats.malformed, 0);
    log.lookup(client_random)
        .expect("keys for this random")
        .clone()
}

/// One recorded TLS 1.2 connection: what its key log line and Hellos give, and its protected
/// records (`header || fragment` in hex) in order per direction.
pub(crate) struct Tls12Connection {
    pub suite: u16,
    pub client_random: &'static str,
    pub server_random: &'static str,
    pub master_secret: &'static str,
    pub encrypt_then_mac: bool,
    pub client: &'static [&'static str],
    pub server: &'static [&'static str],
}

impl Tls12Connection {
    /// The client's and the server's decryptor, keyed through the connection's key log line.
    pub(crate) fn decryptors(&self) -> (RecordDecryptor, RecordDecryptor) {
        let cr = random(self.client_random);
        let line = format!(
            "CLIENT_RANDOM {} {}",
            self.client_random, self.master_secret
        );
        let master = secrets_for(&line, &cr).master_secret.unwrap();
        let sr = random(self.server_random);
        tls12_decryptors(self.suite, &master, &cr, &sr, self.encrypt_then_mac).unwrap()
    }
}

/// Checks that `record` decrypts with a decryptor from `fresh` and that every truncation of its
/// fragment and every flip of `flip` bits in each of its bytes fails; `label` names the case.
pub(crate) fn assert_every_truncation_and_flip_fails(
    fresh: impl Fn() -> RecordDecryptor,
    record: &str,
    flip: u8,
    label: &str,
) {
    let (header, fragment) = split_record(record);
    assert!(fresh().decrypt(&header, &fragment).is_ok(), "{label}");
    for len in 0..fragment.len() {
        let result = fresh().decrypt(&header, &fragment[..len]);
        assert!(result.is_err(), "{label} prefix {len}");
    }
    for at in 0..fragment.len() {
        let mut flipped = fragment.clone();
        flipped[at] ^= flip;
        let result = fresh().decrypt(&header, &flipped);
        assert!(result.is_err(), "{label} flip at {at}");
    }
}
