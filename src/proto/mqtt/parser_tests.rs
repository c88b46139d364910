//! Tests of framing and packet decoding over the hand-made fixtures.

use super::fixtures::{self, cat, packet, props, s};
use super::parser::*;
use super::properties::PropertyValue;
use super::sniff::sniff;
use crate::proto::Sniffed;

fn violations(bytes: &[u8], version: Version) -> Vec<String> {
    parse_packet(bytes, version)
        .violations
        .iter()
        .map(|v| v.to_string())
        .collect()
}

fn has_violation(bytes: &[u8], version: Version, needle: &str) -> bool {
    let found = violations(bytes, version);
    found.iter().any(|v| v.contains(needle)) || panic!("no {needle:?} in {found:?}")
}

#[test]
fn frame_reads_remaining_length_edges() {
    assert_eq!(frame(&[]), Framing::NeedMore);
    assert_eq!(frame(&[0x30]), Framing::NeedMore);
    for (len, header_len) in [(0, 2), (127, 2), (128, 3), (16_383, 3), (16_384, 4)] {
        let mut buf = vec![0x30];
        buf.extend(fixtures::varint(len));
        assert_eq!(
            frame(&buf),
            Framing::Complete {
                header_len,
                total_len: header_len + len
            }
        );
    }
    let max = [0x30, 0xff, 0xff, 0xff, 0x7f];
    assert_eq!(
        frame(&max),
        Framing::Complete {
            header_len: 5,
            total_len: 5 + 268_435_455
        }
    );
    assert_eq!(frame(&[0x30, 0xff, 0xff, 0xff]), Framing::NeedMore);
    assert!(matches!(
        frame(&[0x30, 0xff, 0xff, 0xff, 0xff]),
        Framing::Invalid(_)
    ));
    assert!(matches!(
        frame(&[0x30, 0x80, 0x80, 0x80, 0x80, 0x01]),
        Framing::Invalid(_)
    ));
}

#[test]
fn every_fixture_decodes_cleanly_with_its_type_name() {
    for f in fixtures::all() {
        let p = parse_packet(&f.bytes, f.version);
        assert_eq!(p.packet_type.name(f.version), f.type_name, "{}", f.name);
        assert!(p.violations.is_empty(), "{}: {:?}", f.name, p.violations);
        assert!(!p.partial, "{}", f.name);
    }
}

#[test]
fn every_prefix_of_every_fixture_is_incomplete_and_never_panics() {
    for f in fixtures::all() {
        for cut in 0..f.bytes.len() {
            let prefix = &f.bytes[..cut];
            match frame(prefix) {
                Framing::NeedMore => {}
                Framing::Complete { total_len, .. } => assert!(total_len > cut, "{}", f.name),
                Framing::Invalid(why) => panic!("{} cut at {cut}: {why}", f.name),
            }
            for version in [Version::V3_1, Version::V3_1_1, Version::V5] {
                let p = parse_packet(prefix, version);
                assert!(p.partial, "{} cut at {cut}", f.name);
            }
            // A prefix decoded as partial has no violation in its own version.
            assert!(
                parse_packet(prefix, f.version).violations.is_empty(),
                "{} cut at {cut}",
                f.name
            );
            assert_ne!(sniff(prefix), Sniffed::Unknown, "{} cut at {cut}", f.name);
        }
    }
}

#[test]
fn every_fixture_sniffs_as_mqtt() {
    for f in fixtures::all() {
        assert_eq!(sniff(&f.bytes), Sniffed::Mqtt, "{}", f.name);
    }
}

#[test]
fn connect_fields_are_borrowed_as_sent() {
    let bytes = fixtures::connect_311();
    let Body::Connect(c) = parse_packet(&bytes, Version::V3_1_1).body else {
        panic!("not a CONNECT")
    };
    assert_eq!(c.protocol_name, Some(&b"MQTT"[..]));
    assert_eq!(c.level, Some(4));
    assert_eq!(c.keep_alive, Some(60));
    assert_eq!(c.clean_start(), Some(true));
    assert_eq!(c.client_id, Some(&b"dev-42"[..]));
    assert_eq!(c.username, Some(&b"user"[..]));
    assert_eq!(c.password, Some(&b"secret"[..]));
    assert!(c.will.is_none());
}

#[test]
fn connect_5_reads_properties_and_will_whatever_version_is_passed() {
    let bytes = fixtures::connect_5();
    let Body::Connect(c) = parse_packet(&bytes, Version::V3_1_1).body else {
        panic!("not a CONNECT")
    };
    assert_eq!(c.level, Some(5));
    let p = c.properties.expect("properties");
    assert_eq!(p.get(0x11), Some(&PropertyValue::FourByte(60)));
    let will = c.will.expect("will");
    assert_eq!((will.qos, will.retain), (1, true));
    assert_eq!(will.topic, Some(&b"lwt"[..]));
    assert_eq!(will.payload, Some(&b"bye"[..]));
    assert_eq!(
        will.properties.expect("will properties").get(0x01),
        Some(&PropertyValue::Byte(1))
    );
}

#[test]
fn publish_5_keeps_properties_and_payload() {
    let f = fixtures::all()
        .into_iter()
        .find(|f| f.name == "publish 5 with properties")
        .expect("fixture");
    let Body::Publish(p) = parse_packet(&f.bytes, Version::V5).body else {
        panic!("not a PUBLISH")
    };
    assert_eq!((p.qos, p.packet_id, p.topic), (1, Some(7), Some(&b"t"[..])));
    let props = p.properties.expect("properties");
    assert_eq!(props.get(0x23), Some(&PropertyValue::TwoByte(5)));
    assert_eq!(props.get(0x26), Some(&PropertyValue::Pair(b"k", b"v")));
    assert_eq!(props.get(0x0b), Some(&PropertyValue::VarInt(129)));
    assert_eq!(p.payload, b"payload");
    assert_eq!(p.payload_len, Some(7));
}

