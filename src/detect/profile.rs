//! Checks against the selected platform profile (`--profile`): QoS, keep-alive range, client id
//! format and length, packet and payload size, and the JWT password. A limit the profile does
//! not set is not checked; `jwt_invalid` checks expiry, `iat` and encoding on every profile
//! because they are wrong everywhere.

use super::book::Limits;
use super::facts::{duration_text, is_packet, mqtt_packets, text_of, unix_secs};
use super::jwt;
use super::{ConnCtx, Hit};
use crate::proto::mqtt::parser::PacketType;
use crate::timefmt::rfc3339_seconds;

fn platform(ctx: &ConnCtx) -> String {
    ctx.profile.title.clone()
}

/// QoS above the platform's maximum (e.g. QoS 2 on AWS IoT Core), in PUBLISH or the will.
pub(crate) fn qos_unsupported(ctx: &ConnCtx) -> Vec<Hit> {
    let Some(max) = ctx.profile.limits.max_qos else {
        return vec![];
    };
    let client = ctx.conn.client;
    let mut hits = Vec::new();
    if let Some(c) = ctx.conn.mqtt.as_ref().and_then(|m| m.connect.as_ref())
        && let Some(w) = c.will.as_ref().filter(|w| w.qos > max)
    {
        hits.push(
            Hit::new()
                .var("what", "the will message")
                .var("qos", w.qos)
                .var("max", max)
                .var("platform", platform(ctx))
                .at(c.at, format!("CONNECT with will QoS {}", w.qos)),
        );
    }
    if let Some((at, _, p)) = mqtt_packets(ctx.conn).find(|(_, side, p)| {
        *side == client
            && is_packet(p.packet_type, PacketType::Publish)
            && p.qos.is_some_and(|q| q > max)
    }) {
        let qos = p.qos.unwrap_or(0);
        hits.push(
            Hit::new()
                .var("what", "a PUBLISH")
                .var("qos", qos)
                .var("max", max)
                .var("platform", platform(ctx))
                .at(at, format!("PUBLISH QoS {qos}")),
        );
    }
    hits
}

/// MQTT 3.1.1 §3.1.2.10 / 5.0 §3.1.2.10: a server may close a client silent for one and a half
/// times its keep-alive.
pub(crate) const MQTT_KEEPALIVE_FACTOR: f64 = 1.5;

/// How long a platform lets a client stay silent before it closes the connection.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct KeepAliveWindow {
    /// The keep-alive the platform uses: the client's, or the nearest bound of the platform's
    /// range when the platform clamps (`keep_alive_clamped`).
    pub used_s: u32,
    /// `factor` x `used_s`: from here the server may close (§3.1.2.10).
    pub earliest_s: f64,
    /// The latest the platform closes when it documents a check timer (`keep_alive_grace_s`).
    pub latest_s: Option<f64>,
}

/// The keep-alive the platform uses for a client that asked for `keep_alive` seconds, and when
/// it closes a silent client (`factor` is 1.5 by §3.1.2.10; `keepalive_lapse` passes its own
/// threshold). `None` for a keep-alive of 0, which turns the mechanism off (§3.1.2.10).
/// AWS IoT Core uses 30 s for a smaller keep-alive and 1200 s for a larger one (AWS IoT Core
/// quotas, message broker); Alibaba Cloud checks every 30 s, so it closes between 1.5x the
/// keep-alive and 30 s later (IoT Platform, "Connect and disconnect devices", MQTT keep-alive).
pub(crate) fn keepalive_window(
    limits: &Limits,
    keep_alive: u16,
    factor: f64,
) -> Option<KeepAliveWindow> {
    let asked = u32::from(keep_alive);
    if asked == 0 {
        return None;
    }
    let mut used = asked;
    if limits.keep_alive_clamped == Some(true) {
        if let Some(min) = limits.keep_alive_min_s {
            used = used.max(min);
        }
        if let Some(max) = limits.keep_alive_max_s {
            used = used.min(max);
        }
    }
    let earliest = factor * f64::from(used);
    Some(KeepAliveWindow {
        used_s: used,
        earliest_s: earliest,
        latest_s: limits.keep_alive_grace_s.map(|g| earliest + f64::from(g)),
    })
}

