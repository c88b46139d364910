//! Events the MQTT session emits: one per packet with concise, owned details (never passwords
//! or payload bytes), violations with their spec section, and capture artifacts (resync after a
//! gap, a packet cut by the end of the stream).

use super::parser::{Body, Packet, Version};
use super::reason::{connack_code_name, reason_name_for};
use crate::common::BytesText;
use serde::Serialize;

/// Filters and codes listed per packet event; a packet with more says how many in `list_len`.
pub(crate) const MAX_LISTED: usize = 64;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum MqttEvent {
    /// One complete packet (or one whose body was skipped unstored because it was large).
    /// Boxed: a summary is four times the size of any other event, and events are most of a
    /// live connection's memory.
    Packet(Box<PacketSummary>),
    /// The packet breaks the specification; `what` cites the section.
    Violation {
        packet_type: Option<&'static str>,
        what: String,
    },
    /// After a gap or an unframeable header: `skipped` bytes were dropped before a plausible
    /// packet start (`resumed`), or before the stream ended without one (`resumed: false`).
    Resync { skipped: u64, resumed: bool },
    /// The direction ended inside a packet: `received` of `declared` bytes.
    Unfinished {
        packet_type: &'static str,
        received: u64,
        declared: u64,
    },
}

/// Concise details of one packet; fields that do not apply are left out of the JSON.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub(crate) struct PacketSummary {
    pub packet_type: &'static str,
    /// Declared remaining length.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remaining_len: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub packet_id: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qos: Option<u8>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub retain: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub dup: bool,
    /// PUBLISH topic, or the will topic of a CONNECT.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic: Option<BytesText>,
    /// SUBSCRIBE / UNSUBSCRIBE topic filters (the first [`MAX_LISTED`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<BytesText>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<BytesText>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol_level: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keep_alive: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_present: Option<bool>,
    /// CONNACK code, ack / DISCONNECT / AUTH reason code, or SUBACK / UNSUBACK codes (the first
    /// [`MAX_LISTED`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reason_codes: Vec<u8>,
    /// How many filters or codes the packet held, when more than were listed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub list_len: Option<usize>,
    /// Name of the first reason code, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    /// PUBLISH payload length (never its bytes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload_len: Option<u64>,
    /// The body was too large to hold: decoded from its head, the rest skipped unstored.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub body_skipped: bool,
}

impl PacketSummary {
    pub(crate) fn from_packet(packet: &Packet<'_>, version: Version) -> PacketSummary {
        let mut s = PacketSummary {
            packet_type: packet.packet_type.name(version),
            remaining_len: packet.remaining_len,
            packet_id: packet.packet_id(),
            body_skipped: packet.partial,
            ..PacketSummary::default()
        };
        match &packet.body {
            Body::Connect(c) => {
                s.client_id = c.client_id.map(BytesText::new);
                s.protocol_level = c.level;
                s.keep_alive = c.keep_alive;
                if let Some(will) = &c.will {
                    s.topic = will.topic.map(BytesText::new);
                    s.qos = Some(will.qos);
                    s.retain = will.retain;
                }
            }
            Body::Connack(c) => {
                s.session_present = c.ack_flags.map(|_| c.session_present());
                if let Some(code) = c.code {
                    s.reason_codes.push(code);
                    s.reason = connack_code_name(version, code);
                }
            }
            Body::Publish(p) => {
                s.qos = Some(p.qos);
                s.retain = p.retain;
                s.dup = p.dup;
                s.topic = p.topic.map(BytesText::new);
                s.payload_len = p.payload_len.map(|n| n as u64);
            }
            Body::Ack(a) => {
                if let Some(code) = a.reason {
                    s.reason_codes.push(code);
                    s.reason = reason_name_for(packet.packet_type, code);
                }
            }
            Body::Subscribe(sub) => {
                s.filters = sub
                    .filters
                    .iter()
                    .take(MAX_LISTED)
                    .map(|(f, _)| BytesText::new(f))
                    .collect();
                s.list_len = (sub.filters.len() > MAX_LISTED).then_some(sub.filters.len());
            }
            Body::Suback(ack) => {
                s.reason_codes = ack.codes.iter().take(MAX_LISTED).copied().collect();
                s.list_len = (ack.codes.len() > MAX_LISTED).then_some(ack.codes.len());
                if let Some(&code) = ack.codes.first() {
                    s.reason = if version.is_v5() {
                        reason_name_for(packet.packet_type, code)
                    } else {
                        super::reason::suback_code_name(version, code)
                    };
                }
            }
            Body::Unsubscribe(u) => {
                s.filters = u
                    .filters
                    .iter()
                    .take(MAX_LISTED)
                    .map(|f| BytesText::new(f))
                    .collect();
                s.list_len = (u.filters.len() > MAX_LISTED).then_some(u.filters.len());
            }
            Body::Reason(r) => {
                if let Some(code) = r.reason {
                    s.reason_codes.push(code);
                    s.reason = reason_name_for(packet.packet_type, code);
                }
            }
            Body::Empty | Body::Reserved(_) => {}
        }
        s
    }
}
