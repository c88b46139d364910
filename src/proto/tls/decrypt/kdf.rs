//! Key derivation for TLS record protection: the TLS 1.2 PRF (RFC 5246 §5) and TLS 1.3's
//! HKDF-Expand-Label (RFC 8446 §7.1), on RustCrypto's `hmac` and `hkdf`.
//!
//! Both are total functions over byte slices: no input makes them panic. HKDF-Expand-Label
//! returns `None` where RFC 5869 or RFC 8446 forbid the request (output longer than
//! 255 hash blocks, a label or context longer than its one-byte length field, a secret
//! shorter than the hash output).

use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::{Sha256, Sha384};

/// The hash behind a suite's PRF (TLS 1.2) or HKDF (TLS 1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Hash {
    Sha256,
    Sha384,
}

impl Hash {
    /// Output length in bytes (`Hash.length` in RFC 8446 §7.1).
    pub(crate) fn output_len(self) -> usize {
        match self {
            Hash::Sha256 => 32,
            Hash::Sha384 => 48,
        }
    }
}

/// The TLS 1.2 PRF (RFC 5246 §5): `P_hash(secret, label + seed)` truncated to `len` bytes.
///
/// `A(0) = label + seed`, `A(i) = HMAC(secret, A(i-1))`, and the output is the concatenation of
/// `HMAC(secret, A(i) + label + seed)` for i = 1, 2, ...
pub(crate) fn tls12_prf(
    hash: Hash,
    secret: &[u8],
    label: &[u8],
    seed: &[u8],
    len: usize,
) -> Vec<u8> {
    match hash {
        Hash::Sha256 => p_hash::<Hmac<Sha256>>(secret, label, seed, len),
        Hash::Sha384 => p_hash::<Hmac<Sha384>>(secret, label, seed, len),
    }
}

fn p_hash<M: Mac + hmac::digest::KeyInit + Clone>(
    secret: &[u8],
    label: &[u8],
    seed: &[u8],
    len: usize,
) -> Vec<u8> {
    // HMAC accepts keys of any length (RFC 2104 §2), so `new_from_slice` cannot fail here.
    let Ok(keyed) = <M as hmac::digest::KeyInit>::new_from_slice(secret) else {
        return Vec::new();
    };
    let mut out = Vec::with_capacity(len);
    let mut a = {
        let mut mac = keyed.clone();
        mac.update(label);
        mac.update(seed);
        mac.finalize().into_bytes().to_vec()
    };
    while out.len() < len {
        let mut mac = keyed.clone();
        mac.update(&a);
        mac.update(label);
        mac.update(seed);
        let block = mac.finalize().into_bytes();
        let take = (len - out.len()).min(block.len());
        out.extend_from_slice(block.get(..take).unwrap_or_default());
        let mut next = keyed.clone();
        next.update(&a);
        a = next.finalize().into_bytes().to_vec();
    }
    out
}

