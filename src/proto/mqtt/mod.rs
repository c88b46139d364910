//! MQTT 3.1, 3.1.1 and 5.0: a zero-copy decoder that keeps every field (reserved codes and
//! unknown properties included) and records violations instead of failing, and per-connection
//! state.

pub mod message;
