//! Record decryption edge cases with hand-sealed records: TLS 1.3 padding and inner type
//! (RFC 8446 §5.4), CBC padding and MAC checks (RFC 5246 §6.2.3.2), lengths that cannot hold a
//! nonce, tag, IV or MAC, sequence numbers, and refused suite/secret combinations.

use super::*;
use aes_gcm::Aes128Gcm;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use cbc::cipher::{BlockEncryptMut, KeyIvInit, block_padding::NoPadding};
use hmac::{Hmac, Mac};
use sha1::Sha1;

/// AEAD tag length (RFC 5116 §5.1).
const TAG_LEN: usize = 16;

const HEADER_APP: [u8; 5] = [23, 3, 3, 0, 0];

/// Seals a TLS 1.3 AES-128-GCM record under `secret` at sequence 0 (RFC 8446 §5.2).
fn seal_tls13(secret: &[u8], inner: &[u8]) -> ([u8; 5], Vec<u8>) {
    let key = hkdf_expand_label(Hash::Sha256, secret, "key", &[], 16).unwrap();
    let iv: [u8; 12] = hkdf_expand_label(Hash::Sha256, secret, "iv", &[], 12)
        .unwrap()
        .try_into()
        .unwrap();
    let len = u16::try_from(inner.len() + TAG_LEN).unwrap().to_be_bytes();
    let header = [23, 3, 3, len[0], len[1]];
    let sealed = Aes128Gcm::new_from_slice(&key)
        .unwrap()
        .encrypt(
            (&iv).into(),
            Payload {
                msg: inner,
                aad: &header,
            },
        )
        .unwrap();
    (header, sealed)
}

/// The client write MAC key and key of `tls12_decryptors(0x002f, master, [1; 32], [2; 32])`.
fn cbc_sha_client_keys(master: &[u8; 48]) -> (Vec<u8>, Vec<u8>) {
    let mut seed = [2u8; 64];
    seed[32..].fill(1);
    let block = tls12_prf(Hash::Sha256, master, b"key expansion", &seed, 2 * (20 + 16));
    (block[..20].to_vec(), block[40..56].to_vec())
}

/// `IV || AES-128-CBC(plain)` under the client key, as a record with its header.
fn encrypt_cbc(master: &[u8; 48], mut plain: Vec<u8>) -> ([u8; 5], Vec<u8>) {
    let (_, key) = cbc_sha_client_keys(master);
    let iv = [9u8; 16];
    let plain_len = plain.len();
    let sealed = cbc::Encryptor::<aes::Aes128>::new_from_slices(&key, &iv)
        .unwrap()
        .encrypt_padded_mut::<NoPadding>(&mut plain, plain_len)
        .unwrap()
        .to_vec();
    let fragment = [iv.to_vec(), sealed].concat();
    let len = u16::try_from(fragment.len()).unwrap().to_be_bytes();
    ([23, 3, 3, len[0], len[1]], fragment)
}

/// Seals a TLS 1.2 AES-128-CBC-SHA (MAC-then-encrypt) record at sequence 0, with `padding`
/// as the raw pad bytes (RFC 5246 §6.2.3.2).
fn seal_cbc_sha(master: &[u8; 48], content: &[u8], padding: &[u8]) -> ([u8; 5], Vec<u8>) {
    let (mac_key, _) = cbc_sha_client_keys(master);
    let len = u16::try_from(content.len()).unwrap().to_be_bytes();
    let mut hmac = <Hmac<Sha1> as KeyInit>::new_from_slice(&mac_key).unwrap();
    hmac.update(&[0, 0, 0, 0, 0, 0, 0, 0, 23, 3, 3, len[0], len[1]]);
    hmac.update(content);
    let plain = [content, &hmac.finalize().into_bytes(), padding].concat();
    encrypt_cbc(master, plain)
}

fn client_cbc_sha(master: &[u8; 48]) -> RecordDecryptor {
    tls12_decryptors(0x002f, master, &[1; 32], &[2; 32], false)
        .unwrap()
        .0
}

#[test]
fn tls13_strips_zero_padding_and_takes_the_inner_type() {
    let secret = [5u8; 32];
    let (header, sealed) = seal_tls13(&secret, b"\x30\x02\x00\x00\x17\x00\x00\x00");
    let mut decryptor = tls13_decryptor(0x1301, &secret).unwrap();
    let plain = decryptor.decrypt(&header, &sealed).unwrap();
    assert_eq!(
        plain,
        Plaintext {
            content_type: 23,
            data: vec![0x30, 2, 0, 0]
        }
    );

    let (header, sealed) = seal_tls13(&secret, &[21]);
    let plain = tls13_decryptor(0x1301, &secret)
        .unwrap()
        .decrypt(&header, &sealed);
    assert_eq!(
        plain,
        Ok(Plaintext {
            content_type: 21,
            data: vec![]
        })
    );
}

#[test]
fn tls13_all_zero_plaintext_has_no_content_type() {
    let secret = [5u8; 32];
    for inner in [&[0u8][..], &[0; 40]] {
        let (header, sealed) = seal_tls13(&secret, inner);
        let result = tls13_decryptor(0x1301, &secret)
            .unwrap()
            .decrypt(&header, &sealed);
        assert_eq!(result, Err(DecryptError::NoContentType));
    }
}