/// HKDF-Expand-Label (RFC 8446 §7.1):
/// `HKDF-Expand(secret, HkdfLabel { length, "tls13 " + label, context }, length)`.
///
/// `None` when `secret` is shorter than the hash output, the label or context does not fit its
/// one-byte length, or `len` exceeds 255 hash blocks (RFC 5869 §2.3) or 65535.
pub(crate) fn hkdf_expand_label(
    hash: Hash,
    secret: &[u8],
    label: &str,
    context: &[u8],
    len: usize,
) -> Option<Vec<u8>> {
    let full_label_len = u8::try_from(b"tls13 ".len() + label.len()).ok()?;
    let context_len = u8::try_from(context.len()).ok()?;
    let out_len = u16::try_from(len).ok()?;
    let mut info = Vec::with_capacity(4 + full_label_len as usize + context.len());
    info.extend_from_slice(&out_len.to_be_bytes());
    info.push(full_label_len);
    info.extend_from_slice(b"tls13 ");
    info.extend_from_slice(label.as_bytes());
    info.push(context_len);
    info.extend_from_slice(context);

    let mut okm = vec![0u8; len];
    let expanded = match hash {
        Hash::Sha256 => Hkdf::<Sha256>::from_prk(secret)
            .ok()?
            .expand(&info, &mut okm)
            .ok(),
        Hash::Sha384 => Hkdf::<Sha384>::from_prk(secret)
            .ok()?
            .expand(&info, &mut okm)
            .ok(),
    };
    expanded.map(|()| okm)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::tls::decrypt::test_util::hex;

    // The P_SHA256 and P_SHA384 vectors posted to the IETF TLS list (msg03416), used by
    // BearSSL, mbed TLS and others: secret, "test label", seed -> 100 / 148 bytes.
    #[test]
    fn prf_sha256_matches_the_ietf_tls_list_vector() {
        let out = tls12_prf(
            Hash::Sha256,
            &hex("9bbe436ba940f017b17652849a71db35"),
            b"test label",
            &hex("a0ba9f936cda311827a6f796ffd5198c"),
            100,
        );
        assert_eq!(
            out,
            hex(
                "e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a\
                 6b301791e90d35c9c9a46b4e14baf9af0fa022f7077def17abfd3797c0564bab\
                 4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff701\
                 87347b66"
            )
        );
    }

    #[test]
    fn prf_sha384_matches_the_ietf_tls_list_vector() {
        let out = tls12_prf(
            Hash::Sha384,
            &hex("b80b733d6ceefcdc71566ea48e5567df"),
            b"test label",
            &hex("cd665cf6a8447dd6ff8b27555edb7465"),
            148,
        );
        assert_eq!(
            out,
            hex(
                "7b0c18e9ced410ed1804f2cfa34a336a1c14dffb4900bb5fd7942107e81c83cd\
                 e9ca0faa60be9fe34f82b1233c9146a0e534cb400fed2700884f9dc236f80edd\
                 8bfa961144c9e8d792eca722a7b32fc3d416d473ebc2c5fd4abfdad05d918425\
                 9b5bf8cd4d90fa0d31e2dec479e4f1a26066f2eea9a69236a3e52655c9e9aee6\
                 91c8f3a26854308d5eaa3be85e0990703d73e56f"
            )
        );
    }

    #[test]
    fn prf_of_zero_length_is_empty_and_prefixes_agree() {
        assert!(tls12_prf(Hash::Sha256, b"k", b"l", b"s", 0).is_empty());
        let long = tls12_prf(Hash::Sha384, b"k", b"l", b"s", 97);
        let short = tls12_prf(Hash::Sha384, b"k", b"l", b"s", 13);
        assert_eq!(long.get(..13), Some(&short[..]));
    }

    // RFC 8448 §3 (Simple 1-RTT Handshake): traffic secrets and the keys and IVs derived from them.
    #[test]
    fn expand_label_gives_rfc8448_handshake_keys() {
        let server_hs = hex("b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38");
        let key = hkdf_expand_label(Hash::Sha256, &server_hs, "key", &[], 16);
        let iv = hkdf_expand_label(Hash::Sha256, &server_hs, "iv", &[], 12);
        assert_eq!(key, Some(hex("3fce516009c21727d0f2e4e86ee403bc")));
        assert_eq!(iv, Some(hex("5d313eb2671276ee13000b30")));

        let client_hs = hex("b3eddb126e067f35a780b3abf45e2d8f3b1a950738f52e9600746a0e27a55a21");
        let key = hkdf_expand_label(Hash::Sha256, &client_hs, "key", &[], 16);
        let iv = hkdf_expand_label(Hash::Sha256, &client_hs, "iv", &[], 12);
        assert_eq!(key, Some(hex("dbfaa693d1762c5b666af5d950258d01")));
        assert_eq!(iv, Some(hex("5bd3c71b836e0b76bb73265f")));
    }

    #[test]
    fn expand_label_gives_rfc8448_application_keys() {
        let server_ap = hex("a11af9f05531f856ad47116b45a950328204b4f44bfb6b3a4b4f1f3fcb631643");
        let key = hkdf_expand_label(Hash::Sha256, &server_ap, "key", &[], 16);
        let iv = hkdf_expand_label(Hash::Sha256, &server_ap, "iv", &[], 12);
        assert_eq!(key, Some(hex("9f02283b6c9c07efc26bb9f2ac92e356")));
        assert_eq!(iv, Some(hex("cf782b88dd83549aadf1e984")));
    }

    #[test]
    fn expand_label_derives_rfc8448_handshake_secret_from_transcript() {
        // RFC 8448 §3: handshake secret + "s hs traffic" + hash(ClientHello..ServerHello).
        let handshake_secret =
            hex("1dc826e93606aa6fdc0aadc12f741b01046aa6b99f691ed221a9f0ca043fbeac");
        let transcript = hex("860c06edc07858ee8e78f0e7428c58edd6b43f2ca3e6e95f02ed063cf0e1cad8");
        let secret = hkdf_expand_label(
            Hash::Sha256,
            &handshake_secret,
            "s hs traffic",
            &transcript,
            32,
        );
        assert_eq!(
            secret,
            Some(hex(
                "b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38"
            ))
        );
    }

    #[test]
    fn expand_label_refuses_what_rfc8446_cannot_encode() {
        let secret = [7u8; 32];
        assert_eq!(
            hkdf_expand_label(Hash::Sha256, &secret[..31], "key", &[], 16),
            None
        );
        assert_eq!(
            hkdf_expand_label(Hash::Sha256, &secret, &"x".repeat(250), &[], 16),
            None
        );
        assert_eq!(
            hkdf_expand_label(Hash::Sha256, &secret, "key", &[0; 256], 16),
            None
        );
        assert_eq!(
            hkdf_expand_label(Hash::Sha256, &secret, "key", &[], 255 * 32 + 1),
            None
        );
        assert!(hkdf_expand_label(Hash::Sha384, &[7u8; 48], "key", &[], 0).is_some());
    }
}
