//! Arbitrary bytes through `mqpcap::proto::dns::fuzz_parse`: the parsers alone, then (for the transport
//! layers) a session fed in chunks from both sides. Must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    mqpcap::proto::dns::fuzz_parse(data);
});
