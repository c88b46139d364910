//! Record decryption for one direction of a connection: TLS 1.3 AEAD records (RFC 8446 §5.2),
//! TLS 1.2 AEAD records (AES-GCM, RFC 5288 §3; AES-CCM, RFC 6655 §3; ChaCha20-Poly1305,
//! RFC 7905 §2) and TLS 1.2 AES-CBC records with HMAC, MAC-then-encrypt (RFC 5246 §6.2.3.2) or
//! encrypt-then-MAC (RFC 7366 §3).
//!
//! Guarantees: `decrypt` never panics on any header or fragment; a record that does not
//! authenticate is `Err`, never garbage plaintext. Each decryptor keeps the 64-bit sequence
//! number of its direction (RFC 5246 §6.1, RFC 8446 §5.3) and advances it on every record handed
//! in, authenticated or not, as the sender did. Keys never appear in `Debug` output.

use super::kdf::{hkdf_expand_label, tls12_prf};
use super::suite::{BulkCipher, MacHash, SuiteInfo, SuiteVersion, suite_info};
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes128Gcm, Aes256Gcm};
use cbc::cipher::{BlockDecryptMut, KeyIvInit, block_padding::NoPadding};
use ccm::Ccm;
use ccm::consts::{U8, U12, U16};
use chacha20poly1305::ChaCha20Poly1305;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Sha256, Sha384};
use std::fmt;

/// TLS 1.2 AES-GCM and AES-CCM explicit nonce length (RFC 5288 §3, RFC 6655 §3).
const EXPLICIT_NONCE_LEN: usize = 8;
const AES_BLOCK: usize = 16;

// TLS uses 12-byte CCM nonces and 16- or 8-byte tags (RFC 6655 §3, RFC 8446 §5.3).
type Aes128Ccm = Ccm<aes::Aes128, U16, U12>;
type Aes256Ccm = Ccm<aes::Aes256, U16, U12>;
type Aes128Ccm8 = Ccm<aes::Aes128, U8, U12>;
type Aes256Ccm8 = Ccm<aes::Aes256, U8, U12>;

/// One decrypted record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Plaintext {
    /// The real content type: the header's for TLS 1.2, the inner one for TLS 1.3
    /// (RFC 8446 §5.2 `TLSInnerPlaintext.type`).
    pub content_type: u8,
    pub data: Vec<u8>,
}

/// Why a record did not decrypt. All are facts about that record, not about our environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum DecryptError {
    /// Too short for the suite's nonce, tag, IV, MAC or padding, or not a whole number of blocks.
    #[error("record length does not fit the cipher suite")]
    BadLength,
    /// The AEAD tag or the HMAC did not verify: wrong keys, wrong sequence, or corrupted bytes.
    #[error("record failed authentication")]
    AuthFailed,
    /// CBC padding bytes disagree with the padding length (RFC 5246 §6.2.3.2).
    #[error("bad CBC padding")]
    BadPadding,
    /// A TLS 1.3 plaintext of zero bytes only: no inner content type (RFC 8446 §5.4).
    #[error("no inner content type")]
    NoContentType,
}

/// Keys for one direction, by cipher.
enum Protection {
    Aes128Gcm(Box<Aes128Gcm>),
    Aes256Gcm(Box<Aes256Gcm>),
    ChaCha20Poly1305(Box<ChaCha20Poly1305>),
    Aes128Ccm(Box<Aes128Ccm>),
    Aes256Ccm(Box<Aes256Ccm>),
    Aes128Ccm8(Box<Aes128Ccm8>),
    Aes256Ccm8(Box<Aes256Ccm8>),
    /// CBC key (16 or 32 bytes) and the HMAC over each record.
    Cbc {
        key: Vec<u8>,
        mac: MacHash,
        mac_key: Vec<u8>,
        encrypt_then_mac: bool,
    },
}

/// Decrypts the records of one direction of one connection, in order.
pub(crate) struct RecordDecryptor {
    version: SuiteVersion,
    protection: Protection,
    /// TLS 1.3 and ChaCha20: the 12-byte IV; TLS 1.2 GCM and CCM: the 4-byte salt first.
    iv: [u8; 12],
    /// AEAD tag length: 16, or 8 for CCM_8; 0 for CBC.
    tag_len: usize,
    sequence: u64,
}

