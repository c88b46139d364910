//! MQTT framing and packet decoding as pure functions over `&[u8]` (3.1 "MQIsdp", 3.1.1, 5.0).
//!
//! Guarantees: no function here panics on any input or copies field bytes (fields are slices
//! of the input); the only allocations are the lists returned (filters, properties, at most
//! [`MAX_VIOLATIONS`] + 1 violations). [`frame`] looks at the fixed header alone and
//! says complete / need more / invalid. [`parse_packet`] never fails: it decodes as far as the
//! bytes go and lists what breaks the specification as [`Violation`]s, each citing its section.
//! Bodies are decoded in `body` (data types in [`super::packet`]); properties in
//! [`super::properties`].

use super::body;
pub(crate) use super::packet::*;
pub(crate) use super::reader::Reader;
pub(crate) use super::reader::utf8_problem;
use std::borrow::Cow;
use std::fmt;

/// The longest remaining-length encoding: four bytes (MQTT 3.1.1 §2.2.3, 5.0 §1.5.5).
pub(crate) const MAX_VARINT_BYTES: usize = 4;

/// Violations listed per packet; more are summed up in one last entry.
pub(crate) const MAX_VIOLATIONS: usize = 16;

/// What the fixed header says about the bytes at the start of a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// A fixed header of `header_len` bytes announcing a packet of `total_len` bytes in all
    /// (`total_len` may exceed the buffer: the header alone decides).
    Complete { header_len: usize, total_len: usize },
    /// The fixed header itself is not all there yet.
    NeedMore,
    /// The remaining length is not a valid variable byte integer.
    Invalid(&'static str),
}

/// Frames one packet on its fixed header alone (MQTT 3.1.1 §2.2, 5.0 §2.1.1).
pub(crate) fn frame(buf: &[u8]) -> Framing {
    let Some(rest) = buf.get(1..) else {
        return Framing::NeedMore;
    };
    match decode_varint(rest) {
        VarInt::Value { value, len } => Framing::Complete {
            header_len: 1 + len,
            total_len: 1 + len + value as usize,
        },
        VarInt::NeedMore => Framing::NeedMore,
        VarInt::Invalid(why) => Framing::Invalid(why),
    }
}

/// Outcome of decoding a variable byte integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VarInt {
    Value { value: u32, len: usize },
    NeedMore,
    Invalid(&'static str),
}

/// Decodes a variable byte integer (MQTT 5.0 §1.5.5, 3.1.1 §2.2.3): 7 bits a byte, least
/// significant first, at most four bytes. A non-minimal encoding (a trailing 0x80 0x00) is
/// accepted as the spec's decoding algorithm does.
pub(crate) fn decode_varint(buf: &[u8]) -> VarInt {
    let mut value: u32 = 0;
    for (i, &byte) in buf.iter().enumerate() {
        if i >= MAX_VARINT_BYTES {
            return VarInt::Invalid("remaining length longer than 4 bytes");
        }
        value |= u32::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return VarInt::Value { value, len: i + 1 };
        }
    }
    if buf.len() >= MAX_VARINT_BYTES {
        VarInt::Invalid("remaining length longer than 4 bytes")
    } else {
        VarInt::NeedMore
    }
}

/// Protocol level from CONNECT (MQTT 3.1.1 §3.1.2.2, 5.0 §3.1.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Version {
    /// Level 3, protocol name "MQIsdp".
    V3_1,
    /// Level 4.
    V3_1_1,
    /// Level 5.
    V5,
}

impl Version {
    pub(crate) fn from_level(level: u8) -> Option<Version> {
        match level {
            3 => Some(Version::V3_1),
            4 => Some(Version::V3_1_1),
            5 => Some(Version::V5),
            _ => None,
        }
    }
    pub(crate) fn level(self) -> u8 {
        match self {
            Version::V3_1 => 3,
            Version::V3_1_1 => 4,
            Version::V5 => 5,
        }
    }
    pub(crate) fn is_v5(self) -> bool {
        self == Version::V5
    }
}

/// Control packet type, the high nibble of the first byte (MQTT 5.0 §2.1.2, 3.1.1 §2.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum PacketType {
    Reserved0,
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
    Pingreq,
    Pingresp,
    Disconnect,
    /// Type 15: AUTH in 5.0, reserved before.
    Auth,
}

