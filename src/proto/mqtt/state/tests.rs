//! Tests of the per-connection session: pipelining, splitting, gaps, large packets, version and
//! client-side inference, and the summary.

use super::super::fixtures::{self, cat, packet, s};
use super::*;

fn at(frame: u64) -> At {
    At {
        frame,
        time_ns: frame as i64 * 1_000,
    }
}

/// A 3.1.1 conversation: (side, bytes) in order.
fn conversation() -> Vec<(Side, Vec<u8>)> {
    vec![
        (Side::Orig, fixtures::connect_311()),
        (Side::Resp, vec![0x20, 2, 0, 0]),
        (Side::Orig, packet(0x82, &cat(&[&[0, 1], &s(b"a/#"), &[1]]))),
        (Side::Resp, vec![0x90, 3, 0, 1, 1]),
        (
            Side::Orig,
            packet(0x32, &cat(&[&s(b"a/b"), &[0, 2], b"hello"])),
        ),
        (Side::Resp, vec![0x40, 2, 0, 2]),
        (Side::Orig, vec![0xc0, 0]),
        (Side::Resp, vec![0xd0, 0]),
        (Side::Orig, vec![0xe0, 0]),
    ]
}

fn packet_types(events: &[Timed<MqttEvent>]) -> Vec<&'static str> {
    events
        .iter()
        .filter_map(|e| match &e.event {
            MqttEvent::Packet(p) => Some(p.packet_type),
            _ => None,
        })
        .collect()
}

fn feed_whole(session: &mut MqttSession, out: &mut Vec<Timed<MqttEvent>>) {
    for (i, (side, bytes)) in conversation().into_iter().enumerate() {
        session.on_data(side, &bytes, at(i as u64 + 1), out);
    }
}

#[test]
fn a_conversation_fills_the_summary() {
    let mut session = MqttSession::new();
    let mut out = Vec::new();
    feed_whole(&mut session, &mut out);
    let sum = session.summary();
    assert_eq!(sum.client_side, Some(Side::Orig));
    assert_eq!(
        (sum.protocol_version, sum.version_guessed),
        (Some(4), false)
    );
    let connect = sum.connect.as_ref().expect("connect");
    assert_eq!(connect.client_id.as_deref(), Some(&b"dev-42"[..]));
    assert_eq!(connect.keep_alive, 60);
    assert!(connect.clean_start);
    assert_eq!(connect.username.as_deref(), Some(&b"user"[..]));
    assert_eq!(connect.password.as_deref(), Some(&b"secret"[..]));
    assert_eq!(connect.password_len, Some(6));
    let connack = sum.connack.expect("connack");
    assert_eq!(
        (connack.code, connack.session_present, connack.at.frame),
        (0, false, 2)
    );
    let disconnect = sum.disconnect.expect("disconnect");
    assert_eq!(
        (disconnect.side, disconnect.reason_code),
        (Side::Orig, None)
    );
    assert_eq!(sum.packets.values().sum::<u64>(), 9);
    assert_eq!(sum.packets.get("PUBLISH"), Some(&1));
    assert_eq!(sum.last_activity, [Some(at(9)), Some(at(8))]);
    assert_eq!(sum.violations, 0);
    assert_eq!(
        packet_types(&out),
        [
            "CONNECT",
            "CONNACK",
            "SUBSCRIBE",
            "SUBACK",
            "PUBLISH",
            "PUBACK",
            "PINGREQ",
            "PINGRESP",
            "DISCONNECT"
        ]
    );
}

#[test]
fn pipelined_packets_in_one_call_are_all_decoded() {
    let mut session = MqttSession::new();
    let mut out = Vec::new();
    let client: Vec<u8> = conversation()
        .into_iter()
        .filter(|(side, _)| *side == Side::Orig)
        .flat_map(|(_, b)| b)
        .collect();
    session.on_data(Side::Orig, &client, at(1), &mut out);
    assert_eq!(
        packet_types(&out),
        ["CONNECT", "SUBSCRIBE", "PUBLISH", "PINGREQ", "DISCONNECT"]
    );
}

