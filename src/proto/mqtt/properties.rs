//! MQTT 5.0 properties (§2.2.2): a variable-byte-integer length, then identifier/value pairs.
//!
//! Every identifier of §2.2.2.2 is decoded to a borrowed value. An unknown identifier has no
//! known length, so decoding stops there: the rest is kept raw and a violation recorded. No
//! function here panics; values borrow the input.

use super::parser::{PacketType, Reader, Violation, utf8_problem};

/// How a property value is encoded (MQTT 5.0 §2.2.2.2, table 2-4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Byte,
    TwoByte,
    FourByte,
    VarInt,
    Utf8,
    Binary,
    Pair,
}

fn kind_of(id: u32) -> Option<Kind> {
    use Kind::*;
    Some(match id {
        0x01 | 0x17 | 0x19 | 0x24 | 0x25 | 0x28 | 0x29 | 0x2a => Byte,
        0x13 | 0x21 | 0x22 | 0x23 => TwoByte,
        0x02 | 0x11 | 0x18 | 0x27 => FourByte,
        0x0b => VarInt,
        0x03 | 0x08 | 0x12 | 0x15 | 0x1a | 0x1c | 0x1f => Utf8,
        0x09 | 0x16 => Binary,
        0x26 => Pair,
        _ => return None,
    })
}

/// The spec's name of a property identifier, in snake_case (MQTT 5.0 §2.2.2.2).
pub(crate) fn property_name(id: u32) -> Option<&'static str> {
    Some(match id {
        0x01 => "payload_format_indicator",
        0x02 => "message_expiry_interval",
        0x03 => "content_type",
        0x08 => "response_topic",
        0x09 => "correlation_data",
        0x0b => "subscription_identifier",
        0x11 => "session_expiry_interval",
        0x12 => "assigned_client_identifier",
        0x13 => "server_keep_alive",
        0x15 => "authentication_method",
        0x16 => "authentication_data",
        0x17 => "request_problem_information",
        0x18 => "will_delay_interval",
        0x19 => "request_response_information",
        0x1a => "response_information",
        0x1c => "server_reference",
        0x1f => "reason_string",
        0x21 => "receive_maximum",
        0x22 => "topic_alias_maximum",
        0x23 => "topic_alias",
        0x24 => "maximum_qos",
        0x25 => "retain_available",
        0x26 => "user_property",
        0x27 => "maximum_packet_size",
        0x28 => "wildcard_subscription_available",
        0x29 => "subscription_identifier_available",
        0x2a => "shared_subscription_available",
        _ => return None,
    })
}

/// One property value, borrowed from the packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PropertyValue<'a> {
    Byte(u8),
    TwoByte(u16),
    FourByte(u32),
    VarInt(u32),
    /// UTF-8 encoded string as sent (checked, not converted).
    Utf8(&'a [u8]),
    Binary(&'a [u8]),
    /// User property: name and value.
    Pair(&'a [u8], &'a [u8]),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Property<'a> {
    pub id: u32,
    pub value: PropertyValue<'a>,
}

/// A decoded property list.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Properties<'a> {
    /// Declared property length.
    pub len: u32,
    pub items: Vec<Property<'a>>,
    /// Bytes after an unknown identifier or a cut value, kept undecoded.
    pub undecoded: &'a [u8],
}

impl<'a> Properties<'a> {
    /// The first value of property `id`, if present.
    pub(crate) fn get(&self, id: u32) -> Option<&PropertyValue<'a>> {
        self.items.iter().find(|p| p.id == id).map(|p| &p.value)
    }
}

/// What reading a property list from a body gave.
pub(crate) enum PropertiesRead<'a> {
    /// Decoded (possibly with violations); the reader is past the list.
    Done(Properties<'a>),
    /// The length or list goes past the bytes there are. `declared_beyond` is true when the
    /// length exceeds the *declared* body (a violation), false when the input is only partial.
    Cut { declared_beyond: bool },
}

const SECTION_LEN: &str = "MQTT 5.0 §2.2.2.1";
const SECTION_IDS: &str = "MQTT 5.0 §2.2.2.2";

