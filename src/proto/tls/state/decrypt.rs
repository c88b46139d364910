//! Decryption inside [`TlsSession`] with key-logged secrets: when a record is protected, which
//! keys open it, and what its plaintext becomes.
//!
//! - Keys: looked up by the first ClientHello's random when the ServerHello arrives (RFC 8446
//!   §4.1.2 keeps the random across a HelloRetryRequest, so the second ServerHello finds the
//!   same secrets). TLS <= 1.2: both directions' keys come from the master secret
//!   (RFC 5246 §6.3) and take effect at that side's ChangeCipherSpec (§7.1), abbreviated
//!   (resumed) handshakes included. TLS 1.3: each side starts with its handshake traffic secret
//!   right after the ServerHello, switches to its `*_TRAFFIC_SECRET_0` after its own Finished
//!   (RFC 8446 §7.1) and to the next generation on each KeyUpdate (§4.6.3, §7.2).
//! - Which records: TLS 1.3 only `application_data` records (§5.2; the compatibility
//!   ChangeCipherSpec is skipped); TLS <= 1.2 every record but ChangeCipherSpec. A 2-byte alert
//!   with level 1 or 2 stays plaintext in both (no AEAD or MAC fits in 2 bytes) and consumes no
//!   sequence number.
//! - Plaintext: handshake messages go through the side's handshake reassembly (so the TLS 1.3
//!   certificates, client certificate included, become summary facts), alerts become readable
//!   alerts (`encrypted: false` with level and description, see `message::AlertInfo`),
//!   application data is queued for [`TlsSession::take_plaintext`].
//! - Failure: a record that does not authenticate emits one `DecryptionFailed` for that side and
//!   decryption of that side stops; its further records are handled as if we had no keys.
//!   Exception: a TLS 1.3 client that offered early data may send rejected 0-RTT records
//!   before its handshake records (RFC 8446 §4.2.10); until one of its records decrypts, those
//!   are skipped as opaque without a failure.
//! - A TLS 1.3 key log with only the `*_TRAFFIC_SECRET_0` lines: each side's first records
//!   are tried under its application keys; the first that opens ends its (opaque) handshake.
//! - Capture gaps: the number of records lost is unknown, so the first record after a gap is
//!   tried at the next [`MAX_RESYNC_RECORDS`] sequence numbers (and in TLS 1.3 also under the
//!   side's first application keys, in case its Finished was lost). When none works,
//!   decryption of that side stops without a failure event: the gap is the explanation.
//!
//! Secrets live only here and in the decryptors, whose `Debug` output is redacted.

use super::TlsSession;
use super::record::{self, RecordHeader};
use crate::common::{At, PerSide, Side, Timed};
use crate::proto::tls::decrypt::{
    DecryptError, KeyLog, Plaintext, RecordDecryptor, SessionSecrets, SuiteVersion, suite_info,
    tls12_decryptors, tls13_decryptor, tls13_next_secret,
};
use crate::proto::tls::events::TlsEvent;
use crate::proto::tls::handshake as hs;
use crate::proto::tls::message::KeysNotApplied;
use std::fmt;
use std::sync::Arc;

/// RFC 8446 §4.6.3.
const HS_KEY_UPDATE: u8 = 24;
/// RFC 8446 §4.2.10: the early_data extension.
const EXT_EARLY_DATA: u16 = 42;
/// Records a capture gap may have swallowed that resynchronisation looks past (each try is one
/// AEAD or MAC check of one record, once per gap).
pub(crate) const MAX_RESYNC_RECORDS: u64 = 256;
/// Records of a side tried under its first application keys when the key log lacks the
/// handshake secrets (a TLS 1.3 handshake flight is a handful of records).
const MAX_HANDSHAKE_RECORDS_TRIED: u8 = 32;
/// RFC 7366 §2: the encrypt_then_mac extension.
const EXT_ENCRYPT_THEN_MAC: u16 = 0x0016;
/// Decrypted application data queued and not yet taken; beyond it, plaintext is dropped (the
/// caller takes it after every `on_data`, so this only bounds a caller that never does).
pub(crate) const MAX_QUEUED_PLAINTEXT: usize = 4 * 1024 * 1024;