#[test]
fn acks_carry_reason_codes_only_in_5() {
    let Body::Ack(a) = parse_packet(&[0x40, 3, 0, 1, 0x10], Version::V5).body else {
        panic!()
    };
    assert_eq!((a.packet_id, a.reason), (Some(1), Some(0x10)));
    let Body::Ack(a) = parse_packet(&[0x40, 2, 0, 1], Version::V5).body else {
        panic!()
    };
    assert_eq!(a.reason, None);
    assert!(has_violation(
        &[0x40, 3, 0, 1, 0x10],
        Version::V3_1_1,
        "1 bytes after the last field"
    ));
}

#[test]
fn disconnect_5_with_length_0_has_no_reason_byte() {
    let Body::Reason(r) = parse_packet(&[0xe0, 0], Version::V5).body else {
        panic!()
    };
    assert_eq!(r.reason, None);
    let Body::Reason(r) = parse_packet(&[0xe0, 1, 0x8e], Version::V5).body else {
        panic!()
    };
    assert_eq!(r.reason, Some(0x8e));
}

#[test]
fn fixed_header_flags_are_checked() {
    assert!(has_violation(&[0x60, 2, 0, 1], Version::V3_1_1, "§2.2.2"));
    let sub = packet(0x80, &cat(&[&[0, 1], &s(b"a"), &[0]]));
    assert!(has_violation(&sub, Version::V3_1_1, "requires 0010"));
    let unsub = packet(0xa0, &cat(&[&[0, 1], &s(b"a")]));
    assert!(has_violation(&unsub, Version::V5, "requires 0010"));
    assert!(has_violation(
        &[0xc1, 0],
        Version::V3_1_1,
        "PINGREQ requires 0000"
    ));
}

#[test]
fn reserved_types_are_named_reserved_and_flagged() {
    let p = parse_packet(&[0x00, 0], Version::V3_1_1);
    assert_eq!(p.packet_type.name(Version::V3_1_1), "RESERVED");
    assert!(has_violation(
        &[0x00, 0],
        Version::V3_1_1,
        "reserved packet type 0"
    ));
    let p = parse_packet(&[0xf0, 0], Version::V3_1_1);
    assert_eq!(p.packet_type.name(Version::V3_1_1), "RESERVED");
    assert!(matches!(p.body, Body::Reserved(_)));
    assert!(has_violation(
        &[0xf0, 0],
        Version::V3_1,
        "reserved packet type 15"
    ));
}

#[test]
fn publish_qos_3_and_dup_on_qos_0_are_violations() {
    let q3 = packet(0x36, &cat(&[&s(b"a"), &[0, 1]]));
    assert!(has_violation(&q3, Version::V3_1_1, "QoS 3"));
    let dup0 = packet(0x38, &s(b"a"));
    assert!(has_violation(&dup0, Version::V3_1_1, "§3.3.1.1"));
}

#[test]
fn short_body_is_a_violation_once_the_declared_length_is_there() {
    assert!(has_violation(
        &[0x40, 1, 0],
        Version::V3_1_1,
        "too short for the packet identifier"
    ));
    assert!(has_violation(&[0x20, 1, 0], Version::V3_1_1, "too short"));
    // The same bytes as a prefix of a longer packet are merely partial.
    let p = parse_packet(&[0x40, 2, 0], Version::V3_1_1);
    assert!(p.partial && p.violations.is_empty());
}

#[test]
fn property_length_beyond_the_packet_stops_decoding() {
    let bytes = packet(
        0x10,
        &cat(&[&s(b"MQTT"), &[5, 2, 0, 60], &[0xff, 0x21], &s(b"client")]),
    );
    let p = parse_packet(&bytes, Version::V5);
    assert!(has_violation(
        &bytes,
        Version::V5,
        "goes beyond the packet (MQTT 5.0 §2.2.2.1)"
    ));
    let Body::Connect(c) = p.body else { panic!() };
    assert_eq!(c.client_id, None, "tshark shows no client id either");
}

#[test]
fn a_property_length_cut_by_the_declared_length_is_a_violation() {
    assert!(has_violation(
        &[0x20, 3, 0, 0, 0x80],
        Version::V5,
        "too short for the CONNACK properties"
    ));
    let p = parse_packet(&[0x20, 4, 0, 0, 0x80], Version::V5);
    assert!(p.partial && p.violations.is_empty());
}

#[test]
fn properties_out_of_place_or_repeated_are_violations() {
    let topic_alias_in_connack = packet(0x20, &cat(&[&[0, 0], &props(&[0x23, 0, 1])]));
    assert!(has_violation(
        &topic_alias_in_connack,
        Version::V5,
        "topic_alias is not allowed in CONNACK"
    ));
    let twice = packet(0x20, &cat(&[&[0, 0], &props(&[0x21, 0, 1, 0x21, 0, 2])]));
    assert!(has_violation(
        &twice,
        Version::V5,
        "receive_maximum appears more than once"
    ));
    let users = packet(
        0x20,
        &cat(&[
            &[0, 0],
            &props(&cat(&[
                &[0x26],
                &s(b"a"),
                &s(b"b"),
                &[0x26],
                &s(b"a"),
                &s(b"c"),
            ])),
        ]),
    );
    assert!(violations(&users, Version::V5).is_empty());
    let session_expiry_in_will = packet(
        0x10,
        &cat(&[
            &s(b"MQTT"),
            &[5, 0x06, 0, 60],
            &props(&[]),
            &s(b"c"),
            &props(&[0x11, 0, 0, 0, 1]),
            &s(b"t"),
            &s(b"m"),
        ]),
    );
    assert!(has_violation(
        &session_expiry_in_will,
        Version::V5,
        "not allowed in will properties"
    ));
}