#[test]
fn splitting_at_every_byte_boundary_gives_the_same_events() {
    let stream: Vec<u8> = conversation()
        .into_iter()
        .filter(|(side, _)| *side == Side::Orig)
        .flat_map(|(_, b)| b)
        .collect();
    let mut whole = Vec::new();
    MqttSession::new().on_data(Side::Orig, &stream, at(1), &mut whole);
    for cut in 0..=stream.len() {
        let mut session = MqttSession::new();
        let mut out = Vec::new();
        session.on_data(Side::Orig, &stream[..cut], at(1), &mut out);
        session.on_data(Side::Orig, &stream[cut..], at(1), &mut out);
        assert_eq!(out, whole, "cut at {cut}");
    }
    let mut session = MqttSession::new();
    let mut out = Vec::new();
    for byte in &stream {
        session.on_data(Side::Orig, std::slice::from_ref(byte), at(1), &mut out);
    }
    assert_eq!(out, whole, "byte by byte");
}

#[test]
fn every_fixture_split_anywhere_is_one_clean_packet() {
    for f in fixtures::all() {
        for cut in 0..=f.bytes.len() {
            let mut session = MqttSession::new();
            let mut out = Vec::new();
            session.on_data(Side::Orig, &f.bytes[..cut], at(1), &mut out);
            if cut < f.bytes.len() {
                assert!(out.is_empty(), "{} cut at {cut}: {out:?}", f.name);
            }
            session.on_data(Side::Orig, &f.bytes[cut..], at(2), &mut out);
            session.on_close(Side::Orig, at(3), &mut out);
            assert_eq!(out.len(), 1, "{} cut at {cut}: {out:?}", f.name);
            assert_eq!(packet_types(&out), [f.type_name], "{}", f.name);
        }
    }
}

#[test]
fn a_gap_drops_the_partial_packet_and_resynchronises_without_violation() {
    let mut session = MqttSession::new();
    let mut out = Vec::new();
    let publish = packet(0x30, &cat(&[&s(b"a/b"), &[b'x'; 100]]));
    session.on_data(Side::Orig, &publish[..20], at(1), &mut out);
    session.on_gap(Side::Orig, 50, at(2), &mut out);
    // The rest of the lost PUBLISH, then two packets.
    let mut after = publish[70..].to_vec();
    after.extend([0xc0, 0]);
    after.extend(packet(0x30, &cat(&[&s(b"c/d"), b"ok"])));
    session.on_data(Side::Orig, &after, at(3), &mut out);
    assert_eq!(packet_types(&out), ["PINGREQ", "PUBLISH"]);
    assert!(out.iter().any(|e| matches!(
        e.event,
        MqttEvent::Resync {
            skipped: 57,
            resumed: true
        }
    )));
    assert_eq!(session.summary().violations, 0);
}

#[test]
fn a_gap_on_a_packet_boundary_resumes_at_once() {
    let mut session = MqttSession::new();
    let mut out = Vec::new();
    session.on_data(Side::Resp, &[0xd0, 0], at(1), &mut out);
    session.on_gap(Side::Resp, 2, at(2), &mut out);
    session.on_data(Side::Resp, &[0xd0, 0, 0xd0, 0], at(3), &mut out);
    assert_eq!(packet_types(&out), ["PINGRESP"; 3]);
    assert!(out.iter().any(|e| matches!(
        e.event,
        MqttEvent::Resync {
            skipped: 0,
            resumed: true
        }
    )));
}

#[test]
fn a_large_publish_is_decoded_from_its_head_and_skipped_unstored() {
    let payload_len = 3 * MAX_BUFFERED;
    let mut body = s(b"big/topic");
    body.extend([0, 9]);
    body.resize(body.len() + payload_len, 0xab);
    let mut stream = packet(0x32, &body);
    stream.extend([0xc0, 0]);
    let mut session = MqttSession::new();
    let mut out = Vec::new();
    for (i, chunk) in stream.chunks(1400).enumerate() {
        session.on_data(Side::Orig, chunk, at(i as u64), &mut out);
        assert!(session.dirs[Side::Orig].buf.capacity() <= HEAD_BYTES * 2);
    }
    assert_eq!(packet_types(&out), ["PUBLISH", "PINGREQ"]);
    let MqttEvent::Packet(p) = &out[0].event else {
        panic!()
    };
    assert_eq!(p.topic, Some(TextOrBytesExt::text("big/topic")));
    assert_eq!(p.packet_id, Some(9));
    assert_eq!(p.payload_len, Some(payload_len as u64));
    assert!(p.body_skipped);
    // Counted when its last byte arrived, like tshark.
    assert_eq!(out[0].at.frame, (stream.len() - 3) as u64 / 1400);
}