/// A traffic secret, redacted in `Debug`.
#[derive(Clone, Default)]
struct Secret(Vec<u8>);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Keys of one direction.
#[derive(Debug, Default)]
struct DirectionKeys {
    /// TLS <= 1.2: the keys that take effect at this side's ChangeCipherSpec.
    pending: Option<RecordDecryptor>,
    /// The keys its records are decrypted with now.
    active: Option<RecordDecryptor>,
    /// TLS 1.3: the application traffic secret to switch to after this side's Finished.
    next_secret: Option<Secret>,
    /// TLS 1.3: the application traffic secret in use (the base of the next KeyUpdate).
    current_secret: Option<Secret>,
    /// A record failed to authenticate (reported once); nothing more is decrypted here.
    failed: bool,
    /// A capture gap came before the next record: try later sequence numbers.
    resync: bool,
    /// A record of this side was decrypted.
    decrypted_any: bool,
    /// TLS 1.3 with application secrets but no handshake secrets logged: records still to try
    /// under the first application keys (the others are the encrypted handshake).
    app_key_trials: u8,
}

impl DirectionKeys {
    /// TLS 1.3 without handshake secrets: whether this record opens under the side's first
    /// application keys at sequence 0; if so they become active (and decrypt it again). Records
    /// before it are its encrypted handshake, left opaque.
    fn find_application_keys(
        &mut self,
        suite: u16,
        tls13: bool,
        header: RecordHeader,
        body: &[u8],
    ) -> bool {
        if !tls13
            || self.app_key_trials == 0
            || header.content_type != record::CONTENT_APPLICATION_DATA
        {
            return false;
        }
        self.app_key_trials -= 1;
        let Some(mut keys) = self
            .next_secret
            .as_ref()
            .and_then(|s| tls13_decryptor(suite, &s.0))
        else {
            return false;
        };
        let [l0, l1] = header.len.to_be_bytes();
        let [v0, v1] = header.version.to_be_bytes();
        if keys
            .decrypt(&[header.content_type, v0, v1, l0, l1], body)
            .is_err()
        {
            return false;
        }
        keys.set_sequence(0);
        self.app_key_trials = 0;
        self.active = Some(keys);
        self.current_secret = self.next_secret.take();
        true
    }

    fn forget_keys(&mut self) {
        self.active = None;
        self.pending = None;
        self.next_secret = None;
        self.current_secret = None;
    }

    /// The first record after a gap: tried at the next [`MAX_RESYNC_RECORDS`] sequence numbers
    /// with the current keys, then (TLS 1.3, when the sender's Finished may have been lost) with
    /// its first application keys. `None` when nothing authenticates.
    fn resynchronise(
        &mut self,
        suite: u16,
        header: &[u8; 5],
        body: &[u8],
    ) -> Option<(u64, Result<Plaintext, DecryptError>)> {
        let start = self.active.as_ref().map_or(0, RecordDecryptor::sequence);
        if let Some(d) = self.active.as_mut()
            && let Some(found) = try_sequences(d, start, header, body)
        {
            return Some(found);
        }
        let mut next = self
            .next_secret
            .as_ref()
            .and_then(|s| tls13_decryptor(suite, &s.0))?;
        let found = try_sequences(&mut next, 0, header, body)?;
        self.active = Some(next);
        self.current_secret = self.next_secret.take();
        Some(found)
    }
}

/// Decrypts `body` at sequence numbers from `start` on; leaves `d` after the one that worked.
fn try_sequences(
    d: &mut RecordDecryptor,
    start: u64,
    header: &[u8; 5],
    body: &[u8],
) -> Option<(u64, Result<Plaintext, DecryptError>)> {
    (0..MAX_RESYNC_RECORDS).find_map(|skipped| {
        let sequence = start.wrapping_add(skipped);
        d.set_sequence(sequence);
        d.decrypt(header, body)
            .ok()
            .map(|plain| (sequence, Ok(plain)))
    })
}

