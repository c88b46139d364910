//! MQTT rules over plain (or decrypted) sessions: refused logins, refused subscriptions and
//! publications, server DISCONNECTs, silent closes by the server, keep-alive lapses (also
//! inferred from TLS record timing without keys), clients that never sent CONNECT, and packets
//! that break the specification.

use super::facts::{
    self, duration_text, first_close, mqtt_events, mqtt_packets, secs_between, text_of,
    transport_up,
};
use super::{ConnCtx, Hit};
use crate::common::{At, Side};
use crate::conn::AppProtocol;
use crate::proto::mqtt::MqttEvent;
use crate::proto::mqtt::Version;
use crate::proto::mqtt::parser::PacketType;
use crate::proto::mqtt::reason::{
    code_label, connack_code_name, connack_refused as refused, reason_name_for, suback_code_name,
};

fn version_of(ctx: &ConnCtx) -> Version {
    ctx.conn
        .mqtt
        .as_ref()
        .and_then(|m| m.protocol_version)
        .and_then(Version::from_level)
        .unwrap_or(Version::V3_1_1)
}

fn version_text(v: Version) -> &'static str {
    match v.level() {
        3 => "3.1",
        4 => "3.1.1",
        5 => "5.0",
        _ => "?",
    }
}

/// CONNACK with a refusal: 3.1.1 §3.2.2.3 codes 1-5, 5.0 §3.2.2.2 codes >= 0x80. A 5.0 client
/// answered with a 3.1.1-style code 1-5 (a broker without MQTT 5) is refused too.
pub(crate) fn connack_refused(ctx: &ConnCtx) -> Vec<Hit> {
    let Some(m) = &ctx.conn.mqtt else {
        return connack_refused_inferred(ctx);
    };
    let Some(ack) = &m.connack else { return vec![] };
    let version = version_of(ctx);
    let legacy_in_v5 = version.is_v5() && (1..=5).contains(&ack.code);
    if !refused(version, ack.code) && !legacy_in_v5 {
        return vec![];
    }
    let name = if legacy_in_v5 {
        code_label(connack_code_name(Version::V3_1_1, ack.code), ack.code)
    } else {
        code_label(connack_code_name(version, ack.code), ack.code)
    };
    let variant = if legacy_in_v5 {
        "v5_answered_as_v3".to_string()
    } else if version.is_v5() {
        format!("v5_0x{:02x}", ack.code)
    } else {
        format!("v3_{}", ack.code)
    };
    let connect = m.connect.as_ref();
    let mut hit = Hit::new()
        .variant(variant)
        .var("code", ack.code)
        .var("code_hex", format!("0x{:02x}", ack.code))
        .var("name", &name)
        .var("version", version_text(version))
        .var("frame", ack.at.frame)
        .var(
            "client_id",
            connect
                .and_then(|c| c.client_id.as_deref())
                .map(text_of)
                .unwrap_or_default(),
        )
        .var(
            "credentials",
            match connect {
                Some(c) => match (
                    c.username.is_some(),
                    c.password_len.is_some() || c.password.is_some(),
                ) {
                    (true, true) => "a user name and a password",
                    (true, false) => "a user name and no password",
                    (false, true) => "a password and no user name",
                    (false, false) => "no user name and no password",
                },
                None => "unknown credentials (CONNECT not captured)",
            },
        )
        .at(ack.at, format!("CONNACK {name} ({:#04x})", ack.code));
    if let Some(c) = connect {
        hit = hit.at(c.at, "CONNECT");
    }
    vec![hit]
}

/// Inside TLS without keys: the client sent one application record (where CONNECT goes), the
/// server answered and then closed at once, and the client never sent another. A broker that
/// accepts the CONNECT keeps the session open for the client's next packet; one that refuses
/// it must close the connection after the CONNACK (MQTT 3.1.1 §3.2.2.3, 5.0 §3.2.2.2).
fn connack_refused_inferred(ctx: &ConnCtx) -> Vec<Hit> {
    let conn = ctx.conn;
    let Some(tls) = &conn.tls else { return vec![] };
    if tls.decrypted || !super::tls::handshake_done(conn) || conn.tcp.missing_bytes > 0 {
        return vec![];
    }
    // Without keys only the port or ALPN says the session carries MQTT (443 may be HTTPS).
    let alpn_mqtt = tls
        .server_hello
        .as_ref()
        .is_some_and(|sh| sh.alpn.as_deref() == Some("mqtt"));
    if !alpn_mqtt && ctx.broker_port().is_none() {
        return vec![];
    }
    let (client, server) = (facts::client(conn), facts::server(conn));
    let mine = client.of(&tls.app_data);
    let theirs = server.of(&tls.app_data);
    let (Some(request), Some(answer)) = (mine.first, theirs.last) else {
        return vec![];
    };
    if mine.records != 1 || answer.frame <= request.frame {
        return vec![];
    }
    let Some((close_at, _)) = first_close(conn, server) else {
        return vec![];
    };
    if first_close(conn, client).is_some_and(|(at, _)| at.frame < close_at.frame)
        || secs_between(request, close_at) > ctx.threshold("inferred_max_delay_s")
    {
        return vec![];
    }
    vec![
        Hit::new()
            .variant("inferred")
            .inferred()
            .var("delay", duration_text(secs_between(request, close_at)))
            .at(
                request,
                "the client's only application record (where CONNECT goes)",
            )
            .at(
                answer,
                "the server's last application record (a CONNACK fits here)",
            )
            .at(close_at, "server closes"),
    ]
}

