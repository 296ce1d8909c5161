//! Replays the committed fuzz corpora (fuzz/corpus/<target>/) through the fuzz targets' bodies, so
//! every input that once mattered to a fuzzer is checked by a plain `cargo test`.

#[path = "../../fuzz/fuzz_targets/log_reader_body.rs"]
mod log_reader;

use std::path::Path;

fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus").join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    files.sort();
    files.into_iter().map(|p| (p.display().to_string(), std::fs::read(&p).expect("corpus file"))).collect()
}

#[test]
fn log_reader_corpus() {
    let inputs = corpus("log_reader");
    assert!(inputs.len() >= 5, "the corpus is committed");
    for (name, data) in inputs {
        let outcome = std::panic::catch_unwind(|| log_reader::run(&data));
        assert!(outcome.is_ok(), "{name} makes the log reader panic");
    }
}