#[test]
fn forbidden_property_values_are_violations() {
    let alias0 = packet(0x30, &cat(&[&s(b"t"), &props(&[0x23, 0, 0])]));
    assert!(has_violation(
        &alias0,
        Version::V5,
        "topic_alias has a value"
    ));
    let max_qos2 = packet(0x20, &cat(&[&[0, 0], &props(&[0x24, 2])]));
    assert!(has_violation(&max_qos2, Version::V5, "maximum_qos"));
    let max_qos1 = packet(0x20, &cat(&[&[0, 0], &props(&[0x24, 1])]));
    assert!(violations(&max_qos1, Version::V5).is_empty());
}

#[test]
fn wildcards_must_fill_whole_levels() {
    for good in [&b"#"[..], b"a/#", b"+", b"+/b/+", b"a/+/#", b"/"] {
        let sub = packet(0x82, &cat(&[&[0, 1], &s(good), &[0]]));
        assert!(violations(&sub, Version::V3_1_1).is_empty(), "{good:?}");
    }
    for bad in [&b"a#"[..], b"#/a", b"a+/b", b"a/b+"] {
        let sub = packet(0x82, &cat(&[&[0, 1], &s(bad), &[0]]));
        assert!(has_violation(&sub, Version::V3_1_1, "§4.7.1"), "{bad:?}");
    }
}

#[test]
fn mqtt_3_1_client_ids_are_1_to_23_bytes() {
    let long = packet(
        0x10,
        &cat(&[
            &s(b"MQIsdp"),
            &[3, 0x02, 0, 30],
            &s(b"abcdefghijklmnopqrstuvwx"),
        ]),
    );
    assert!(has_violation(&long, Version::V3_1, "3.1 allows 1 to 23"));
}

#[test]
fn unknown_property_ids_are_kept_raw() {
    let bytes = packet(0x20, &cat(&[&[0, 0], &props(&[0x21, 0, 5, 0x7f, 1, 2])]));
    let Body::Connack(c) = parse_packet(&bytes, Version::V5).body else {
        panic!()
    };
    let p = c.properties.expect("properties");
    assert_eq!(p.items.len(), 1);
    assert_eq!(p.undecoded, &[0x7f, 1, 2]);
    assert!(has_violation(
        &bytes,
        Version::V5,
        "unknown property identifier 0x7f"
    ));
}

#[test]
fn invalid_utf8_where_the_spec_demands_text() {
    let topic = packet(0x30, &cat(&[&s(b"a\xffb"), b"x"]));
    assert!(has_violation(
        &topic,
        Version::V3_1_1,
        "invalid UTF-8 in the topic name"
    ));
    let nul = packet(0x30, &cat(&[&s(b"a\0b"), b"x"]));
    assert!(has_violation(&nul, Version::V3_1_1, "U+0000"));
    let reason = packet(
        0xe0,
        &cat(&[&[0x80], &props(&cat(&[&[0x1f], &s(b"\xc3")]))]),
    );
    assert!(has_violation(&reason, Version::V5, "reason_string"));
}

#[test]
fn connect_flag_rules() {
    let reserved = packet(0x10, &cat(&[&s(b"MQTT"), &[4, 0x03, 0, 60], &s(b"c")]));
    assert!(has_violation(
        &reserved,
        Version::V3_1_1,
        "reserved connect flag"
    ));
    let will_qos = packet(0x10, &cat(&[&s(b"MQTT"), &[4, 0x0a, 0, 60], &s(b"c")]));
    assert!(has_violation(
        &will_qos,
        Version::V3_1_1,
        "without the will flag"
    ));
    let pw = packet(
        0x10,
        &cat(&[&s(b"MQTT"), &[4, 0x42, 0, 60], &s(b"c"), &s(b"pw")]),
    );
    assert!(has_violation(
        &pw,
        Version::V3_1_1,
        "password flag without user name"
    ));
    let empty_id = packet(0x10, &cat(&[&s(b"MQTT"), &[4, 0x00, 0, 60], &s(b"")]));
    assert!(has_violation(&empty_id, Version::V3_1_1, "§3.1.3.1"));
    let name = packet(0x10, &cat(&[&s(b"MQTX"), &[4, 0x02, 0, 60], &s(b"c")]));
    assert!(has_violation(&name, Version::V3_1_1, "protocol name"));
}

#[test]
fn packet_id_0_and_empty_lists_are_violations() {
    let publish = packet(0x32, &cat(&[&s(b"a"), &[0, 0]]));
    assert!(has_violation(
        &publish,
        Version::V3_1_1,
        "packet identifier 0"
    ));
    assert!(has_violation(
        &[0x82, 2, 0, 1],
        Version::V3_1_1,
        "without a topic filter"
    ));
    assert!(has_violation(
        &[0xa2, 2, 0, 1],
        Version::V3_1_1,
        "without a topic filter"
    ));
    assert!(has_violation(
        &[0x90, 2, 0, 1],
        Version::V3_1_1,
        "without a reason code"
    ));
}

#[test]
fn reason_codes_outside_a_types_table_are_violations() {
    assert!(has_violation(
        &[0x20, 2, 0, 6],
        Version::V3_1_1,
        "CONNACK code 0x06"
    ));
    assert!(has_violation(
        &[0x20, 3, 0, 0x8b, 0],
        Version::V5,
        "CONNACK code 0x8b"
    ));
    assert!(has_violation(
        &[0x62, 3, 0, 1, 0x10],
        Version::V5,
        "PUBREL code 0x10"
    ));
    assert!(has_violation(
        &[0x90, 3, 0, 1, 3],
        Version::V3_1_1,
        "SUBACK code 0x03"
    ));
    assert!(has_violation(
        &[0xf0, 1, 0x04],
        Version::V5,
        "AUTH code 0x04"
    ));
}