/// The transport (and TLS) came up but the client never sent CONNECT.
pub(crate) fn no_connect_sent(ctx: &ConnCtx) -> Vec<Hit> {
    let conn = ctx.conn;
    if !conn.tcp.syn_seen || !transport_up(conn) || conn.tcp.missing_bytes > 0 {
        return vec![];
    }
    let client = facts::client(conn);
    let end = conn.tcp.close.at.unwrap_or(conn.tcp.last);
    let min_wait = ctx.threshold("min_wait_s");
    match conn.protocol {
        AppProtocol::None | AppProtocol::Mqtt => {
            let mqtt_connect = conn.mqtt.as_ref().is_some_and(|m| m.connect.is_some());
            if mqtt_connect || client.of(&conn.tcp.sides).bytes > 0 {
                return vec![];
            }
            if conn.protocol == AppProtocol::None && ctx.broker_port().is_none() {
                return vec![];
            }
            let up = facts::first_tcp(conn, facts::server(conn), facts::is_syn_ack)
                .unwrap_or(conn.tcp.first);
            let waited = secs_between(up, end);
            if waited < min_wait {
                return vec![];
            }
            vec![close_hit(ctx, Hit::new().variant("plain"), up, end, waited)]
        }
        AppProtocol::Tls => {
            let Some(tls) = &conn.tls else { return vec![] };
            // Without keys only the port says the session is MQTT (443 may be HTTPS).
            if !super::tls::handshake_done(conn)
                || tls.decrypted
                || conn.mqtt.is_some()
                || ctx.broker_port().is_none()
            {
                return vec![];
            }
            if client.of(&tls.app_data).records > 0 {
                return vec![];
            }
            let up = facts::tls_events(conn)
                .find(|(_, _, e)| matches!(e, crate::proto::tls::TlsEvent::Established))
                .map(|(at, _, _)| at)
                .unwrap_or(conn.tcp.first);
            let waited = secs_between(up, end);
            if waited < min_wait {
                return vec![];
            }
            vec![close_hit(ctx, Hit::new().variant("tls"), up, end, waited)]
        }
        AppProtocol::Unknown => vec![],
    }
}

fn close_hit(ctx: &ConnCtx, hit: Hit, up: At, end: At, waited: f64) -> Hit {
    let conn = ctx.conn;
    let ended = match (conn.tcp.close.how, conn.tcp.close.by) {
        (crate::flow::CloseHow::None, _) => "the capture ended".to_string(),
        (how, Some(by)) => format!(
            "the {} closed the connection ({})",
            conn.role(by),
            if how == crate::flow::CloseHow::Rst {
                "RST"
            } else {
                "FIN"
            }
        ),
        (_, None) => "the connection closed".to_string(),
    };
    hit.var("waited", duration_text(waited))
        .var("ended", &ended)
        .at(up, "connection ready")
        .at(end, ended)
}

/// MQTT 5.0 §3.14: a DISCONNECT from the server says why it dropped the client.
pub(crate) fn server_disconnect(ctx: &ConnCtx) -> Vec<Hit> {
    let conn = ctx.conn;
    let server = facts::server(conn);
    let Some((at, _, p)) = mqtt_packets(conn).find(|(_, side, p)| {
        *side == server && facts::is_packet(p.packet_type, PacketType::Disconnect)
    }) else {
        return vec![];
    };
    let code = p.reason_codes.first().copied().unwrap_or(0);
    let name = code_label(reason_name_for(PacketType::Disconnect, code), code);
    vec![
        Hit::new()
            .variant(format!("rc_0x{code:02x}"))
            .var("code_hex", format!("0x{code:02x}"))
            .var("name", &name)
            .var("frame", at.frame)
            .at(at, format!("DISCONNECT {name} from server")),
    ]
}

