//! Signed-note, checkpoint and cosignature parsing from arbitrary bytes.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    kaitiaki_protocol::fuzzing::note(data);
});