#[test]
fn malformed_remaining_length_is_reported_not_fatal() {
    let p = parse_packet(&[0x30, 0xff, 0xff, 0xff, 0xff, 0x01], Version::V3_1_1);
    assert_eq!(p.remaining_len, None);
    assert_eq!(p.violations.len(), 1);
    assert!(p.violations[0].section.contains("§1.5.5"));
}

#[test]
fn bytes_past_the_declared_length_are_ignored() {
    let p = parse_packet(&[0xc0, 0, 0xd0, 0], Version::V3_1_1);
    assert_eq!(p.packet_type, PacketType::Pingreq);
    assert!(p.violations.is_empty());
}

#[test]
fn arbitrary_bytes_never_panic_in_any_version() {
    let mut rng = crate::test_rng::XorShift::new(0x9e37_79b9);
    for len in 0..300 {
        let mut buf = rng.bytes(len % 40);
        if let Some(first) = buf.first_mut() {
            *first = (*first & 0xf0) | (len as u8 & 0x0f);
        }
        super::fuzz_bytes(&buf);
    }
}

#[test]
fn publish_fixed_header_flags_are_decoded_bit_by_bit() {
    // MQTT 3.1.1 / 5.0 §3.3.1: bit 3 DUP, bits 2-1 QoS, bit 0 RETAIN of the first byte.
    for (first, dup, qos, retain) in [
        (0x30, false, 0, false),
        (0x31, false, 0, true),
        (0x32, false, 1, false),
        (0x33, false, 1, true),
        (0x3a, true, 1, false),
        (0x3d, true, 2, true),
    ] {
        let id: &[u8] = if qos > 0 { &[0, 9] } else { &[] };
        let bytes = packet(first, &cat(&[&s(b"a/b"), id, b"x"]));
        let p = parse_packet(&bytes, Version::V3_1_1);
        assert!(p.violations.is_empty(), "{first:#04x}: {:?}", p.violations);
        let Body::Publish(publish) = p.body else {
            panic!("{first:#04x}: not a PUBLISH")
        };
        assert_eq!(
            (publish.dup, publish.qos, publish.retain),
            (dup, qos, retain),
            "{first:#04x}"
        );
        assert_eq!(publish.payload, b"x", "{first:#04x}");
    }
}

#[test]
fn publish_topic_names_hold_no_wildcards() {
    // MQTT 3.1.1 §3.3.2.1, 5.0 §3.3.2.1: the Topic Name in a PUBLISH MUST NOT contain
    // wildcard characters; either one alone is enough.
    for (topic, wildcard) in [
        (&b"a/b"[..], false),
        (b"a/+", true),
        (b"+", true),
        (b"a/#", true),
        (b"#", true),
        (b"a+b#", true),
    ] {
        for version in [Version::V3_1_1, Version::V5] {
            let props: &[u8] = if version.is_v5() { &[0] } else { &[] };
            let bytes = packet(0x30, &cat(&[&s(topic), props, b"x"]));
            let found = violations(&bytes, version);
            if wildcard {
                assert_eq!(found.len(), 1, "{topic:?} {version:?}: {found:?}");
                assert!(
                    found[0].contains("wildcard character in a PUBLISH topic name"),
                    "{found:?}"
                );
            } else {
                assert!(found.is_empty(), "{topic:?} {version:?}: {found:?}");
            }
        }
    }
}

#[test]
fn an_empty_publish_topic_is_allowed_only_with_a_5_0_topic_alias() {
    // MQTT 3.1.1 §4.7.3: topic names MUST be at least one character long.
    let empty_311 = packet(0x30, &cat(&[&s(b""), b"x"]));
    assert!(has_violation(
        &empty_311,
        Version::V3_1_1,
        "empty topic name (MQTT 3.1.1 §4.7.3)"
    ));
    // MQTT 5.0 §3.3.2.1, §3.3.2.3.4: a zero-length topic name with a Topic Alias is valid.
    let empty_5_alias = packet(0x30, &cat(&[&s(b""), &props(&[0x23, 0, 1]), b"x"]));
    let p = parse_packet(&empty_5_alias, Version::V5);
    assert!(p.violations.is_empty(), "{:?}", p.violations);
    let Body::Publish(publish) = p.body else {
        panic!("not a PUBLISH")
    };
    assert_eq!(
        (publish.topic, publish.payload),
        (Some(&b""[..]), &b"x"[..])
    );
    // MQTT 5.0 §3.3.2.1: without a Topic Alias a zero-length topic name is a protocol error.
    let empty_5 = packet(0x30, &cat(&[&s(b""), &props(&[]), b"x"]));
    assert!(has_violation(
        &empty_5,
        Version::V5,
        "empty topic name without a topic alias (MQTT 5.0 §3.3.2.1)"
    ));
}

