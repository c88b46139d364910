//! Handshake layer: reassembly of handshake messages across records and TCP segments
//! (RFC 8446 §5.1: a message may span records, a record may hold several messages), and the
//! decoding of ClientHello and ServerHello (RFC 8446 §4.1.2, §4.1.3; RFC 5246 §7.4.1) with
//! tls-parser, including the SSLv2-compatible ClientHello (RFC 5246 Appendix E.2).
//!
//! Guarantees: a message's declared length is checked against [`MAX_HANDSHAKE_MSG_LEN`] before
//! its bytes are buffered, so one direction never holds more than that; no function panics.

use super::fingerprint;
use super::message::{ClientHelloInfo, ServerHelloInfo};
use super::names::is_grease;

/// Largest handshake message we reassemble. Certificate chains with post-quantum keys reach tens
/// of KiB; 256 KiB leaves room while bounding memory per direction.
pub(crate) const MAX_HANDSHAKE_MSG_LEN: usize = 256 * 1024;

/// RFC 8446 §4.1.3: a HelloRetryRequest is a ServerHello whose random is SHA-256 of
/// "HelloRetryRequest".
pub(crate) const HELLO_RETRY_REQUEST_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

pub(crate) const HS_CLIENT_HELLO: u8 = 1;
pub(crate) const HS_SERVER_HELLO: u8 = 2;
pub(crate) const HS_NEW_SESSION_TICKET: u8 = 4;
pub(crate) const HS_ENCRYPTED_EXTENSIONS: u8 = 8;
pub(crate) const HS_CERTIFICATE: u8 = 11;
pub(crate) const HS_SERVER_KEY_EXCHANGE: u8 = 12;
pub(crate) const HS_CERTIFICATE_REQUEST: u8 = 13;
pub(crate) const HS_SERVER_HELLO_DONE: u8 = 14;
pub(crate) const HS_CERTIFICATE_VERIFY: u8 = 15;
pub(crate) const HS_CLIENT_KEY_EXCHANGE: u8 = 16;
pub(crate) const HS_FINISHED: u8 = 20;

/// Buffers handshake-record payloads of one direction and cuts them into whole messages.
#[derive(Debug, Default)]
pub(crate) struct HandshakeReassembler {
    pending: Vec<u8>,
}

impl HandshakeReassembler {
    /// Bytes of an incomplete message held back.
    pub(crate) fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// Forgets a partial message (after a capture gap).
    pub(crate) fn clear(&mut self) {
        self.pending.clear();
    }

    /// Feeds one handshake record's payload and calls `on_message(msg_type, body)` for every
    /// message completed by it. Err when a message declares more than [`MAX_HANDSHAKE_MSG_LEN`];
    /// the reassembler is then empty and the caller should stop parsing this direction.
    pub(crate) fn push(
        &mut self,
        fragment: &[u8],
        mut on_message: impl FnMut(u8, &[u8]),
    ) -> Result<(), String> {
        // Fast path: nothing pending, so whole messages are read straight from the fragment and
        // only an incomplete tail is copied.
        let mut input: &[u8] = fragment;
        let owned;
        if !self.pending.is_empty() {
            self.pending.extend_from_slice(fragment);
            owned = std::mem::take(&mut self.pending);
            input = &owned;
        }
        while let Some(&[msg_type, l0, l1, l2]) = input.first_chunk::<4>() {
            let len = usize::from(l0) << 16 | usize::from(l1) << 8 | usize::from(l2);
            if len > MAX_HANDSHAKE_MSG_LEN {
                self.pending.clear();
                return Err(format!(
                    "handshake message type {msg_type} declares {len} bytes (limit {MAX_HANDSHAKE_MSG_LEN})"
                ));
            }
            let Some(body) = input.get(4..4 + len) else {
                break;
            };
            on_message(msg_type, body);
            input = input.get(4 + len..).unwrap_or_default();
        }
        self.pending.clear();
        self.pending.extend_from_slice(input);
        Ok(())
    }
}

/// Reads a big-endian u16 at `at`.
fn be_u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    bytes
        .get(at..at + 2)
        .and_then(|s| s.first_chunk::<2>())
        .map(|b| u16::from_be_bytes(*b))
}

/// A list of u16 values (cipher suites, groups, ...), odd trailing byte ignored.
fn u16_list(bytes: &[u8]) -> impl Iterator<Item = u16> + '_ {
    let (pairs, _odd) = bytes.as_chunks::<2>();
    pairs.iter().map(|&pair| u16::from_be_bytes(pair))
}

/// Extensions as (type, data) in wire order; stops at the first one that overruns.
fn raw_extensions(mut bytes: &[u8]) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    while let (Some(ext_type), Some(len)) = (be_u16_at(bytes, 0), be_u16_at(bytes, 2)) {
        let end = 4 + usize::from(len);
        let Some(data) = bytes.get(4..end) else {
            break;
        };
        out.push((ext_type, data));
        bytes = bytes.get(end..).unwrap_or_default();
    }
    out
}