#[test]
fn a_gap_inside_a_skipped_body_keeps_step() {
    let mut body = s(b"t");
    body.resize(2 + 1 + 2 * MAX_BUFFERED, 0);
    let big = packet(0x30, &body);
    let mut session = MqttSession::new();
    let mut out = Vec::new();
    session.on_data(Side::Orig, &big[..HEAD_BYTES + 10], at(1), &mut out);
    session.on_gap(Side::Orig, 1000, at(2), &mut out);
    session.on_data(Side::Orig, &big[HEAD_BYTES + 1010..], at(3), &mut out);
    session.on_data(Side::Orig, &[0xc0, 0], at(4), &mut out);
    assert_eq!(packet_types(&out), ["PUBLISH", "PINGREQ"]);
    assert!(
        !out.iter()
            .any(|e| matches!(e.event, MqttEvent::Resync { .. }))
    );
}

#[test]
fn an_unframeable_header_is_a_violation_then_resync() {
    let mut session = MqttSession::new();
    let mut out = Vec::new();
    let mut data = vec![0x30, 0xff, 0xff, 0xff, 0xff, 0xff];
    data.extend([0xc0, 0, 0xc0, 0]);
    session.on_data(Side::Orig, &data, at(1), &mut out);
    assert_eq!(session.summary().violations, 1);
    assert_eq!(packet_types(&out), ["PINGREQ", "PINGREQ"]);
}

#[test]
fn version_is_guessed_without_connect() {
    let mut session = MqttSession::new();
    let mut out = Vec::new();
    session.on_data(Side::Resp, &[0x20, 3, 0, 0, 0], at(1), &mut out);
    let sum = session.summary();
    assert_eq!((sum.protocol_version, sum.version_guessed), (Some(5), true));
    assert_eq!(sum.client_side, Some(Side::Orig));
    assert_eq!(sum.connack.map(|c| c.code), Some(0));

    let mut session = MqttSession::new();
    session.on_data(Side::Orig, &[0xe0, 1, 0x8e], at(1), &mut out);
    let sum = session.summary();
    assert_eq!((sum.protocol_version, sum.version_guessed), (Some(5), true));
    assert_eq!(sum.disconnect.and_then(|d| d.reason_code), Some(0x8e));

    let mut session = MqttSession::new();
    session.on_data(Side::Resp, &[0xd0, 0], at(1), &mut out);
    let sum = session.summary();
    assert_eq!((sum.protocol_version, sum.version_guessed), (Some(4), true));
    assert_eq!(sum.client_side, Some(Side::Orig));
}

#[test]
fn a_v5_publish_switches_a_defaulted_guess() {
    let mut session = MqttSession::new();
    let mut out = Vec::new();
    // 5.0 PUBLISH with a topic alias property: as 3.1.1 the payload would still parse, so
    // use a PUBACK with properties, which 3.1.1 cannot read without a violation.
    session.on_data(Side::Orig, &packet(0x40, &[0, 1, 0x10, 0]), at(1), &mut out);
    assert_eq!(session.version(), Version::V5);
    assert_eq!(session.summary().violations, 0);
}