#[test]
fn subscription_options_reserved_bits_and_qos_3() {
    // MQTT 3.1.1 §3.8.3.1: bits 7-2 of the requested QoS byte are reserved (0) and QoS 3 is
    // malformed. MQTT 5.0 §3.8.3.1: bits 1-0 QoS, 2 No Local, 3 Retain As Published, 5-4
    // Retain Handling (3 is a protocol error), 7-6 reserved.
    const QOS_3: &str = "requested QoS 3";
    const RESERVED_311: &str = "reserved bits set in the requested QoS byte";
    const RESERVED_5: &str = "reserved subscription option bits set or retain handling 3";
    for (version, options, expected) in [
        (Version::V3_1_1, 0x00, None),
        (Version::V3_1_1, 0x01, None),
        (Version::V3_1_1, 0x02, None),
        (Version::V3_1_1, 0x03, Some(QOS_3)),
        (Version::V3_1_1, 0x04, Some(RESERVED_311)),
        (Version::V3_1_1, 0x80, Some(RESERVED_311)),
        (Version::V5, 0x02, None),
        (Version::V5, 0x0e, None),
        (Version::V5, 0x1d, None),
        (Version::V5, 0x2e, None),
        (Version::V5, 0x03, Some(QOS_3)),
        (Version::V5, 0x30, Some(RESERVED_5)),
        (Version::V5, 0x31, Some(RESERVED_5)),
        (Version::V5, 0x40, Some(RESERVED_5)),
        (Version::V5, 0x80, Some(RESERVED_5)),
    ] {
        let props: &[u8] = if version.is_v5() { &[0] } else { &[] };
        let sub = packet(0x82, &cat(&[&[0, 1], props, &s(b"a/b"), &[options]]));
        let found = violations(&sub, version);
        match expected {
            None => assert!(found.is_empty(), "{version:?} {options:#04x}: {found:?}"),
            Some(needle) => {
                assert_eq!(found.len(), 1, "{version:?} {options:#04x}: {found:?}");
                assert!(found[0].contains(needle), "{options:#04x}: {found:?}");
            }
        }
    }
}

#[test]
fn disallowed_ack_codes_are_one_violation_counting_the_others() {
    // MQTT 3.1.1 §3.9.3: SUBACK return codes are 0x00-0x02 and 0x80 only; MQTT 5.0 §3.11.3:
    // UNSUBACK reason codes are 0x00, 0x11, 0x80, 0x83, 0x87, 0x8f, 0x91.
    for (version, bytes, expected) in [
        (
            Version::V3_1_1,
            vec![0x90, 3, 0, 1, 0x03],
            "SUBACK code 0x03 is not allowed (MQTT",
        ),
        (
            Version::V3_1_1,
            vec![0x90, 5, 0, 1, 0x00, 0x04, 0x80],
            "SUBACK code 0x04 is not allowed (MQTT",
        ),
        (
            Version::V3_1_1,
            vec![0x90, 6, 0, 1, 0x03, 0x00, 0x04, 0x7f],
            "SUBACK code 0x03 is not allowed (and 2 more) (MQTT",
        ),
        (
            Version::V5,
            vec![0xb0, 6, 0, 1, 0, 0x02, 0x11, 0x03],
            "UNSUBACK code 0x02 is not allowed (and 1 more) (MQTT",
        ),
    ] {
        let found = violations(&bytes, version);
        assert_eq!(found.len(), 1, "{bytes:?}: {found:?}");
        assert!(found[0].starts_with(expected), "{bytes:?}: {found:?}");
    }
}

#[test]
fn clean_start_is_bit_1_of_the_connect_flags() {
    // MQTT 3.1.1 §3.1.2.4 Clean Session, 5.0 §3.1.2.4 Clean Start: bit 1 of the flags.
    for (flags, clean) in [(0x00, false), (0x02, true), (0xc0, false), (0xc2, true)] {
        let mut fields = vec![s(b"MQTT"), vec![4, flags, 0, 60], s(b"c")];
        if flags & 0x80 != 0 {
            fields.extend([s(b"user"), s(b"pw")]);
        }
        let refs: Vec<&[u8]> = fields.iter().map(Vec::as_slice).collect();
        let bytes = packet(0x10, &cat(&refs));
        let p = parse_packet(&bytes, Version::V3_1_1);
        assert!(p.violations.is_empty(), "{flags:#04x}: {:?}", p.violations);
        let Body::Connect(c) = p.body else {
            panic!("not a CONNECT")
        };
        assert_eq!(c.clean_start(), Some(clean), "{flags:#04x}");
    }
    // A CONNECT cut before its flags byte has no Clean Start to report.
    let cut = packet(0x10, &cat(&[&s(b"MQTT"), &[4]]));
    let Body::Connect(c) = parse_packet(&cut, Version::V3_1_1).body else {
        panic!("not a CONNECT")
    };
    assert_eq!(c.clean_start(), None);
}

#[test]
fn packet_direction_follows_the_spec_table() {
    // MQTT 3.1.1 §2.2.1, 5.0 §2.1.2 (Direction of flow): client to server only, server to
    // client only, or both (PUBLISH, the acks, DISCONNECT and AUTH in 5.0).
    use PacketType::*;
    for (packet_type, client_only, server_only) in [
        (Reserved0, false, false),
        (Connect, true, false),
        (Connack, false, true),
        (Publish, false, false),
        (Puback, false, false),
        (Pubrec, false, false),
        (Pubrel, false, false),
        (Pubcomp, false, false),
        (Subscribe, true, false),
        (Suback, false, true),
        (Unsubscribe, true, false),
        (Unsuback, false, true),
        (Pingreq, true, false),
        (Pingresp, false, true),
        (Disconnect, false, false),
        (Auth, false, false),
    ] {
        assert_eq!(
            (packet_type.client_only(), packet_type.server_only()),
            (client_only, server_only),
            "{packet_type:?}"
        );
    }
}

