//! Variable headers and payloads of every MQTT packet type (MQTT 3.1.1 §3, 5.0 §3).
//!
//! One decoder per type, sharing a context that knows the version, whether the input is a
//! deliberate prefix (`partial`: missing fields are then not violations) and the declared body
//! length. Reads are bounds-checked through [`Reader`]; nothing here panics.

use super::parser::{
    Ack, Body, PacketType, Publish, Reader, ReasonBody, Suback, Subscribe, Unsubscribe, Version,
    Violation, sections, utf8_problem,
};
use super::properties::{Place, Properties, PropertiesRead, check_placement, read_properties};
use super::reason::code_allowed;

mod connect;
use connect::{connack, connect};

pub(crate) struct Ctx {
    pub packet_type: PacketType,
    pub version: Version,
    pub partial: bool,
    pub declared_body_len: usize,
    pub violations: Vec<Violation>,
}

impl Ctx {
    /// A field the bytes do not reach: a violation only when the whole declared body is there
    /// (then the declared length is too short for the fields, MQTT 3.1.1 §2.2.3, 5.0 §2.1.4).
    fn cut(&mut self, field: &str) {
        if !self.partial {
            self.violations.push(Violation::new(
                format!("remaining length too short for the {field}"),
                "MQTT 3.1.1 §2.2.3, 5.0 §2.1.4",
            ));
        }
    }

    fn utf8(&mut self, field: &str, bytes: &[u8]) {
        if let Some(problem) = utf8_problem(bytes) {
            self.violations.push(Violation::new(
                format!("{problem} in the {field}"),
                sections::UTF8,
            ));
        }
    }

    fn packet_id(&mut self, name: &str, id: u16) {
        if id == 0 {
            self.violations.push(Violation::new(
                format!("packet identifier 0 in {name}"),
                sections::PACKET_ID,
            ));
        }
    }

    /// Called once every field was read: declared bytes beyond them are a violation, also in a
    /// partial packet (the declared length alone tells).
    fn trailing(&mut self, name: &str, r: &Reader<'_>) {
        let extra = self.declared_body_len.saturating_sub(r.position());
        if extra > 0 {
            self.violations.push(Violation::new(
                format!("{extra} bytes after the last field of {name}"),
                "MQTT 3.1.1 §2.2.3, 5.0 §2.1.4",
            ));
        }
    }

    fn code(&mut self, packet_type: PacketType, code: u8) {
        if !code_allowed(self.version, packet_type, code) {
            self.violations.push(Violation::new(
                format!(
                    "{} code 0x{code:02x} is not allowed",
                    packet_type.name(self.version)
                ),
                "MQTT 3.1.1 §3.2.2.3, §3.9.3; 5.0 §2.4",
            ));
        }
    }

    /// Properties at the reader's position (5.0 only); `None` when cut.
    fn properties<'a>(&mut self, r: &mut Reader<'a>, field: &str) -> Option<Properties<'a>> {
        self.properties_in(r, field, Place::Packet(self.packet_type))
    }

    fn properties_in<'a>(
        &mut self,
        r: &mut Reader<'a>,
        field: &str,
        place: Place,
    ) -> Option<Properties<'a>> {
        let available = self.declared_body_len.saturating_sub(r.position());
        match read_properties(r, available, &mut self.violations) {
            PropertiesRead::Done(p) => {
                check_placement(&p, place, &mut self.violations);
                Some(p)
            }
            PropertiesRead::Cut { declared_beyond } => {
                if !declared_beyond {
                    self.cut(field);
                }
                None
            }
        }
    }
}

