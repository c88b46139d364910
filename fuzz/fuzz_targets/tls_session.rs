//! Arbitrary bytes, split arbitrarily between the two sides, through a TLS session, plus the
//! standalone TLS parsers (see `mqpcap::proto::tls::fuzz_session`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    mqpcap::proto::tls::fuzz_session(data);
});