#[test]
fn packet_identifier_of_the_types_that_carry_one() {
    // MQTT 3.1.1 §2.3.1, 5.0 §2.2.1: PUBLISH (QoS > 0), PUBACK, PUBREC, PUBREL, PUBCOMP,
    // SUBSCRIBE, SUBACK, UNSUBSCRIBE and UNSUBACK carry a packet identifier; the others none.
    for (bytes, id) in [
        (packet(0x32, &cat(&[&s(b"t"), &[0, 7]])), Some(7)),
        (packet(0x30, &cat(&[&s(b"t"), &[0, 7]])), None),
        (vec![0x40, 2, 0x01, 0x02], Some(0x0102)),
        (vec![0x50, 2, 0, 3], Some(3)),
        (vec![0x62, 2, 0, 4], Some(4)),
        (vec![0x70, 2, 0, 5], Some(5)),
        (packet(0x82, &cat(&[&[0, 6], &s(b"a"), &[0]])), Some(6)),
        (vec![0x90, 3, 0, 8, 0], Some(8)),
        (packet(0xa2, &cat(&[&[0, 9], &s(b"a")])), Some(9)),
        (vec![0xb0, 2, 0, 10], Some(10)),
        (fixtures::connect_311(), None),
        (vec![0x20, 2, 0, 0], None),
        (vec![0xc0, 0], None),
        (vec![0xe0, 0], None),
    ] {
        let p = parse_packet(&bytes, Version::V3_1_1);
        assert!(p.violations.is_empty(), "{bytes:?}: {:?}", p.violations);
        assert_eq!(p.packet_id(), id, "{bytes:?}");
    }
}

#[test]
fn violations_beyond_the_listed_maximum_are_summed_up() {
    // Each filter requesting QoS 3 is one violation (MQTT 3.1.1 §3.8.3.1); a packet lists at
    // most MAX_VIOLATIONS of them, then one entry counting the rest.
    for (filters, listed, summary) in [
        (1, 1, None),
        (MAX_VIOLATIONS, MAX_VIOLATIONS, None),
        (MAX_VIOLATIONS + 1, MAX_VIOLATIONS + 1, Some(1)),
        (40, MAX_VIOLATIONS + 1, Some(40 - MAX_VIOLATIONS)),
    ] {
        let mut body = vec![0, 1];
        for _ in 0..filters {
            body.extend(cat(&[&s(b"a"), &[3]]));
        }
        let found = violations(&packet(0x82, &body), Version::V3_1_1);
        assert_eq!(found.len(), listed, "{filters}: {found:?}");
        let qos3 = found
            .iter()
            .filter(|v| v.contains("requested QoS 3"))
            .count();
        assert_eq!(qos3, filters.min(MAX_VIOLATIONS), "{filters}");
        let last = found.last().cloned().unwrap_or_default();
        match summary {
            None => assert!(last.contains("requested QoS 3"), "{last}"),
            Some(n) => assert_eq!(
                last,
                format!("{n} further violations in this packet not listed")
            ),
        }
    }
}

#[test]
fn sniffing_a_connect_needs_a_known_protocol_name_and_level() {
    // MQTT 3.1.1 §3.1.2.1-2: "MQTT" level 4; 5.0 §3.1.2.2: "MQTT" level 5; MQTT 3.1: "MQIsdp"
    // level 3.
    for (name, level, expected) in [
        (&b"MQTT"[..], 4, Sniffed::Mqtt),
        (b"MQTT", 5, Sniffed::Mqtt),
        (b"MQIsdp", 3, Sniffed::Mqtt),
        (b"MQTT", 3, Sniffed::Unknown),
        (b"MQTT", 6, Sniffed::Unknown),
        (b"MQIsdp", 4, Sniffed::Unknown),
        (b"MQTX", 4, Sniffed::Unknown),
    ] {
        let connect = packet(0x10, &cat(&[&s(name), &[level, 0x02, 0, 60], &s(b"c")]));
        assert_eq!(sniff(&connect), expected, "{name:?} {level}");
    }
}

#[test]
fn a_mid_stream_direction_is_mqtt_after_two_packets_or_an_exact_end() {
    let ping = [0xc0, 0];
    for (stream, expected) in [
        // One complete packet, then the start of another: not certain yet.
        (cat(&[&ping, &[0x40]]), Sniffed::NeedMore),
        // Two complete packets, then the start of another.
        (cat(&[&ping, &ping, &[0x40]]), Sniffed::Mqtt),
        // After sixteen plausible packets the rest is not looked at.
        (cat(&[&ping.repeat(16), &[0x00, 0x00]]), Sniffed::Mqtt),
        // Type 0 is reserved (MQTT 3.1.1 §2.2.1, 5.0 §2.1.2).
        (cat(&[&ping.repeat(3), &[0x00, 0x00]]), Sniffed::Unknown),
    ] {
        assert_eq!(sniff(&stream), expected, "{stream:?}");
    }
}