/// Decodes one extension with tls-parser from its raw (type, data).
fn typed_extension(ext_type: u16, data: &[u8]) -> Option<tls_parser::TlsExtension<'_>> {
    // The content parsers take the extension data without its 4-byte header.
    use tls_parser::TlsExtension as E;
    match ext_type {
        0 => match tls_parser::parse_tls_extension_sni_content(data) {
            Ok((_, ext)) => Some(ext),
            Err(_) => None,
        },
        10 => tls_parser::parse_tls_extension_elliptic_curves_content(data)
            .ok()
            .map(|(_, e)| e),
        11 => tls_parser::parse_tls_extension_ec_point_formats_content(data)
            .ok()
            .map(|(_, e)| e),
        13 => tls_parser::parse_tls_extension_signature_algorithms_content(data)
            .ok()
            .map(|(_, e)| e),
        16 => tls_parser::parse_tls_extension_alpn_content(data)
            .ok()
            .map(|(_, e)| e),
        _ => Some(E::Unknown(tls_parser::TlsExtensionType(ext_type), data)),
    }
}

/// supported_versions in a ClientHello (RFC 8446 §4.2.1): a u8-length list of u16.
fn client_supported_versions(data: &[u8]) -> Vec<u16> {
    let Some((&len, rest)) = data.split_first() else {
        return Vec::new();
    };
    let list = rest.get(..usize::from(len)).unwrap_or(rest);
    u16_list(list).collect()
}

/// key_share in a ClientHello (RFC 8446 §4.2.8): groups of the offered shares.
fn key_share_groups(data: &[u8]) -> Vec<u16> {
    let mut groups = Vec::new();
    let Some(list_len) = be_u16_at(data, 0) else {
        return groups;
    };
    let mut list = data.get(2..2 + usize::from(list_len)).unwrap_or_default();
    while let (Some(group), Some(len)) = (be_u16_at(list, 0), be_u16_at(list, 2)) {
        groups.push(group);
        list = list.get(4 + usize::from(len)..).unwrap_or_default();
    }
    groups
}

/// Highest version a ClientHello offers: from supported_versions when present, ignoring GREASE
/// and TLS 1.3 draft code points (as Wireshark's "highest version" does), else legacy_version.
pub(crate) fn max_offered_version(info: &ClientHelloInfo) -> u16 {
    let final_versions = info
        .versions
        .iter()
        .copied()
        .filter(|v| !(0x7f00..=0x7fff).contains(v))
        .max();
    final_versions
        .or_else(|| info.versions.iter().copied().max())
        .unwrap_or(info.legacy_version)
}

/// Decodes a ClientHello body (after the 4-byte handshake header).
pub(crate) fn parse_client_hello(body: &[u8]) -> Result<ClientHelloInfo, String> {
    let (_, hello) = tls_parser::parse_tls_handshake_client_hello(body)
        .map_err(|e| format!("ClientHello does not parse: {e:?}"))?;
    let mut info = ClientHelloInfo {
        legacy_version: hello.version.0,
        cipher_suites: hello
            .ciphers
            .iter()
            .map(|c| c.0)
            .filter(|&c| !is_grease(c))
            .collect(),
        ..ClientHelloInfo::default()
    };
    let mut has_sni_extension = false;
    let mut first_alpn: Option<Vec<u8>> = None;
    let mut supported_versions = None;
    for (ext_type, data) in raw_extensions(hello.ext.unwrap_or_default()) {
        if is_grease(ext_type) {
            continue;
        }
        info.extensions.push(ext_type);
        use tls_parser::TlsExtension as E;
        match (ext_type, typed_extension(ext_type, data)) {
            (0, Some(E::SNI(names))) => {
                has_sni_extension = true;
                info.sni = names
                    .iter()
                    .find(|(kind, _)| kind.0 == 0)
                    .map(|(_, name)| String::from_utf8_lossy(name).into_owned());
            }
            (0, _) => has_sni_extension = true,
            (10, Some(E::EllipticCurves(groups))) => {
                info.groups = groups
                    .iter()
                    .map(|g| g.0)
                    .filter(|&g| !is_grease(g))
                    .collect();
            }
            (11, Some(E::EcPointFormats(formats))) => info.ec_point_formats = formats.to_vec(),
            (13, Some(E::SignatureAlgorithms(algs))) => {
                info.signature_algorithms = algs.into_iter().filter(|&a| !is_grease(a)).collect();
            }
            (16, Some(E::ALPN(protocols))) => {
                first_alpn = protocols.first().map(|p| p.to_vec());
                info.alpn = protocols
                    .iter()
                    .map(|p| String::from_utf8_lossy(p).into_owned())
                    .collect();
            }
            (43, _) => {
                let versions: Vec<u16> = client_supported_versions(data)
                    .into_iter()
                    .filter(|&v| !is_grease(v))
                    .collect();
                supported_versions = Some(versions);
            }
            (51, _) => {
                info.key_share_groups = key_share_groups(data)
                    .into_iter()
                    .filter(|&g| !is_grease(g))
                    .collect();
            }
            _ => {}
        }
    }
    info.versions = match supported_versions {
        Some(versions) if !versions.is_empty() => versions,
        _ => vec![info.legacy_version],
    };
    info.ja3_full = fingerprint::ja3_string(&info);
    info.ja3 = fingerprint::md5_hex(info.ja3_full.as_bytes());
    info.ja4 = fingerprint::ja4(&fingerprint::Ja4Input {
        transport: 't',
        version: fingerprint::ja4_version(&info),
        has_sni: has_sni_extension,
        cipher_suites: &info.cipher_suites,
        extensions: &info.extensions,
        first_alpn: first_alpn.as_deref(),
        signature_algorithms: &info.signature_algorithms,
    });
    Ok(info)
}

