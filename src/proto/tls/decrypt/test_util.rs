//! Helpers for this module's tests.

use super::{KeyLog, Plaintext, RecordDecryptor, SessionSecrets};

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