#[test]
fn plausible_packet_starts() {
    use super::sniff::{Plausibility, plausible};
    let yes = |bytes: &[u8]| Plausibility::Yes {
        total_len: bytes.len(),
        complete: true,
    };
    let connect = fixtures::connect_311();
    let bad_name = packet(0x10, &cat(&[&s(b"MQTX"), &[4, 0x02, 0, 60], &s(b"c")]));
    for (bytes, expected) in [
        (connect.clone(), yes(&connect)),
        (
            connect[..connect.len() - 1].to_vec(),
            Plausibility::NeedMore,
        ),
        // A CONNECT's variable header alone takes 10 bytes (3.1.1 §3.1.2, 5.0 §3.1.2): a
        // shorter remaining length starts no CONNECT, even before its end arrives.
        (vec![0x10, 5, 0, 4, b'M'], Plausibility::No),
        // MQTT 3.1.1 §3.1.2.1: the protocol name is "MQTT".
        (bad_name, Plausibility::No),
        // A CONNACK with a property length decodes cleanly as 5.0 only (5.0 §3.2.2.3).
        (vec![0x20, 3, 0, 0, 0], yes(&[0x20, 3, 0, 0, 0])),
        // A SUBACK with one return code decodes cleanly as 3.1.1 only (3.1.1 §3.9).
        (vec![0x90, 3, 0, 1, 0], yes(&[0x90, 3, 0, 1, 0])),
        // Packet identifier 0 is wrong in either version (3.1.1 §2.3.1, 5.0 §2.2.1).
        (vec![0x40, 2, 0, 0], Plausibility::No),
        // QoS 3 is malformed (3.1.1 §3.3.1.2, 5.0 §3.3.1.2), known from the first byte.
        (vec![0x36], Plausibility::No),
        (vec![0x3e], Plausibility::No),
        (vec![0x34], Plausibility::NeedMore),
        // DUP on QoS 0 (3.1.1 §3.3.1.1, 5.0 §3.3.1.1), even with bytes reading like CONNECT.
        (cat(&[&[0x38, 7], &s(b"MQTT"), &[4]]), Plausibility::No),
        // A topic name filling the whole body (empty payload) fits; one longer does not.
        (
            cat(&[&[0x30, 5], &s(b"a/b")]),
            yes(&cat(&[&[0x30, 5], &s(b"a/b")])),
        ),
        (vec![0x30, 5, 0, 3], Plausibility::NeedMore),
        (vec![0x30, 5, 0, 6], Plausibility::No),
        (vec![0x30, 5, 0, 9], Plausibility::No),
    ] {
        assert_eq!(plausible(&bytes), expected, "{bytes:?}");
    }
}

#[test]
fn a_large_publish_is_judged_on_its_topic() {
    use super::sniff::{Plausibility, plausible};
    use super::state::RESYNC_WINDOW;
    // The head of a PUBLISH of `total` bytes whose topic is `topic`: the fixed header, the
    // topic and 10 payload bytes (MQTT 3.1.1 §3.3.2, 5.0 §3.3.2).
    fn head(total: usize, topic: &[u8]) -> Vec<u8> {
        let body_len = (1..=4)
            .map(|len_bytes| total - 1 - len_bytes)
            .find(|&body_len| 1 + fixtures::varint(body_len).len() + body_len == total)
            .expect("a body length");
        let mut out = vec![0x30];
        out.extend(fixtures::varint(body_len));
        out.extend(s(topic));
        out.extend([b'p'; 10]);
        out
    }
    let large = |complete| Plausibility::Yes {
        total_len: 20_000,
        complete,
    };
    let long: Vec<u8> = [b'x'; 70].to_vec();
    for (bytes, expected) in [
        (head(20_000, b"a/b"), large(false)),
        (head(20_000, b"ab"), large(false)),
        (head(20_000, &long), large(false)),
        // Not plausible as a start: a one-character topic, wildcards (3.1.1 §3.3.2.1, 5.0
        // §3.3.2.1) also past the bytes decoded to judge, control characters.
        (head(20_000, b"a"), Plausibility::No),
        (head(20_000, &cat(&[&long, b"/+"])), Plausibility::No),
        (head(20_000, &cat(&[&long, b"/#"])), Plausibility::No),
        (head(20_000, b"a\tb"), Plausibility::No),
        (head(20_000, &cat(&[&long, b"\n"])), Plausibility::No),
        // Up to the resync window a packet is judged whole, so its end is awaited.
        (head(5_000, b"a/b"), Plausibility::NeedMore),
        (head(RESYNC_WINDOW, b"a/b"), Plausibility::NeedMore),
        (
            head(RESYNC_WINDOW + 1, b"a/b"),
            Plausibility::Yes {
                total_len: RESYNC_WINDOW + 1,
                complete: false,
            },
        ),
    ] {
        assert_eq!(plausible(&bytes), expected, "{:?}", &bytes[..8]);
    }
    // A topic filling the whole body, not all received: its end is awaited.
    let body_len = 20_000 - 4;
    let mut whole = vec![0x30];
    whole.extend(fixtures::varint(body_len));
    whole.extend(s(&vec![b't'; body_len - 2]));
    assert_eq!(whole.len(), 20_000);
    assert_eq!(plausible(&whole[..19_999]), Plausibility::NeedMore);
    assert_eq!(
        plausible(&whole),
        Plausibility::Yes {
            total_len: 20_000,
            complete: true
        }
    );
    // Only the first body byte: the topic length is not there yet.
    assert_eq!(plausible(&whole[..4]), Plausibility::NeedMore);
}

/// A CONNECT of `version` with `flags` and `client_id`, its payload fields present as the flags
/// announce them (MQTT 3.1.1 §3.1.3, 5.0 §3.1.3: client id, will properties (5.0), will topic,
/// will payload, user name, password).
fn connect_with(version: Version, flags: u8, client_id: &[u8]) -> Vec<u8> {
    let (name, level): (&[u8], u8) = match version {
        Version::V3_1 => (b"MQIsdp", 3),
        Version::V3_1_1 => (b"MQTT", 4),
        Version::V5 => (b"MQTT", 5),
    };
    let no_props: &[u8] = if version.is_v5() { &[0] } else { &[] };
    let mut body = cat(&[&s(name), &[level, flags, 0, 60], no_props, &s(client_id)]);
    if flags & 0x04 != 0 {
        body.extend(cat(&[no_props, &s(b"lwt"), &s(b"bye")]));
    }
    if flags & 0x80 != 0 {
        body.extend(s(b"user"));
    }
    if flags & 0x40 != 0 {
        body.extend(s(b"pw"));
    }
    packet(0x10, &body)
}

