//! Names of MQTT return and reason codes, in snake_case, from the spec's tables. Codes stay raw
//! numbers everywhere else; these functions only name them (`None` for an unassigned code, shown
//! by [`code_label`] as `unknown(0x..)`).

use super::parser::{PacketType, Version};

/// CONNACK code name: 3.1/3.1.1 return codes 0-5 (3.1.1 §3.2.2.3, table 3.1) or 5.0 reason
/// codes (5.0 §3.2.2.2). 3.x code 0 is `success` like 5.0's, so rules can match one name.
pub(crate) fn connack_code_name(version: Version, code: u8) -> Option<&'static str> {
    if version.is_v5() {
        return match code {
            0x00 => Some("success"),
            0x80..=0x9f => reason_code_name(code),
            _ => None,
        };
    }
    Some(match code {
        0 => "success",
        1 => "unacceptable_protocol_version",
        2 => "identifier_rejected",
        3 => "server_unavailable",
        4 => "bad_user_name_or_password",
        5 => "not_authorized",
        _ => return None,
    })
}

/// Whether a CONNACK code refuses the connection (3.x: non-zero; 5.0: >= 0x80).
pub(crate) fn connack_refused(version: Version, code: u8) -> bool {
    if version.is_v5() {
        code >= 0x80
    } else {
        code != 0
    }
}

/// A 5.0 reason code name for a given packet type: 0x00 reads `normal_disconnection` in
/// DISCONNECT and `granted_qos_0` in SUBACK (MQTT 5.0 §2.4, table 2-6).
pub(crate) fn reason_name_for(packet_type: PacketType, code: u8) -> Option<&'static str> {
    match (packet_type, code) {
        (PacketType::Disconnect, 0) => Some("normal_disconnection"),
        (PacketType::Suback, 0) => Some("granted_qos_0"),
        _ => reason_code_name(code),
    }
}

/// The 5.0 reason code table (MQTT 5.0 §2.4), 0x00 as `success`.
pub(crate) fn reason_code_name(code: u8) -> Option<&'static str> {
    Some(match code {
        0x00 => "success",
        0x01 => "granted_qos_1",
        0x02 => "granted_qos_2",
        0x04 => "disconnect_with_will_message",
        0x10 => "no_matching_subscribers",
        0x11 => "no_subscription_existed",
        0x18 => "continue_authentication",
        0x19 => "re_authenticate",
        0x80 => "unspecified_error",
        0x81 => "malformed_packet",
        0x82 => "protocol_error",
        0x83 => "implementation_specific_error",
        0x84 => "unsupported_protocol_version",
        0x85 => "client_identifier_not_valid",
        0x86 => "bad_user_name_or_password",
        0x87 => "not_authorized",
        0x88 => "server_unavailable",
        0x89 => "server_busy",
        0x8a => "banned",
        0x8b => "server_shutting_down",
        0x8c => "bad_authentication_method",
        0x8d => "keep_alive_timeout",
        0x8e => "session_taken_over",
        0x8f => "topic_filter_invalid",
        0x90 => "topic_name_invalid",
        0x91 => "packet_identifier_in_use",
        0x92 => "packet_identifier_not_found",
        0x93 => "receive_maximum_exceeded",
        0x94 => "topic_alias_invalid",
        0x95 => "packet_too_large",
        0x96 => "message_rate_too_high",
        0x97 => "quota_exceeded",
        0x98 => "administrative_action",
        0x99 => "payload_format_invalid",
        0x9a => "retain_not_supported",
        0x9b => "qos_not_supported",
        0x9c => "use_another_server",
        0x9d => "server_moved",
        0x9e => "shared_subscriptions_not_supported",
        0x9f => "connection_rate_exceeded",
        0xa0 => "maximum_connect_time",
        0xa1 => "subscription_identifiers_not_supported",
        0xa2 => "wildcard_subscriptions_not_supported",
        _ => return None,
    })
}

