//! Which cipher suites we can decrypt, and the parameters record protection needs for each.
//!
//! The suite table comes from tls-parser's IANA-derived registry (kx, cipher, mode, key size,
//! MAC, PRF); this module keeps the suites whose record protection we implement:
//! TLS 1.3 AES-GCM, ChaCha20-Poly1305 and AES-CCM(-8) (RFC 8446 §B.4), and for TLS 1.2 with any
//! key exchange (RSA, DHE, ECDHE, PSK, ...: the key log gives the master secret) AES-GCM
//! (RFC 5288, 5289), AES-CCM(-8) (RFC 6655, 7251), ChaCha20-Poly1305 (RFC 7905) and AES-CBC with
//! HMAC-SHA1/SHA256/SHA384 (RFC 5246 §6.2.3.2). CAMELLIA, ARIA, SM4, 3DES, RC4 and NULL suites
//! give `None`.

use super::kdf::Hash;
use tls_parser::{
    TlsCipherEnc, TlsCipherEncMode, TlsCipherKx, TlsCipherMac, TlsCipherSuite, TlsPRF,
};

/// The protocol generation a suite belongs to: their record formats differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum SuiteVersion {
    /// RFC 5246 record protection (also what TLS 1.2 negotiates with pre-1.2 suites).
    Tls12,
    /// RFC 8446 §5.2 record protection.
    Tls13,
}

/// The bulk cipher of a suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum BulkCipher {
    Aes128Gcm,
    Aes256Gcm,
    ChaCha20Poly1305,
    /// AES-CCM with a 16-byte tag (RFC 6655, RFC 7251, RFC 8446 §B.4).
    Aes128Ccm,
    Aes256Ccm,
    /// AES-CCM with an 8-byte tag (`*_CCM_8` suites).
    Aes128Ccm8,
    Aes256Ccm8,
    Aes128Cbc,
    Aes256Cbc,
}

impl BulkCipher {
    /// Encryption key length in bytes.
    pub(crate) fn key_len(self) -> usize {
        match self {
            BulkCipher::Aes128Gcm
            | BulkCipher::Aes128Ccm
            | BulkCipher::Aes128Ccm8
            | BulkCipher::Aes128Cbc => 16,
            BulkCipher::Aes256Gcm
            | BulkCipher::ChaCha20Poly1305
            | BulkCipher::Aes256Ccm
            | BulkCipher::Aes256Ccm8
            | BulkCipher::Aes256Cbc => 32,
        }
    }

    /// AEAD tag length in bytes (0 for CBC, whose MAC is separate).
    pub(crate) fn tag_len(self) -> usize {
        match self {
            BulkCipher::Aes128Ccm8 | BulkCipher::Aes256Ccm8 => 8,
            BulkCipher::Aes128Cbc | BulkCipher::Aes256Cbc => 0,
            _ => 16,
        }
    }

    /// AEAD ciphers carry their own 16-byte tag; CBC suites need a MAC.
    pub(crate) fn is_aead(self) -> bool {
        !matches!(self, BulkCipher::Aes128Cbc | BulkCipher::Aes256Cbc)
    }
}

/// The HMAC of a CBC suite (RFC 5246 §6.2.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum MacHash {
    Sha1,
    Sha256,
    Sha384,
}

impl MacHash {
    /// MAC length, equal to its key length in TLS 1.2 (RFC 5246 §6.2.3.1, Appendix C).
    pub(crate) fn output_len(self) -> usize {
        match self {
            MacHash::Sha1 => 20,
            MacHash::Sha256 => 32,
            MacHash::Sha384 => 48,
        }
    }
}

/// Everything record protection needs to know about a suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SuiteInfo {
    pub id: u16,
    /// IANA name, e.g. `TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256`.
    pub name: &'static str,
    pub version: SuiteVersion,
    pub cipher: BulkCipher,
    /// `Some` for CBC suites only.
    pub mac: Option<MacHash>,
    /// The PRF hash (TLS 1.2, RFC 5246 §5: SHA-256 unless the suite names SHA-384) or the HKDF
    /// hash (TLS 1.3).
    pub prf: Hash,
}