impl KeepAliveWindow {
    /// "45.0 s", or "90.0 s to 120.0 s" for a platform that checks on a timer.
    pub(crate) fn text(&self) -> String {
        match self.latest_s {
            Some(latest) if latest > self.earliest_s => format!(
                "{} to {}",
                duration_text(self.earliest_s),
                duration_text(latest)
            ),
            _ => duration_text(self.earliest_s),
        }
    }
}

/// A keep-alive outside the platform's range: refused (the base text), or, on a platform that
/// clamps it (AWS IoT Core), replaced by the nearest bound: `raised` (info: the platform waits
/// longer than the client needs) or `lowered` (warning: the platform gives up on an idle client
/// before the client's own PINGREQ is due). Variant `idle_timeout` when the keep-alive (or none)
/// exceeds an idle timeout the platform applies whatever the keep-alive (ClearBlade).
pub(crate) fn keepalive_out_of_range(ctx: &ConnCtx) -> Vec<Hit> {
    let limits = &ctx.profile.limits;
    let Some(c) = ctx.conn.mqtt.as_ref().and_then(|m| m.connect.as_ref()) else {
        return vec![];
    };
    let ka = u32::from(c.keep_alive);
    let (min, max) = (limits.keep_alive_min_s, limits.keep_alive_max_s);
    let outside = if ka == 0 {
        limits.keep_alive_zero_allowed == Some(false)
    } else {
        min.is_some_and(|m| ka < m) || max.is_some_and(|m| ka > m)
    };
    let window = keepalive_window(limits, c.keep_alive, MQTT_KEEPALIVE_FACTOR);
    let used = window.map_or(ka, |w| w.used_s);
    let idle = limits.idle_timeout_s.filter(|t| used == 0 || used > *t);
    if !outside && idle.is_none() {
        return vec![];
    }
    let range = match (min, max) {
        (Some(a), Some(b)) => format!("{a}-{b} s"),
        (Some(a), None) => format!("at least {a} s"),
        (None, Some(b)) => format!("at most {b} s"),
        (None, None) => "a non-zero value".into(),
    };
    let mut hit = Hit::new()
        .var("keep_alive", ka)
        .var("range", range)
        .var("platform", platform(ctx))
        .at(c.at, format!("CONNECT with keep-alive {ka} s"));
    match (outside, window) {
        (true, Some(w)) if w.used_s != ka => {
            hit = hit
                .variant(if w.used_s > ka { "raised" } else { "lowered" })
                .var("used", w.used_s)
                .var("limit", w.text());
        }
        (true, _) => {}
        (false, _) => {
            if let Some(t) = idle {
                hit = hit.variant("idle_timeout").var("idle", t);
            }
        }
    }
    vec![hit]
}

/// Matches `{name}` placeholders (one or more characters other than `/`) and literal text.
pub(crate) fn matches_format(format: &str, id: &str) -> bool {
    match format.find('{') {
        None => format == id,
        Some(open) => {
            let (literal, rest) = format.split_at(open);
            let Some(id_rest) = id.strip_prefix(literal) else {
                return false;
            };
            let after = rest.find('}').map(|c| &rest[c + 1..]).unwrap_or("");
            // Try every non-empty segment length (ids are short; formats have few fields).
            let limit = id_rest.find('/').unwrap_or(id_rest.len());
            (1..=limit).any(|n| id_rest.is_char_boundary(n) && matches_format(after, &id_rest[n..]))
        }
    }
}

pub(crate) fn client_id_invalid(ctx: &ConnCtx) -> Vec<Hit> {
    let limits = &ctx.profile.limits;
    let Some(c) = ctx.conn.mqtt.as_ref().and_then(|m| m.connect.as_ref()) else {
        return vec![];
    };
    // A client id the decoder could not locate is not judged.
    let Some(raw_id) = c.client_id.as_deref() else {
        return vec![];
    };
    let id = text_of(raw_id);
    let mut problems = Vec::new();
    if raw_id.is_empty() && limits.client_id_required == Some(true) {
        problems.push("it is empty".to_string());
    }
    if let Some(max) = limits.client_id_max_bytes.filter(|m| raw_id.len() > *m) {
        problems.push(format!("it is {} bytes long (limit {max})", raw_id.len()));
    }
    if let Some(format) = &limits.client_id_format
        && !raw_id.is_empty()
        && !matches_format(format, &id)
    {
        let shown = format.replace('{', "<").replace('}', ">");
        problems.push(format!("it does not have the form {shown}"));
    }
    if problems.is_empty() {
        return vec![];
    }
    vec![
        Hit::new()
            .var("client_id", &id)
            .var("problems", problems.join("; "))
            .var("platform", platform(ctx))
            .at(c.at, "CONNECT"),
    ]
}

