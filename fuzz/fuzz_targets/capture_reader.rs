//! Feeds arbitrary bytes to `CaptureReader::from_read` (through `mqpcap::capture::fuzz_read`)
//! and, as a frame of every supported link type, to `WireDecoder` (`mqpcap::wire::fuzz_decode`).
//! Must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    mqpcap::capture::fuzz_read(data);
    mqpcap::wire::fuzz_decode(data);
});
