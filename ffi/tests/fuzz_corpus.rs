//! Replays the committed corpus of the `ffi_log` fuzz target (fuzz/corpus/ffi_log/) through the
//! target's body, so every input that once mattered to the fuzzer is checked by `cargo test`.
#![allow(unsafe_code)] // the body calls the exported `unsafe extern "C" fn`s

#[path = "../../fuzz/fuzz_targets/ffi_log_body.rs"]
mod ffi_log;

#[test]
fn ffi_log_corpus() {
    framelock_testkit::replay_corpus("ffi_log", 3, ffi_log::run);
}
