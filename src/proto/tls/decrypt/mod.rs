//! TLS record decryption from key-logged secrets: the crypto layer, pure bytes in, bytes out.
//!
//! - [`KeyLog`]: NSS key log text (files or pcapng Decryption Secrets Blocks) to per-connection
//!   [`SessionSecrets`], looked up by the ClientHello random.
//! - [`suite_info`]: which cipher suites we decrypt and how (AES-GCM, AES-CCM(-8),
//!   ChaCha20-Poly1305 for TLS 1.3 and 1.2; AES-CBC with HMAC-SHA1/256/384 for TLS 1.2).
//! - [`tls12_decryptors`] (from the master secret, RFC 5246 §6.3) and [`tls13_decryptor`] (from a
//!   traffic secret, RFC 8446 §7.3) build a [`RecordDecryptor`] per direction, which turns each
//!   protected record into a [`Plaintext`] or a [`DecryptError`].
//! - [`tls12_prf`] and [`hkdf_expand_label`], checked against the IETF TLS list PRF vectors and
//!   RFC 8448.
//!
//! Guarantees: no function here panics on any input (fuzzed through [`fuzz_decrypt`]); a record
//! that fails authentication is an `Err`, never plaintext; secrets and keys never appear in
//! `Debug` output. This module knows nothing of pcap, TCP or the TLS handshake: the TLS session
//! tells it the suite, randoms and extension flags.

mod kdf;
mod keylog;
mod record;
mod suite;

#[cfg(test)]
pub(crate) mod openssl_records;
#[cfg(test)]
mod real_records;
#[cfg(test)]
mod record_tests;
#[cfg(test)]
pub(crate) mod test_util;

#[cfg(test)]
pub(crate) use kdf::{Hash, hkdf_expand_label, tls12_prf};
pub(crate) use keylog::{KeyLog, SessionSecrets};
pub(crate) use record::{
    DecryptError, Plaintext, RecordDecryptor, tls12_decryptors, tls13_decryptor, tls13_next_secret,
};
pub(crate) use suite::{SuiteVersion, suite_info};

/// Fuzz entry point: arbitrary bytes into [`KeyLog::add_text`] and, under keys derived from a
/// fixed secret for the suite picked by the first byte (bit 7: encrypt-then-MAC), into
/// [`RecordDecryptor::decrypt`] as a run of records, each a 2-byte length and its fragment.
/// Must never panic.
pub fn fuzz_decrypt(data: &[u8]) {
    const SUITES: [u16; 14] = [
        0x1301, 0x1302, 0x1303, 0x1304, 0x1305, 0xc02f, 0xc030, 0xcca8, 0xc0ae, 0xc0ad, 0xc013,
        0xc014, 0x003d, 0xc028,
    ];
    const SECRET: [u8; 48] = [0x42; 48];

    let _ = KeyLog::new().add_text(data);

    let Some((&selector, mut rest)) = data.split_first() else {
        return;
    };
    let Some(suite) = SUITES
        .get(usize::from(selector & 0x7f) % SUITES.len())
        .copied()
    else {
        return;
    };
    let Some(info) = suite_info(suite) else {
        return;
    };
    let decryptor = match info.version {
        SuiteVersion::Tls13 => SECRET
            .get(..info.prf.output_len())
            .and_then(|secret| tls13_decryptor(suite, secret)),
        SuiteVersion::Tls12 => {
            tls12_decryptors(suite, &SECRET, &[1; 32], &[2; 32], selector & 0x80 != 0)
                .map(|(client_to_server, _)| client_to_server)
        }
    };
    let Some(mut decryptor) = decryptor else {
        return;
    };
    while let [hi, lo, tail @ ..] = rest {
        let len = usize::from(u16::from_be_bytes([*hi, *lo])).min(tail.len());
        let (fragment, next) = tail.split_at(len);
        let length = u16::try_from(len).unwrap_or(u16::MAX).to_be_bytes();
        let header = [0x17, 0x03, 0x03, length[0], length[1]];
        // Records with an odd length byte also exercise the gap resynchronisation.
        if *lo & 1 == 1 {
            let _ = decryptor.decrypt_after_gap(&header, fragment, 3);
        } else {
            let _ = decryptor.decrypt(&header, fragment);
        }
        rest = next;
    }
}

#[cfg(test)]
mod tests {
    use super::fuzz_decrypt;

    #[test]
    fn fuzz_entry_survives_pseudo_random_inputs() {
        // xorshift: deterministic inputs of every suite selector and many record splits.
        let mut rng = crate::test_rng::XorShift::new(0x2545_f491_4f6c_dd1d);
        for round in 0..3000 {
            let len = round % 700;
            let data: Vec<u8> = (0..len).map(|_| rng.byte()).collect();
            fuzz_decrypt(&data);
        }
        fuzz_decrypt(b"");
        fuzz_decrypt(b"CLIENT_RANDOM 00 11\n\x80\x00\x10");
    }
}
