//! The per-connection TLS session: frames records per direction, reassembles handshake messages,
//! tracks who changed keys when, and fills [`TlsSummary`] while emitting [`TlsEvent`]s.
//!
//! Rules that are judgement calls, stated once:
//! - Encryption: a side's records are encrypted after it sent ChangeCipherSpec (TLS <= 1.2), and
//!   after the ServerHello for both sides in TLS 1.3 (RFC 8446 §2). A 2-byte alert record with
//!   level 1 or 2 is always read as plaintext (no AEAD or MAC fits in 2 bytes).
//! - TLS 1.3 without keys: every application_data record of the server before the client's first
//!   encrypted record is its handshake flight; the client's first encrypted record is its
//!   Finished (with a client certificate the flight may span more records: then one of those is
//!   counted as application data). A 19-byte record (2 bytes + content type + 16-byte tag, the
//!   size of an encrypted alert) before the connection is established is an encrypted alert.
//! - Established: TLS <= 1.2 when both sides sent an encrypted handshake record (Finished) after
//!   their ChangeCipherSpec; TLS 1.3 when the client sent its Finished and then both sides sent
//!   application data; with no handshake seen (mid-stream) when application data flowed both ways.
//! - Record-layer errors (garbage, a wrong version, an oversized length) emit `Invalid` and stop
//!   parsing that direction: the connection may not be TLS at all.
//! - After a capture gap the partial record is dropped and parsing resumes at the first data
//!   chunk that starts with a plausible record header.
//!
//! Memory per direction: one partial record (<= 18 KiB + the current chunk) and one partial
//! handshake message (<= [`MAX_HANDSHAKE_MSG_LEN`]). Nothing here panics on any input.

use super::events::TlsEvent;
use super::handshake::HandshakeReassembler;
use super::message::{AlertInfo, TlsSummary};
use super::names::is_tls13_family;
use super::record::{self, Framed, RecordHeader};
use crate::common::{At, PerSide, Side, Timed};

/// Application data events per side before further records are only counted.
pub(crate) const APP_DATA_EVENTS_PER_SIDE: u64 = 3;
/// Events per session; past it only `Established`, `Invalid` and `Truncated` are emitted, so a
/// flood of alerts, hellos or heartbeats cannot flood the timeline.
pub(crate) const MAX_EVENTS_PER_SESSION: u32 = 256;
/// Alerts and Certificate messages kept in the summary (later ones are counted in events only
/// until the event cap).
pub(crate) const MAX_ALERTS_KEPT: usize = 64;
pub(crate) const MAX_CERTIFICATE_MESSAGES_KEPT: usize = 16;
/// Size of a TLS 1.3 encrypted alert: 2 bytes of alert, 1 byte of inner type, 16 bytes of tag.
const TLS13_ENCRYPTED_ALERT_LEN: u16 = 19;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Mode {
    #[default]
    Parsing,
    /// After a gap: waiting for a chunk that starts with a record header.
    Resync,
    Stopped,
}

#[derive(Debug, Default)]
struct Direction {
    mode: Mode,
    /// Bytes of an incomplete record.
    partial: Vec<u8>,
    handshake: HandshakeReassembler,
    records: u64,
    /// The first record of this direction was SSLv2-format.
    sslv2: bool,
    /// Records from here on are protected by keys we do not have.
    keys_changed: bool,
    /// Sent its (encrypted) Finished.
    finished: bool,
    /// Sent a ChangeCipherSpec.
    sent_ccs: bool,
    /// Application data records after the handshake.
    app_records: u64,
}

/// One TLS connection, fed with the ordered bytes of both directions.
#[derive(Debug, Default)]
pub(crate) struct TlsSession {
    dirs: PerSide<Direction>,
    summary: TlsSummary,
    events_emitted: u32,
    decryption: decrypt::Decryption,
}

impl TlsSession {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    pub(crate) fn summary(&self) -> &TlsSummary {
        &self.summary
    }

    /// The summary, when the session is over.
    pub(crate) fn into_summary(self) -> TlsSummary {
        self.summary
    }