/// The client's last MQTT packet before `before`.
fn last_client_packet(ctx: &ConnCtx, before: u64) -> Option<(At, &'static str)> {
    let client = facts::client(ctx.conn);
    mqtt_packets(ctx.conn)
        .filter(|(at, side, _)| *side == client && at.frame < before)
        .last()
        .map(|(at, _, p)| (at, p.packet_type))
}

/// MQTT 3.1.1 §3.1.2.10 / 5.0 §3.1.2.10: the server may close a client silent for 1.5x its
/// keep-alive. Brokers check on a timer, so the close often comes seconds later.
pub(crate) fn keepalive_lapse(ctx: &ConnCtx) -> Vec<Hit> {
    let conn = ctx.conn;
    if conn.tcp.missing_bytes > 0 {
        return vec![];
    }
    let (client, server) = (facts::client(conn), facts::server(conn));
    let Some((close_at, _)) = first_close(conn, server) else {
        return vec![];
    };
    if first_close(conn, client).is_some_and(|(at, _)| at.frame < close_at.frame) {
        return vec![];
    }
    let factor = ctx.threshold("factor");
    if let Some(m) = &conn.mqtt {
        let Some(connect) = &m.connect else {
            return vec![];
        };
        // The keep-alive the platform really uses (AWS IoT Core raises a short one to 30 s)
        // and when it closes (Alibaba Cloud checks every 30 s): `--profile` data.
        let Some(window) =
            super::profile::keepalive_window(&ctx.profile.limits, connect.keep_alive, factor)
        else {
            return vec![];
        };
        if m.disconnect.is_some_and(|d| d.side == client) {
            return vec![];
        }
        // A DISCONNECT from the server ends the connection there (MQTT 5.0 §3.14: it closes
        // the network connection after it), whatever its reason: 0x8D (keep alive timeout) is
        // its reaction to the silence, and after another reason (0x8E session taken over) the
        // client's later silence is not a lapse. The silence is measured up to it.
        let reaction = mqtt_packets(conn)
            .find(|(_, side, p)| {
                *side == server && facts::is_packet(p.packet_type, PacketType::Disconnect)
            })
            .map(|(at, _, _)| at)
            .filter(|at| at.frame < close_at.frame)
            .unwrap_or(close_at);
        let Some((last, last_type)) = last_client_packet(ctx, reaction.frame) else {
            return vec![];
        };
        let silence = secs_between(last, reaction);
        // The capture shows what this broker did: a close after the client's own keep-alive
        // lapsed is a lapse even where the profile's platform would wait longer (AWS raises a
        // short keep-alive); a platform that lowers it (AWS: 1200 s) closes sooner.
        let own = factor * f64::from(connect.keep_alive);
        let (earliest, limit) = if own < window.earliest_s {
            (own, duration_text(own))
        } else {
            (window.earliest_s, window.text())
        };
        if silence + ctx.threshold("tolerance_s") < earliest {
            return vec![];
        }
        let used = if window.used_s == u32::from(connect.keep_alive) {
            format!("{} s", connect.keep_alive)
        } else {
            format!(
                "{} s (the platform uses {} s)",
                connect.keep_alive, window.used_s
            )
        };
        return vec![
            Hit::new()
                .variant("observed")
                .var("keep_alive", used)
                .var("limit", limit)
                .var("silence", duration_text(silence))
                .var("late", duration_text((silence - earliest).max(0.0)))
                .var("last_packet", last_type)
                .at(
                    connect.at,
                    format!("CONNECT with keep-alive {} s", connect.keep_alive),
                )
                .at(last, format!("last {last_type} from client"))
                .at(reaction, "server closes"),
        ];
    }
    // Inside TLS without keys: the client's last record, then the server's close.
    let Some(tls) = &conn.tls else { return vec![] };
    if !super::tls::handshake_done(conn) || tls.decrypted {
        return vec![];
    }
    let Some(last) = facts::tls_events(conn)
        .filter(|(at, side, _)| *side == client && at.frame < close_at.frame)
        .map(|(at, _, _)| at)
        .last()
    else {
        return vec![];
    };
    // Only the client's silence matters: what the server sends (answers, deliveries, its
    // close_notify) does not reset the client's keep-alive (MQTT 3.1.1 §3.1.2.10).
    let silence = secs_between(last, close_at);
    if silence < ctx.threshold("inferred_min_silence_s") {
        return vec![];
    }
    vec![
        Hit::new()
            .variant("inferred")
            .inferred()
            .var("silence", duration_text(silence))
            .var("limit", "1.5x the keep-alive")
            .at(last, "last TLS record from client")
            .at(close_at, "server closes"),
    ]
}