/// The decryption state of a session.
#[derive(Debug, Default)]
pub(super) struct Decryption {
    keylog: Option<Arc<KeyLog>>,
    client_random: Option<[u8; 32]>,
    /// Keys were set up (once per connection, at the first real ServerHello).
    set_up: bool,
    suite: u16,
    dirs: PerSide<DirectionKeys>,
    plaintext: Vec<(Side, At, Vec<u8>)>,
    queued: usize,
}

impl Decryption {
    pub(super) fn new(keylog: Arc<KeyLog>) -> Self {
        Decryption {
            keylog: Some(keylog),
            ..Decryption::default()
        }
    }
}

/// The 32-byte random of a ClientHello or ServerHello body (RFC 8446 §4.1.2: after the 2-byte
/// legacy_version; the TLS 1.3 draft ServerHello layout has it at the same place).
pub(super) fn hello_random(body: &[u8]) -> Option<[u8; 32]> {
    body.get(2..34).and_then(|r| <[u8; 32]>::try_from(r).ok())
}

impl TlsSession {
    /// A session that decrypts with the secrets in `keys` (no secrets for this connection's
    /// client random: it behaves exactly as [`TlsSession::new`]).
    pub(crate) fn with_keylog(keys: Arc<KeyLog>) -> Self {
        TlsSession {
            decryption: Decryption::new(keys),
            ..TlsSession::default()
        }
    }

    /// Replaces the key log (a newer copy with more secrets) while the keys are not yet set up.
    pub(crate) fn offer_keylog(&mut self, keys: Arc<KeyLog>) {
        if !self.decryption.set_up {
            self.decryption.keylog = Some(keys);
        }
    }

    /// Decrypted application data, in stream order per side, each with the frame that completed
    /// its record. Take it after every `on_data`: at most [`MAX_QUEUED_PLAINTEXT`] bytes wait.
    pub(crate) fn take_plaintext(&mut self) -> Vec<(Side, At, Vec<u8>)> {
        self.decryption.queued = 0;
        std::mem::take(&mut self.decryption.plaintext)
    }

    /// Remembers the first ClientHello's random (the key log's lookup key).
    pub(super) fn note_client_random(&mut self, body: &[u8]) {
        if self.decryption.client_random.is_none() {
            self.decryption.client_random = hello_random(body);
        }
    }

    /// At the (real) ServerHello: builds the keys when the key log has this connection.
    pub(super) fn set_up_keys(&mut self, server_hello_body: &[u8]) {
        let d = &mut self.decryption;
        if d.set_up {
            return;
        }
        let (Some(keylog), Some(client_random), Some(server_random)) = (
            d.keylog.as_ref(),
            d.client_random,
            hello_random(server_hello_body),
        ) else {
            return;
        };
        let (Some(server_hello), Some(client_side)) =
            (self.summary.server_hello.as_ref(), self.summary.client_side)
        else {
            return;
        };
        let Some(secrets) = keylog.lookup(&client_random) else {
            return;
        };
        let suite = server_hello.cipher_suite;
        // RFC 5246 §6.3's PRF and explicit IVs are what `tls12_decryptors` implements; TLS 1.0
        // and 1.1 (RFC 2246, 4346) derive keys differently.
        let old_version = server_hello.version < 0x0303;
        let Some(info) = suite_info(suite).filter(|_| !old_version) else {
            self.summary.keys_not_applied = Some(if old_version {
                KeysNotApplied::UnsupportedVersion
            } else {
                KeysNotApplied::UnsupportedSuite
            });
            return;
        };
        if info.version == SuiteVersion::Tls12 && secrets.master_secret.is_none() {
            self.summary.keys_not_applied = Some(KeysNotApplied::MissingMasterSecret);
            return;
        }
        let (client, server) = (client_side, client_side.other());
        d.set_up = true;
        d.suite = suite;
        match info.version {
            SuiteVersion::Tls12 => {
                let etm = server_hello.extensions.contains(&EXT_ENCRYPT_THEN_MAC)
                    && self
                        .summary
                        .client_hello
                        .as_ref()
                        .is_some_and(|ch| ch.extensions.contains(&EXT_ENCRYPT_THEN_MAC));
                let Some(master) = secrets.master_secret.as_ref() else {
                    return;
                };
                if let Some((to_server, to_client)) =
                    tls12_decryptors(suite, master, &client_random, &server_random, etm)
                {
                    d.dirs[client].pending = Some(to_server);
                    d.dirs[server].pending = Some(to_client);
                }
            }
            SuiteVersion::Tls13 => {
                let SessionSecrets {
                    client_handshake,
                    server_handshake,
                    client_traffic_0,
                    server_traffic_0,
                    ..
                } = secrets;
                for (side, handshake, traffic) in [
                    (client, client_handshake, client_traffic_0),
                    (server, server_handshake, server_traffic_0),
                ] {
                    let dir = &mut d.dirs[side];
                    dir.active = handshake.as_deref().and_then(|s| tls13_decryptor(suite, s));
                    dir.next_secret = traffic.clone().map(Secret);
                    if dir.active.is_none() && dir.next_secret.is_some() {
                        dir.app_key_trials = MAX_HANDSHAKE_RECORDS_TRIED;
                    }
                }
            }
        }
    }