    /// Feeds the next in-order bytes sent by `side`.
    pub(crate) fn on_data(
        &mut self,
        side: Side,
        data: &[u8],
        at: At,
        out: &mut Vec<Timed<TlsEvent>>,
    ) {
        match self.dirs[side].mode {
            Mode::Stopped => return,
            Mode::Resync if !record::plausible_header(data) => return,
            Mode::Resync => self.dirs[side].mode = Mode::Parsing,
            Mode::Parsing => {}
        }
        let mut partial = std::mem::take(&mut self.dirs[side].partial);
        if partial.is_empty() {
            let used = self.frame_records(side, data, at, out);
            partial.extend_from_slice(data.get(used..).unwrap_or_default());
        } else {
            partial.extend_from_slice(data);
            let used = self.frame_records(side, &partial, at, out);
            partial.drain(..used.min(partial.len()));
        }
        if self.dirs[side].mode == Mode::Stopped {
            partial = Vec::new();
        }
        self.dirs[side].partial = partial;
    }

    /// `len` bytes sent by `side` are missing from the capture.
    pub(crate) fn on_gap(
        &mut self,
        side: Side,
        _len: u64,
        _at: At,
        _out: &mut Vec<Timed<TlsEvent>>,
    ) {
        let dir = &mut self.dirs[side];
        if dir.mode != Mode::Stopped {
            dir.mode = Mode::Resync;
            dir.partial = Vec::new();
            dir.handshake.clear();
        }
        self.note_gap(side);
    }

    /// `side` closed its direction (FIN or RST).
    pub(crate) fn on_close(&mut self, side: Side, at: At, out: &mut Vec<Timed<TlsEvent>>) {
        let dir = &mut self.dirs[side];
        let buffered = dir.partial.len() + dir.handshake.pending_len();
        let was_parsing = dir.mode == Mode::Parsing;
        dir.partial = Vec::new();
        dir.handshake.clear();
        dir.mode = Mode::Stopped;
        if buffered > 0 && was_parsing {
            let bytes = buffered as u64;
            self.emit(out, at, side, TlsEvent::Truncated { bytes });
        }
    }

    /// Pushes one event, within [`MAX_EVENTS_PER_SESSION`].
    pub(super) fn emit(
        &mut self,
        out: &mut Vec<Timed<TlsEvent>>,
        at: At,
        side: Side,
        event: TlsEvent,
    ) {
        let always = matches!(
            event,
            TlsEvent::Established | TlsEvent::Invalid { .. } | TlsEvent::Truncated { .. }
        );
        if always || self.events_emitted < MAX_EVENTS_PER_SESSION {
            self.events_emitted = self.events_emitted.saturating_add(1);
            out.push(Timed { at, side, event });
        }
    }

    /// Frames and handles every whole record at the front of `input`; returns the bytes used.
    fn frame_records(
        &mut self,
        side: Side,
        input: &[u8],
        at: At,
        out: &mut Vec<Timed<TlsEvent>>,
    ) -> usize {
        let mut used = 0;
        while self.dirs[side].mode == Mode::Parsing {
            let rest = input.get(used..).unwrap_or_default();
            if rest.is_empty() {
                break;
            }
            match record::next_record(rest, self.sslv2_framing(side)) {
                Framed::Complete {
                    header,
                    body,
                    consumed,
                } => {
                    used += consumed;
                    self.dirs[side].records += 1;
                    self.on_record(side, header, body, at, out);
                }
                Framed::Sslv2 { body, consumed } => {
                    used += consumed;
                    let dir = &mut self.dirs[side];
                    dir.sslv2 |= dir.records == 0;
                    dir.records += 1;
                    let first = dir.records == 1;
                    self.on_sslv2_record(side, body, first, at, out);
                }
                Framed::NeedMore => break,
                Framed::Invalid(what) => {
                    self.stop(side, what, at, out);
                    break;
                }
            }
        }
        used
    }

    /// SSLv2 records are possible as the first record of a direction, and for the rest of a
    /// direction that started with one when SSL 2.0 itself was negotiated.
    fn sslv2_framing(&self, side: Side) -> record::Sslv2Framing {
        let dir = &self.dirs[side];
        let ssl2_negotiated = self
            .summary
            .server_hello
            .as_ref()
            .is_some_and(|sh| sh.version == 0x0002);
        if dir.sslv2 && ssl2_negotiated {
            record::Sslv2Framing::Session
        } else if dir.records == 0 || dir.sslv2 {
            record::Sslv2Framing::TwoByteHeader
        } else {
            record::Sslv2Framing::Off
        }
    }

    pub(super) fn stop(
        &mut self,
        side: Side,
        what: String,
        at: At,
        out: &mut Vec<Timed<TlsEvent>>,
    ) {
        let dir = &mut self.dirs[side];
        dir.mode = Mode::Stopped;
        dir.handshake.clear();
        self.emit(out, at, side, TlsEvent::Invalid { what });
    }

