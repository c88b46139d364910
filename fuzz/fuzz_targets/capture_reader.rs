//! Feeds arbitrary bytes to `CaptureReader::from_read` and decodes every frame with
//! `WireDecoder` (through `mqpcap::capture::fuzz_read`). Must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    mqpcap::capture::fuzz_read(data);
});