impl fmt::Debug for RecordDecryptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cipher = match &self.protection {
            Protection::Aes128Gcm(_) => "AES-128-GCM",
            Protection::Aes256Gcm(_) => "AES-256-GCM",
            Protection::ChaCha20Poly1305(_) => "ChaCha20-Poly1305",
            Protection::Aes128Ccm(_) => "AES-128-CCM",
            Protection::Aes256Ccm(_) => "AES-256-CCM",
            Protection::Aes128Ccm8(_) => "AES-128-CCM-8",
            Protection::Aes256Ccm8(_) => "AES-256-CCM-8",
            Protection::Cbc {
                encrypt_then_mac: false,
                ..
            } => "AES-CBC+HMAC",
            Protection::Cbc {
                encrypt_then_mac: true,
                ..
            } => "AES-CBC+HMAC (encrypt-then-MAC)",
        };
        f.debug_struct("RecordDecryptor")
            .field("version", &self.version)
            .field("cipher", &cipher)
            .field("sequence", &self.sequence)
            .finish_non_exhaustive()
    }
}

impl RecordDecryptor {
    fn new(suite: &SuiteInfo, key: &[u8], iv: &[u8], mac_key: &[u8], etm: bool) -> Option<Self> {
        let protection = match suite.cipher {
            BulkCipher::Aes128Gcm => {
                Protection::Aes128Gcm(Box::new(Aes128Gcm::new_from_slice(key).ok()?))
            }
            BulkCipher::Aes256Gcm => {
                Protection::Aes256Gcm(Box::new(Aes256Gcm::new_from_slice(key).ok()?))
            }
            BulkCipher::ChaCha20Poly1305 => {
                Protection::ChaCha20Poly1305(Box::new(ChaCha20Poly1305::new_from_slice(key).ok()?))
            }
            BulkCipher::Aes128Ccm => {
                Protection::Aes128Ccm(Box::new(Aes128Ccm::new_from_slice(key).ok()?))
            }
            BulkCipher::Aes256Ccm => {
                Protection::Aes256Ccm(Box::new(Aes256Ccm::new_from_slice(key).ok()?))
            }
            BulkCipher::Aes128Ccm8 => {
                Protection::Aes128Ccm8(Box::new(Aes128Ccm8::new_from_slice(key).ok()?))
            }
            BulkCipher::Aes256Ccm8 => {
                Protection::Aes256Ccm8(Box::new(Aes256Ccm8::new_from_slice(key).ok()?))
            }
            BulkCipher::Aes128Cbc | BulkCipher::Aes256Cbc => {
                if key.len() != suite.cipher.key_len() {
                    return None;
                }
                Protection::Cbc {
                    key: key.to_vec(),
                    mac: suite.mac?,
                    mac_key: mac_key.to_vec(),
                    encrypt_then_mac: etm,
                }
            }
        };
        let mut fixed_iv = [0u8; 12];
        fixed_iv.get_mut(..iv.len())?.copy_from_slice(iv);
        Some(RecordDecryptor {
            version: suite.version,
            protection,
            iv: fixed_iv,
            tag_len: suite.cipher.tag_len(),
            sequence: 0,
        })
    }

    /// The sequence number the next record will be decrypted with.
    pub(crate) fn sequence(&self) -> u64 {
        self.sequence
    }

    /// Sets the next record's sequence number: for trial decryption (a server skipping rejected
    /// 0-RTT records, RFC 8446 §4.2.10) or resynchronising after records lost from the capture.
    pub(crate) fn set_sequence(&mut self, sequence: u64) {
        self.sequence = sequence;
    }

    /// Decrypts one record: `header` is its 5-byte header (type, version, length), `fragment` the
    /// `length` bytes after it.
    pub(crate) fn decrypt(
        &mut self,
        header: &[u8; 5],
        fragment: &[u8],
    ) -> Result<Plaintext, DecryptError> {
        let sequence = self.sequence;
        self.sequence = self.sequence.wrapping_add(1);
        match self.version {
            SuiteVersion::Tls13 => self.decrypt_tls13(sequence, header, fragment),
            SuiteVersion::Tls12 => self.decrypt_tls12(sequence, header, fragment),
        }
    }

