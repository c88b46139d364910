//! The rules on arbitrary bytes: the capture pipeline, then every rule under every built-in
//! platform profile; the same bytes also as a rule file and a profile. Must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    mqpcap::engine::fuzz_detect(data);
});
