//! Handling of whole plaintext handshake messages and SSLv2 records for [`TlsSession`]: fills
//! the summary (hellos, certificates, certificate request) and emits one event per message.

use super::{self as state, TlsSession};
use crate::common::{At, Side, Timed};
use crate::proto::tls::certificate::{parse_certificate_tls12, parse_certificate_tls13};
use crate::proto::tls::events::TlsEvent;
use crate::proto::tls::handshake as hs;
use crate::proto::tls::message::{CertificateMsg, ServerHelloInfo};
use crate::proto::tls::names::is_tls13_family;

/// SSLv2 message types (SSL 2.0 draft, Appendix B).
const SSLV2_CLIENT_HELLO: u8 = 1;
const SSLV2_SERVER_HELLO: u8 = 4;

impl TlsSession {
    pub(super) fn on_handshake_message(
        &mut self,
        side: Side,
        msg_type: u8,
        body: &[u8],
        at: At,
        out: &mut Vec<Timed<TlsEvent>>,
    ) {
        let event = match msg_type {
            hs::HS_CLIENT_HELLO => match hs::parse_client_hello(body) {
                Ok(mut info) => {
                    info.at = at;
                    self.note_client_random(body);
                    self.record_client_hello(side, info, at, out);
                    return;
                }
                Err(what) => TlsEvent::Invalid { what },
            },
            hs::HS_SERVER_HELLO => match hs::parse_server_hello(body) {
                Ok(parsed) if parsed.hello_retry_request => {
                    self.summary.hello_retry_request.get_or_insert(at);
                    self.summary.client_side.get_or_insert(side.other());
                    TlsEvent::HelloRetryRequest
                }
                Ok(parsed) => {
                    let mut info = parsed.info;
                    info.at = at;
                    self.record_server_hello(side, info, at, out);
                    self.set_up_keys(body);
                    return;
                }
                Err(what) => TlsEvent::Invalid { what },
            },
            hs::HS_CERTIFICATE => {
                let chain = if self.negotiated_tls13() {
                    parse_certificate_tls13(body)
                } else {
                    parse_certificate_tls12(body)
                };
                match chain {
                    Ok(chain) => {
                        let count = u32::try_from(chain.len()).unwrap_or(u32::MAX);
                        let certificates = &mut self.summary.certificates;
                        if certificates.len() < state::MAX_CERTIFICATE_MESSAGES_KEPT {
                            certificates.push(CertificateMsg { at, side, chain });
                        }
                        TlsEvent::Certificate { count }
                    }
                    Err(what) => TlsEvent::Invalid {
                        what: what.to_string(),
                    },
                }
            }
            hs::HS_CERTIFICATE_REQUEST => {
                self.summary.certificate_request.get_or_insert(at);
                TlsEvent::CertificateRequest
            }
            hs::HS_SERVER_KEY_EXCHANGE => TlsEvent::ServerKeyExchange,
            hs::HS_SERVER_HELLO_DONE => TlsEvent::ServerHelloDone,
            hs::HS_CLIENT_KEY_EXCHANGE => TlsEvent::ClientKeyExchange,
            hs::HS_CERTIFICATE_VERIFY => TlsEvent::CertificateVerify,
            hs::HS_NEW_SESSION_TICKET => TlsEvent::NewSessionTicket,
            hs::HS_ENCRYPTED_EXTENSIONS => TlsEvent::EncryptedExtensions,
            hs::HS_FINISHED => {
                self.dirs[side].finished = true;
                self.emit(out, at, side, TlsEvent::Finished);
                self.check_established(side, at, out);
                return;
            }
            other => TlsEvent::OtherHandshake { msg_type: other },
        };
        self.emit(out, at, side, event);
    }

    fn record_client_hello(
        &mut self,
        side: Side,
        info: crate::proto::tls::message::ClientHelloInfo,
        at: At,
        out: &mut Vec<Timed<TlsEvent>>,
    ) {
        self.summary.client_hello_count = self.summary.client_hello_count.saturating_add(1);
        self.summary.client_side.get_or_insert(side);
        self.emit(
            out,
            at,
            side,
            TlsEvent::ClientHello {
                max_version: hs::max_offered_version(&info),
                sni: info.sni.clone(),
                sslv2_format: info.sslv2_format,
            },
        );
        self.summary.client_hello.get_or_insert(info);
    }

    fn record_server_hello(
        &mut self,
        side: Side,
        info: ServerHelloInfo,
        at: At,
        out: &mut Vec<Timed<TlsEvent>>,
    ) {
        self.summary.client_side.get_or_insert(side.other());
        self.emit(
            out,
            at,
            side,
            TlsEvent::ServerHello {
                version: info.version,
                cipher_suite: info.cipher_suite,
            },
        );
        if is_tls13_family(info.version) {
            // RFC 8446 §2: everything after the ServerHello is protected, both ways.
            for dir in &mut self.dirs {
                dir.keys_changed = true;
            }
        }
        self.summary.server_hello.get_or_insert(info);
    }

    /// An SSLv2-format record (RFC 5246 Appendix E.2). Only the hellos are decoded; the rest
    /// (CLIENT-MASTER-KEY and the encrypted records) count as application data.
    pub(super) fn on_sslv2_record(
        &mut self,
        side: Side,
        body: &[u8],
        first: bool,
        at: At,
        out: &mut Vec<Timed<TlsEvent>>,
    ) {
        let len = u16::try_from(body.len()).unwrap_or(u16::MAX);
        match body.first() {
            Some(&SSLV2_CLIENT_HELLO) if first => match hs::parse_sslv2_client_hello(body) {
                Ok(mut info) => {
                    info.at = at;
                    self.record_client_hello(side, info, at, out);
                }
                Err(what) => self.stop(side, what, at, out),
            },
            Some(&SSLV2_SERVER_HELLO) if first => {
                // SERVER-HELLO: type, session_id_hit, certificate_type, version (2 bytes), ...
                let version = match body.get(3..5) {
                    Some(&[hi, lo]) => u16::from_be_bytes([hi, lo]),
                    _ => 0x0002,
                };
                let info = ServerHelloInfo {
                    at,
                    legacy_version: version,
                    version,
                    ..ServerHelloInfo::default()
                };
                self.record_server_hello(side, info, at, out);
            }
            _ => self.on_application_data(side, len, at, out),
        }
    }
}
