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
    // Skipped packets are over MAX_BUFFERED (1 MiB): a remaining length of three bytes (up to
    // 2,097,151) or four (MQTT 5.0 §1.5.5); `declared` counts the fixed header exactly.
    for body_len in [MAX_BUFFERED + MAX_BUFFERED / 2, 2 * MAX_BUFFERED] {
        let mut body = s(b"t");
        body.resize(body_len, 0);
        let big = packet(0x30, &body);
        let header_len = if body_len <= 2_097_151 { 4 } else { 5 };
        assert_eq!(big.len(), header_len + body_len, "fixture");
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
            }),
            "body of {body_len} bytes"
        );
        assert!(session.summary().packets.is_empty());
    }
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

#[test]
fn packet_summaries_count_lists_only_beyond_the_listed_maximum() {
    use super::super::event::MAX_LISTED;
    use super::super::parser::parse_packet;
    // One topic filter per entry of SUBSCRIBE and UNSUBSCRIBE, one return code per filter in
    // SUBACK (MQTT 3.1.1 §3.8.3, §3.10.3, §3.9.3): the summary lists the first MAX_LISTED and
    // gives the count only when some were left out.
    for n in [1, MAX_LISTED - 1, MAX_LISTED, MAX_LISTED + 1, 1000] {
        let sub = cat(&[&[0, 1], &cat(&[&s(b"a/b"), &[1]]).repeat(n)]);
        let unsub = cat(&[&[0, 1], &s(b"a/b").repeat(n)]);
        let suback = cat(&[&[0, 1], &[1].repeat(n)]);
        let listed = n.min(MAX_LISTED);
        let list_len = (n > MAX_LISTED).then_some(n);
        for (first, body) in [(0x82, sub), (0xa2, unsub), (0x90, suback)] {
            let bytes = packet(first, &body);
            let p = parse_packet(&bytes, Version::V3_1_1);
            assert!(
                p.violations.is_empty(),
                "{first:#04x} {n}: {:?}",
                p.violations
            );
            let sum = PacketSummary::from_packet(&p, Version::V3_1_1);
            assert_eq!(
                (sum.filters.len() + sum.reason_codes.len(), sum.list_len),
                (listed, list_len),
                "{} of {n}",
                sum.packet_type
            );
        }
    }
}

#[test]
fn the_first_one_way_packet_tells_the_client_side() {
    // MQTT 3.1.1 §2.2.1, 5.0 §2.1.2: SUBSCRIBE, UNSUBSCRIBE and PINGREQ flow from the client
    // only; CONNACK, SUBACK, UNSUBACK and PINGRESP from the server only; PUBLISH and the acks
    // flow either way, and so does DISCONNECT in 5.0: they tell nothing.
    for (side, bytes, client_side) in [
        (
            Side::Orig,
            packet(0x82, &cat(&[&[0, 1], &s(b"a"), &[0]])),
            Some(Side::Orig),
        ),
        (
            Side::Resp,
            packet(0xa2, &cat(&[&[0, 1], &s(b"a")])),
            Some(Side::Resp),
        ),
        (Side::Resp, vec![0xc0, 0], Some(Side::Resp)),
        (Side::Orig, vec![0x90, 3, 0, 1, 0], Some(Side::Resp)),
        (Side::Resp, vec![0xb0, 2, 0, 1], Some(Side::Orig)),
        (Side::Orig, vec![0xd0, 0], Some(Side::Resp)),
        (Side::Orig, packet(0x30, &cat(&[&s(b"t"), b"x"])), None),
        (Side::Resp, vec![0x40, 2, 0, 1], None),
        (Side::Orig, vec![0xe0, 0], None),
    ] {
        let mut session = MqttSession::new();
        let mut out = Vec::new();
        session.on_data(side, &bytes, at(1), &mut out);
        assert_eq!(packet_types(&out).len(), 1, "{bytes:?}: {out:?}");
        assert_eq!(session.summary().client_side, client_side, "{bytes:?}");
    }
}

/// A PUBLISH of exactly `total` bytes (topic "t/x", QoS 0) and its payload length.
fn publish_of_total_len(total: usize) -> (Vec<u8>, usize) {
    let body_len = (1..=4)
        .map(|len_bytes| total - 1 - len_bytes)
        .find(|&n| 1 + fixtures::varint(n).len() + n == total)
        .expect("a body length");
    let mut body = s(b"t/x");
    body.resize(body_len, 0x5a);
    let bytes = packet(0x30, &body);
    assert_eq!(bytes.len(), total);
    (bytes, body_len - 5)
}

