//! Tests of the spec's tables: MQTT 5.0 properties (§2.2.2: every identifier's name and
//! encoding, where each may appear, repetition, forbidden values, UTF-8 checks and the property
//! length) and return / reason codes (3.1.1 §3.2.2.3, §3.9.3; 5.0 §2.4).

use super::fixtures::{props, s, varint};
use super::parser::{PacketType, Reader, Version, Violation};
use super::properties::*;
use super::reason::*;

/// Reads a property list (length included) whose declared body leaves `available` bytes.
/// `None` when cut; the bool tells whether the cut is beyond the declared length.
fn read(bytes: &[u8], available: usize) -> (Result<Properties<'_>, bool>, Vec<String>) {
    let mut violations = Vec::new();
    let mut r = Reader::new(bytes);
    let read = match read_properties(&mut r, available, &mut violations) {
        PropertiesRead::Done(p) => {
            assert_eq!(r.position(), bytes.len(), "reader left past the list");
            Ok(p)
        }
        PropertiesRead::Cut { declared_beyond } => Err(declared_beyond),
    };
    (read, violations.iter().map(Violation::to_string).collect())
}

/// Decodes a list (without its length) and checks it for `place`: the violations.
fn placed(list: &[u8], place: Place) -> Vec<String> {
    let bytes = props(list);
    let (read, mut found) = read(&bytes, bytes.len());
    let p = read.unwrap_or_else(|cut| panic!("{list:?} cut ({cut})"));
    let mut violations = Vec::new();
    check_placement(&p, place, &mut violations);
    found.extend(violations.iter().map(Violation::to_string));
    found
}

fn user_property() -> Vec<u8> {
    [&[0x26][..], &s(b"k"), &s(b"v")].concat()
}