    /// `side` sent ChangeCipherSpec in TLS <= 1.2: its pending keys take effect.
    pub(super) fn activate_pending_keys(&mut self, side: Side) {
        let dir = &mut self.decryption.dirs[side];
        if let Some(keys) = dir.pending.take() {
            dir.active = Some(keys);
        }
    }

    /// A capture gap in `side`: how many records were lost is unknown, so the next protected
    /// record is tried at the following sequence numbers (see [`MAX_RESYNC_RECORDS`]).
    pub(super) fn note_gap(&mut self, side: Side) {
        let dir = &mut self.decryption.dirs[side];
        dir.resync = dir.active.is_some();
    }

    /// Decrypts and handles `body` when `side` has keys for it. `false`: not decrypted (no keys,
    /// not a protected record, or it failed authentication); the caller handles it as opaque.
    pub(super) fn try_decrypt_record(
        &mut self,
        side: Side,
        header: RecordHeader,
        body: &[u8],
        at: At,
        out: &mut Vec<Timed<TlsEvent>>,
    ) -> bool {
        let tls13 = self.negotiated_tls13();
        let early_data_offered = self
            .summary
            .client_hello
            .as_ref()
            .is_some_and(|ch| ch.extensions.contains(&EXT_EARLY_DATA));
        let is_client = self.summary.client_side == Some(side);
        let suite = self.decryption.suite;
        let dir = &mut self.decryption.dirs[side];
        if dir.active.is_none() && !dir.find_application_keys(suite, tls13, header, body) {
            return false;
        }
        let protected = match header.content_type {
            record::CONTENT_CHANGE_CIPHER_SPEC => false,
            record::CONTENT_ALERT if matches!(body, [1 | 2, _]) => false,
            record::CONTENT_APPLICATION_DATA => true,
            _ => !tls13,
        };
        if !protected {
            return false;
        }
        let [l0, l1] = header.len.to_be_bytes();
        let [v0, v1] = header.version.to_be_bytes();
        let wire_header = [header.content_type, v0, v1, l0, l1];
        let result = if std::mem::take(&mut dir.resync) {
            dir.resynchronise(suite, &wire_header, body)
        } else {
            dir.active
                .as_mut()
                .map(|d| (d.sequence(), d.decrypt(&wire_header, body)))
        };
        match result {
            Some((_, Ok(plain))) => {
                dir.decrypted_any = true;
                self.summary.decrypted = true;
                self.summary.decryption_suite = Some(suite);
                self.on_decrypted(side, header.len, plain, at, out);
                true
            }
            // RFC 8446 §4.2.10: a client that offered early data may send 0-RTT records the
            // server rejected, under keys not in the key log, before its handshake records.
            Some((sequence, Err(_)))
                if tls13 && is_client && early_data_offered && !dir.decrypted_any =>
            {
                if let Some(d) = dir.active.as_mut() {
                    d.set_sequence(sequence);
                }
                false
            }
            Some((_, Err(e))) => {
                dir.forget_keys();
                if !dir.failed {
                    dir.failed = true;
                    let what = format!("{e} (record of {} bytes)", header.len);
                    self.emit(out, at, side, TlsEvent::DecryptionFailed { what });
                }
                false
            }
            // Resynchronisation after a gap found no key and sequence number: the gap explains
            // it, so no failure event; this side stays opaque.
            None => {
                dir.forget_keys();
                false
            }
        }
    }