    /// Decrypts the first record after bytes were lost from the capture, when whole records
    /// may be missing: tries the expected sequence number and up to `max_lost` after it (every
    /// suite binds the sequence number into the nonce or MAC, so only the right one
    /// authenticates). On success the sequence continues after the one that worked and the
    /// number of records skipped is returned with the plaintext; on failure the sequence is
    /// left unchanged, so the caller may try again with the next record.
    pub(crate) fn decrypt_after_gap(
        &mut self,
        header: &[u8; 5],
        fragment: &[u8],
        max_lost: u64,
    ) -> Result<(Plaintext, u64), DecryptError> {
        let expected = self.sequence;
        let mut first_error = None;
        for lost in 0..=max_lost {
            let sequence = expected.wrapping_add(lost);
            let result = match self.version {
                SuiteVersion::Tls13 => self.decrypt_tls13(sequence, header, fragment),
                SuiteVersion::Tls12 => self.decrypt_tls12(sequence, header, fragment),
            };
            match result {
                Ok(plain) => {
                    self.sequence = sequence.wrapping_add(1);
                    return Ok((plain, lost));
                }
                // A length or padding problem does not depend on the sequence number.
                Err(DecryptError::BadLength) => return Err(DecryptError::BadLength),
                Err(error) => {
                    first_error.get_or_insert(error);
                }
            }
        }
        Err(first_error.unwrap_or(DecryptError::AuthFailed))
    }

    /// RFC 8446 §5.2: AAD is the record header; the nonce is the IV xor the sequence number
    /// (§5.3); the plaintext is content, the real type, then zero padding (§5.4).
    fn decrypt_tls13(
        &self,
        sequence: u64,
        header: &[u8; 5],
        fragment: &[u8],
    ) -> Result<Plaintext, DecryptError> {
        if fragment.len() < self.tag_len + 1 {
            return Err(DecryptError::BadLength);
        }
        let nonce = xor_sequence(self.iv, sequence);
        let mut plain = self.open_aead(&nonce, header, fragment)?;
        let type_at = plain
            .iter()
            .rposition(|&b| b != 0)
            .ok_or(DecryptError::NoContentType)?;
        let content_type = plain
            .get(type_at)
            .copied()
            .ok_or(DecryptError::NoContentType)?;
        plain.truncate(type_at);
        Ok(Plaintext {
            content_type,
            data: plain,
        })
    }

    fn decrypt_tls12(
        &self,
        sequence: u64,
        header: &[u8; 5],
        fragment: &[u8],
    ) -> Result<Plaintext, DecryptError> {
        let [content_type, version_hi, version_lo, _, _] = *header;
        // RFC 5246 §6.2.3.3 additional data, with the plaintext length filled in per cipher.
        let aad = |plain_len: usize| -> Option<[u8; 13]> {
            let len = u16::try_from(plain_len).ok()?.to_be_bytes();
            let mut aad = [0u8; 13];
            aad[..8].copy_from_slice(&sequence.to_be_bytes());
            aad[8..].copy_from_slice(&[content_type, version_hi, version_lo, len[0], len[1]]);
            Some(aad)
        };
        let data = match &self.protection {
            Protection::Aes128Gcm(_)
            | Protection::Aes256Gcm(_)
            | Protection::Aes128Ccm(_)
            | Protection::Aes256Ccm(_)
            | Protection::Aes128Ccm8(_)
            | Protection::Aes256Ccm8(_) => {
                // RFC 5288 §3, RFC 6655 §3: nonce = salt (4) || explicit nonce (8, the first
                // bytes of the fragment).
                let (explicit, sealed) = fragment
                    .split_at_checked(EXPLICIT_NONCE_LEN)
                    .ok_or(DecryptError::BadLength)?;
                let plain_len = sealed
                    .len()
                    .checked_sub(self.tag_len)
                    .ok_or(DecryptError::BadLength)?;
                let mut nonce = self.iv;
                nonce[4..].copy_from_slice(explicit);
                let aad = aad(plain_len).ok_or(DecryptError::BadLength)?;
                self.open_aead(&nonce, &aad, sealed)?
            }
            Protection::ChaCha20Poly1305(_) => {
                // RFC 7905 §2: nonce = IV xor sequence number, no explicit part.
                let plain_len = fragment
                    .len()
                    .checked_sub(self.tag_len)
                    .ok_or(DecryptError::BadLength)?;
                let aad = aad(plain_len).ok_or(DecryptError::BadLength)?;
                self.open_aead(&xor_sequence(self.iv, sequence), &aad, fragment)?
            }
            Protection::Cbc {
                key,
                mac,
                mac_key,
                encrypt_then_mac: false,
            } => {
                let plain = cbc_decrypt(key, fragment)?;
                let content_len = strip_padding(&plain)?
                    .checked_sub(mac.output_len())
                    .ok_or(DecryptError::BadLength)?;
                let (content, tag) = plain
                    .split_at_checked(content_len)
                    .ok_or(DecryptError::BadLength)?;
                let tag = tag.get(..mac.output_len()).ok_or(DecryptError::BadLength)?;
                let aad = aad(content.len()).ok_or(DecryptError::BadLength)?;
                verify_hmac(*mac, mac_key, &[&aad, content], tag)?;
                content.to_vec()
            }
            Protection::Cbc {
                key,
                mac,
                mac_key,
                encrypt_then_mac: true,
            } => {
                // RFC 7366 §3: the MAC covers IV || ciphertext and is checked before decryption.
                let sealed_len = fragment
                    .len()
                    .checked_sub(mac.output_len())
                    .ok_or(DecryptError::BadLength)?;
                let (sealed, tag) = fragment
                    .split_at_checked(sealed_len)
                    .ok_or(DecryptError::BadLength)?;
                let aad = aad(sealed.len()).ok_or(DecryptError::BadLength)?;
                verify_hmac(*mac, mac_key, &[&aad, sealed], tag)?;
                let mut plain = cbc_decrypt(key, sealed)?;
                plain.truncate(strip_padding(&plain)?);
                plain
            }
        };
        Ok(Plaintext { content_type, data })
    }