#[test]
fn connect_flags_announce_the_will_user_name_and_password() {
    // MQTT 3.1.1 / 5.0 §3.1.2.3: bit 7 user name, 6 password, 5 will retain, 4-3 will QoS,
    // 2 will flag, 1 clean session / clean start.
    for (flags, will, user, password) in [
        (0x02, None, false, false),
        (0x06, Some((0, false)), false, false),
        (0x0e, Some((1, false)), false, false),
        (0x16, Some((2, false)), false, false),
        (0x26, Some((0, true)), false, false),
        (0x36, Some((2, true)), false, false),
        (0x82, None, true, false),
        (0xc2, None, true, true),
        (0xe6, Some((0, true)), true, true),
    ] {
        for version in [Version::V3_1_1, Version::V5] {
            let bytes = connect_with(version, flags, b"c");
            let p = parse_packet(&bytes, version);
            assert!(p.violations.is_empty(), "{flags:#04x}: {:?}", p.violations);
            let Body::Connect(c) = p.body else {
                panic!("not a CONNECT")
            };
            let decoded = c.will.as_ref().map(|w| (w.qos, w.retain));
            assert_eq!(decoded, will, "{flags:#04x} {version:?}");
            if let Some(w) = &c.will {
                assert_eq!((w.topic, w.payload), (Some(&b"lwt"[..]), Some(&b"bye"[..])));
            }
            assert_eq!(c.username, user.then_some(&b"user"[..]), "{flags:#04x}");
            assert_eq!(c.password, password.then_some(&b"pw"[..]), "{flags:#04x}");
        }
    }
}

#[test]
fn connect_flag_and_client_identifier_rules_by_version() {
    const WILL_FLAG: &str = "will QoS or will retain set without the will flag";
    const NO_USER: &str = "password flag without user name flag (MQTT 3.1.1 §3.1.2.9)";
    const EMPTY_ID: &str = "empty client identifier without clean session";
    let id_24 = [b'i'; 24];
    let id_23 = [b'i'; 23];
    for (version, flags, client_id, expected) in [
        // MQTT 3.1.1 / 5.0 §3.1.2.6-7: will QoS and will retain are 0 without the will flag.
        (Version::V3_1_1, 0x22, &b"c"[..], Some(WILL_FLAG)),
        (Version::V5, 0x12, b"c", Some(WILL_FLAG)),
        (Version::V3_1_1, 0x26, b"c", None),
        // §3.1.2.6: will QoS 3 is malformed.
        (Version::V3_1_1, 0x1e, b"c", Some("will QoS 3")),
        // MQTT 3.1.1 §3.1.2.9: no password without a user name; 5.0 §3.1.2.9 allows it.
        (Version::V3_1_1, 0x42, b"c", Some(NO_USER)),
        (Version::V5, 0x42, b"c", None),
        // MQTT 3.1.1 §3.1.3.1: an empty client id needs clean session; 5.0 §3.1.3.1 has no
        // such rule (the server may assign one).
        (Version::V3_1_1, 0x00, b"", Some(EMPTY_ID)),
        (Version::V3_1_1, 0x02, b"", None),
        (Version::V3_1_1, 0x00, b"c", None),
        (Version::V5, 0x00, b"", None),
        // MQTT 3.1 §3.1: client identifiers of 1 to 23 characters; 3.1.1 and 5.0 allow longer.
        (
            Version::V3_1,
            0x02,
            b"",
            Some("client identifier of 0 bytes"),
        ),
        (Version::V3_1, 0x02, &id_23, None),
        (
            Version::V3_1,
            0x02,
            &id_24,
            Some("client identifier of 24 bytes"),
        ),
        (Version::V3_1_1, 0x02, &id_24, None),
        (Version::V5, 0x02, &id_24, None),
    ] {
        let found = violations(&connect_with(version, flags, client_id), version);
        match expected {
            None => assert!(found.is_empty(), "{version:?} {flags:#04x}: {found:?}"),
            Some(needle) => {
                assert_eq!(found.len(), 1, "{version:?} {flags:#04x}: {found:?}");
                assert!(found[0].starts_with(needle), "{found:?}");
            }
        }
    }
}

#[test]
fn connack_flag_rules() {
    const RESERVED: &str = "reserved connect acknowledge flag bits are set";
    const PRESENT: &str = "session present with a refusal code";
    for (version, bytes, session_present, expected) in [
        // MQTT 3.1.1 / 5.0 §3.2.2.1: bits 7-1 of the acknowledge flags are reserved.
        (
            Version::V3_1_1,
            vec![0x20, 2, 0x02, 0],
            false,
            Some(RESERVED),
        ),
        (
            Version::V3_1_1,
            vec![0x20, 2, 0x81, 0],
            true,
            Some(RESERVED),
        ),
        (Version::V3_1_1, vec![0x20, 2, 0x01, 0], true, None),
        // MQTT 3.1.1 §3.2.2.2 / 5.0 §3.2.2.1.1: Session Present is 0 with a refusal.
        (Version::V3_1_1, vec![0x20, 2, 0x01, 5], true, Some(PRESENT)),
        (Version::V3_1_1, vec![0x20, 2, 0x00, 5], false, None),
        (
            Version::V5,
            vec![0x20, 3, 0x01, 0x80, 0],
            true,
            Some(PRESENT),
        ),
        (Version::V5, vec![0x20, 3, 0x01, 0x00, 0], true, None),
        (Version::V5, vec![0x20, 3, 0x00, 0x87, 0], false, None),
    ] {
        let p = parse_packet(&bytes, version);
        let Body::Connack(c) = &p.body else {
            panic!("not a CONNACK")
        };
        assert_eq!(c.session_present(), session_present, "{bytes:?}");
        let found = violations(&bytes, version);
        match expected {
            None => assert!(found.is_empty(), "{bytes:?}: {found:?}"),
            Some(needle) => {
                assert_eq!(found.len(), 1, "{bytes:?}: {found:?}");
                assert!(found[0].starts_with(needle), "{found:?}");
            }
        }
    }
}