pub(crate) fn decode<'a>(
    packet_type: PacketType,
    flags: u8,
    body: &'a [u8],
    ctx: &mut Ctx,
) -> Body<'a> {
    let mut r = Reader::new(body);
    let v5 = ctx.version.is_v5();
    match packet_type {
        PacketType::Connect => Body::Connect(connect(&mut r, ctx)),
        PacketType::Connack => Body::Connack(connack(&mut r, ctx)),
        PacketType::Publish => Body::Publish(publish(flags, &mut r, ctx)),
        PacketType::Puback | PacketType::Pubrec | PacketType::Pubrel | PacketType::Pubcomp => {
            Body::Ack(ack(packet_type, &mut r, ctx))
        }
        PacketType::Subscribe => Body::Subscribe(subscribe(&mut r, ctx)),
        PacketType::Suback => Body::Suback(suback(&mut r, ctx, true)),
        PacketType::Unsuback => Body::Suback(suback(&mut r, ctx, false)),
        PacketType::Unsubscribe => Body::Unsubscribe(unsubscribe(&mut r, ctx)),
        PacketType::Pingreq | PacketType::Pingresp => {
            // Remaining length 0 (MQTT 3.1.1 §3.12, §3.13; 5.0 §3.12, §3.13).
            ctx.trailing(packet_type.name(ctx.version), &r);
            Body::Empty
        }
        PacketType::Disconnect if !v5 => {
            // 3.x DISCONNECT has no variable header (3.1.1 §3.14).
            ctx.trailing("DISCONNECT", &r);
            Body::Empty
        }
        PacketType::Disconnect | PacketType::Auth if v5 => {
            Body::Reason(reason_body(packet_type, &mut r, ctx))
        }
        PacketType::Disconnect | PacketType::Auth | PacketType::Reserved0 => {
            Body::Reserved(r.rest())
        }
    }
}

/// Topic Alias (MQTT 5.0 §3.3.2.3.4, property 0x23).
const TOPIC_ALIAS: u32 = 0x23;

/// PUBLISH (MQTT 3.1.1 §3.3, 5.0 §3.3).
fn publish<'a>(flags: u8, r: &mut Reader<'a>, ctx: &mut Ctx) -> Publish<'a> {
    let mut p = Publish {
        dup: flags & 0x08 != 0,
        qos: (flags >> 1) & 3,
        retain: flags & 0x01 != 0,
        ..Publish::default()
    };
    if p.qos == 3 {
        ctx.violations.push(Violation::new(
            "PUBLISH with QoS 3",
            "MQTT 3.1.1 §3.3.1.2, 5.0 §3.3.1.2",
        ));
    } else if p.qos == 0 && p.dup {
        ctx.violations.push(Violation::new(
            "DUP set on a QoS 0 PUBLISH",
            "MQTT 3.1.1 §3.3.1.1, 5.0 §3.3.1.1",
        ));
    }
    let Some(topic) = r.prefixed() else {
        ctx.cut("topic name");
        return p;
    };
    p.topic = Some(topic);
    ctx.utf8("topic name", topic);
    if topic.iter().any(|&b| b == b'+' || b == b'#') {
        ctx.violations.push(Violation::new(
            "wildcard character in a PUBLISH topic name",
            "MQTT 3.1.1 §3.3.2.1, 5.0 §3.3.2.1",
        ));
    }
    if topic.is_empty() && !ctx.version.is_v5() {
        ctx.violations
            .push(Violation::new("empty topic name", "MQTT 3.1.1 §4.7.3"));
    }
    if p.qos > 0 {
        let Some(id) = r.u16() else {
            ctx.cut("packet identifier");
            return p;
        };
        ctx.packet_id("PUBLISH", id);
        p.packet_id = Some(id);
    }
    if ctx.version.is_v5() {
        p.properties = ctx.properties(r, "PUBLISH properties");
        let Some(properties) = &p.properties else {
            return p;
        };
        if topic.is_empty() && properties.get(TOPIC_ALIAS).is_none() {
            ctx.violations.push(Violation::new(
                "empty topic name without a topic alias",
                "MQTT 5.0 §3.3.2.1",
            ));
        }
    }
    p.payload_len = Some(ctx.declared_body_len.saturating_sub(r.position()));
    p.payload = r.rest();
    p
}