#[test]
fn every_property_identifier_has_its_name_and_encoding() {
    // MQTT 5.0 §2.2.2.2, table 2-4: identifier, name and value type of every property.
    use PropertyValue::*;
    let table: [(u32, &str, Vec<u8>, PropertyValue<'static>); 27] = [
        (0x01, "payload_format_indicator", vec![1], Byte(1)),
        (
            0x02,
            "message_expiry_interval",
            vec![0, 0, 1, 0x2c],
            FourByte(300),
        ),
        (0x03, "content_type", s(b"text/plain"), Utf8(b"text/plain")),
        (0x08, "response_topic", s(b"r/t"), Utf8(b"r/t")),
        (
            0x09,
            "correlation_data",
            s(b"\x00\xff"),
            Binary(b"\x00\xff"),
        ),
        (
            0x0b,
            "subscription_identifier",
            vec![0x80, 0x01],
            VarInt(128),
        ),
        (
            0x11,
            "session_expiry_interval",
            vec![0, 0, 0x0e, 0x10],
            FourByte(3600),
        ),
        (
            0x12,
            "assigned_client_identifier",
            s(b"auto-1"),
            Utf8(b"auto-1"),
        ),
        (0x13, "server_keep_alive", vec![0, 30], TwoByte(30)),
        (
            0x15,
            "authentication_method",
            s(b"SCRAM-SHA-1"),
            Utf8(b"SCRAM-SHA-1"),
        ),
        (
            0x16,
            "authentication_data",
            s(b"\x01\x02"),
            Binary(b"\x01\x02"),
        ),
        (0x17, "request_problem_information", vec![0], Byte(0)),
        (0x18, "will_delay_interval", vec![0, 0, 0, 5], FourByte(5)),
        (0x19, "request_response_information", vec![1], Byte(1)),
        (0x1a, "response_information", s(b"resp"), Utf8(b"resp")),
        (
            0x1c,
            "server_reference",
            s(b"other:1883"),
            Utf8(b"other:1883"),
        ),
        (0x1f, "reason_string", s(b"why"), Utf8(b"why")),
        (0x21, "receive_maximum", vec![0, 10], TwoByte(10)),
        (0x22, "topic_alias_maximum", vec![0, 5], TwoByte(5)),
        (0x23, "topic_alias", vec![0, 1], TwoByte(1)),
        (0x24, "maximum_qos", vec![1], Byte(1)),
        (0x25, "retain_available", vec![0], Byte(0)),
        (
            0x26,
            "user_property",
            [s(b"a"), s(b"b")].concat(),
            Pair(b"a", b"b"),
        ),
        (
            0x27,
            "maximum_packet_size",
            vec![0, 0, 0x10, 0],
            FourByte(4096),
        ),
        (0x28, "wildcard_subscription_available", vec![1], Byte(1)),
        (0x29, "subscription_identifier_available", vec![1], Byte(1)),
        (0x2a, "shared_subscription_available", vec![0], Byte(0)),
    ];
    for (id, name, encoded, value) in table {
        assert_eq!(property_name(id), Some(name), "{id:#04x}");
        // A user property after the value shows the value took exactly its own bytes.
        let list = [&varint(id as usize)[..], &encoded, &user_property()].concat();
        let bytes = props(&list);
        let (read, found) = read(&bytes, bytes.len());
        assert!(found.is_empty(), "{name}: {found:?}");
        let p = read.unwrap_or_else(|cut| panic!("{name} cut ({cut})"));
        assert_eq!(p.len as usize, list.len(), "{name}");
        assert_eq!(
            p.items,
            [
                Property { id, value },
                Property {
                    id: 0x26,
                    value: Pair(b"k", b"v")
                }
            ],
            "{name}"
        );
        assert!(p.undecoded.is_empty(), "{name}");
        assert_eq!(p.get(id), Some(&value), "{name}");
    }
}

#[test]
fn an_unknown_identifier_stops_decoding_and_keeps_the_rest_raw() {
    // MQTT 5.0 §2.2.2.2: only the identifiers of table 2-4 exist; an unknown one has no known
    // length, so the rest of the list cannot be decoded.
    for id in [0x00u8, 0x04, 0x0a, 0x10, 0x14, 0x1b, 0x20, 0x2b, 0x7f] {
        assert_eq!(property_name(u32::from(id)), None, "{id:#04x}");
        let list = [&[0x24, 1, id, 1, 2][..], &user_property()].concat();
        let bytes = props(&list);
        let (read, found) = read(&bytes, bytes.len());
        assert_eq!(
            found,
            [format!(
                "unknown property identifier 0x{id:02x} (MQTT 5.0 §2.2.2.2)"
            )]
        );
        let p = read.expect("decoded up to the unknown identifier");
        assert_eq!(
            p.items,
            [Property {
                id: 0x24,
                value: PropertyValue::Byte(1)
            }]
        );
        assert_eq!(p.undecoded, &list[2..]);
        assert_eq!(p.get(0x26), None);
    }
}

/// Every packet type with properties in 5.0, then the will (MQTT 5.0 §3).
fn places() -> Vec<Place> {
    use PacketType::*;
    let mut places: Vec<Place> = [
        Connect,
        Connack,
        Publish,
        Puback,
        Pubrec,
        Pubrel,
        Pubcomp,
        Subscribe,
        Suback,
        Unsubscribe,
        Unsuback,
        Disconnect,
        Auth,
    ]
    .into_iter()
    .map(Place::Packet)
    .collect();
    places.push(Place::Will);
    places
}

#[test]
fn each_property_is_allowed_only_where_table_2_4_lists_it() {
    // MQTT 5.0 §2.2.2.2, table 2-4 (and §3.1.3.2 for the will properties).
    use PacketType::*;
    use Place::{Packet as P, Will};
    const ACKS: [Place; 4] = [P(Puback), P(Pubrec), P(Pubrel), P(Pubcomp)];
    let publish_will = vec![P(Publish), Will];
    let connack = vec![P(Connack)];
    let table: Vec<(u32, Vec<Place>)> = vec![
        (0x01, publish_will.clone()),
        (0x02, publish_will.clone()),
        (0x03, publish_will.clone()),
        (0x08, publish_will.clone()),
        (0x09, publish_will),
        (0x0b, vec![P(Publish), P(Subscribe)]),
        (0x11, vec![P(Connect), P(Connack), P(Disconnect)]),
        (0x12, connack.clone()),
        (0x13, connack.clone()),
        (0x15, vec![P(Connect), P(Connack), P(Auth)]),
        (0x16, vec![P(Connect), P(Connack), P(Auth)]),
        (0x17, vec![P(Connect)]),
        (0x18, vec![Will]),
        (0x19, vec![P(Connect)]),
        (0x1a, connack.clone()),
        (0x1c, vec![P(Connack), P(Disconnect)]),
        (
            0x1f,
            [
                &[P(Connack)][..],
                &ACKS,
                &[P(Suback), P(Unsuback), P(Disconnect), P(Auth)],
            ]
            .concat(),
        ),
        (0x21, vec![P(Connect), P(Connack)]),
        (0x22, vec![P(Connect), P(Connack)]),
        (0x23, vec![P(Publish)]),
        (0x24, connack.clone()),
        (0x25, connack.clone()),
        (0x26, places()),
        (0x27, vec![P(Connect), P(Connack)]),
        (0x28, connack.clone()),
        (0x29, connack.clone()),
        (0x2a, connack),
        // Unknown identifiers are allowed nowhere.
        (0x00, vec![]),
        (0x2b, vec![]),
    ];
    for (id, allowed) in table {
        for place in places() {
            assert_eq!(
                property_allowed(id, place),
                allowed.contains(&place),
                "{id:#04x} in {place:?}"
            );
        }
    }
}

#[test]
fn a_property_out_of_place_is_named_with_its_place() {
    // MQTT 5.0 §2.2.2.2: a property in a packet table 2-4 does not list is a protocol error.
    assert_eq!(
        placed(&[0x18, 0, 0, 0, 5], Place::Packet(PacketType::Connect)),
        ["property will_delay_interval is not allowed in CONNECT (MQTT 5.0 §2.2.2.2)"]
    );
    assert_eq!(
        placed(&[0x23, 0, 1], Place::Will),
        ["property topic_alias is not allowed in will properties (MQTT 5.0 §2.2.2.2)"]
    );
    assert!(placed(&[0x18, 0, 0, 0, 5], Place::Will).is_empty());
}

#[test]
fn only_user_property_and_publish_subscription_identifiers_repeat() {
    // MQTT 5.0 §2.2.2.2: a property other than User Property appears at most once, except
    // Subscription Identifier in PUBLISH (§3.3.2.3.8: one per matching subscription); in
    // SUBSCRIBE it is a protocol error to include it more than once (§3.8.2.1.2).
    use PacketType::*;
    let twice = |a: &[u8], b: &[u8]| [a, b].concat();
    for (place, list, repeated) in [
        (Publish, twice(&[0x0b, 1], &[0x0b, 2]), None),
        (
            Subscribe,
            twice(&[0x0b, 1], &[0x0b, 2]),
            Some("subscription_identifier"),
        ),
        (Connack, twice(&user_property(), &user_property()), None),
        (Subscribe, twice(&user_property(), &user_property()), None),
        (
            Connect,
            twice(&[0x11, 0, 0, 0, 1], &[0x11, 0, 0, 0, 2]),
            Some("session_expiry_interval"),
        ),
        (Publish, twice(&[0x23, 0, 1], &[0x01, 1]), None),
        (
            Publish,
            [&[0x23, 0, 1][..], &[0x0b, 1], &[0x23, 0, 2]].concat(),
            Some("topic_alias"),
        ),
    ] {
        let found = placed(&list, Place::Packet(place));
        match repeated {
            None => assert!(found.is_empty(), "{place:?} {list:?}: {found:?}"),
            Some(name) => assert_eq!(
                found,
                [format!(
                    "property {name} appears more than once (MQTT 5.0 §2.2.2.2)"
                )],
                "{place:?} {list:?}"
            ),
        }
    }
    let wills = twice(&user_property(), &user_property());
    assert!(placed(&wills, Place::Will).is_empty());
}

#[test]
fn values_the_spec_forbids() {
    // MQTT 5.0: Request Problem / Response Information 0 or 1 (§3.1.2.11.6-7), Receive Maximum
    // and Maximum Packet Size not 0 (§3.1.2.11.3-4), Maximum QoS, Retain Available and the
    // three "available" flags 0 or 1 (§3.2.2.3.4-5, §3.2.2.3.11-13), Topic Alias not 0
    // (§3.3.2.3.4), Subscription Identifier 1 to 268,435,455 (§3.3.2.3.8, §3.8.2.1.2).
    use PacketType::*;
    let mut cases: Vec<(PacketType, Vec<u8>, bool)> = Vec::new();
    for (place, id) in [
        (Connect, 0x17),
        (Connect, 0x19),
        (Connack, 0x24),
        (Connack, 0x25),
        (Connack, 0x28),
        (Connack, 0x29),
        (Connack, 0x2a),
    ] {
        cases.extend([
            (place, vec![id, 0], false),
            (place, vec![id, 1], false),
            (place, vec![id, 2], true),
            (place, vec![id, 0xff], true),
        ]);
    }
    cases.extend([
        (Connect, vec![0x21, 0, 0], true),
        (Connect, vec![0x21, 0, 1], false),
        (Connack, vec![0x21, 0xff, 0xff], false),
        (Publish, vec![0x23, 0, 0], true),
        (Publish, vec![0x23, 0, 1], false),
        (Connect, vec![0x27, 0, 0, 0, 0], true),
        (Connect, vec![0x27, 0, 0, 0, 1], false),
        (Connack, vec![0x27, 0xff, 0xff, 0xff, 0xff], false),
        (Subscribe, vec![0x0b, 0], true),
        (Subscribe, vec![0x0b, 1], false),
        (Publish, vec![0x0b, 0xff, 0xff, 0xff, 0x7f], false),
        // The Topic Alias Maximum may be 0: no alias accepted (§3.1.2.11.5).
        (Connect, vec![0x22, 0, 0], false),
    ]);
    for (place, list, forbidden) in cases {
        let found = placed(&list, Place::Packet(place));
        if forbidden {
            let name = property_name(u32::from(list[0])).expect("known");
            assert_eq!(
                found,
                [format!(
                    "property {name} has a value the spec forbids \
                     (MQTT 5.0 §3.1.2.11, §3.2.2.3, §3.3.2.3)"
                )],
                "{list:?}"
            );
        } else {
            assert!(found.is_empty(), "{list:?}: {found:?}");
        }
    }
}

#[test]
fn utf8_properties_and_user_property_halves_are_checked() {
    // MQTT 5.0 §1.5.4: UTF-8 strings are well-formed and hold no U+0000; a user property is a
    // pair of such strings (§1.5.7); binary data (§1.5.6) is not text.
    for (list, expected) in [
        (
            [&[0x1f][..], &s(b"\xc3")].concat(),
            vec!["invalid UTF-8 in property reason_string"],
        ),
        (
            [&[0x03][..], &s(b"a\0")].concat(),
            vec!["U+0000 in a UTF-8 string in property content_type"],
        ),
        (
            [&[0x26][..], &s(b"\xff"), &s(b"v")].concat(),
            vec!["invalid UTF-8 in property user_property"],
        ),
        (
            [&[0x26][..], &s(b"k"), &s(b"v\0")].concat(),
            vec!["U+0000 in a UTF-8 string in property user_property"],
        ),
        (
            [&[0x26][..], &s(b"\0"), &s(b"\xc3")].concat(),
            vec![
                "U+0000 in a UTF-8 string in property user_property",
                "invalid UTF-8 in property user_property",
            ],
        ),
        ([&[0x09][..], &s(b"\xff\0")].concat(), vec![]),
        ([&[0x1f][..], &s("é".as_bytes())].concat(), vec![]),
    ] {
        let bytes = props(&list);
        let (read, found) = read(&bytes, bytes.len());
        assert!(read.is_ok(), "{list:?}");
        let expected: Vec<String> = expected
            .iter()
            .map(|what| format!("{what} (MQTT 5.0 §1.5.4)"))
            .collect();
        assert_eq!(found, expected, "{list:?}");
    }
}

#[test]
fn the_property_length_must_fit_the_declared_body() {
    // MQTT 5.0 §2.2.2.1: the property length is a variable byte integer (1 to 4 bytes,
    // §1.5.5) counting the properties after it; they must lie within the remaining length.
    for list_len in [3usize, 127, 128, 16_383, 16_384] {
        // One Correlation Data property filling the whole list.
        let data = vec![0x5a; list_len - 3];
        let list = [&[0x09][..], &s(&data)].concat();
        let bytes = props(&list);
        let len_bytes = bytes.len() - list_len;
        assert_eq!(len_bytes, varint(list_len).len());

        // Exactly what the declared body leaves.
        let (read_ok, found) = read(&bytes, bytes.len());
        assert!(found.is_empty(), "{list_len}: {found:?}");
        let p = read_ok.unwrap_or_else(|cut| panic!("{list_len} cut ({cut})"));
        assert_eq!(p.len as usize, list_len);
        assert_eq!(p.get(0x09), Some(&PropertyValue::Binary(&data)));

        // One byte more than the declared body leaves.
        let (read_beyond, found) = read(&bytes, bytes.len() - 1);
        assert!(matches!(read_beyond, Err(true)), "{list_len}");
        assert_eq!(
            found,
            [format!(
                "property length {list_len} goes beyond the packet (MQTT 5.0 §2.2.2.1)"
            )]
        );

        // Within the declared body but not all received yet (a partial packet).
        let cut = &bytes[..bytes.len() - 1];
        let (read_partial, found) = read(cut, bytes.len());
        assert!(matches!(read_partial, Err(false)), "{list_len}");
        assert!(found.is_empty(), "{list_len}: {found:?}");
    }
}

/// MQTT 5.0 §2.4, table 2-6: every assigned reason code (0x00 as `success`).
const REASON_CODES: [(u8, &str); 43] = [
    (0x00, "success"),
    (0x01, "granted_qos_1"),
    (0x02, "granted_qos_2"),
    (0x04, "disconnect_with_will_message"),
    (0x10, "no_matching_subscribers"),
    (0x11, "no_subscription_existed"),
    (0x18, "continue_authentication"),
    (0x19, "re_authenticate"),
    (0x80, "unspecified_error"),
    (0x81, "malformed_packet"),
    (0x82, "protocol_error"),
    (0x83, "implementation_specific_error"),
    (0x84, "unsupported_protocol_version"),
    (0x85, "client_identifier_not_valid"),
    (0x86, "bad_user_name_or_password"),
    (0x87, "not_authorized"),
    (0x88, "server_unavailable"),
    (0x89, "server_busy"),
    (0x8a, "banned"),
    (0x8b, "server_shutting_down"),
    (0x8c, "bad_authentication_method"),
    (0x8d, "keep_alive_timeout"),
    (0x8e, "session_taken_over"),
    (0x8f, "topic_filter_invalid"),
    (0x90, "topic_name_invalid"),
    (0x91, "packet_identifier_in_use"),
    (0x92, "packet_identifier_not_found"),
    (0x93, "receive_maximum_exceeded"),
    (0x94, "topic_alias_invalid"),
    (0x95, "packet_too_large"),
    (0x96, "message_rate_too_high"),
    (0x97, "quota_exceeded"),
    (0x98, "administrative_action"),
    (0x99, "payload_format_invalid"),
    (0x9a, "retain_not_supported"),
    (0x9b, "qos_not_supported"),
    (0x9c, "use_another_server"),
    (0x9d, "server_moved"),
    (0x9e, "shared_subscriptions_not_supported"),
    (0x9f, "connection_rate_exceeded"),
    (0xa0, "maximum_connect_time"),
    (0xa1, "subscription_identifiers_not_supported"),
    (0xa2, "wildcard_subscriptions_not_supported"),
];

fn reason_code_table_name(code: u8) -> Option<&'static str> {
    REASON_CODES
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, name)| *name)
}

