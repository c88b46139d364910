//! The session's packet bookkeeping: decoding with the known or guessed version, and updating
//! the connection summary (connect, connack, first disconnect, counts, client side, last
//! activity) from each packet. A child of `state`.

use super::{MqttSession, VersionSource};
use crate::common::{At, Side, Timed};
use crate::proto::mqtt::event::{MqttEvent, PacketSummary};
use crate::proto::mqtt::message::{ConnackInfo, ConnectInfo, DisconnectInfo, WillInfo};
use crate::proto::mqtt::parser::{
    Body, Connect, Framing, Packet, PacketType, Version, frame, parse_packet,
};

impl MqttSession {
    /// Decodes with the session's version; while the version is only assumed, a body that
    /// decodes cleanly only as the other layout switches the guess.
    pub(super) fn decode<'a>(&mut self, bytes: &'a [u8]) -> Packet<'a> {
        let packet_type = bytes.first().map(|&b| PacketType::from_first_byte(b));
        if let Some(version) = self.version_hint(bytes, packet_type) {
            self.version = version;
            self.version_source = VersionSource::Guessed;
        }
        let packet = parse_packet(bytes, self.version);
        if matches!(
            self.version_source,
            VersionSource::Unknown | VersionSource::Default
        ) && packet_type != Some(PacketType::Connect)
        {
            self.version_source = VersionSource::Default;
            if !packet.violations.is_empty() {
                let other = if self.version.is_v5() {
                    Version::V3_1_1
                } else {
                    Version::V5
                };
                let alternative = parse_packet(bytes, other);
                // Switch, but stay open to switching back: only a v5-only layout locks a guess.
                if alternative.violations.is_empty() {
                    self.version = other;
                    return alternative;
                }
            }
        }
        packet
    }

    /// Layouts that exist only in 5.0, used before any CONNECT was seen.
    fn version_hint(&self, bytes: &[u8], packet_type: Option<PacketType>) -> Option<Version> {
        if matches!(
            self.version_source,
            VersionSource::Connect | VersionSource::Guessed
        ) {
            return None;
        }
        let Framing::Complete {
            header_len,
            total_len,
        } = frame(bytes)
        else {
            return None;
        };
        let body_len = total_len - header_len;
        match packet_type? {
            // 3.x CONNACK is exactly 2 bytes; 5.0 adds a property length (§3.2.2.3).
            PacketType::Connack if body_len >= 3 => Some(Version::V5),
            // 3.x DISCONNECT is empty; 5.0 may carry a reason code (§3.14.2.1).
            PacketType::Disconnect if body_len >= 1 => Some(Version::V5),
            PacketType::Auth => Some(Version::V5),
            _ => None,
        }
    }

    /// Updates the summary from a decoded packet and emits its violations; returns the
    /// packet's event details (emitted by `record_packet` once the packet is complete).
    pub(super) fn observe(
        &mut self,
        side: Side,
        packet: &Packet<'_>,
        at: At,
        out: &mut Vec<Timed<MqttEvent>>,
    ) -> PacketSummary {
        if let Body::Connect(connect) = &packet.body {
            if self.summary.connect.is_some() {
                self.summary.violations += 1;
                out.push(Timed {
                    at,
                    side,
                    event: MqttEvent::Violation {
                        packet_type: Some("CONNECT"),
                        what: "a second CONNECT on one network connection \
                               (MQTT 3.1.1 §3.1, 5.0 §3.1)"
                            .to_string(),
                    },
                });
            } else {
                self.on_connect(side, connect, at);
            }
        }
        let summary = PacketSummary::from_packet(packet, self.version);
        let s = &mut self.summary;
        if s.client_side.is_none() {
            if packet.packet_type.client_only() {
                s.client_side = Some(side);
            } else if packet.packet_type.server_only() {
                s.client_side = Some(side.other());
            }
        }
        match &packet.body {
            Body::Connack(c) if s.connack.is_none() => {
                if let Some(code) = c.code {
                    s.connack = Some(ConnackInfo {
                        at,
                        code,
                        session_present: c.session_present(),
                    });
                }
            }
            // A 5.0 DISCONNECT of remaining length 0 keeps `reason_code: None` (absent on the
            // wire; MQTT 5.0 §3.14.2.1 reads it as 0x00 normal disconnection).
            Body::Reason(r)
                if packet.packet_type == PacketType::Disconnect && s.disconnect.is_none() =>
            {
                s.disconnect = Some(DisconnectInfo {
                    at,
                    side,
                    reason_code: r.reason,
                });
            }
            Body::Empty
                if packet.packet_type == PacketType::Disconnect && s.disconnect.is_none() =>
            {
                s.disconnect = Some(DisconnectInfo {
                    at,
                    side,
                    reason_code: None,
                });
            }
            _ => {}
        }
        if self.version_source != VersionSource::Connect {
            s.protocol_version = Some(self.version.level());
            s.version_guessed = true;
        }
        for violation in &packet.violations {
            s.violations += 1;
            out.push(Timed {
                at,
                side,
                event: MqttEvent::Violation {
                    packet_type: Some(summary.packet_type),
                    what: violation.to_string(),
                },
            });
        }
        summary
    }

    /// The first CONNECT: version, client side and the connect summary.
    fn on_connect(&mut self, side: Side, c: &Connect<'_>, at: At) {
        if let Some(version) = c.level.and_then(Version::from_level) {
            self.version = version;
            self.version_source = VersionSource::Connect;
            self.summary.protocol_version = Some(version.level());
            self.summary.version_guessed = false;
        }
        // The sender of CONNECT is the client (MQTT 5.0 §3.1), whatever was guessed before.
        self.summary.client_side = Some(side);
        self.summary.connect = Some(ConnectInfo {
            at,
            protocol_name: c.protocol_name.unwrap_or_default().to_vec(),
            level: c.level.unwrap_or(0),
            client_id: c.client_id.map(<[u8]>::to_vec),
            keep_alive: c.keep_alive.unwrap_or(0),
            clean_start: c.clean_start().unwrap_or(false),
            username: c.username.map(<[u8]>::to_vec),
            password: c.password.map(<[u8]>::to_vec),
            password_len: c.password.map(<[u8]>::len),
            will: c.will.as_ref().map(|w| WillInfo {
                topic: w.topic.unwrap_or_default().to_vec(),
                qos: w.qos,
                retain: w.retain,
                payload_len: w.payload.map_or(0, <[u8]>::len),
            }),
        });
    }

    /// Counts a finished packet and emits its event.
    pub(super) fn record_packet(
        &mut self,
        side: Side,
        summary: PacketSummary,
        at: At,
        out: &mut Vec<Timed<MqttEvent>>,
    ) {
        *self.summary.packets.entry(summary.packet_type).or_insert(0) += 1;
        *side.of_mut(&mut self.summary.last_activity) = Some(at);
        out.push(Timed {
            at,
            side,
            event: MqttEvent::Packet(Box::new(summary)),
        });
    }
}