impl PacketType {
    pub(crate) fn from_first_byte(byte: u8) -> PacketType {
        use PacketType::*;
        match byte >> 4 {
            1 => Connect,
            2 => Connack,
            3 => Publish,
            4 => Puback,
            5 => Pubrec,
            6 => Pubrel,
            7 => Pubcomp,
            8 => Subscribe,
            9 => Suback,
            10 => Unsubscribe,
            11 => Unsuback,
            12 => Pingreq,
            13 => Pingresp,
            14 => Disconnect,
            15 => Auth,
            _ => Reserved0,
        }
    }

    /// The name tshark gives the type (`mqtt.msgtype`), as counted in summaries: type 0, and
    /// type 15 before 5.0, are `RESERVED`.
    pub(crate) fn name(self, version: Version) -> &'static str {
        use PacketType::*;
        match self {
            Reserved0 => "RESERVED",
            Connect => "CONNECT",
            Connack => "CONNACK",
            Publish => "PUBLISH",
            Puback => "PUBACK",
            Pubrec => "PUBREC",
            Pubrel => "PUBREL",
            Pubcomp => "PUBCOMP",
            Subscribe => "SUBSCRIBE",
            Suback => "SUBACK",
            Unsubscribe => "UNSUBSCRIBE",
            Unsuback => "UNSUBACK",
            Pingreq => "PINGREQ",
            Pingresp => "PINGRESP",
            Disconnect => "DISCONNECT",
            Auth if version.is_v5() => "AUTH",
            Auth => "RESERVED",
        }
    }

    /// The fixed-header flag bits the spec requires, or `None` for PUBLISH whose flags carry
    /// DUP/QoS/RETAIN (MQTT 5.0 §2.1.3, 3.1.1 §2.2.2). Reserved types have no rule.
    pub(crate) fn required_flags(self) -> Option<u8> {
        use PacketType::*;
        match self {
            Publish | Reserved0 => None,
            Pubrel | Subscribe | Unsubscribe => Some(0b0010),
            _ => Some(0),
        }
    }

    /// Sent only by a server (CONNACK, SUBACK, UNSUBACK, PINGRESP: MQTT 5.0 §3.2, §3.9, §3.11,
    /// §3.13).
    pub(crate) fn server_only(self) -> bool {
        matches!(
            self,
            PacketType::Connack | PacketType::Suback | PacketType::Unsuback | PacketType::Pingresp
        )
    }

    /// Sent only by a client (CONNECT, SUBSCRIBE, UNSUBSCRIBE, PINGREQ).
    pub(crate) fn client_only(self) -> bool {
        matches!(
            self,
            PacketType::Connect
                | PacketType::Subscribe
                | PacketType::Unsubscribe
                | PacketType::Pingreq
        )
    }
}

/// A place where a packet breaks the specification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Violation {
    pub what: Cow<'static, str>,
    /// Where the spec says so, e.g. "MQTT 3.1.1 §2.2.2, 5.0 §2.1.3".
    pub section: &'static str,
}

impl Violation {
    pub(crate) fn new(what: impl Into<Cow<'static, str>>, section: &'static str) -> Violation {
        Violation {
            what: what.into(),
            section,
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.section.is_empty() {
            write!(f, "{}", self.what)
        } else {
            write!(f, "{} ({})", self.what, self.section)
        }
    }
}

/// One decoded packet. Fields the bytes did not reach are `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Packet<'a> {
    pub packet_type: PacketType,
    /// Low nibble of the first byte.
    pub flags: u8,
    /// Declared remaining length, or `None` when the fixed header is malformed or cut.
    pub remaining_len: Option<u32>,
    /// The input held fewer bytes than declared (the caller passed a prefix on purpose, e.g. the
    /// head of a huge PUBLISH): missing fields are then not violations.
    pub partial: bool,
    pub body: Body<'a>,
    pub violations: Vec<Violation>,
}