#[test]
fn every_5_0_reason_code_has_its_table_name() {
    // MQTT 5.0 §2.4, table 2-6; every other value is unassigned.
    for code in 0..=u8::MAX {
        assert_eq!(
            reason_code_name(code),
            reason_code_table_name(code),
            "{code:#04x}"
        );
    }
    // The same code reads differently by packet type (table 2-6: 0x00 is Normal
    // disconnection in DISCONNECT and Granted QoS 0 in SUBACK).
    for (packet_type, code, name) in [
        (PacketType::Disconnect, 0x00, "normal_disconnection"),
        (PacketType::Suback, 0x00, "granted_qos_0"),
        (PacketType::Puback, 0x00, "success"),
        (PacketType::Unsuback, 0x00, "success"),
        (PacketType::Auth, 0x00, "success"),
        (PacketType::Disconnect, 0x04, "disconnect_with_will_message"),
        (PacketType::Suback, 0x01, "granted_qos_1"),
        (PacketType::Auth, 0x18, "continue_authentication"),
    ] {
        assert_eq!(
            reason_name_for(packet_type, code),
            Some(name),
            "{packet_type:?} {code:#04x}"
        );
    }
    assert_eq!(reason_name_for(PacketType::Disconnect, 0x03), None);
}

#[test]
fn connack_and_suback_codes_are_named_by_version() {
    // MQTT 3.1.1 §3.2.2.3 table 3.1 (CONNACK return codes 0-5) and §3.9.3 (SUBACK 0-2, 0x80);
    // MQTT 5.0 §3.2.2.2 (CONNACK: 0x00 and refusals from 0x80) and §3.9.3 (SUBACK).
    let v3_connack = [
        "success",
        "unacceptable_protocol_version",
        "identifier_rejected",
        "server_unavailable",
        "bad_user_name_or_password",
        "not_authorized",
    ];
    let v3_suback = [
        (0x00, "granted_qos_0"),
        (0x01, "granted_qos_1"),
        (0x02, "granted_qos_2"),
        (0x80, "failure"),
    ];
    for version in [Version::V3_1, Version::V3_1_1] {
        for code in 0..=u8::MAX {
            assert_eq!(
                connack_code_name(version, code),
                v3_connack.get(usize::from(code)).copied(),
                "{version:?} {code:#04x}"
            );
            let suback = v3_suback.iter().find(|(c, _)| *c == code).map(|(_, n)| *n);
            assert_eq!(
                suback_code_name(version, code),
                suback,
                "{version:?} {code:#04x}"
            );
        }
    }
    for code in 0..=u8::MAX {
        let connack = match code {
            0x00 => Some("success"),
            0x80..=0x9f => reason_code_table_name(code),
            _ => None,
        };
        assert_eq!(connack_code_name(Version::V5, code), connack, "{code:#04x}");
    }
    assert_eq!(
        connack_code_name(Version::V5, 0x85),
        Some("client_identifier_not_valid")
    );
    assert_eq!(suback_code_name(Version::V5, 0x00), Some("granted_qos_0"));
    assert_eq!(
        suback_code_name(Version::V5, 0x9e),
        Some("shared_subscriptions_not_supported")
    );
    assert_eq!(suback_code_name(Version::V5, 0x03), None);
}

