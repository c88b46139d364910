//! The whole pipeline on arbitrary bytes: capture reading, header decoding, TCP reassembly,
//! protocol recognition, TLS and MQTT sessions and the report model. Must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    mqpcap::engine::fuzz_analyze(data);
});