/// Reads a property list at the reader's position. `available_in_declared` is how many bytes
/// the declared remaining length leaves from here (may exceed what the reader holds).
pub(crate) fn read_properties<'a>(
    reader: &mut Reader<'a>,
    available_in_declared: usize,
    violations: &mut Vec<Violation>,
) -> PropertiesRead<'a> {
    let len = match reader.varint() {
        Ok(Some(len)) => len,
        // The length itself is cut: by the input (partial) or by the declared body; the
        // caller tells which and reports the latter as a short body.
        Ok(None) => {
            return PropertiesRead::Cut {
                declared_beyond: false,
            };
        }
        Err(why) => {
            violations.push(Violation::new(
                format!("property length: {why}"),
                SECTION_LEN,
            ));
            return PropertiesRead::Cut {
                declared_beyond: true,
            };
        }
    };
    let len_bytes = varint_len(len);
    let list_len = len as usize;
    if list_len > available_in_declared.saturating_sub(len_bytes) {
        violations.push(Violation::new(
            format!("property length {len} goes beyond the packet"),
            SECTION_LEN,
        ));
        return PropertiesRead::Cut {
            declared_beyond: true,
        };
    }
    let Some(list) = reader.bytes(list_len) else {
        return PropertiesRead::Cut {
            declared_beyond: false,
        };
    };
    PropertiesRead::Done(decode_list(len, list, violations))
}

fn varint_len(value: u32) -> usize {
    match value {
        0..=127 => 1,
        128..=16_383 => 2,
        16_384..=2_097_151 => 3,
        _ => 4,
    }
}

fn decode_list<'a>(len: u32, list: &'a [u8], violations: &mut Vec<Violation>) -> Properties<'a> {
    let mut props = Properties {
        len,
        items: Vec::new(),
        undecoded: &[],
    };
    let mut r = Reader::new(list);
    while r.remaining() > 0 {
        let save = r.clone();
        let id = match r.varint() {
            Ok(Some(id)) => id,
            _ => {
                violations.push(Violation::new("malformed property identifier", SECTION_IDS));
                props.undecoded = save.clone().rest();
                break;
            }
        };
        let Some(kind) = kind_of(id) else {
            violations.push(Violation::new(
                format!("unknown property identifier 0x{id:02x}"),
                SECTION_IDS,
            ));
            props.undecoded = save.clone().rest();
            break;
        };
        let value = match kind {
            Kind::Byte => r.u8().map(PropertyValue::Byte),
            Kind::TwoByte => r.u16().map(PropertyValue::TwoByte),
            Kind::FourByte => r.u32().map(PropertyValue::FourByte),
            Kind::VarInt => r.varint().ok().flatten().map(PropertyValue::VarInt),
            Kind::Utf8 => r.prefixed().map(PropertyValue::Utf8),
            Kind::Binary => r.prefixed().map(PropertyValue::Binary),
            Kind::Pair => r
                .prefixed()
                .and_then(|k| r.prefixed().map(|v| PropertyValue::Pair(k, v))),
        };
        let Some(value) = value else {
            violations.push(Violation::new(
                format!(
                    "property {} value goes beyond the property length",
                    property_name(id).unwrap_or("?")
                ),
                SECTION_LEN,
            ));
            props.undecoded = save.clone().rest();
            break;
        };
        check_utf8(id, &value, violations);
        props.items.push(Property { id, value });
    }
    props
}

fn check_utf8(id: u32, value: &PropertyValue<'_>, violations: &mut Vec<Violation>) {
    let texts: [Option<&[u8]>; 2] = match value {
        PropertyValue::Utf8(s) => [Some(s), None],
        PropertyValue::Pair(k, v) => [Some(k), Some(v)],
        _ => [None, None],
    };
    for text in texts.into_iter().flatten() {
        if let Some(problem) = utf8_problem(text) {
            violations.push(Violation::new(
                format!("{problem} in property {}", property_name(id).unwrap_or("?")),
                "MQTT 5.0 §1.5.4",
            ));
        }
    }
}