pub(crate) fn packet_too_large(ctx: &ConnCtx) -> Vec<Hit> {
    let limits = &ctx.profile.limits;
    let client = ctx.conn.client;
    for (at, side, p) in mqtt_packets(ctx.conn) {
        if side != client {
            continue;
        }
        if let (Some(max), Some(len)) = (limits.max_publish_payload_bytes, p.payload_len)
            && len > max
        {
            return vec![
                Hit::new()
                    .var("what", "PUBLISH payload")
                    .var("size", len)
                    .var("max", max)
                    .var("platform", platform(ctx))
                    .at(at, format!("PUBLISH with {len}-byte payload")),
            ];
        }
        if let (Some(max), Some(len)) = (limits.max_packet_bytes, p.remaining_len)
            && u64::from(len) > max
        {
            return vec![
                Hit::new()
                    .var("what", format!("{} packet", p.packet_type))
                    .var("size", len)
                    .var("max", max)
                    .var("platform", platform(ctx))
                    .at(at, format!("{} of {len} bytes", p.packet_type)),
            ];
        }
    }
    vec![]
}

/// The password is a JWT with a problem. Its value is never put in a finding.
pub(crate) fn jwt_invalid(ctx: &ConnCtx) -> Vec<Hit> {
    let limits = &ctx.profile.limits;
    let Some(c) = ctx.conn.mqtt.as_ref().and_then(|m| m.connect.as_ref()) else {
        return vec![];
    };
    let Some(password) = &c.password else {
        return vec![];
    };
    let now = unix_secs(c.at);
    let Some(facts) = jwt::inspect(password) else {
        if limits.jwt_password == Some(true) {
            return vec![
                Hit::new()
                    .variant("not_jwt")
                    .var("problems", "the password is not a JWT")
                    .var("alg", "none")
                    .var("platform", platform(ctx))
                    .at(c.at, "CONNECT password (not shown)"),
            ];
        }
        return vec![];
    };
    let mut problems = Vec::new();
    if let Some(exp) = facts.exp.filter(|e| *e < now) {
        problems.push(format!(
            "it expired at {} (exp), {} s before the CONNECT",
            rfc3339_seconds(exp),
            now.saturating_sub(exp)
        ));
    }
    let leeway = limits.jwt_iat_leeway_s.unwrap_or(60);
    if let Some(iat) = facts.iat.filter(|i| *i > now.saturating_add(leeway)) {
        problems.push(format!(
            "it was issued {} s in the future (iat {}): the device clock is ahead",
            iat.saturating_sub(now),
            rfc3339_seconds(iat)
        ));
    }
    if let (Some(max), Some(exp), Some(iat)) = (limits.jwt_max_lifetime_s, facts.exp, facts.iat)
        && exp.saturating_sub(iat) > max
    {
        problems.push(format!(
            "its lifetime exp - iat is {} s, over the platform's {max} s",
            exp.saturating_sub(iat)
        ));
    }
    if facts.standard_base64 {
        problems.push(
            "it is encoded in standard base64 (+, /, =) instead of base64url (RFC 7515 §2)".into(),
        );
    }
    if limits.jwt_aud_required == Some(true) && !facts.aud_present {
        problems.push("it has no aud claim".into());
    }
    if limits.jwt_password == Some(true) && (facts.exp.is_none() || facts.iat.is_none()) {
        problems.push("it lacks an exp or iat claim".into());
    }
    if problems.is_empty() {
        return vec![];
    }
    vec![
        Hit::new()
            .var("problems", problems.join("; "))
            .var("alg", facts.alg.unwrap_or_else(|| "?".into()))
            .var("platform", platform(ctx))
            .at(c.at, "CONNECT with a JWT password (not shown)"),
    ]
}

#[cfg(test)]
mod tests;
