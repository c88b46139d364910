//! mqpcap: per-connection diagnosis of MQTT and TLS traffic in packet captures.
//!
//! Data flows one way (see `../shared/DESIGN.md`):
//! `capture` (frames) -> `wire` (headers) -> `flow` (TCP connections, ordered bytes) ->
//! `proto` (TLS and MQTT messages and events) -> `conn` (per-connection record) -> `report`.
//! Only [`analyze`] wires the stages together.

pub mod capture;
pub mod cli;
pub mod common;
pub mod conn;
pub mod detect;
pub mod engine;
pub mod error;
pub mod finding;
pub mod flow;
pub mod proto;
pub mod report;
#[cfg(test)]
mod test_rng;
pub mod timefmt;
pub mod wire;