/// Decodes an SSLv2-format ClientHello (RFC 5246 Appendix E.2), `body` starting at msg_type.
/// Cipher specs whose first byte is 0 are TLS cipher suites; SSLv2-only specs are dropped.
pub(crate) fn parse_sslv2_client_hello(body: &[u8]) -> Result<ClientHelloInfo, String> {
    let fields = (
        body.first(),
        be_u16_at(body, 1),
        be_u16_at(body, 3),
        be_u16_at(body, 5),
        be_u16_at(body, 7),
    );
    let (Some(&1), Some(version), Some(specs_len), Some(session_len), Some(challenge_len)) = fields
    else {
        return Err("SSLv2 record is not a complete CLIENT-HELLO".to_string());
    };
    let specs_end = 9 + usize::from(specs_len);
    let needed = specs_end + usize::from(session_len) + usize::from(challenge_len);
    let specs = body.get(9..specs_end).filter(|_| body.len() >= needed);
    let Some(specs) = specs.filter(|s| s.len() % 3 == 0) else {
        return Err("SSLv2 CLIENT-HELLO lengths do not add up".to_string());
    };
    Ok(ClientHelloInfo {
        legacy_version: version,
        versions: vec![version],
        // Three-byte SSLv2 cipher specs; those with a zero first byte are TLS suites.
        cipher_suites: specs
            .as_chunks::<3>()
            .0
            .iter()
            .filter(|&&[kind, _, _]| kind == 0)
            .map(|&[_, hi, lo]| u16::from_be_bytes([hi, lo]))
            .collect(),
        sslv2_format: true,
        ..ClientHelloInfo::default()
    })
}

/// A decoded ServerHello.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParsedServerHello {
    pub info: ServerHelloInfo,
    /// RFC 8446 §4.1.3: the random marks a HelloRetryRequest.
    pub hello_retry_request: bool,
}

/// Decodes a ServerHello body (after the 4-byte handshake header). TLS 1.3 drafts before -22
/// used a shorter layout (no session id, no compression); those are read by hand.
pub(crate) fn parse_server_hello(body: &[u8]) -> Result<ParsedServerHello, String> {
    let legacy_version = be_u16_at(body, 0).ok_or("ServerHello is empty")?;
    let (random, cipher_suite, ext) = if (0x7f00..=0x7fff).contains(&legacy_version) {
        let random = body.get(2..34).ok_or("draft ServerHello too short")?;
        let cipher = be_u16_at(body, 34).ok_or("draft ServerHello too short")?;
        let ext = be_u16_at(body, 36)
            .and_then(|len| body.get(38..38 + usize::from(len)))
            .unwrap_or_default();
        (random, cipher, ext)
    } else {
        let (_, hello) = tls_parser::parse_tls_handshake_server_hello(body)
            .map_err(|e| format!("ServerHello does not parse: {e:?}"))?;
        (hello.random, hello.cipher.0, hello.ext.unwrap_or_default())
    };
    let mut info = ServerHelloInfo {
        legacy_version,
        version: legacy_version,
        cipher_suite,
        ..ServerHelloInfo::default()
    };
    for (ext_type, data) in raw_extensions(ext) {
        info.extensions.push(ext_type);
        match ext_type {
            // RFC 8446 §4.2.1: the ServerHello form is a single selected_version.
            43 => {
                if let Some(selected) = be_u16_at(data, 0) {
                    info.version = selected;
                }
            }
            16 => {
                if let Some(tls_parser::TlsExtension::ALPN(protocols)) = typed_extension(16, data) {
                    info.alpn = protocols
                        .first()
                        .map(|p| String::from_utf8_lossy(p).into_owned());
                }
            }
            _ => {}
        }
    }
    Ok(ParsedServerHello {
        info,
        hello_retry_request: random == HELLO_RETRY_REQUEST_RANDOM,
    })
}

#[cfg(test)]
mod tests;