    fn on_decrypted(
        &mut self,
        side: Side,
        record_len: u16,
        plain: Plaintext,
        at: At,
        out: &mut Vec<Timed<TlsEvent>>,
    ) {
        match plain.content_type {
            record::CONTENT_HANDSHAKE => self.on_decrypted_handshake(side, &plain.data, at, out),
            record::CONTENT_ALERT => {
                self.on_decrypted_alert(side, record_len, &plain.data, at, out)
            }
            record::CONTENT_APPLICATION_DATA => {
                self.record_application_data(side, record_len, at, out);
                let d = &mut self.decryption;
                if !plain.data.is_empty() && d.queued + plain.data.len() <= MAX_QUEUED_PLAINTEXT {
                    d.queued += plain.data.len();
                    d.plaintext.push((side, at, plain.data));
                }
            }
            record::CONTENT_HEARTBEAT => {
                self.emit(out, at, side, TlsEvent::Heartbeat { len: record_len })
            }
            other => {
                let what = format!("decrypted record has content type {other}");
                self.stop(side, what, at, out);
            }
        }
    }

    fn on_decrypted_handshake(
        &mut self,
        side: Side,
        data: &[u8],
        at: At,
        out: &mut Vec<Timed<TlsEvent>>,
    ) {
        let mut messages = Vec::new();
        let pushed = self.dirs[side].handshake.push(data, |msg_type, msg| {
            messages.push((msg_type, msg.to_vec()))
        });
        for (msg_type, msg) in messages {
            match msg_type {
                HS_KEY_UPDATE if self.negotiated_tls13() => {
                    self.emit(out, at, side, TlsEvent::KeyUpdate);
                    self.next_key_generation(side);
                }
                _ => self.on_handshake_message(side, msg_type, &msg, at, out),
            }
            if msg_type == hs::HS_FINISHED && self.negotiated_tls13() {
                self.switch_to_application_keys(side);
            }
        }
        if let Err(what) = pushed {
            self.stop(side, what, at, out);
        }
    }

    /// TLS 1.3 after `side`'s Finished (RFC 8446 §7.1): its application traffic secret.
    fn switch_to_application_keys(&mut self, side: Side) {
        let suite = self.decryption.suite;
        let dir = &mut self.decryption.dirs[side];
        let Some(secret) = dir.next_secret.take() else {
            // Only the handshake secrets were logged: the rest stays opaque.
            dir.active = None;
            return;
        };
        dir.active = tls13_decryptor(suite, &secret.0);
        dir.current_secret = Some(secret);
    }

    /// TLS 1.3 KeyUpdate from `side` (RFC 8446 §7.2): its next application traffic secret.
    fn next_key_generation(&mut self, side: Side) {
        let suite = self.decryption.suite;
        let dir = &mut self.decryption.dirs[side];
        let next = dir
            .current_secret
            .as_ref()
            .and_then(|s| tls13_next_secret(suite, &s.0));
        dir.active = next.as_deref().and_then(|s| tls13_decryptor(suite, s));
        dir.current_secret = next.map(Secret);
    }

    fn on_decrypted_alert(
        &mut self,
        side: Side,
        record_len: u16,
        data: &[u8],
        at: At,
        out: &mut Vec<Timed<TlsEvent>>,
    ) {
        // RFC 8446 §5.4 / RFC 5246 §7.2: whole 2-byte alerts.
        if data.is_empty() || !data.len().is_multiple_of(2) {
            let what = format!("decrypted alert record of {} bytes", data.len());
            self.stop(side, what, at, out);
            return;
        }
        self.push_readable_alerts(side, record_len, data, at, out);
    }
}
