//! Protocol sessions (TLS, MQTT) fed with ordered stream bytes by plain calls:
//! `on_data(side, bytes, at, events)`, `on_gap`, `on_close`. They never see pcap, frames or TCP,
//! so they can be unit-tested and fuzzed alone. Parsers return complete / need more / invalid.

pub mod dns;
pub mod mqtt;
pub mod tls;
pub mod transport;

/// What the first bytes of one direction look like (protocol detection on any port).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sniffed {
    Tls,
    Mqtt,
    /// Not enough bytes yet to tell.
    NeedMore,
    Unknown,
}
