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
