//! CONNECT and CONNACK bodies (MQTT 3.1.1 §3.1-3.2, 5.0 §3.1-3.2), a child of `body` sharing
//! its bounds-checked context.

use super::Ctx;
use crate::proto::mqtt::parser::{Connack, Connect, PacketType, Reader, Version, Violation, Will};
use crate::proto::mqtt::properties::Place;

/// CONNECT (MQTT 3.1.1 §3.1, 5.0 §3.1; 3.1 uses "MQIsdp" and level 3 with the 3.1.1 layout).
pub(super) fn connect<'a>(r: &mut Reader<'a>, ctx: &mut Ctx) -> Connect<'a> {
    let mut c = Connect::default();
    let Some(name) = r.prefixed() else {
        ctx.cut("protocol name");
        return c;
    };
    c.protocol_name = Some(name);
    if name != b"MQTT" && name != b"MQIsdp" {
        ctx.violations.push(Violation::new(
            "protocol name is neither MQTT nor MQIsdp",
            "MQTT 3.1.1 §3.1.2.1, 5.0 §3.1.2.1",
        ));
    }
    let Some(level) = r.u8() else {
        ctx.cut("protocol level");
        return c;
    };
    c.level = Some(level);
    let version = Version::from_level(level).unwrap_or_else(|| {
        ctx.violations.push(Violation::new(
            format!("unknown protocol level {level}"),
            "MQTT 3.1.1 §3.1.2.2, 5.0 §3.1.2.2",
        ));
        ctx.version
    });
    let Some(flags) = r.u8() else {
        ctx.cut("connect flags");
        return c;
    };
    c.flags = Some(flags);
    check_connect_flags(flags, version, ctx);
    let Some(keep_alive) = r.u16() else {
        ctx.cut("keep alive");
        return c;
    };
    c.keep_alive = Some(keep_alive);
    if version.is_v5() {
        match ctx.properties(r, "CONNECT properties") {
            Some(p) => c.properties = Some(p),
            None => return c,
        }
    }
    let Some(client_id) = r.prefixed() else {
        ctx.cut("client identifier");
        return c;
    };
    c.client_id = Some(client_id);
    ctx.utf8("client identifier", client_id);
    if client_id.is_empty() && flags & 0x02 == 0 && version == Version::V3_1_1 {
        ctx.violations.push(Violation::new(
            "empty client identifier without clean session",
            "MQTT 3.1.1 §3.1.3.1",
        ));
    }
    if version == Version::V3_1 && !(1..=23).contains(&client_id.len()) {
        ctx.violations.push(Violation::new(
            format!(
                "client identifier of {} bytes (3.1 allows 1 to 23)",
                client_id.len()
            ),
            "MQTT 3.1 §3.1 (Client Identifier)",
        ));
    }
    if flags & 0x04 != 0 {
        let mut will = Will {
            qos: (flags >> 3) & 3,
            retain: flags & 0x20 != 0,
            ..Will::default()
        };
        let complete = connect_will(r, ctx, version, &mut will);
        c.will = Some(will);
        if !complete {
            return c;
        }
    }
    if flags & 0x80 != 0 {
        let Some(user) = r.prefixed() else {
            ctx.cut("user name");
            return c;
        };
        ctx.utf8("user name", user);
        c.username = Some(user);
    }
    if flags & 0x40 != 0 {
        let Some(password) = r.prefixed() else {
            ctx.cut("password");
            return c;
        };
        c.password = Some(password);
    }
    ctx.trailing("CONNECT", r);
    c
}

/// Reads will properties, topic and payload; false when cut.
fn connect_will<'a>(
    r: &mut Reader<'a>,
    ctx: &mut Ctx,
    version: Version,
    will: &mut Will<'a>,
) -> bool {
    if version.is_v5() {
        match ctx.properties_in(r, "will properties", Place::Will) {
            Some(p) => will.properties = Some(p),
            None => return false,
        }
    }
    let Some(topic) = r.prefixed() else {
        ctx.cut("will topic");
        return false;
    };
    ctx.utf8("will topic", topic);
    will.topic = Some(topic);
    let Some(payload) = r.prefixed() else {
        ctx.cut("will payload");
        return false;
    };
    will.payload = Some(payload);
    true
}

fn check_connect_flags(flags: u8, version: Version, ctx: &mut Ctx) {
    if flags & 0x01 != 0 {
        ctx.violations.push(Violation::new(
            "reserved connect flag bit 0 is set",
            "MQTT 3.1.1 §3.1.2.3, 5.0 §3.1.2.3",
        ));
    }
    let will = flags & 0x04 != 0;
    let will_qos = (flags >> 3) & 3;
    let will_retain = flags & 0x20 != 0;
    if !will && (will_qos != 0 || will_retain) {
        ctx.violations.push(Violation::new(
            "will QoS or will retain set without the will flag",
            "MQTT 3.1.1 §3.1.2.6-7, 5.0 §3.1.2.6-7",
        ));
    }
    if will_qos == 3 {
        ctx.violations.push(Violation::new(
            "will QoS 3",
            "MQTT 3.1.1 §3.1.2.6, 5.0 §3.1.2.6",
        ));
    }
    if !version.is_v5() && flags & 0x40 != 0 && flags & 0x80 == 0 {
        ctx.violations.push(Violation::new(
            "password flag without user name flag",
            "MQTT 3.1.1 §3.1.2.9",
        ));
    }
}

/// CONNACK (MQTT 3.1.1 §3.2, 5.0 §3.2).
pub(super) fn connack<'a>(r: &mut Reader<'a>, ctx: &mut Ctx) -> Connack<'a> {
    let mut c = Connack::default();
    let Some(ack_flags) = r.u8() else {
        ctx.cut("connect acknowledge flags");
        return c;
    };
    c.ack_flags = Some(ack_flags);
    if ack_flags & 0xfe != 0 {
        ctx.violations.push(Violation::new(
            "reserved connect acknowledge flag bits are set",
            "MQTT 3.1.1 §3.2.2.1, 5.0 §3.2.2.1",
        ));
    }
    let Some(code) = r.u8() else {
        ctx.cut("connect return code");
        return c;
    };
    c.code = Some(code);
    ctx.code(PacketType::Connack, code);
    if ack_flags & 1 != 0 && code != 0 {
        ctx.violations.push(Violation::new(
            "session present with a refusal code",
            "MQTT 3.1.1 §3.2.2.2, 5.0 §3.2.2.1.1",
        ));
    }
    if ctx.version.is_v5() {
        c.properties = ctx.properties(r, "CONNACK properties");
        if c.properties.is_none() {
            return c;
        }
    }
    ctx.trailing("CONNACK", r);
    c
}