    pub(super) fn negotiated_tls13(&self) -> bool {
        self.summary
            .server_hello
            .as_ref()
            .is_some_and(|sh| is_tls13_family(sh.version))
    }

    fn on_record(
        &mut self,
        side: Side,
        header: RecordHeader,
        body: &[u8],
        at: At,
        out: &mut Vec<Timed<TlsEvent>>,
    ) {
        if self.try_decrypt_record(side, header, body, at, out) {
            return;
        }
        match header.content_type {
            // RFC 5246 §7.1; in TLS 1.3 a compatibility no-op (RFC 8446 Appendix D.4).
            record::CONTENT_CHANGE_CIPHER_SPEC => {
                side.of_mut(&mut self.summary.change_cipher_spec)
                    .get_or_insert(at);
                self.dirs[side].sent_ccs = true;
                if self.ccs_switches_keys() {
                    self.dirs[side].keys_changed = true;
                    self.activate_pending_keys(side);
                }
                self.emit(out, at, side, TlsEvent::ChangeCipherSpec);
            }
            record::CONTENT_ALERT => self.on_alert_record(side, header.len, body, at, out),
            record::CONTENT_HANDSHAKE if self.handshake_record_is_protected(side, body) => {
                // RFC 5246 §7.4.9: the first protected handshake message is Finished.
                self.dirs[side].finished = true;
                self.emit(
                    out,
                    at,
                    side,
                    TlsEvent::EncryptedHandshake { len: header.len },
                );
                self.check_established(side, at, out);
            }
            record::CONTENT_HANDSHAKE => {
                let mut messages = Vec::new();
                let pushed = self.dirs[side].handshake.push(body, |msg_type, msg| {
                    messages.push((msg_type, msg.to_vec()))
                });
                for (msg_type, msg) in messages {
                    self.on_handshake_message(side, msg_type, &msg, at, out);
                }
                if let Err(what) = pushed {
                    self.stop(side, what, at, out);
                }
            }
            record::CONTENT_APPLICATION_DATA => self.on_application_data(side, header.len, at, out),
            _ => self.emit(out, at, side, TlsEvent::Heartbeat { len: header.len }),
        }
    }

    /// Whether a ChangeCipherSpec means the sender's next records are encrypted: yes unless
    /// TLS 1.3 is (or may be) in play, where it is a no-op that may even precede a second
    /// ClientHello (RFC 8446 Appendix D.4).
    fn ccs_switches_keys(&self) -> bool {
        match &self.summary.server_hello {
            Some(sh) => !is_tls13_family(sh.version),
            None => {
                self.summary.hello_retry_request.is_none()
                    && !self
                        .summary
                        .client_hello
                        .as_ref()
                        .is_some_and(|ch| ch.versions.iter().any(|&v| is_tls13_family(v)))
            }
        }
    }

    /// Whether a handshake record is protected: after the sender's keys changed, and also after
    /// its ChangeCipherSpec when the version is unknown (the ServerHello was missed) and the
    /// record does not hold exactly one plaintext ClientHello (the second hello after a missed
    /// HelloRetryRequest, RFC 8446 Appendix D.4).
    fn handshake_record_is_protected(&self, side: Side, body: &[u8]) -> bool {
        let dir = &self.dirs[side];
        if dir.keys_changed {
            return true;
        }
        let version_unknown =
            self.summary.server_hello.is_none() && self.summary.hello_retry_request.is_none();
        if !(dir.sent_ccs && version_unknown) {
            return false;
        }
        let one_client_hello = match body {
            [1, l0, l1, l2, rest @ ..] => {
                usize::from(*l0) << 16 | usize::from(*l1) << 8 | usize::from(*l2) == rest.len()
            }
            _ => false,
        };
        !one_client_hello
    }

    fn on_alert_record(
        &mut self,
        side: Side,
        record_len: u16,
        body: &[u8],
        at: At,
        out: &mut Vec<Timed<TlsEvent>>,
    ) {
        let plaintext_pair = matches!(body, [1 | 2, _]);
        // Mid-stream (no hello seen) the keys may have changed before the capture started.
        let maybe_protected = self.dirs[side].keys_changed
            || (self.summary.client_hello.is_none() && self.summary.server_hello.is_none());
        if maybe_protected && !plaintext_pair {
            self.push_encrypted_alert(side, record_len, at, out);
            return;
        }
        // RFC 5246 §7.2: a record may carry several 2-byte alerts, each with level 1 or 2.
        let alert_list = body.len().is_multiple_of(2)
            && body.chunks_exact(2).all(|pair| matches!(pair, [1 | 2, _]));
        if !alert_list {
            let what = format!(
                "plaintext alert record of {} bytes is not a list of alerts",
                body.len()
            );
            self.stop(side, what, at, out);
            return;
        }
        self.push_readable_alerts(side, record_len, body, at, out);
    }