#[test]
fn connack_refusal_is_non_zero_in_3_and_from_0x80_in_5() {
    // MQTT 3.1.1 §3.2.2.3: any non-zero return code refuses; MQTT 5.0 §2.4: reason codes
    // from 0x80 are failures.
    for (version, code, refused) in [
        (Version::V3_1_1, 0, false),
        (Version::V3_1_1, 1, true),
        (Version::V3_1, 5, true),
        (Version::V5, 0x00, false),
        (Version::V5, 0x7f, false),
        (Version::V5, 0x80, true),
        (Version::V5, 0x9f, true),
    ] {
        assert_eq!(
            connack_refused(version, code),
            refused,
            "{version:?} {code:#04x}"
        );
    }
}

#[test]
fn code_labels_name_or_show_the_code() {
    assert_eq!(code_label(Some("server_busy"), 0x89), "server_busy");
    assert_eq!(code_label(None, 0x03), "unknown(0x03)");
}

#[test]
fn each_packet_type_allows_the_codes_of_its_table() {
    use PacketType::*;
    let connack_5: Vec<u8> = [0x00u8]
        .into_iter()
        .chain(0x80..=0x8a)
        .chain([0x8c, 0x90, 0x95, 0x97, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9f])
        .collect();
    let disconnect_5: Vec<u8> = [0x00u8, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8b]
        .into_iter()
        .chain(0x8d..=0x90)
        .chain(0x93..=0xa2)
        .collect();
    let table: Vec<(Version, PacketType, Vec<u8>)> = vec![
        // MQTT 3.1.1 §3.2.2.3 and §3.9.3 (3.1 shares them); no other 3.x packet has codes.
        (Version::V3_1_1, Connack, (0..=5).collect()),
        (Version::V3_1, Connack, (0..=5).collect()),
        (Version::V3_1_1, Suback, vec![0x00, 0x01, 0x02, 0x80]),
        (Version::V3_1_1, Puback, vec![]),
        (Version::V3_1_1, Unsuback, vec![]),
        (Version::V3_1_1, Disconnect, vec![]),
        // MQTT 5.0 §3.2.2.2.
        (Version::V5, Connack, connack_5),
        // MQTT 5.0 §3.4.2.1, §3.5.2.1.
        (
            Version::V5,
            Puback,
            vec![0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99],
        ),
        (
            Version::V5,
            Pubrec,
            vec![0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99],
        ),
        // MQTT 5.0 §3.6.2.1, §3.7.2.1.
        (Version::V5, Pubrel, vec![0x00, 0x92]),
        (Version::V5, Pubcomp, vec![0x00, 0x92]),
        // MQTT 5.0 §3.9.3.
        (
            Version::V5,
            Suback,
            vec![
                0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8f, 0x91, 0x97, 0x9e, 0xa1, 0xa2,
            ],
        ),
        // MQTT 5.0 §3.11.3.
        (
            Version::V5,
            Unsuback,
            vec![0x00, 0x11, 0x80, 0x83, 0x87, 0x8f, 0x91],
        ),
        // MQTT 5.0 §3.14.2.1.
        (Version::V5, Disconnect, disconnect_5),
        // MQTT 5.0 §3.15.2.1.
        (Version::V5, Auth, vec![0x00, 0x18, 0x19]),
        // Types without a reason code.
        (Version::V5, Connect, vec![]),
        (Version::V5, Publish, vec![]),
        (Version::V5, Subscribe, vec![]),
        (Version::V5, Pingreq, vec![]),
    ];
    for (version, packet_type, allowed) in table {
        for code in 0..=u8::MAX {
            assert_eq!(
                code_allowed(version, packet_type, code),
                allowed.contains(&code),
                "{version:?} {packet_type:?} {code:#04x}"
            );
        }
    }
}