impl SuiteInfo {
    /// Length of the key block's `*_write_IV` (RFC 5246 §6.3): the 4-byte GCM salt
    /// (RFC 5288 §3), the 12-byte ChaCha20 IV (RFC 7905 §2); CBC in TLS 1.2 takes its IV from the
    /// record instead. TLS 1.3 IVs are always 12 bytes (RFC 8446 §5.3).
    pub(crate) fn fixed_iv_len(&self) -> usize {
        match (self.version, self.cipher) {
            (SuiteVersion::Tls13, _) => 12,
            (
                _,
                BulkCipher::Aes128Gcm
                | BulkCipher::Aes256Gcm
                | BulkCipher::Aes128Ccm
                | BulkCipher::Aes256Ccm
                | BulkCipher::Aes128Ccm8
                | BulkCipher::Aes256Ccm8,
            ) => 4,
            (_, BulkCipher::ChaCha20Poly1305) => 12,
            (_, BulkCipher::Aes128Cbc | BulkCipher::Aes256Cbc) => 0,
        }
    }

    /// MAC key length (0 for AEAD suites).
    pub(crate) fn mac_key_len(&self) -> usize {
        self.mac.map_or(0, MacHash::output_len)
    }
}

/// The suite with IANA code point `cipher_suite`, when we can decrypt it.
pub(crate) fn suite_info(cipher_suite: u16) -> Option<SuiteInfo> {
    let suite = TlsCipherSuite::from_id(cipher_suite)?;
    let version = if suite.kx == TlsCipherKx::Tls13 {
        SuiteVersion::Tls13
    } else {
        SuiteVersion::Tls12
    };
    let cipher = match (suite.enc, suite.enc_mode, suite.enc_size) {
        (TlsCipherEnc::Aes, TlsCipherEncMode::Gcm, 128) => BulkCipher::Aes128Gcm,
        (TlsCipherEnc::Aes, TlsCipherEncMode::Gcm, 256) => BulkCipher::Aes256Gcm,
        // The registry gives ChaCha20-Poly1305 128 bits; its key is 256 bits (RFC 8439 §2.3).
        (TlsCipherEnc::Chacha20_Poly1305, _, _) => BulkCipher::ChaCha20Poly1305,
        // RFC 6655 §3 names the 8-byte-tag variants `*_CCM_8`.
        (TlsCipherEnc::Aes, TlsCipherEncMode::Ccm, 128) if suite.name.contains("CCM_8") => {
            BulkCipher::Aes128Ccm8
        }
        (TlsCipherEnc::Aes, TlsCipherEncMode::Ccm, 256) if suite.name.contains("CCM_8") => {
            BulkCipher::Aes256Ccm8
        }
        (TlsCipherEnc::Aes, TlsCipherEncMode::Ccm, 128) => BulkCipher::Aes128Ccm,
        (TlsCipherEnc::Aes, TlsCipherEncMode::Ccm, 256) => BulkCipher::Aes256Ccm,
        (TlsCipherEnc::Aes, TlsCipherEncMode::Cbc, 128) => BulkCipher::Aes128Cbc,
        (TlsCipherEnc::Aes, TlsCipherEncMode::Cbc, 256) => BulkCipher::Aes256Cbc,
        _ => return None,
    };
    let mac = match (cipher.is_aead(), suite.mac) {
        (true, TlsCipherMac::Aead) => None,
        (false, TlsCipherMac::HmacSha1) => Some(MacHash::Sha1),
        (false, TlsCipherMac::HmacSha256) => Some(MacHash::Sha256),
        (false, TlsCipherMac::HmacSha384) => Some(MacHash::Sha384),
        _ => return None,
    };
    let prf = match suite.prf {
        // RFC 5246 §5: suites defined before TLS 1.2 use P_SHA256 under TLS 1.2.
        TlsPRF::Default | TlsPRF::Sha256 => Hash::Sha256,
        TlsPRF::Sha384 => Hash::Sha384,
        _ => return None,
    };
    if version == SuiteVersion::Tls13 && mac.is_some() {
        return None;
    }
    Some(SuiteInfo {
        id: cipher_suite,
        name: suite.name,
        version,
        cipher,
        mac,
        prf,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls13_suites_are_known_with_their_hkdf_hash() {
        let aes128 = suite_info(0x1301).expect("TLS_AES_128_GCM_SHA256");
        assert_eq!(
            (aes128.version, aes128.cipher, aes128.prf),
            (SuiteVersion::Tls13, BulkCipher::Aes128Gcm, Hash::Sha256)
        );
        let aes256 = suite_info(0x1302).expect("TLS_AES_256_GCM_SHA384");
        assert_eq!(
            (aes256.cipher, aes256.prf),
            (BulkCipher::Aes256Gcm, Hash::Sha384)
        );
        let chacha = suite_info(0x1303).expect("TLS_CHACHA20_POLY1305_SHA256");
        assert_eq!(
            (chacha.cipher, chacha.prf),
            (BulkCipher::ChaCha20Poly1305, Hash::Sha256)
        );
        assert_eq!(chacha.fixed_iv_len(), 12);
        let ccm = suite_info(0x1304).expect("TLS_AES_128_CCM_SHA256");
        assert_eq!(
            (ccm.cipher, ccm.cipher.tag_len()),
            (BulkCipher::Aes128Ccm, 16)
        );
        let ccm8 = suite_info(0x1305).expect("TLS_AES_128_CCM_8_SHA256");
        assert_eq!(
            (ccm8.cipher, ccm8.cipher.tag_len()),
            (BulkCipher::Aes128Ccm8, 8)
        );
    }

    #[test]
    fn tls12_gcm_and_chacha_suites_have_no_mac_and_the_right_iv() {
        let s = suite_info(0xc02f).expect("ECDHE_RSA_AES_128_GCM_SHA256");
        assert_eq!(
            (s.version, s.cipher, s.mac, s.prf),
            (
                SuiteVersion::Tls12,
                BulkCipher::Aes128Gcm,
                None,
                Hash::Sha256
            )
        );
        assert_eq!(s.fixed_iv_len(), 4);
        let s = suite_info(0xc030).expect("ECDHE_RSA_AES_256_GCM_SHA384");
        assert_eq!((s.cipher, s.prf), (BulkCipher::Aes256Gcm, Hash::Sha384));
        let s = suite_info(0xcca8).expect("ECDHE_RSA_CHACHA20_POLY1305");
        assert_eq!(
            (s.cipher, s.fixed_iv_len(), s.prf),
            (BulkCipher::ChaCha20Poly1305, 12, Hash::Sha256)
        );
        assert!(suite_info(0x009c).is_some(), "RSA_AES_128_GCM_SHA256");
        assert!(suite_info(0x00a8).is_some(), "PSK_AES_128_GCM_SHA256");
        let s = suite_info(0xc0ae).expect("ECDHE_ECDSA_AES_128_CCM_8");
        assert_eq!(
            (s.cipher, s.fixed_iv_len(), s.prf),
            (BulkCipher::Aes128Ccm8, 4, Hash::Sha256)
        );
        let s = suite_info(0xc0a5).expect("PSK_AES_256_CCM");
        assert_eq!(s.cipher, BulkCipher::Aes256Ccm);
    }

    #[test]
    fn tls12_cbc_suites_have_their_mac_and_prf() {
        let s = suite_info(0xc013).expect("ECDHE_RSA_AES_128_CBC_SHA");
        assert_eq!(
            (s.cipher, s.mac, s.prf),
            (BulkCipher::Aes128Cbc, Some(MacHash::Sha1), Hash::Sha256)
        );
        assert_eq!((s.fixed_iv_len(), s.mac_key_len()), (0, 20));
        let s = suite_info(0x003d).expect("RSA_AES_256_CBC_SHA256");
        assert_eq!(
            (s.cipher, s.mac, s.prf),
            (BulkCipher::Aes256Cbc, Some(MacHash::Sha256), Hash::Sha256)
        );
        let s = suite_info(0xc028).expect("ECDHE_RSA_AES_256_CBC_SHA384");
        assert_eq!((s.mac, s.prf), (Some(MacHash::Sha384), Hash::Sha384));
        let s = suite_info(0x008c).expect("PSK_AES_128_CBC_SHA");
        assert_eq!(s.mac, Some(MacHash::Sha1));
    }

    #[test]
    fn suites_we_cannot_decrypt_are_none() {
        // NULL, RC4, 3DES, CAMELLIA, ARIA, SM4-CCM, GREASE, unassigned.
        for id in [
            0x0000, 0x0004, 0x000a, 0x0041, 0xc03c, 0x00c7, 0x0a0a, 0xffff,
        ] {
            assert_eq!(suite_info(id), None, "{id:#06x}");
        }
    }

    #[test]
    fn every_known_suite_is_self_consistent() {
        let decryptable = (0..=u16::MAX).filter_map(suite_info).collect::<Vec<_>>();
        assert!(decryptable.len() > 60, "only {} suites", decryptable.len());
        for s in decryptable {
            assert_eq!(s.cipher.is_aead(), s.mac.is_none(), "{}", s.name);
            let sha384_name = s.name.ends_with("SHA384");
            assert_eq!(s.prf == Hash::Sha384, sha384_name, "{}", s.name);
        }
    }
}
