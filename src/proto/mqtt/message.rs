//! Plain data describing what an MQTT connection showed. Secrets (password, payloads) are kept
//! only as far as rules need them and never serialised by default.

use crate::common::{At, Side};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct WillInfo {
    pub topic: Vec<u8>,
    pub qos: u8,
    pub retain: bool,
    pub payload_len: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct ConnectInfo {
    pub at: At,
    /// "MQTT" or "MQIsdp" as sent.
    pub protocol_name: Vec<u8>,
    /// Protocol level byte: 3 (3.1), 4 (3.1.1), 5 (5.0), or whatever was sent.
    pub level: u8,
    /// `None` when the CONNECT is too damaged to locate it (e.g. a property length past the
    /// end of the packet); an empty id is `Some(vec![])`.
    pub client_id: Option<Vec<u8>>,
    pub keep_alive: u16,
    pub clean_start: bool,
    pub username: Option<Vec<u8>>,
    /// Kept for rules (JWT checks); never printed unless `--reveal`.
    #[serde(skip)]
    pub password: Option<Vec<u8>>,
    pub password_len: Option<usize>,
    pub will: Option<WillInfo>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) struct ConnackInfo {
    pub at: At,
    /// 3.1/3.1.1 return code or 5.0 reason code.
    pub code: u8,
    pub session_present: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) struct DisconnectInfo {
    pub at: At,
    pub side: Side,
    /// MQTT 5 reason code; `None` for 3.x or a v5 DISCONNECT with remaining length 0 (§3.14.2.1
    /// says that means 0x00).
    pub reason_code: Option<u8>,
}

/// Everything one MQTT connection showed.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub(crate) struct MqttSummary {
    /// The side that sent CONNECT, or that sent client-only packets when CONNECT is missing.
    pub client_side: Option<Side>,
    /// 3, 4 or 5 from CONNECT; guessed when the capture starts after it.
    pub protocol_version: Option<u8>,
    pub version_guessed: bool,
    pub connect: Option<ConnectInfo>,
    pub connack: Option<ConnackInfo>,
    pub disconnect: Option<DisconnectInfo>,
    /// Counts by packet type name (`CONNECT`, ..., `AUTH`, `RESERVED`), both directions.
    pub packets: BTreeMap<&'static str, u64>,
    pub last_activity: [Option<At>; 2],
    pub violations: u64,
}