/// The server closed right after a client packet and never answered it: brokers do this for a
/// will or topic they refuse, an oversized packet in 3.1.1, or a protocol error.
pub(crate) fn server_closed_after_request(ctx: &ConnCtx) -> Vec<Hit> {
    let conn = ctx.conn;
    if ctx.found("keepalive_lapse")
        || ctx.found("connack_refused")
        || ctx.found("server_disconnect")
    {
        return vec![];
    }
    // An answer may sit in bytes the capture lacks: absence is not evidence then.
    if conn.tcp.missing_bytes > 0 {
        return vec![];
    }
    let Some(m) = &conn.mqtt else { return vec![] };
    let (client, server) = (facts::client(conn), facts::server(conn));
    let Some((close_at, rst)) = first_close(conn, server) else {
        return vec![];
    };
    if first_close(conn, client).is_some_and(|(at, _)| at.frame < close_at.frame)
        || m.disconnect.is_some_and(|d| d.side == client)
    {
        return vec![];
    }
    // The client's last packet, or a packet cut by the close (a large PUBLISH still arriving).
    let last = mqtt_events(conn)
        .filter(|(at, side, _)| *side == client && at.frame <= close_at.frame)
        .filter_map(|(at, _, e)| match e {
            MqttEvent::Packet(p) => Some((at, p.packet_type, None)),
            MqttEvent::Unfinished {
                packet_type,
                received,
                declared,
            } => Some((at, *packet_type, Some((*received, *declared)))),
            _ => None,
        })
        .last();
    let Some((req_at, req_type, unfinished)) = last else {
        return vec![];
    };
    if facts::is_packet(req_type, PacketType::Disconnect) {
        return vec![];
    }
    let answered = mqtt_packets(conn).any(|(at, side, _)| {
        side == server && at.frame > req_at.frame && at.frame <= close_at.frame
    });
    let delay = secs_between(req_at, close_at);
    if answered || delay > ctx.threshold("max_delay_s") {
        return vec![];
    }
    let mut size = match unfinished {
        Some((received, declared)) => format!(" ({received} of {declared} bytes had arrived)"),
        None => String::new(),
    };
    // A CONNECT's will is a usual reason (a will topic the ACL forbids).
    if facts::is_packet(req_type, PacketType::Connect)
        && let Some(w) = m.connect.as_ref().and_then(|c| c.will.as_ref())
    {
        size.push_str(&format!(
            " with a will on topic {} (QoS {}{})",
            text_of(&w.topic),
            w.qos,
            if w.retain { ", retained" } else { "" }
        ));
    }
    vec![
        Hit::new()
            .var("packet", req_type)
            .var("size", &size)
            .var("how", if rst { "RST" } else { "FIN" })
            .var("delay", duration_text(delay))
            .at(req_at, format!("{req_type} from client{size}"))
            .at(
                close_at,
                format!("server {}", if rst { "RST" } else { "FIN" }),
            ),
    ]
}

/// SUBACK failure codes: 3.1.1 §3.9.3 0x80, 5.0 §3.9.3 >= 0x80.
pub(crate) fn subscribe_refused(ctx: &ConnCtx) -> Vec<Hit> {
    let conn = ctx.conn;
    let server = facts::server(conn);
    let version = version_of(ctx);
    let max = ctx.threshold("max_findings") as usize;
    let mut hits = Vec::new();
    for (at, side, p) in mqtt_packets(conn) {
        if hits.len() >= max {
            break;
        }
        if side != server || !facts::is_packet(p.packet_type, PacketType::Suback) {
            continue;
        }
        let failed: Vec<(usize, u8)> = p
            .reason_codes
            .iter()
            .copied()
            .enumerate()
            .filter(|(_, c)| *c >= 0x80)
            .collect();
        if failed.is_empty() {
            continue;
        }
        // `<=`: a SUBSCRIBE behind a capture hole is delivered at the frame of the server
        // segment that acknowledged it, which can be the SUBACK's own.
        let request = mqtt_packets(conn).find(|(a, s, q)| {
            *s != server
                && facts::is_packet(q.packet_type, PacketType::Subscribe)
                && q.packet_id == p.packet_id
                && a.frame <= at.frame
        });
        let filters: Vec<String> = failed
            .iter()
            .map(|(i, code)| {
                let filter = request
                    .as_ref()
                    .and_then(|(_, _, q)| q.filters.get(*i))
                    .map(|f| text_of(&f.to_bytes()))
                    .unwrap_or_else(|| format!("filter #{}", i + 1));
                let name = if version.is_v5() {
                    reason_name_for(PacketType::Suback, *code)
                } else {
                    suback_code_name(version, *code)
                };
                format!("{filter} ({})", code_label(name, *code))
            })
            .collect();
        let mut hit = Hit::new()
            .variant(if version.is_v5() { "v5" } else { "v3" })
            .var("filters", filters.join(", "))
            .var("count", failed.len())
            .var("frame", at.frame)
            .at(at, "SUBACK with failure codes");
        if let Some((req_at, _, _)) = request {
            hit = hit.at(req_at, "SUBSCRIBE");
        }
        hits.push(hit);
    }
    hits
}