#[test]
fn connect_decides_version_and_client_side() {
    let mut session = MqttSession::new();
    let mut out = Vec::new();
    session.on_data(Side::Resp, &fixtures::connect_5(), at(1), &mut out);
    session.on_data(Side::Orig, &[0x20, 3, 1, 0, 0], at(2), &mut out);
    let sum = session.summary();
    assert_eq!(sum.client_side, Some(Side::Resp));
    assert_eq!(
        (sum.protocol_version, sum.version_guessed),
        (Some(5), false)
    );
    let will = sum
        .connect
        .as_ref()
        .and_then(|c| c.will.clone())
        .expect("will");
    assert_eq!(
        (
            will.topic.as_slice(),
            will.qos,
            will.retain,
            will.payload_len
        ),
        (&b"lwt"[..], 1, true, 3)
    );
    assert_eq!(sum.connack.map(|c| c.session_present), Some(true));

    let mut session = MqttSession::new();
    session.on_data(Side::Orig, &fixtures::connect_31(), at(1), &mut out);
    assert_eq!(session.summary().protocol_version, Some(3));
}

#[test]
fn close_inside_a_packet_reports_it_unfinished() {
    let mut session = MqttSession::new();
    let mut out = Vec::new();
    session.on_data(Side::Orig, &[0x30, 10, 0, 3], at(1), &mut out);
    session.on_close(Side::Orig, at(2), &mut out);
    assert_eq!(
        out.last().map(|e| &e.event),
        Some(&MqttEvent::Unfinished {
            packet_type: "PUBLISH",
            received: 4,
            declared: 12
        })
    );
    assert!(session.summary().packets.is_empty());
}

