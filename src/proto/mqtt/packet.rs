//! Decoded packet bodies: plain data borrowing the packet's bytes. Fields the bytes did not
//! reach are `None`; code points are kept raw (names in [`super::reason`]).

use super::properties::Properties;

/// The variable header and payload by packet type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Body<'a> {
    Connect(Connect<'a>),
    Connack(Connack<'a>),
    Publish(Publish<'a>),
    /// PUBACK, PUBREC, PUBREL, PUBCOMP.
    Ack(Ack<'a>),
    Subscribe(Subscribe<'a>),
    /// SUBACK and UNSUBACK (5.0 UNSUBACK has reason codes; 3.x none).
    Suback(Suback<'a>),
    Unsubscribe(Unsubscribe<'a>),
    /// PINGREQ, PINGRESP (and 3.x DISCONNECT): no body.
    Empty,
    /// DISCONNECT and AUTH: an optional reason code and properties (MQTT 5.0 §3.14, §3.15).
    Reason(ReasonBody<'a>),
    /// Type 0, type 15 before 5.0, or a packet whose fixed header is malformed: raw body.
    Reserved(&'a [u8]),
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Connect<'a> {
    pub protocol_name: Option<&'a [u8]>,
    pub level: Option<u8>,
    pub flags: Option<u8>,
    pub keep_alive: Option<u16>,
    pub properties: Option<Properties<'a>>,
    pub client_id: Option<&'a [u8]>,
    pub will: Option<Will<'a>>,
    pub username: Option<&'a [u8]>,
    pub password: Option<&'a [u8]>,
}

impl Connect<'_> {
    /// Clean Session (3.x) / Clean Start (5.0), bit 1 of the connect flags (§3.1.2.4).
    pub(crate) fn clean_start(&self) -> Option<bool> {
        self.flags.map(|f| f & 0x02 != 0)
    }
}

/// The will announced in CONNECT (MQTT 5.0 §3.1.2.5, §3.1.3.2-4).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Will<'a> {
    pub qos: u8,
    pub retain: bool,
    pub properties: Option<Properties<'a>>,
    pub topic: Option<&'a [u8]>,
    pub payload: Option<&'a [u8]>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Connack<'a> {
    /// Connect acknowledge flags byte (§3.2.2.1).
    pub ack_flags: Option<u8>,
    /// 3.x return code or 5.0 reason code (§3.2.2.2 / §3.2.2.3).
    pub code: Option<u8>,
    pub properties: Option<Properties<'a>>,
}

impl Connack<'_> {
    pub(crate) fn session_present(&self) -> bool {
        self.ack_flags.is_some_and(|f| f & 1 != 0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Publish<'a> {
    pub dup: bool,
    /// QoS bits as sent (3 is a violation, kept).
    pub qos: u8,
    pub retain: bool,
    pub topic: Option<&'a [u8]>,
    pub packet_id: Option<u16>,
    pub properties: Option<Properties<'a>>,
    /// The payload bytes present in the input (a prefix when the packet is partial).
    pub payload: &'a [u8],
    /// Declared payload length (remaining length minus variable header), when known.
    pub payload_len: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Ack<'a> {
    pub packet_id: Option<u16>,
    /// 5.0 reason code; absent (meaning success, §3.4.2.1) when the remaining length is 2.
    pub reason: Option<u8>,
    pub properties: Option<Properties<'a>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Subscribe<'a> {
    pub packet_id: Option<u16>,
    pub properties: Option<Properties<'a>>,
    /// Topic filter and its options byte (requested QoS in bits 0-1).
    pub filters: Vec<(&'a [u8], u8)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Suback<'a> {
    pub packet_id: Option<u16>,
    pub properties: Option<Properties<'a>>,
    /// Return codes (SUBACK) or 5.0 reason codes (SUBACK, UNSUBACK), one per filter.
    pub codes: &'a [u8],
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Unsubscribe<'a> {
    pub packet_id: Option<u16>,
    pub properties: Option<Properties<'a>>,
    pub filters: Vec<&'a [u8]>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct ReasonBody<'a> {
    /// Absent when the remaining length is 0, which means 0x00 (MQTT 5.0 §3.14.2.1, §3.15.2.1).
    pub reason: Option<u8>,
    pub properties: Option<Properties<'a>>,
}