/// Where a property list sits: in a packet's variable header, or in CONNECT's will.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place {
    Packet(PacketType),
    Will,
}

/// Whether a property may appear in a place (MQTT 5.0 §2.2.2.2, table 2-4).
pub(crate) fn property_allowed(id: u32, place: Place) -> bool {
    use PacketType::*;
    let Place::Packet(t) = place else {
        return matches!(id, 0x01 | 0x02 | 0x03 | 0x08 | 0x09 | 0x18 | 0x26);
    };
    match id {
        0x01 | 0x02 | 0x03 | 0x08 | 0x09 | 0x23 => t == Publish,
        0x0b => matches!(t, Publish | Subscribe),
        0x11 => matches!(t, Connect | Connack | Disconnect),
        0x12 | 0x13 | 0x1a | 0x24 | 0x25 | 0x28 | 0x29 | 0x2a => t == Connack,
        0x15 | 0x16 => matches!(t, Connect | Connack | Auth),
        0x17 | 0x19 => t == Connect,
        0x1c => matches!(t, Connack | Disconnect),
        0x1f => matches!(
            t,
            Connack | Puback | Pubrec | Pubrel | Pubcomp | Suback | Unsuback | Disconnect | Auth
        ),
        0x21 | 0x22 | 0x27 => matches!(t, Connect | Connack),
        0x26 => true,
        _ => false,
    }
}

/// Properties out of place, and repeated ones: only User Property may repeat, and
/// Subscription Identifier in PUBLISH (MQTT 5.0 §2.2.2.2, §3.3.2.3.8).
pub(crate) fn check_placement(
    props: &Properties<'_>,
    place: Place,
    violations: &mut Vec<Violation>,
) {
    check_values(props, violations);
    let where_ = match place {
        Place::Packet(t) => t.name(super::parser::Version::V5),
        Place::Will => "will properties",
    };
    for (i, item) in props.items.iter().enumerate() {
        let name = property_name(item.id).unwrap_or("?");
        if !property_allowed(item.id, place) {
            violations.push(Violation::new(
                format!("property {name} is not allowed in {where_}"),
                SECTION_IDS,
            ));
        }
        let may_repeat =
            item.id == 0x26 || (item.id == 0x0b && place == Place::Packet(PacketType::Publish));
        let repeated = props
            .items
            .get(..i)
            .is_some_and(|before| before.iter().any(|p| p.id == item.id));
        if repeated && !may_repeat {
            violations.push(Violation::new(
                format!("property {name} appears more than once"),
                SECTION_IDS,
            ));
        }
    }
}

/// Values the spec calls a protocol error (MQTT 5.0 §3.1.2.11, §3.2.2.3, §3.3.2.3).
fn check_values(props: &Properties<'_>, violations: &mut Vec<Violation>) {
    for item in &props.items {
        let bad = match (item.id, item.value) {
            // Request problem / response information, maximum QoS and the "available" flags
            // are 0 or 1 (§3.1.2.11.6-7, §3.2.2.3.4-5, §3.2.2.3.11-13). The payload format
            // indicator has no such rule (mosquitto accepts 144 in the corpus).
            (0x17 | 0x19 | 0x24 | 0x25 | 0x28 | 0x29 | 0x2a, PropertyValue::Byte(v)) => v > 1,
            // Topic alias, receive maximum and maximum packet size of 0.
            (0x23 | 0x21, PropertyValue::TwoByte(0)) => true,
            (0x27, PropertyValue::FourByte(0)) => true,
            // Subscription identifier 0 (§3.3.2.3.8, §3.8.2.1.2).
            (0x0b, PropertyValue::VarInt(0)) => true,
            _ => false,
        };
        if bad {
            violations.push(Violation::new(
                format!(
                    "property {} has a value the spec forbids",
                    property_name(item.id).unwrap_or("?")
                ),
                "MQTT 5.0 §3.1.2.11, §3.2.2.3, §3.3.2.3",
            ));
        }
    }
}