#[test]
fn packets_up_to_max_buffered_are_held_whole_larger_ones_skipped() {
    for total in [MAX_BUFFERED, MAX_BUFFERED + 1] {
        let (publish, payload_len) = publish_of_total_len(total);
        // All but the last byte at once (more than the head), or in segment-sized pieces.
        for piece in [total - 1, 1400] {
            let mut session = MqttSession::new();
            let mut out = Vec::new();
            for (i, chunk) in publish.chunks(piece).enumerate() {
                session.on_data(Side::Orig, chunk, at(i as u64), &mut out);
            }
            session.on_data(Side::Orig, &[0xc0, 0], at(9_999), &mut out);
            assert_eq!(
                packet_types(&out),
                ["PUBLISH", "PINGREQ"],
                "{total} {piece}"
            );
            let MqttEvent::Packet(p) = &out[0].event else {
                panic!("{:?}", out[0])
            };
            assert_eq!(p.body_skipped, total > MAX_BUFFERED, "{total} {piece}");
            assert_eq!(p.payload_len, Some(payload_len as u64), "{total} {piece}");
            assert_eq!(p.topic, Some(TextOrBytesExt::text("t/x")));
            // A buffer that grew large is not kept for the next packet.
            assert!(session.dirs[Side::Orig].buf.capacity() <= 64 * 1024);
        }
    }
}

#[test]
fn a_skipped_publish_keeps_a_long_topic_from_its_head() {
    // Topic names may be up to 65,535 bytes (MQTT 3.1.1 §1.5.3, 5.0 §1.5.4): the head decoded
    // before skipping holds a long one whole.
    let topic = vec![b'a'; 60_000];
    let mut body = s(&topic);
    body.resize(2 * MAX_BUFFERED, 0);
    let big = packet(0x30, &body);
    let mut session = MqttSession::new();
    let mut out = Vec::new();
    for (i, chunk) in big.chunks(1400).enumerate() {
        session.on_data(Side::Orig, chunk, at(i as u64), &mut out);
    }
    assert_eq!(packet_types(&out), ["PUBLISH"]);
    let MqttEvent::Packet(p) = &out[0].event else {
        panic!("{:?}", out[0])
    };
    assert!(p.body_skipped);
    assert_eq!(p.topic, Some(crate::common::BytesText::new(&topic)));
}

#[derive(Clone)]
enum Op {
    Data(Vec<u8>),
    Gap(u64),
    Close,
}

fn describe(events: &[Timed<MqttEvent>]) -> Vec<String> {
    events
        .iter()
        .map(|e| match &e.event {
            MqttEvent::Packet(p) => format!("packet {}", p.packet_type),
            MqttEvent::Resync { skipped, resumed } => format!("resync {skipped} {resumed}"),
            MqttEvent::Unfinished {
                packet_type,
                received,
                declared,
            } => format!("unfinished {packet_type} {received}/{declared}"),
            MqttEvent::Violation { what, .. } => format!("violation {what}"),
        })
        .collect()
}

#[test]
fn gaps_and_closes_account_for_every_dropped_byte() {
    use Op::*;
    let (big, _) = publish_of_total_len(2 * MAX_BUFFERED);
    let head = big[..HEAD_BYTES + 10].to_vec();
    let rest_of_big = (big.len() - head.len()) as u64;
    let ping = vec![0xc0, 0];
    for (midstream, ops, expected) in [
        // A gap drops nothing received: nothing to report.
        (false, vec![Gap(10), Close], vec![]),
        (
            false,
            vec![Gap(10), Data(b"zz".to_vec()), Close],
            vec!["resync 2 false"],
        ),
        // A possible packet start still awaiting bytes is dropped at the close...
        (
            false,
            vec![Gap(10), Data(vec![0x30]), Close],
            vec!["resync 1 false"],
        ),
        // ...or at the next gap.
        (
            false,
            vec![Gap(10), Data(vec![0x30]), Gap(5), Data(ping.clone())],
            vec!["resync 1 true", "packet PINGREQ"],
        ),
        // Bytes before a start that needs more are dropped; the start is kept.
        (
            false,
            vec![
                Gap(10),
                Data(b"zz\x30".to_vec()),
                Data(cat(&[&[5], &s(b"a/b")])),
            ],
            vec!["resync 2 true", "packet PUBLISH"],
        ),
        // A mid-stream direction that starts on a packet boundary reports no resync.
        (true, vec![Data(ping.clone())], vec!["packet PINGREQ"]),
        (
            true,
            vec![Data(cat(&[b"zz", &ping]))],
            vec!["resync 2 true", "packet PINGREQ"],
        ),
        // A gap ending exactly where a skipped body ends: the packet is complete.
        (
            false,
            vec![Data(head.clone()), Gap(rest_of_big), Data(ping.clone())],
            vec!["packet PUBLISH", "resync 0 true", "packet PINGREQ"],
        ),
        // A gap ending inside it keeps step.
        (
            false,
            vec![
                Data(head.clone()),
                Gap(rest_of_big - 1),
                Data(vec![0x5a]),
                Data(ping.clone()),
            ],
            vec!["packet PUBLISH", "packet PINGREQ"],
        ),
    ] {
        let mut session = if midstream {
            MqttSession::new_midstream()
        } else {
            MqttSession::new()
        };
        let mut out = Vec::new();
        for (i, op) in ops.iter().enumerate() {
            let at = at(i as u64);
            match op {
                Data(bytes) => session.on_data(Side::Orig, bytes, at, &mut out),
                Gap(len) => session.on_gap(Side::Orig, *len, at, &mut out),
                Close => session.on_close(Side::Orig, at, &mut out),
            }
        }
        assert_eq!(describe(&out), expected, "{}", expected.join(", "));
        assert_eq!(session.summary().violations, 0);
    }
}

