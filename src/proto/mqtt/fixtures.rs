//! Hand-made packets for the tests: one or more per packet type and version, built from their
//! fields so each byte's meaning is visible. Test-only.

use super::parser::Version;

/// Encodes a variable byte integer (MQTT 5.0 §1.5.5).
pub(crate) fn varint(mut value: usize) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let mut byte = (value % 128) as u8;
        value /= 128;
        if value > 0 {
            byte |= 0x80;
        }
        out.push(byte);
        if value == 0 {
            return out;
        }
    }
}

/// A packet from its first byte and body: the remaining length is computed.
pub(crate) fn packet(first: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![first];
    out.extend(varint(body.len()));
    out.extend_from_slice(body);
    out
}

/// A two-byte-length-prefixed string.
pub(crate) fn s(text: &[u8]) -> Vec<u8> {
    let mut out = (text.len() as u16).to_be_bytes().to_vec();
    out.extend_from_slice(text);
    out
}

/// A property list: length then the given bytes.
pub(crate) fn props(list: &[u8]) -> Vec<u8> {
    let mut out = varint(list.len());
    out.extend_from_slice(list);
    out
}

pub(crate) fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

pub(crate) struct Fixture {
    pub name: &'static str,
    pub version: Version,
    pub bytes: Vec<u8>,
    /// tshark's type name.
    pub type_name: &'static str,
}

fn fx(name: &'static str, version: Version, type_name: &'static str, bytes: Vec<u8>) -> Fixture {
    Fixture {
        name,
        version,
        bytes,
        type_name,
    }
}

/// CONNECT 3.1.1: clean session, user name and password, keep-alive 60, client id "dev-42".
pub(crate) fn connect_311() -> Vec<u8> {
    packet(
        0x10,
        &cat(&[
            &s(b"MQTT"),
            &[4, 0xc2, 0, 60],
            &s(b"dev-42"),
            &s(b"user"),
            &s(b"secret"),
        ]),
    )
}

/// CONNECT 3.1 ("MQIsdp", level 3), clean session, client id "paho/1".
pub(crate) fn connect_31() -> Vec<u8> {
    packet(
        0x10,
        &cat(&[&s(b"MQIsdp"), &[3, 0x02, 0, 30], &s(b"paho/1")]),
    )
}

/// CONNECT 5.0 with session expiry, a QoS 1 retained will with a payload format property.
pub(crate) fn connect_5() -> Vec<u8> {
    packet(
        0x10,
        &cat(&[
            &s(b"MQTT"),
            &[5, 0x2e, 0, 60],
            &props(&[0x11, 0, 0, 0, 60]),
            &s(b"c5"),
            &props(&[0x01, 1]),
            &s(b"lwt"),
            &s(b"bye"),
        ]),
    )
}

