#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| spotoken_core::fuzzing::token_answer(data));
