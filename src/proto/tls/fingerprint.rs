//! Client fingerprints from a ClientHello: JA3 (Salesforce; as Wireshark's `tls.handshake.ja3`)
//! and JA4 (FoxIO, technical_details/JA4.md). GREASE values (RFC 8701) are dropped everywhere
//! before anything is counted, listed or hashed.

use super::message::ClientHelloInfo;
use super::names::is_grease;
use md5::{Digest as _, Md5};
use sha2::Sha256;
use std::fmt::Write as _;

use crate::common::hex;

/// Lower-case hex MD5 of `data`.
pub(crate) fn md5_hex(data: &[u8]) -> String {
    hex(&Md5::digest(data))
}

/// Lower-case hex SHA-256 of `data`.
pub(crate) fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

fn dash_joined<T: std::fmt::Display>(values: impl Iterator<Item = T>) -> String {
    let mut out = String::new();
    for (i, v) in values.enumerate() {
        if i > 0 {
            out.push('-');
        }
        let _ = write!(out, "{v}");
    }
    out
}

/// JA3 string: `SSLVersion,Ciphers,Extensions,EllipticCurves,EllipticCurvePointFormats`, decimal
/// values joined by '-', GREASE dropped, SSLVersion being the ClientHello legacy_version.
pub(crate) fn ja3_string(hello: &ClientHelloInfo) -> String {
    let keep = |v: &u16| !is_grease(*v);
    format!(
        "{},{},{},{},{}",
        hello.legacy_version,
        dash_joined(hello.cipher_suites.iter().filter(|v| keep(v))),
        dash_joined(hello.extensions.iter().filter(|v| keep(v))),
        dash_joined(hello.groups.iter().filter(|v| keep(v))),
        dash_joined(hello.ec_point_formats.iter()),
    )
}

/// What JA4 looks at, GREASE included or not (it is dropped here).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ja4Input<'a> {
    /// 't' for TLS over TCP, 'q' for QUIC, 'd' for DTLS.
    pub transport: char,
    /// Highest supported_versions value, else legacy_version (JA4.md "TLS and DTLS Version").
    pub version: u16,
    /// The server_name extension is present.
    pub has_sni: bool,
    pub cipher_suites: &'a [u16],
    /// Extension types in wire order.
    pub extensions: &'a [u16],
    /// The first ALPN protocol, raw.
    pub first_alpn: Option<&'a [u8]>,
    /// From extension 0x000d only, in wire order.
    pub signature_algorithms: &'a [u16],
}

/// The version JA4 uses: the highest non-GREASE supported_versions value, else legacy_version.
pub(crate) fn ja4_version(hello: &ClientHelloInfo) -> u16 {
    hello
        .versions
        .iter()
        .copied()
        .filter(|v| !is_grease(*v))
        .max()
        .unwrap_or(hello.legacy_version)
}

fn ja4_version_code(version: u16) -> &'static str {
    match version {
        0x0304 => "13",
        0x0303 => "12",
        0x0302 => "11",
        0x0301 => "10",
        0x0300 => "s3",
        0x0002 => "s2",
        0xfeff => "d1",
        0xfefd => "d2",
        0xfefc => "d3",
        _ => "00",
    }
}

/// JA4.md "ALPN Extension Value": first and last characters when both are ASCII alphanumeric,
/// else the first and last hex digits of the value; "00" when absent or empty.
fn ja4_alpn(first_alpn: Option<&[u8]>) -> String {
    let Some(alpn) = first_alpn.filter(|a| !a.is_empty()) else {
        return "00".to_string();
    };
    match (alpn.first(), alpn.last()) {
        (Some(&first), Some(&last))
            if first.is_ascii_alphanumeric() && last.is_ascii_alphanumeric() =>
        {
            format!("{}{}", char::from(first), char::from(last))
        }
        _ => {
            let hex = hex(alpn);
            let first = hex.chars().next().unwrap_or('0');
            let last = hex.chars().last().unwrap_or('0');
            format!("{first}{last}")
        }
    }
}

fn hex4_joined(values: &[u16]) -> String {
    let mut out = String::with_capacity(values.len() * 5);
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{v:04x}");
    }
    out
}

/// First 12 hex characters of SHA-256, or "000000000000" for an empty list (JA4+ general rule 1).
fn truncated_hash(text: &str, empty: bool) -> String {
    if empty {
        return "000000000000".to_string();
    }
    sha256_hex(text.as_bytes()).chars().take(12).collect()
}

/// The raw sorted JA4 parts b and c (`JA4_r` without the a part): cipher list, and the extension
/// list without SNI and ALPN followed by '_' and the signature algorithms when there are any.
pub(crate) fn ja4_raw_parts(input: &Ja4Input<'_>) -> (String, String) {
    let mut ciphers: Vec<u16> = input
        .cipher_suites
        .iter()
        .copied()
        .filter(|c| !is_grease(*c))
        .collect();
    ciphers.sort_unstable();
    let mut extensions: Vec<u16> = input
        .extensions
        .iter()
        .copied()
        .filter(|e| !is_grease(*e) && *e != 0x0000 && *e != 0x0010)
        .collect();
    extensions.sort_unstable();
    let signature_algorithms: Vec<u16> = input
        .signature_algorithms
        .iter()
        .copied()
        .filter(|s| !is_grease(*s))
        .collect();
    let mut c = hex4_joined(&extensions);
    if !signature_algorithms.is_empty() {
        c.push('_');
        c.push_str(&hex4_joined(&signature_algorithms));
    }
    (hex4_joined(&ciphers), c)
}