impl Packet<'_> {
    /// Packet identifier, for the types that carry one.
    pub(crate) fn packet_id(&self) -> Option<u16> {
        match &self.body {
            Body::Publish(p) => p.packet_id,
            Body::Ack(a) => a.packet_id,
            Body::Subscribe(s) => s.packet_id,
            Body::Suback(s) => s.packet_id,
            Body::Unsubscribe(u) => u.packet_id,
            _ => None,
        }
    }
}

/// Section citations used by several checks.
pub(crate) mod sections {
    pub(crate) const FLAGS: &str = "MQTT 3.1.1 §2.2.2, 5.0 §2.1.3";
    pub(crate) const TYPE: &str = "MQTT 3.1.1 §2.2.1, 5.0 §2.1.2";
    pub(crate) const REMAINING_LENGTH: &str = "MQTT 3.1.1 §2.2.3, 5.0 §1.5.5";
    pub(crate) const UTF8: &str = "MQTT 3.1.1 §1.5.3, 5.0 §1.5.4";
    pub(crate) const PACKET_ID: &str = "MQTT 3.1.1 §2.3.1, 5.0 §2.2.1";
}

/// Decodes one packet: `packet` starts at the fixed header; bytes past the declared length are
/// ignored; fewer bytes than declared give a `partial` packet. `version` decides the bodies
/// whose layout changed in 5.0 (CONNECT carries its own level).
pub(crate) fn parse_packet(packet: &[u8], version: Version) -> Packet<'_> {
    let Some(&first) = packet.first() else {
        return Packet {
            packet_type: PacketType::Reserved0,
            flags: 0,
            remaining_len: None,
            partial: true,
            body: Body::Reserved(&[]),
            violations: Vec::new(),
        };
    };
    let packet_type = PacketType::from_first_byte(first);
    let flags = first & 0x0f;
    let mut violations = Vec::new();
    let (header_len, total_len) = match frame(packet) {
        Framing::Complete {
            header_len,
            total_len,
        } => (header_len, total_len),
        Framing::NeedMore => {
            return Packet {
                packet_type,
                flags,
                remaining_len: None,
                partial: true,
                body: Body::Reserved(&[]),
                violations,
            };
        }
        Framing::Invalid(why) => {
            violations.push(Violation::new(why, sections::REMAINING_LENGTH));
            return Packet {
                packet_type,
                flags,
                remaining_len: None,
                partial: false,
                body: Body::Reserved(packet.get(1..).unwrap_or(&[])),
                violations,
            };
        }
    };
    let remaining_len = u32::try_from(total_len - header_len).ok();
    let partial = packet.len() < total_len;
    let body_bytes = packet
        .get(header_len..total_len.min(packet.len()))
        .unwrap_or(&[]);

    check_fixed_header(packet_type, flags, version, &mut violations);
    let declared_body_len = total_len - header_len;
    let mut ctx = body::Ctx {
        packet_type,
        version,
        partial,
        declared_body_len,
        violations,
    };
    let body = body::decode(packet_type, flags, body_bytes, &mut ctx);
    if ctx.violations.len() > MAX_VIOLATIONS {
        let dropped = ctx.violations.len() - MAX_VIOLATIONS;
        ctx.violations.truncate(MAX_VIOLATIONS);
        ctx.violations.push(Violation::new(
            format!("{dropped} further violations in this packet not listed"),
            "",
        ));
    }
    Packet {
        packet_type,
        flags,
        remaining_len,
        partial,
        body,
        violations: ctx.violations,
    }
}

fn check_fixed_header(
    packet_type: PacketType,
    flags: u8,
    version: Version,
    violations: &mut Vec<Violation>,
) {
    match packet_type {
        PacketType::Reserved0 => {
            violations.push(Violation::new("reserved packet type 0", sections::TYPE));
            return;
        }
        PacketType::Auth if !version.is_v5() => {
            violations.push(Violation::new(
                "reserved packet type 15 (AUTH exists only in 5.0)",
                sections::TYPE,
            ));
            return;
        }
        _ => {}
    }
    if let Some(required) = packet_type.required_flags()
        && flags != required
    {
        violations.push(Violation::new(
            format!(
                "fixed-header flags {flags:04b} where {} requires {required:04b}",
                packet_type.name(version)
            ),
            sections::FLAGS,
        ));
    }
}