/// MQTT 5.0 §3.4.2.1 / §3.5.2.1: PUBACK or PUBREC with a reason code >= 0x80.
pub(crate) fn publish_refused(ctx: &ConnCtx) -> Vec<Hit> {
    let conn = ctx.conn;
    let server = facts::server(conn);
    let max = ctx.threshold("max_findings") as usize;
    let mut hits = Vec::new();
    for (at, side, p) in mqtt_packets(conn) {
        if hits.len() >= max {
            break;
        }
        if side != server
            || !matches!(
                facts::packet_type(p.packet_type),
                Some(PacketType::Puback | PacketType::Pubrec)
            )
        {
            continue;
        }
        let Some(&code) = p.reason_codes.first().filter(|c| **c >= 0x80) else {
            continue;
        };
        // `<=`: as for SUBSCRIBE, a PUBLISH behind a capture hole is delivered at the frame of
        // the server segment that acknowledged it, which can be the PUBACK's own.
        let topic = mqtt_packets(conn)
            .filter(|(a, s, q)| {
                *s != server
                    && facts::is_packet(q.packet_type, PacketType::Publish)
                    && q.packet_id == p.packet_id
                    && a.frame <= at.frame
            })
            .last();
        let name = code_label(p.reason, code);
        let mut hit = Hit::new()
            .var("ack", p.packet_type)
            .var("code_hex", format!("0x{code:02x}"))
            .var("name", &name)
            .var(
                "topic",
                topic
                    .as_ref()
                    .and_then(|(_, _, q)| q.topic.as_ref())
                    .map(|t| text_of(&t.to_bytes()))
                    .unwrap_or_else(|| "?".into()),
            )
            .at(at, format!("{} {name}", p.packet_type));
        if let Some((pub_at, _, _)) = topic {
            hit = hit.at(pub_at, "PUBLISH");
        }
        hits.push(hit);
    }
    hits
}

/// Specification violations the decoder listed. Not raised when the capture lacks bytes of
/// the connection: the decoder then resynchronised and a violation may be an artifact.
pub(crate) fn malformed_mqtt(ctx: &ConnCtx) -> Vec<Hit> {
    let conn = ctx.conn;
    if conn.tcp.missing_bytes > 0 {
        return vec![];
    }
    // A 3.1.1-style CONNACK answering an MQTT 5 CONNECT breaks the 5.0 layout; that is
    // explained by connack_refused (v5_answered_as_v3), not a second problem.
    let legacy_connack = version_of(ctx).is_v5()
        && conn
            .mqtt
            .as_ref()
            .and_then(|m| m.connack)
            .is_some_and(|a| (1..=5).contains(&a.code));
    let violations: Vec<(At, Side, Option<&'static str>, &String)> = mqtt_events(conn)
        .filter_map(|(at, side, e)| match e {
            MqttEvent::Violation { packet_type, what } => Some((at, side, *packet_type, what)),
            _ => None,
        })
        .filter(|(_, _, packet_type, _)| {
            !(legacy_connack
                && packet_type.and_then(facts::packet_type) == Some(PacketType::Connack))
        })
        .collect();
    let Some((at, side, packet_type, what)) = violations.first() else {
        return vec![];
    };
    let mut hit = Hit::new()
        .var("count", violations.len())
        .var("packet", packet_type.unwrap_or("packet"))
        .var("from", ctx.conn.role(*side))
        .var("what", what)
        .var("frame", at.frame);
    for (at, side, packet_type, what) in violations.iter().take(3) {
        hit = hit.at(
            *at,
            format!(
                "{} from {}: {what}",
                packet_type.unwrap_or("packet"),
                ctx.conn.role(*side)
            ),
        );
    }
    vec![hit]
}

#[cfg(test)]
mod tests;