#[test]
fn cbc_record_with_good_padding_decrypts() {
    let master = [3u8; 48];
    // 4 content + 20 MAC + 8 padding = 32 bytes.
    let (header, fragment) = seal_cbc_sha(&master, b"ping", &[7; 8]);
    let plain = client_cbc_sha(&master).decrypt(&header, &fragment);
    assert_eq!(
        plain,
        Ok(Plaintext {
            content_type: 23,
            data: b"ping".to_vec()
        })
    );
    // Long padding is legal too (up to 255 bytes): 4 + 20 + 248 = 272, seventeen blocks.
    let (header, fragment) = seal_cbc_sha(&master, b"ping", &[247; 248]);
    assert!(client_cbc_sha(&master).decrypt(&header, &fragment).is_ok());
}

#[test]
fn cbc_record_with_bad_padding_is_refused() {
    let master = [3u8; 48];
    let mut bad = [7u8; 8];
    bad[2] = 6;
    let (header, fragment) = seal_cbc_sha(&master, b"ping", &bad);
    let result = client_cbc_sha(&master).decrypt(&header, &fragment);
    assert_eq!(result, Err(DecryptError::BadPadding));
    // A padding length longer than the record.
    let (header, fragment) = seal_cbc_sha(&master, b"", &[200; 12]);
    let result = client_cbc_sha(&master).decrypt(&header, &fragment);
    assert_eq!(result, Err(DecryptError::BadPadding));
}

#[test]
fn cbc_record_shorter_than_its_mac_is_refused() {
    let master = [3u8; 48];
    // One block with a valid zero-length padding: 15 bytes left, no room for a 20-byte MAC.
    let (header, fragment) = encrypt_cbc(&master, vec![0; 16]);
    let result = client_cbc_sha(&master).decrypt(&header, &fragment);
    assert_eq!(result, Err(DecryptError::BadLength));
    // A partial block.
    let result = client_cbc_sha(&master).decrypt(&header, &fragment[..fragment.len() - 1]);
    assert_eq!(result, Err(DecryptError::BadLength));
}

#[test]
fn short_and_random_fragments_never_decrypt_and_never_panic() {
    let master = [0x42u8; 48];
    let mut checked = 0;
    for suite in (0..=u16::MAX).filter_map(suite_info) {
        for etm in [false, true] {
            let mut decryptor = match suite.version {
                SuiteVersion::Tls13 => {
                    tls13_decryptor(suite.id, &master[..suite.prf.output_len()]).unwrap()
                }
                SuiteVersion::Tls12 => {
                    tls12_decryptors(suite.id, &master, &[1; 32], &[2; 32], etm)
                        .unwrap()
                        .0
                }
            };
            for len in (0..100).chain([255, 256, 1000]) {
                let fragment: Vec<u8> = (0..len).map(|i| (i * 31 + len) as u8).collect();
                let result = decryptor.decrypt(&HEADER_APP, &fragment);
                assert!(result.is_err(), "{} len {len}", suite.name);
                checked += 1;
            }
        }
    }
    assert!(checked > 10_000);
}

#[test]
fn sequence_advances_on_every_record_and_can_be_set() {
    let mut decryptor = tls13_decryptor(0x1303, &[1; 32]).unwrap();
    assert_eq!(decryptor.sequence(), 0);
    let _ = decryptor.decrypt(&HEADER_APP, &[]);
    let _ = decryptor.decrypt(&HEADER_APP, &[0; 40]);
    assert_eq!(decryptor.sequence(), 2);
    decryptor.set_sequence(u64::MAX);
    let _ = decryptor.decrypt(&HEADER_APP, &[0; 40]);
    assert_eq!(decryptor.sequence(), 0, "wraps instead of panicking");
}

#[test]
fn constructors_refuse_mismatched_suites_and_secrets() {
    assert!(tls13_decryptor(0xc02f, &[1; 32]).is_none(), "TLS 1.2 suite");
    assert!(
        tls13_decryptor(0x1302, &[1; 32]).is_none(),
        "SHA-384 suite, 32-byte secret"
    );
    assert!(
        tls13_decryptor(0x1301, &[1; 48]).is_none(),
        "SHA-256 suite, 48-byte secret"
    );
    assert!(tls13_decryptor(0x1304, &[1; 32]).is_some(), "AES-128-CCM");
    assert!(tls12_decryptors(0x1301, &[1; 48], &[0; 32], &[0; 32], false).is_none());
    assert!(
        tls12_decryptors(0x0005, &[1; 48], &[0; 32], &[0; 32], false).is_none(),
        "RC4"
    );
    assert!(tls13_next_secret(0x1301, &[1; 31]).is_none());
    assert_eq!(
        tls13_next_secret(0x1302, &[1; 48]).map(|s| s.len()),
        Some(48)
    );
}

#[test]
fn debug_output_shows_no_key_material() {
    let decryptor = tls12_decryptors(0xc013, &[0x5a; 48], &[1; 32], &[2; 32], false)
        .unwrap()
        .0;
    let shown = format!("{decryptor:?}");
    assert!(
        shown.contains("AES-CBC") && shown.contains("sequence: 0"),
        "{shown}"
    );
    assert!(!shown.contains("key"), "{shown}");
}
