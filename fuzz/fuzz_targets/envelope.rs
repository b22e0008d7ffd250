//! Envelope, leaf and statement decoding from arbitrary bytes.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    kaitiaki_protocol::fuzzing::envelope(data);
});