    fn open_aead(
        &self,
        nonce: &[u8; 12],
        aad: &[u8],
        sealed: &[u8],
    ) -> Result<Vec<u8>, DecryptError> {
        let payload = Payload { msg: sealed, aad };
        let nonce = nonce.into();
        let opened = match &self.protection {
            Protection::Aes128Gcm(aead) => aead.decrypt(nonce, payload),
            Protection::Aes256Gcm(aead) => aead.decrypt(nonce, payload),
            Protection::ChaCha20Poly1305(aead) => aead.decrypt(nonce, payload),
            Protection::Aes128Ccm(aead) => aead.decrypt(nonce, payload),
            Protection::Aes256Ccm(aead) => aead.decrypt(nonce, payload),
            Protection::Aes128Ccm8(aead) => aead.decrypt(nonce, payload),
            Protection::Aes256Ccm8(aead) => aead.decrypt(nonce, payload),
            Protection::Cbc { .. } => return Err(DecryptError::AuthFailed),
        };
        opened.map_err(|_| DecryptError::AuthFailed)
    }
}

fn xor_sequence(iv: [u8; 12], sequence: u64) -> [u8; 12] {
    let mut nonce = iv;
    for (n, s) in nonce[4..].iter_mut().zip(sequence.to_be_bytes()) {
        *n ^= s;
    }
    nonce
}

/// Decrypts `IV || ciphertext` (RFC 5246 §6.2.3.2 explicit IV) with AES-CBC, no unpadding.
fn cbc_decrypt(key: &[u8], fragment: &[u8]) -> Result<Vec<u8>, DecryptError> {
    let (iv, sealed) = fragment
        .split_at_checked(AES_BLOCK)
        .ok_or(DecryptError::BadLength)?;
    if sealed.is_empty() || !sealed.len().is_multiple_of(AES_BLOCK) {
        return Err(DecryptError::BadLength);
    }
    let mut buffer = sealed.to_vec();
    let decrypted = match key.len() {
        16 => cbc::Decryptor::<aes::Aes128>::new_from_slices(key, iv)
            .map_err(|_| DecryptError::BadLength)?
            .decrypt_padded_mut::<NoPadding>(&mut buffer)
            .map(<[u8]>::len),
        _ => cbc::Decryptor::<aes::Aes256>::new_from_slices(key, iv)
            .map_err(|_| DecryptError::BadLength)?
            .decrypt_padded_mut::<NoPadding>(&mut buffer)
            .map(<[u8]>::len),
    };
    let len = decrypted.map_err(|_| DecryptError::BadLength)?;
    buffer.truncate(len);
    Ok(buffer)
}

/// Length of `plain` without its CBC padding: the last byte `n` and the `n` bytes before it must
/// all equal `n` (RFC 5246 §6.2.3.2).
fn strip_padding(plain: &[u8]) -> Result<usize, DecryptError> {
    let (&pad_len, rest) = plain.split_last().ok_or(DecryptError::BadLength)?;
    let unpadded = rest
        .len()
        .checked_sub(usize::from(pad_len))
        .ok_or(DecryptError::BadPadding)?;
    let padding = rest.get(unpadded..).ok_or(DecryptError::BadPadding)?;
    if padding.iter().all(|&b| b == pad_len) {
        Ok(unpadded)
    } else {
        Err(DecryptError::BadPadding)
    }
}