pub(crate) fn all() -> Vec<Fixture> {
    use Version::*;
    vec![
        fx("connect 3.1.1", V3_1_1, "CONNECT", connect_311()),
        fx("connect 3.1", V3_1, "CONNECT", connect_31()),
        fx("connect 5", V5, "CONNECT", connect_5()),
        fx("connack 3.1.1", V3_1_1, "CONNACK", vec![0x20, 2, 0, 0]),
        fx(
            "connack refused 3.1.1",
            V3_1_1,
            "CONNACK",
            vec![0x20, 2, 0, 5],
        ),
        fx("connack 5", V5, "CONNACK", vec![0x20, 3, 0, 0, 0]),
        fx(
            "connack 5 with properties",
            V5,
            "CONNACK",
            packet(
                0x20,
                &cat(&[
                    &[0, 0x87],
                    &props(&cat(&[&[0x1f], &s(b"no"), &[0x21, 0, 10]])),
                ]),
            ),
        ),
        fx(
            "publish qos0",
            V3_1_1,
            "PUBLISH",
            packet(0x30, &cat(&[&s(b"a/b"), b"hi"])),
        ),
        fx(
            "publish qos1 retain",
            V3_1_1,
            "PUBLISH",
            packet(0x33, &cat(&[&s(b"a/b"), &[0, 1], b"hello"])),
        ),
        fx(
            "publish qos2 dup",
            V3_1_1,
            "PUBLISH",
            packet(0x3c, &cat(&[&s(b"a/b"), &[0, 2]])),
        ),
        fx(
            "publish 5 with properties",
            V5,
            "PUBLISH",
            packet(
                0x32,
                &cat(&[
                    &s(b"t"),
                    &[0, 7],
                    &props(&cat(&[
                        &[0x23, 0, 5, 0x26],
                        &s(b"k"),
                        &s(b"v"),
                        &[0x0b, 0x81, 0x01],
                    ])),
                    b"payload",
                ]),
            ),
        ),
        fx("puback", V3_1_1, "PUBACK", vec![0x40, 2, 0, 1]),
        fx("puback 5 reason", V5, "PUBACK", vec![0x40, 3, 0, 1, 0x10]),
        fx(
            "puback 5 properties",
            V5,
            "PUBACK",
            packet(
                0x40,
                &cat(&[&[0, 1, 0x97], &props(&cat(&[&[0x1f], &s(b"quota")]))]),
            ),
        ),
        fx("pubrec", V3_1_1, "PUBREC", vec![0x50, 2, 0, 2]),
        fx("pubrel", V3_1_1, "PUBREL", vec![0x62, 2, 0, 2]),
        fx("pubcomp", V3_1_1, "PUBCOMP", vec![0x70, 2, 0, 2]),
        fx("pubrec 5", V5, "PUBREC", vec![0x50, 4, 0, 2, 0, 0]),
        fx("pubrel 5", V5, "PUBREL", vec![0x62, 3, 0, 2, 0x92]),
        fx("pubcomp 5", V5, "PUBCOMP", vec![0x70, 2, 0, 2]),
        fx(
            "subscribe",
            V3_1_1,
            "SUBSCRIBE",
            packet(0x82, &cat(&[&[0, 3], &s(b"a/#"), &[1], &s(b"b/+"), &[2]])),
        ),
        fx(
            "subscribe 5",
            V5,
            "SUBSCRIBE",
            packet(
                0x82,
                &cat(&[&[0, 3], &props(&[0x0b, 1]), &s(b"a/#"), &[0x2d]]),
            ),
        ),
        fx("suback", V3_1_1, "SUBACK", vec![0x90, 4, 0, 3, 1, 0x80]),
        fx("suback 5", V5, "SUBACK", vec![0x90, 4, 0, 3, 0, 0x87]),
        fx(
            "unsubscribe",
            V3_1_1,
            "UNSUBSCRIBE",
            packet(0xa2, &cat(&[&[0, 4], &s(b"a/#")])),
        ),
        fx(
            "unsubscribe 5",
            V5,
            "UNSUBSCRIBE",
            packet(0xa2, &cat(&[&[0, 4], &[0], &s(b"a/#")])),
        ),
        fx("unsuback", V3_1_1, "UNSUBACK", vec![0xb0, 2, 0, 4]),
        fx("unsuback 5", V5, "UNSUBACK", vec![0xb0, 4, 0, 4, 0, 0x11]),
        fx("pingreq", V3_1_1, "PINGREQ", vec![0xc0, 0]),
        fx("pingresp", V3_1_1, "PINGRESP", vec![0xd0, 0]),
        fx("disconnect", V3_1_1, "DISCONNECT", vec![0xe0, 0]),
        fx("disconnect 5 empty", V5, "DISCONNECT", vec![0xe0, 0]),
        fx("disconnect 5 reason", V5, "DISCONNECT", vec![0xe0, 1, 0x8e]),
        fx(
            "disconnect 5 properties",
            V5,
            "DISCONNECT",
            packet(0xe0, &cat(&[&[0x9c], &props(&cat(&[&[0x1c], &s(b"b2")]))])),
        ),
        fx(
            "auth 5",
            V5,
            "AUTH",
            packet(
                0xf0,
                &cat(&[&[0x18], &props(&cat(&[&[0x15], &s(b"SCRAM-SHA-1")]))]),
            ),
        ),
    ]
}
