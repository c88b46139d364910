//! mqpcap: per-connection diagnosis of MQTT and TLS traffic in packet captures.
//!
//! Data flows one way (docs/design.md): `capture` (frames) -> `wire` (headers) -> `flow` (TCP
//! connections, ordered bytes) -> `proto` (TLS and MQTT messages and events) -> `conn`
//! (per-connection record) -> `detect` (findings) -> `report`. Only `engine` wires the stages
//! together. Items are `pub(crate)` unless the binary, the fuzz targets, the examples or the
//! integration tests use them, so the compiler sees dead code.

pub mod capture;
pub mod cli;
pub mod common;
pub(crate) mod conn;
pub(crate) mod detect;
pub mod engine;
pub mod error;
pub(crate) mod finding;
pub mod flow;
pub mod proto;
pub(crate) mod report;
#[cfg(test)]
mod test_rng;
pub(crate) mod timefmt;
pub mod wire;