#[test]
fn connect_fixes_the_version_otherwise_it_follows_the_layouts() {
    let run = |packets: &[(Side, Vec<u8>)]| {
        let mut session = MqttSession::new();
        let mut out = Vec::new();
        for (i, (side, bytes)) in packets.iter().enumerate() {
            session.on_data(*side, bytes, at(i as u64), &mut out);
        }
        session
    };
    // PUBACK with a reason code and properties: a 5.0 layout (MQTT 5.0 §3.4.2).
    let puback_5 = vec![0x40, 4, 0, 1, 0x10, 0];
    // SUBACK with one code and no property length: a 3.1.1 layout (3.1.1 §3.9).
    let suback_311 = vec![0x90, 3, 0, 1, 0];
    for (packets, version, guessed, violations) in [
        // 3.x CONNACK has 2 bytes and 3.x DISCONNECT none: nothing says 5.0.
        (
            vec![(Side::Resp, vec![0x20, 2, 0, 0])],
            Version::V3_1_1,
            true,
            0,
        ),
        (vec![(Side::Orig, vec![0xe0, 0])], Version::V3_1_1, true, 0),
        // CONNECT's protocol level decides (3.1.1 §3.1.2.2): a later 5.0 layout is a violation.
        (
            vec![
                (Side::Orig, fixtures::connect_311()),
                (Side::Resp, puback_5.clone()),
            ],
            Version::V3_1_1,
            false,
            1,
        ),
        // AUTH exists only in 5.0 (§2.1.2): the guess is locked.
        (
            vec![
                (Side::Orig, vec![0xf0, 0]),
                (Side::Resp, suback_311.clone()),
            ],
            Version::V5,
            true,
            1,
        ),
        // A guess from a layout alone follows the next clean layout back.
        (
            vec![(Side::Orig, puback_5), (Side::Resp, suback_311)],
            Version::V3_1_1,
            true,
            0,
        ),
    ] {
        let session = run(&packets);
        let sum = session.summary();
        assert_eq!(session.version(), version, "{packets:?}");
        assert_eq!(
            (sum.protocol_version, sum.version_guessed),
            (Some(version.level()), guessed),
            "{packets:?}"
        );
        assert_eq!(sum.violations, violations, "{packets:?}");
    }
}

#[test]
fn the_first_connack_and_the_first_disconnect_are_kept() {
    let mut session = MqttSession::new();
    let mut out = Vec::new();
    for (i, (side, bytes)) in [
        (Side::Orig, fixtures::connect_311()),
        (Side::Resp, vec![0x20, 2, 0, 0]),
        (Side::Resp, vec![0x20, 2, 0, 5]),
        (Side::Orig, vec![0xc0, 0]),
    ]
    .into_iter()
    .enumerate()
    {
        session.on_data(side, &bytes, at(i as u64 + 1), &mut out);
    }
    let connack = session.summary().connack.expect("connack");
    assert_eq!((connack.code, connack.at.frame), (0, 2));
    // PINGREQ has no body either, but it is no DISCONNECT.
    assert!(session.summary().disconnect.is_none());
    session.on_data(Side::Orig, &[0xe0, 0], at(5), &mut out);
    session.on_data(Side::Resp, &[0xe0, 0], at(6), &mut out);
    let d = session.summary().disconnect.expect("disconnect");
    assert_eq!((d.side, d.at.frame, d.reason_code), (Side::Orig, 5, None));

    // 5.0: AUTH carries a reason code too (§3.15.2.1) but disconnects nothing.
    let mut session = MqttSession::new();
    for (i, (side, bytes)) in [
        (Side::Orig, fixtures::connect_5()),
        (Side::Orig, vec![0xf0, 2, 0x18, 0]),
        (Side::Resp, vec![0xe0, 1, 0x8e]),
        (Side::Orig, vec![0xe0, 1, 0x04]),
    ]
    .into_iter()
    .enumerate()
    {
        session.on_data(side, &bytes, at(i as u64 + 1), &mut out);
        if i == 1 {
            assert!(session.summary().disconnect.is_none());
        }
    }
    let d = session.summary().disconnect.expect("disconnect");
    assert_eq!(
        (d.side, d.at.frame, d.reason_code),
        (Side::Resp, 3, Some(0x8e))
    );
    assert_eq!(session.summary().violations, 0);
}