/// PUBACK, PUBREC, PUBREL, PUBCOMP (MQTT 3.1.1 §3.4-3.7, 5.0 §3.4-3.7).
fn ack<'a>(packet_type: PacketType, r: &mut Reader<'a>, ctx: &mut Ctx) -> Ack<'a> {
    let name = packet_type.name(ctx.version);
    let mut a = Ack::default();
    let Some(id) = r.u16() else {
        ctx.cut("packet identifier");
        return a;
    };
    ctx.packet_id(name, id);
    a.packet_id = Some(id);
    if ctx.version.is_v5() {
        // Remaining length 2: reason 0x00 and no properties; 3: no property length
        // (MQTT 5.0 §3.4.2.1, §3.4.2.2.1 and the same for PUBREC/PUBREL/PUBCOMP).
        if ctx.declared_body_len > 2 {
            let Some(reason) = r.u8() else {
                ctx.cut("reason code");
                return a;
            };
            a.reason = Some(reason);
            ctx.code(packet_type, reason);
        }
        if ctx.declared_body_len > 3 {
            a.properties = ctx.properties(r, "properties");
            if a.properties.is_none() {
                return a;
            }
        }
    }
    ctx.trailing(name, r);
    a
}

fn subscription_options_check(options: u8, ctx: &mut Ctx) {
    if options & 3 == 3 {
        ctx.violations.push(Violation::new(
            "requested QoS 3",
            "MQTT 3.1.1 §3.8.3.1, 5.0 §3.8.3.1",
        ));
    }
    if ctx.version.is_v5() {
        if options & 0xc0 != 0 || (options >> 4) & 3 == 3 {
            ctx.violations.push(Violation::new(
                "reserved subscription option bits set or retain handling 3",
                "MQTT 5.0 §3.8.3.1",
            ));
        }
    } else if options & 0xfc != 0 {
        ctx.violations.push(Violation::new(
            "reserved bits set in the requested QoS byte",
            "MQTT 3.1.1 §3.8.3.1",
        ));
    }
}

/// SUBSCRIBE (MQTT 3.1.1 §3.8, 5.0 §3.8).
fn subscribe<'a>(r: &mut Reader<'a>, ctx: &mut Ctx) -> Subscribe<'a> {
    let mut s = Subscribe::default();
    let Some(id) = r.u16() else {
        ctx.cut("packet identifier");
        return s;
    };
    ctx.packet_id("SUBSCRIBE", id);
    s.packet_id = Some(id);
    if ctx.version.is_v5() {
        s.properties = ctx.properties(r, "SUBSCRIBE properties");
        if s.properties.is_none() {
            return s;
        }
    }
    while r.remaining() > 0 {
        let Some(filter) = r.prefixed() else {
            ctx.cut("topic filter");
            return s;
        };
        let Some(options) = r.u8() else {
            ctx.cut("subscription options");
            return s;
        };
        ctx.utf8("topic filter", filter);
        topic_filter_check(filter, ctx);
        subscription_options_check(options, ctx);
        s.filters.push((filter, options));
    }
    if s.filters.is_empty() && !ctx.partial {
        ctx.violations.push(Violation::new(
            "SUBSCRIBE without a topic filter",
            "MQTT 3.1.1 §3.8.3, 5.0 §3.8.3",
        ));
    }
    s
}

/// A filter is at least one character; `#` only as the whole last level, `+` only as a whole
/// level (MQTT 3.1.1 §4.7.1, §4.7.3; 5.0 §4.7.1, §4.7.3).
fn topic_filter_check(filter: &[u8], ctx: &mut Ctx) {
    if filter.is_empty() {
        ctx.violations.push(Violation::new(
            "empty topic filter",
            "MQTT 3.1.1 §4.7.3, 5.0 §4.7.3",
        ));
        return;
    }
    let levels: Vec<&[u8]> = filter.split(|&b| b == b'/').collect();
    let last = levels.len().saturating_sub(1);
    let misplaced = levels.iter().enumerate().any(|(i, level)| {
        let hash_wrong = level.contains(&b'#') && (*level != b"#" || i != last);
        let plus_wrong = level.contains(&b'+') && *level != b"+";
        hash_wrong || plus_wrong
    });
    if misplaced {
        ctx.violations.push(Violation::new(
            "wildcard not occupying a whole topic level (or # not last)",
            "MQTT 3.1.1 §4.7.1, 5.0 §4.7.1",
        ));
    }
}

