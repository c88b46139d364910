//! MQTT packets in an order the specification forbids around CONNECT and CONNACK:
//! - a second CONNECT on one connection (3.1.1 §3.1.0 [MQTT-3.1.0-2], 5.0 §3.1 [MQTT-3.1.0-2]:
//!   the server must treat it as a protocol violation and disconnect),
//! - a server that refused the CONNECT and did not close the connection (3.1.1 §3.2.2.3
//!   [MQTT-3.2.2-5], 5.0 §3.2.2.2 [MQTT-3.2.2-7]: it MUST then close it),
//! - a client that went on sending after it received the refusal (the server discards it,
//!   3.1.1 §3.1.4 [MQTT-3.1.4-5]; a client that does this is not reading CONNACK).
//!
//! Packets a client sends between its CONNECT and the CONNACK are allowed (3.1.1 §3.1.4) and
//! never counted; only those after the refusal reached the capture are.

use super::facts::{self, first_close, is_packet, mqtt_packets, secs_between};
use super::{ConnCtx, Hit};
use crate::proto::mqtt::Version;
use crate::proto::mqtt::parser::PacketType;
use crate::proto::mqtt::reason::connack_refused as refused;

pub(crate) fn mqtt_sequence_violation(ctx: &ConnCtx) -> Vec<Hit> {
    let conn = ctx.conn;
    let Some(m) = &conn.mqtt else { return vec![] };
    let (client, server) = (facts::client(conn), facts::server(conn));
    let mut hits = Vec::new();

    let connects: Vec<_> = mqtt_packets(conn)
        .filter(|(_, side, p)| *side == client && is_packet(p.packet_type, PacketType::Connect))
        .map(|(at, _, _)| at)
        .collect();
    if let [first, second, ..] = connects.as_slice() {
        let mut hit = Hit::new()
            .variant("second_connect")
            .var("count", connects.len())
            .var("frame", second.frame)
            .at(*first, "CONNECT")
            .at(*second, "another CONNECT on the same connection");
        // `>=`: client bytes held behind a capture hole are delivered at the frame of the
        // server segment that acknowledged them, which can be the server's FIN itself.
        let close = first_close(conn, server).filter(|(at, _)| at.frame >= second.frame);
        if let Some((at, _)) = close {
            hit = hit.at(at, "server closes");
        }
        hits.push(hit);
    }

    let version = m
        .protocol_version
        .and_then(Version::from_level)
        .unwrap_or(Version::V3_1_1);
    let Some(ack) = m.connack.as_ref().filter(|a| refused(version, a.code)) else {
        return hits;
    };
    let after_refusal = |side| {
        mqtt_packets(conn)
            .filter(move |(at, s, _)| *s == side && at.frame > ack.at.frame)
            .map(|(at, _, p)| (at, p.packet_type))
    };
    // The client only learns of the refusal when the CONNACK reaches it; a packet it sent
    // right after may have crossed the CONNACK on the wire, so only those a round trip later
    // count (at least `min_delay_s`).
    let min_delay = ctx.threshold("min_delay_s");
    let late: Vec<_> = after_refusal(client)
        .filter(|(at, _)| secs_between(ack.at, *at) >= min_delay)
        .collect();
    if let Some((first, kind)) = late.first() {
        hits.push(
            Hit::new()
                .variant("client_kept_sending")
                .var("count", late.len())
                .var("packet", kind)
                .var("code", ack.code)
                .at(ack.at, "CONNACK refusing the connection")
                .at(*first, format!("{kind} from the client after the refusal")),
        );
    }

    let server_close = first_close(conn, server).map(|(at, _)| at);
    let server_answers: Vec<_> = after_refusal(server).collect();
    let end = conn.tcp.close.at.unwrap_or(ctx.observed_until);
    let open_for = secs_between(ack.at, server_close.unwrap_or(end));
    let left_open = server_close.is_none() && open_for >= ctx.threshold("max_close_s");
    if !server_answers.is_empty() || left_open {
        let mut hit = Hit::new()
            .variant(if server_answers.is_empty() {
                "server_kept_open"
            } else {
                "server_kept_serving"
            })
            .var("code", ack.code)
            .var("open_for", facts::duration_text(open_for))
            .var("answers", server_answers.len())
            .at(ack.at, "CONNACK refusing the connection");
        if let Some((at, kind)) = server_answers.first() {
            hit = hit.at(*at, format!("{kind} from the server after its refusal"));
        }
        hits.push(hit);
    }
    hits
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use crate::common::Side;
    use crate::flow::TcpEvent;
    use crate::proto::mqtt::message::ConnackInfo;

    fn refused_at(c: &mut crate::conn::Connection, frame: u64, ms: i64) {
        let mut ack = packet("CONNACK");
        ack.reason_codes = vec![5];
        mqtt(c, frame, ms, Side::Resp, ack);
        if let Some(m) = c.mqtt.as_mut() {
            m.connack = Some(ConnackInfo {
                at: at(frame, ms),
                code: 5,
                session_present: false,
            });
        }
    }

    fn variants(c: &crate::conn::Connection) -> Vec<String> {
        findings(c)
            .iter()
            .filter(|f| f.rule == "mqtt_sequence_violation")
            .map(|f| f.title.clone())
            .collect()
    }

    #[test]
    fn a_refusal_followed_by_the_server_closing_is_in_order() {
        let mut c = established_plain();
        refused_at(&mut c, 20, 10);
        tcp(&mut c, 21, 11, Side::Resp, TcpEvent::Fin);
        assert!(variants(&c).is_empty(), "{:?}", variants(&c));
    }

    #[test]
    fn a_server_that_refuses_and_keeps_the_connection_open() {
        let mut c = established_plain();
        refused_at(&mut c, 20, 10);
        tcp(&mut c, 30, 20_000, Side::Orig, TcpEvent::Fin);
        let v = variants(&c);
        assert!(v.iter().any(|t| t.contains("did not close it")), "{v:?}");
    }

    #[test]
    fn a_client_that_publishes_after_the_refusal() {
        let mut c = established_plain();
        refused_at(&mut c, 20, 10);
        mqtt(&mut c, 22, 500, Side::Orig, packet("PUBLISH"));
        tcp(&mut c, 23, 501, Side::Resp, TcpEvent::Fin);
        let v = variants(&c);
        assert!(v.iter().any(|t| t.contains("kept sending after")), "{v:?}");
        // One that crossed the CONNACK on the wire is not blamed.
        let mut crossed = established_plain();
        refused_at(&mut crossed, 20, 10);
        mqtt(&mut crossed, 21, 10, Side::Orig, packet("PUBLISH"));
        tcp(&mut crossed, 23, 11, Side::Resp, TcpEvent::Fin);
        assert!(variants(&crossed).is_empty(), "{:?}", variants(&crossed));
    }

    #[test]
    fn a_second_connect_on_one_connection() {
        let mut c = established_plain();
        mqtt(&mut c, 30, 900, Side::Orig, packet("CONNECT"));
        tcp(&mut c, 31, 901, Side::Resp, TcpEvent::Fin);
        let v = variants(&c);
        assert!(v.iter().any(|t| t.contains("second CONNECT")), "{v:?}");
    }

    #[test]
    fn a_second_connect_released_by_the_servers_fin_is_followed_by_that_close() {
        // Client bytes behind a capture hole are delivered when the server's segment
        // acknowledging them arrives: here its FIN (frame 31), which therefore came after the
        // second CONNECT and is the server's answer to it ([MQTT-3.1.0-2]).
        let mut c = established_plain();
        mqtt(&mut c, 31, 901, Side::Orig, packet("CONNECT"));
        tcp(&mut c, 31, 901, Side::Resp, TcpEvent::Fin);
        let f = findings(&c);
        let hit = f.iter().find(|f| f.rule == "mqtt_sequence_violation");
        assert!(
            hit.is_some_and(|h| h
                .evidence
                .iter()
                .any(|e| e.at.frame == 31 && e.note == "server closes")),
            "{f:#?}"
        );
    }
}
