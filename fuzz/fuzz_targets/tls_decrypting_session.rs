//! Feeds arbitrary bytes through a TLS session that holds key-logged secrets
//! (`mqpcap::proto::tls::fuzz_decrypting_session`); seed it with the Illustrated TLS 1.2 / 1.3
//! conversations to reach decryption. Must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    mqpcap::proto::tls::fuzz_decrypting_session(data);
});