#[test]
fn violations_become_events_with_sections() {
    let mut session = MqttSession::new();
    let mut out = Vec::new();
    session.on_data(Side::Orig, &[0x00, 0, 0x60, 2, 0, 1], at(1), &mut out);
    let texts: Vec<String> = out
        .iter()
        .filter_map(|e| match &e.event {
            MqttEvent::Violation { what, .. } => Some(what.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(texts.len(), 2, "{texts:?}");
    assert!(texts[0].contains("§2.1.2") && texts[1].contains("§2.1.3"));
    assert_eq!(session.summary().packets.get("RESERVED"), Some(&1));
}

#[test]
fn events_serialise_without_secrets_and_with_safe_bytes() {
    let mut session = MqttSession::new();
    let mut out = Vec::new();
    session.on_data(Side::Orig, &fixtures::connect_311(), at(1), &mut out);
    session.on_data(
        Side::Orig,
        &packet(0x30, &cat(&[&s(b"\xff\xfe"), b"payload"])),
        at(2),
        &mut out,
    );
    let json = serde_json::to_string(&out).expect("json");
    assert!(!json.contains("secret"), "{json}");
    assert!(!json.contains("payload\""), "{json}");
    assert!(
        json.contains(r#""type":"packet","packet_type":"CONNECT""#),
        "{json}"
    );
    assert!(json.contains(r#""client_id":"dev-42""#), "{json}");
    assert!(
        json.contains(r#""topic":{"bytes_base64":"//4="}"#),
        "{json}"
    );
    let summary = serde_json::to_string(session.summary()).expect("json");
    assert!(!summary.contains("secret"), "{summary}");
}

/// Builds the expected `BytesText` in assertions.
struct TextOrBytesExt;
impl TextOrBytesExt {
    fn text(t: &str) -> crate::common::BytesText {
        crate::common::BytesText::new(t.as_bytes())
    }
}

#[test]
fn a_midstream_session_skips_to_the_first_packet_start() {
    let mut session = MqttSession::new_midstream();
    let mut out = Vec::new();
    // The tail of a PUBLISH payload, then a PUBACK and a PINGREQ.
    session.on_data(Side::Orig, b"tail of payload", at(1), &mut out);
    session.on_data(Side::Orig, &[0x40, 2, 0, 7, 0xc0, 0], at(2), &mut out);
    // The other direction starts on a boundary: no Resync event for it.
    session.on_data(Side::Resp, &[0xd0, 0], at(3), &mut out);
    assert_eq!(packet_types(&out), ["PUBACK", "PINGREQ", "PINGRESP"]);
    let resyncs: Vec<_> = out
        .iter()
        .filter(|e| matches!(e.event, MqttEvent::Resync { .. }))
        .collect();
    assert_eq!(resyncs.len(), 1);
    assert_eq!(resyncs[0].side, Side::Orig);
    assert_eq!(
        resyncs[0].event,
        MqttEvent::Resync {
            skipped: 15,
            resumed: true
        }
    );
    assert_eq!(session.summary().violations, 0);
}

#[test]
fn a_second_connect_is_a_violation_and_the_first_is_kept() {
    let mut session = MqttSession::new();
    let mut out = Vec::new();
    session.on_data(Side::Orig, &fixtures::connect_311(), at(1), &mut out);
    session.on_data(Side::Orig, &fixtures::connect_5(), at(2), &mut out);
    let sum = session.summary();
    assert_eq!(sum.violations, 1);
    assert_eq!(sum.protocol_version, Some(4));
    assert_eq!(
        sum.connect.as_ref().and_then(|c| c.client_id.as_deref()),
        Some(&b"dev-42"[..])
    );
    assert_eq!(sum.packets.get("CONNECT"), Some(&2));
}

#[test]
fn close_while_skipping_a_large_body_reports_it_unfinished() {
    let mut body = s(b"t");
    body.resize(2 * MAX_BUFFERED, 0);
    let big = packet(0x30, &body);
    let mut session = MqttSession::new();
    let mut out = Vec::new();
    session.on_data(Side::Orig, &big[..HEAD_BYTES + 100], at(1), &mut out);
    session.on_close(Side::Orig, at(2), &mut out);
    assert_eq!(
        out.last().map(|e| &e.event),
        Some(&MqttEvent::Unfinished {
            packet_type: "PUBLISH",
            received: (HEAD_BYTES + 100) as u64,
            declared: big.len() as u64,
        })
    );
    assert!(session.summary().packets.is_empty());
}

#[test]
fn a_v5_conversation_of_every_fixture_has_no_violation() {
    let mut session = MqttSession::new();
    let mut out = Vec::new();
    session.on_data(Side::Orig, &fixtures::connect_5(), at(1), &mut out);
    for f in fixtures::all() {
        if f.version != Version::V5 || f.type_name == "CONNECT" {
            continue;
        }
        let side = if f.type_name.ends_with("ACK") || f.type_name == "PINGRESP" {
            Side::Resp
        } else {
            Side::Orig
        };
        session.on_data(side, &f.bytes, at(2), &mut out);
    }
    let sum = session.summary();
    assert_eq!(sum.violations, 0, "{out:?}");
    assert_eq!(
        (sum.protocol_version, sum.version_guessed),
        (Some(5), false)
    );
    assert_eq!(sum.disconnect.map(|d| d.reason_code), Some(None));
    assert_eq!(sum.packets.get("AUTH"), Some(&1));
    assert_eq!(sum.connack.map(|c| c.code), Some(0));
}

#[test]
fn gaps_while_resynchronising_add_up() {
    let mut session = MqttSession::new();
    let mut out = Vec::new();
    session.on_gap(Side::Orig, 10, at(1), &mut out);
    session.on_data(Side::Orig, b"zzz", at(2), &mut out);
    session.on_gap(Side::Orig, 10, at(3), &mut out);
    session.on_data(Side::Orig, b"zz\xc0\x00", at(4), &mut out);
    assert_eq!(packet_types(&out), ["PINGREQ"]);
    assert_eq!(
        out.first().map(|e| &e.event),
        Some(&MqttEvent::Resync {
            skipped: 5,
            resumed: true
        })
    );
}

#[test]
fn packet_events_list_a_bounded_number_of_filters_and_codes() {
    let mut body = vec![0, 1];
    for _ in 0..1000 {
        body.extend(s(b"a/b"));
        body.push(0);
    }
    let mut suback = vec![0, 1];
    suback.extend([0u8; 1000]);
    let mut session = MqttSession::new();
    let mut out = Vec::new();
    session.on_data(Side::Orig, &packet(0x82, &body), at(1), &mut out);
    session.on_data(Side::Resp, &packet(0x90, &suback), at(2), &mut out);
    for event in &out {
        let MqttEvent::Packet(p) = &event.event else {
            panic!("{event:?}")
        };
        assert!(p.filters.len() + p.reason_codes.len() == super::super::event::MAX_LISTED);
        assert_eq!(p.list_len, Some(1000));
    }
}