/// Whether a return or reason code may appear in this packet type (MQTT 3.1.1 §3.2.2.3,
/// §3.9.3; 5.0 §3.2.2.2, §3.4.2.1, §3.5.2.1, §3.6.2.1, §3.7.2.1, §3.9.3, §3.11.3, §3.14.2.1,
/// §3.15.2.1). Types without codes allow none.
pub(crate) fn code_allowed(version: Version, packet_type: PacketType, code: u8) -> bool {
    use PacketType::*;
    if !version.is_v5() {
        return match packet_type {
            Connack => code <= 5,
            Suback => matches!(code, 0 | 1 | 2 | 0x80),
            _ => false,
        };
    }
    match packet_type {
        Connack => matches!(
            code,
            0x00 | 0x80..=0x8a | 0x8c | 0x90 | 0x95 | 0x97 | 0x99..=0x9d | 0x9f
        ),
        Puback | Pubrec => matches!(
            code,
            0x00 | 0x10 | 0x80 | 0x83 | 0x87 | 0x90 | 0x91 | 0x97 | 0x99
        ),
        Pubrel | Pubcomp => matches!(code, 0x00 | 0x92),
        Suback => matches!(
            code,
            0x00 | 0x01 | 0x02 | 0x80 | 0x83 | 0x87 | 0x8f | 0x91 | 0x97 | 0x9e | 0xa1 | 0xa2
        ),
        Unsuback => matches!(code, 0x00 | 0x11 | 0x80 | 0x83 | 0x87 | 0x8f | 0x91),
        // MQTT 5.0 §3.14.2.1: 0x91 and 0x92 (packet identifier in use / not found) are not
        // DISCONNECT reasons.
        Disconnect => matches!(
            code,
            0x00 | 0x04 | 0x80..=0x83 | 0x87 | 0x89 | 0x8b | 0x8d..=0x90 | 0x93..=0xa2
        ),
        Auth => matches!(code, 0x00 | 0x18 | 0x19),
        _ => false,
    }
}

/// 3.1.1 SUBACK return codes (3.1.1 §3.9.3).
pub(crate) fn suback_code_name(version: Version, code: u8) -> Option<&'static str> {
    if version.is_v5() {
        return reason_name_for(PacketType::Suback, code);
    }
    Some(match code {
        0 => "granted_qos_0",
        1 => "granted_qos_1",
        2 => "granted_qos_2",
        0x80 => "failure",
        _ => return None,
    })
}

/// A name for display: the name, or `unknown(0x8f)` for an unassigned code.
pub(crate) fn code_label(name: Option<&'static str>, code: u8) -> String {
    match name {
        Some(name) => name.to_string(),
        None => format!("unknown(0x{code:02x})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connack_names_follow_each_version_table() {
        assert_eq!(connack_code_name(Version::V3_1_1, 0), Some("success"));
        assert_eq!(
            connack_code_name(Version::V3_1_1, 4),
            Some("bad_user_name_or_password")
        );
        assert_eq!(connack_code_name(Version::V3_1, 5), Some("not_authorized"));
        assert_eq!(connack_code_name(Version::V3_1_1, 6), None);
        assert_eq!(
            connack_code_name(Version::V5, 0x8c),
            Some("bad_authentication_method")
        );
        assert_eq!(connack_code_name(Version::V5, 0x97), Some("quota_exceeded"));
        assert_eq!(
            connack_code_name(Version::V5, 0x85),
            Some("client_identifier_not_valid")
        );
        assert_eq!(connack_code_name(Version::V5, 0x04), None);
        assert_eq!(
            reason_name_for(PacketType::Disconnect, 0x8e),
            Some("session_taken_over")
        );
        assert_eq!(code_label(None, 0x8f), "unknown(0x8f)");
    }

    #[test]
    fn refusal_depends_on_version() {
        assert!(connack_refused(Version::V3_1_1, 5));
        assert!(!connack_refused(Version::V5, 5));
        assert!(connack_refused(Version::V5, 0x87));
    }
}