fn verify_hmac(mac: MacHash, key: &[u8], parts: &[&[u8]], tag: &[u8]) -> Result<(), DecryptError> {
    fn verify<M: Mac + KeyInit>(
        key: &[u8],
        parts: &[&[u8]],
        tag: &[u8],
    ) -> Result<(), DecryptError> {
        let mut hmac = <M as KeyInit>::new_from_slice(key).map_err(|_| DecryptError::AuthFailed)?;
        for part in parts {
            hmac.update(part);
        }
        hmac.verify_slice(tag).map_err(|_| DecryptError::AuthFailed)
    }
    match mac {
        MacHash::Sha1 => verify::<Hmac<Sha1>>(key, parts, tag),
        MacHash::Sha256 => verify::<Hmac<Sha256>>(key, parts, tag),
        MacHash::Sha384 => verify::<Hmac<Sha384>>(key, parts, tag),
    }
}

/// TLS 1.2 (RFC 5246 §6.3, §8.1): the key block from the master secret, split into the
/// client->server and server->client decryptors. `encrypt_then_mac` is whether both hellos
/// carried the encrypt_then_mac extension (RFC 7366 §2; it only matters for CBC suites).
/// `None` for a suite we cannot decrypt or a TLS 1.3 suite. For TLS 1.2 connections only:
/// TLS 1.0 and 1.1 derive keys with the MD5/SHA-1 PRF (RFC 4346 §5), and TLS 1.0 CBC uses
/// implicit IVs (RFC 2246 §6.2.3.2).
pub(crate) fn tls12_decryptors(
    suite: u16,
    master_secret: &[u8; 48],
    client_random: &[u8; 32],
    server_random: &[u8; 32],
    encrypt_then_mac: bool,
) -> Option<(RecordDecryptor, RecordDecryptor)> {
    let info = suite_info(suite)?;
    if info.version != SuiteVersion::Tls12 {
        return None;
    }
    let (mac_len, key_len, iv_len) = (
        info.mac_key_len(),
        info.cipher.key_len(),
        info.fixed_iv_len(),
    );
    let mut seed = [0u8; 64];
    seed[..32].copy_from_slice(server_random);
    seed[32..].copy_from_slice(client_random);
    let block = tls12_prf(
        info.prf,
        master_secret,
        b"key expansion",
        &seed,
        2 * (mac_len + key_len + iv_len),
    );
    // client_write_MAC_key, server_write_MAC_key, client_write_key, server_write_key,
    // client_write_IV, server_write_IV (RFC 5246 §6.3).
    let mut rest = block.as_slice();
    let mut take = |n: usize| -> Option<&[u8]> {
        let (head, tail) = rest.split_at_checked(n)?;
        rest = tail;
        Some(head)
    };
    let (client_mac, server_mac) = (take(mac_len)?, take(mac_len)?);
    let (client_key, server_key) = (take(key_len)?, take(key_len)?);
    let (client_iv, server_iv) = (take(iv_len)?, take(iv_len)?);
    Some((
        RecordDecryptor::new(&info, client_key, client_iv, client_mac, encrypt_then_mac)?,
        RecordDecryptor::new(&info, server_key, server_iv, server_mac, encrypt_then_mac)?,
    ))
}

/// TLS 1.3 (RFC 8446 §7.3): the decryptor for records protected with `traffic_secret`
/// (a handshake or application traffic secret). `None` for a suite we cannot decrypt, a TLS 1.2
/// suite, or a secret whose length is not the suite's hash length.
pub(crate) fn tls13_decryptor(suite: u16, traffic_secret: &[u8]) -> Option<RecordDecryptor> {
    let info = suite_info(suite)?;
    if info.version != SuiteVersion::Tls13 || traffic_secret.len() != info.prf.output_len() {
        return None;
    }
    let key = hkdf_expand_label(info.prf, traffic_secret, "key", &[], info.cipher.key_len())?;
    let iv = hkdf_expand_label(info.prf, traffic_secret, "iv", &[], 12)?;
    RecordDecryptor::new(&info, &key, &iv, &[], false)
}

/// TLS 1.3 KeyUpdate (RFC 8446 §7.2): `application_traffic_secret_N+1`.
pub(crate) fn tls13_next_secret(suite: u16, secret: &[u8]) -> Option<Vec<u8>> {
    let info = suite_info(suite)?;
    if info.version != SuiteVersion::Tls13 || secret.len() != info.prf.output_len() {
        return None;
    }
    hkdf_expand_label(info.prf, secret, "traffic upd", &[], info.prf.output_len())
}