/// SUBACK and UNSUBACK (MQTT 3.1.1 §3.9, §3.11; 5.0 §3.9, §3.11).
fn suback<'a>(r: &mut Reader<'a>, ctx: &mut Ctx, is_suback: bool) -> Suback<'a> {
    let name = if is_suback { "SUBACK" } else { "UNSUBACK" };
    let mut s = Suback::default();
    let Some(id) = r.u16() else {
        ctx.cut("packet identifier");
        return s;
    };
    ctx.packet_id(name, id);
    s.packet_id = Some(id);
    let v5 = ctx.version.is_v5();
    if v5 {
        s.properties = ctx.properties(r, "properties");
        if s.properties.is_none() {
            return s;
        }
    }
    if !is_suback && !v5 {
        // 3.x UNSUBACK: packet identifier only (3.1.1 §3.11).
        ctx.trailing(name, r);
        return s;
    }
    s.codes = r.rest();
    if s.codes.is_empty() && !ctx.partial {
        ctx.violations.push(Violation::new(
            format!("{name} without a reason code"),
            "MQTT 3.1.1 §3.9.3, 5.0 §3.9.3, §3.11.3",
        ));
    }
    let packet_type = if is_suback {
        PacketType::Suback
    } else {
        PacketType::Unsuback
    };
    // One violation for all the codes a table does not allow, not one per code.
    let mut bad = s
        .codes
        .iter()
        .filter(|&&code| !code_allowed(ctx.version, packet_type, code));
    if let Some(&first) = bad.next() {
        let more = bad.count();
        ctx.code(packet_type, first);
        if more > 0
            && let Some(last) = ctx.violations.last_mut()
        {
            last.what = format!("{} (and {more} more)", last.what).into();
        }
    }
    s
}

/// UNSUBSCRIBE (MQTT 3.1.1 §3.10, 5.0 §3.10).
fn unsubscribe<'a>(r: &mut Reader<'a>, ctx: &mut Ctx) -> Unsubscribe<'a> {
    let mut u = Unsubscribe::default();
    let Some(id) = r.u16() else {
        ctx.cut("packet identifier");
        return u;
    };
    ctx.packet_id("UNSUBSCRIBE", id);
    u.packet_id = Some(id);
    if ctx.version.is_v5() {
        u.properties = ctx.properties(r, "UNSUBSCRIBE properties");
        if u.properties.is_none() {
            return u;
        }
    }
    while r.remaining() > 0 {
        let Some(filter) = r.prefixed() else {
            ctx.cut("topic filter");
            return u;
        };
        ctx.utf8("topic filter", filter);
        topic_filter_check(filter, ctx);
        u.filters.push(filter);
    }
    if u.filters.is_empty() && !ctx.partial {
        ctx.violations.push(Violation::new(
            "UNSUBSCRIBE without a topic filter",
            "MQTT 3.1.1 §3.10.3, 5.0 §3.10.3",
        ));
    }
    u
}

/// 5.0 DISCONNECT and AUTH: reason code absent when the remaining length is 0, properties
/// absent when it is below 2 (MQTT 5.0 §3.14.2.1-2, §3.15.2.1-2).
fn reason_body<'a>(packet_type: PacketType, r: &mut Reader<'a>, ctx: &mut Ctx) -> ReasonBody<'a> {
    let mut b = ReasonBody::default();
    if ctx.declared_body_len == 0 {
        return b;
    }
    let Some(reason) = r.u8() else {
        ctx.cut("reason code");
        return b;
    };
    b.reason = Some(reason);
    ctx.code(packet_type, reason);
    if ctx.declared_body_len >= 2 {
        b.properties = ctx.properties(r, "properties");
        if b.properties.is_none() {
            return b;
        }
    }
    ctx.trailing("packet", r);
    b
}
