#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| spotoken_core::fuzzing::durations_and_times(data));