/// The JA4 fingerprint, e.g. `t13d1516h2_8daaf6152771_e5627efa2ab1`.
pub(crate) fn ja4(input: &Ja4Input<'_>) -> String {
    let cipher_count = input
        .cipher_suites
        .iter()
        .filter(|c| !is_grease(**c))
        .count();
    let extension_count = input.extensions.iter().filter(|e| !is_grease(**e)).count();
    let (ciphers, extensions) = ja4_raw_parts(input);
    let extensions_empty = input
        .extensions
        .iter()
        .all(|e| is_grease(*e) || *e == 0x0000 || *e == 0x0010);
    format!(
        "{}{}{}{:02}{:02}{}_{}_{}",
        input.transport,
        ja4_version_code(input.version),
        if input.has_sni { 'd' } else { 'i' },
        cipher_count.min(99),
        extension_count.min(99),
        ja4_alpn(input.first_alpn),
        truncated_hash(&ciphers, ciphers.is_empty()),
        truncated_hash(&extensions, extensions_empty),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    // The example of FoxIO's technical_details/JA4.md, with GREASE added to show it is ignored.
    const CIPHERS: [u16; 16] = [
        0x2a2a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013,
        0xc014, 0x009c, 0x009d, 0x002f, 0x0035,
    ];
    const EXTENSIONS: [u16; 17] = [
        0xdada, 0x001b, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017, 0x002d, 0x000d, 0x0005, 0x0023,
        0x0012, 0x002b, 0xff01, 0x000b, 0x000a, 0x0015,
    ];
    const SIGALGS: [u16; 8] = [
        0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601,
    ];

    fn example() -> Ja4Input<'static> {
        Ja4Input {
            transport: 't',
            version: 0x0304,
            has_sni: true,
            cipher_suites: &CIPHERS,
            extensions: &EXTENSIONS,
            first_alpn: Some(b"h2"),
            signature_algorithms: &SIGALGS,
        }
    }

    #[test]
    fn ja4_matches_foxio_example() {
        assert_eq!(ja4(&example()), "t13d1516h2_8daaf6152771_e5627efa2ab1");
    }

    #[test]
    fn ja4_raw_matches_foxio_example() {
        let (b, c) = ja4_raw_parts(&example());
        assert_eq!(
            b,
            "002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9"
        );
        assert_eq!(
            c,
            "0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01_0403,0804,0401,0503,0805,0501,0806,0601"
        );
    }

    #[test]
    fn ja4_without_signature_algorithms_has_no_underscore() {
        let input = Ja4Input {
            signature_algorithms: &[],
            ..example()
        };
        let fingerprint = ja4(&input);
        assert!(fingerprint.ends_with("_6d807ffa2a79"), "{fingerprint}");
    }

    #[test]
    fn ja4_empty_lists_hash_to_zeros() {
        let input = Ja4Input {
            transport: 't',
            version: 0x0303,
            has_sni: false,
            cipher_suites: &[],
            extensions: &[],
            first_alpn: None,
            signature_algorithms: &[],
        };
        assert_eq!(ja4(&input), "t12i000000_000000000000_000000000000");
    }

    #[test]
    fn ja4_alpn_rules_follow_the_spec() {
        assert_eq!(ja4_alpn(Some(b"http/1.1")), "h1");
        assert_eq!(ja4_alpn(Some(b"h")), "hh");
        assert_eq!(ja4_alpn(Some(b"")), "00");
        assert_eq!(ja4_alpn(None), "00");
        assert_eq!(ja4_alpn(Some(&[0xab])), "ab");
        assert_eq!(ja4_alpn(Some(&[0xab, 0xcd])), "ad");
        assert_eq!(ja4_alpn(Some(&[0x30, 0xab])), "3b");
        assert_eq!(ja4_alpn(Some(&[0x30, 0x31, 0xab, 0xcd])), "3d");
        assert_eq!(ja4_alpn(Some(&[0x30, 0xab, 0xcd, 0x31])), "01");
    }

    #[test]
    fn ja3_of_illustrated_tls12_matches_tshark() {
        // tshark 4.0.17 on illustrated-tls12/capture.pcap, stream 0.
        let hello = ClientHelloInfo {
            legacy_version: 0x0303,
            cipher_suites: vec![
                52392, 52393, 49199, 49200, 49195, 49196, 49171, 49161, 49172, 49162, 156, 157, 47,
                53, 49170, 10,
            ],
            extensions: vec![0, 5, 10, 11, 13, 65281, 18],
            groups: vec![29, 23, 24, 25],
            ec_point_formats: vec![0],
            ..ClientHelloInfo::default()
        };
        let text = ja3_string(&hello);
        assert_eq!(
            text,
            "771,52392-52393-49199-49200-49195-49196-49171-49161-49172-49162-156-157-47-53-49170-10,0-5-10-11-13-65281-18,29-23-24-25,0"
        );
        assert_eq!(md5_hex(text.as_bytes()), "36d715579d31b7f031149c4560b5914f");
    }

    #[test]
    fn ja3_drops_grease() {
        let hello = ClientHelloInfo {
            legacy_version: 0x0303,
            cipher_suites: vec![0x0a0a, 47],
            extensions: vec![0x1a1a, 0],
            groups: vec![0x2a2a, 29],
            ec_point_formats: vec![0],
            ..ClientHelloInfo::default()
        };
        assert_eq!(ja3_string(&hello), "771,47,0,29,0");
    }
}