    /// Records each 2-byte alert (level, description) of a readable alert record, plaintext or
    /// decrypted (RFC 5246 §7.2, RFC 8446 §6).
    pub(super) fn push_readable_alerts(
        &mut self,
        side: Side,
        record_len: u16,
        body: &[u8],
        at: At,
        out: &mut Vec<Timed<TlsEvent>>,
    ) {
        for pair in body.chunks_exact(2) {
            if let [level, description] = *pair {
                let alert = AlertInfo {
                    at,
                    side,
                    encrypted: false,
                    level: Some(level),
                    description: Some(description),
                    record_len,
                };
                self.push_alert(alert, out);
            }
        }
    }

    /// Records an alert in the summary (up to [`MAX_ALERTS_KEPT`]) and as an event.
    pub(super) fn push_alert(&mut self, alert: AlertInfo, out: &mut Vec<Timed<TlsEvent>>) {
        let event = TlsEvent::Alert {
            level: alert.level,
            description: alert.description,
            encrypted: alert.encrypted,
            record_len: alert.record_len,
        };
        let (at, side) = (alert.at, alert.side);
        if self.summary.alerts.len() < MAX_ALERTS_KEPT {
            self.summary.alerts.push(alert);
        }
        self.emit(out, at, side, event);
    }

    /// An alert whose content is protected.
    fn push_encrypted_alert(
        &mut self,
        side: Side,
        record_len: u16,
        at: At,
        out: &mut Vec<Timed<TlsEvent>>,
    ) {
        let alert = AlertInfo {
            at,
            side,
            encrypted: true,
            level: None,
            description: None,
            record_len,
        };
        self.push_alert(alert, out);
    }

    fn on_application_data(
        &mut self,
        side: Side,
        len: u16,
        at: At,
        out: &mut Vec<Timed<TlsEvent>>,
    ) {
        let client = self.summary.client_side;
        if self.negotiated_tls13() && self.dirs[side].keys_changed && client.is_some() {
            let is_client = client == Some(side);
            if len == TLS13_ENCRYPTED_ALERT_LEN && !self.summary.established {
                self.push_encrypted_alert(side, len, at, out);
                return;
            }
            let client_side = if is_client { side } else { side.other() };
            if !self.dirs[client_side].finished {
                // Before the client's Finished, the server sends its encrypted flight
                // (EncryptedExtensions .. Finished) and the client's first protected record is
                // its Finished (RFC 8446 §2).
                self.dirs[side].finished = true;
                self.emit(out, at, side, TlsEvent::EncryptedHandshake { len });
                return;
            }
        }
        self.record_application_data(side, len, at, out);
    }

    /// Counts one application_data record (opaque or decrypted) of `len` bytes on the wire.
    pub(super) fn record_application_data(
        &mut self,
        side: Side,
        len: u16,
        at: At,
        out: &mut Vec<Timed<TlsEvent>>,
    ) {
        self.dirs[side].app_records += 1;
        let stats = side.of_mut(&mut self.summary.app_data);
        stats.records += 1;
        stats.bytes += u64::from(len);
        stats.first.get_or_insert(at);
        stats.last = Some(at);
        if stats.records <= APP_DATA_EVENTS_PER_SIDE {
            self.emit(out, at, side, TlsEvent::ApplicationData { len });
        }
        self.check_established(side, at, out);
    }

    fn check_established(&mut self, side: Side, at: At, out: &mut Vec<Timed<TlsEvent>>) {
        if self.summary.established {
            return;
        }
        let PerSide { orig: a, resp: b } = &self.dirs;
        let both_app = a.app_records > 0 && b.app_records > 0;
        let done = if self.negotiated_tls13() {
            let client = self.summary.client_side.map(|s| &self.dirs[s]);
            client.is_some_and(|c| c.finished) && both_app
        } else {
            (a.finished && b.finished) || both_app
        };
        if done {
            self.summary.established = true;
            self.emit(out, at, side, TlsEvent::Established);
        }
    }
}

mod handshake;

mod decrypt;

#[cfg(test)]
mod test_support;

#[cfg(test)]
mod tests;

#[cfg(test)]
mod decrypt_tests;
