//! Fuzz target: MQTT framing, packet decoding in every version, sniffing, and a session fed
//! with arbitrary splits, gaps and both directions (`mqpcap::proto::mqtt::fuzz_bytes`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    mqpcap::proto::mqtt::fuzz_bytes(data);
});
