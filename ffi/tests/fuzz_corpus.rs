//! Replays the committed corpus of the `ffi_log` fuzz target (fuzz/corpus/ffi_log/) through the
//! target's body, so every input that once mattered to the fuzzer is checked by `cargo test`.
#![allow(unsafe_code)] // the body calls the exported `unsafe extern "C" fn`s

#[path = "../../fuzz/fuzz_targets/ffi_log_body.rs"]
mod ffi_log;

use std::path::Path;

#[test]
fn ffi_log_corpus() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/ffi_log");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    files.sort();
    assert!(files.len() >= 3, "the corpus is committed");
    for path in files {
        let data = std::fs::read(&path).expect("corpus file");
        let outcome = std::panic::catch_unwind(|| ffi_log::run(&data));
        assert!(outcome.is_ok(), "{} makes the C ABI log functions panic", path.display());
    }
}
