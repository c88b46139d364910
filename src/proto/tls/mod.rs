//! TLS: record layer, handshake reassembly across records and segments, hello, certificate and
//! alert decoding, JA3/JA4, and per-connection state.

pub mod decrypt;
pub mod message;
