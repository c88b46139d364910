#![no_main]
//! Arbitrary bytes into the TLS key log parser and record decryption: must never panic.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    mqpcap::proto::tls::decrypt::fuzz_decrypt(data);
});
