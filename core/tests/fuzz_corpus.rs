//! Replays the committed fuzz corpora (fuzz/corpus/<target>/) through the fuzz targets' bodies, so
//! every input that once mattered to a fuzzer is checked by a plain `cargo test`.

#[path = "../../fuzz/fuzz_targets/keyframe_load_body.rs"]
mod keyframe_load;
#[path = "../../fuzz/fuzz_targets/log_reader_fixed_crc_body.rs"]
mod log_reader_fixed_crc;

// The raw target's body, included once (through the fix-up target, which wraps it).
use log_reader_fixed_crc::raw as log_reader;

use std::path::Path;

use framelock_testkit::replay_corpus;

#[test]
fn log_reader_corpus() {
    replay_corpus("log_reader", 5, log_reader::run);
}

#[test]
fn log_reader_fixed_crc_corpus() {
    replay_corpus("log_reader_fixed_crc", 3, log_reader_fixed_crc::run);
}

#[test]
fn keyframe_load_corpus() {
    replay_corpus("keyframe_load", 3, keyframe_load::run);
}

/// The fix-up makes a log with any CRC damage read again (so the fuzzer gets past the CRCs).
#[test]
fn the_crc_fix_up_repairs_crcs_and_the_end_digest() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data");
    for name in ["golden-arena.flog", "golden-arena-v2.flog"] {
        let good = std::fs::read(dir.join(name)).expect("golden log");
        let mut bad = good.clone();
        for at in (20..bad.len()).step_by(97) {
            bad[at] ^= 0x10;
        }
        assert!(framelock_core::replay::LogReader::parse(&bad).is_err());
        let mut crcs_only = good.clone();
        let n = crcs_only.len();
        crcs_only[n - 1] ^= 0xff; // the end chunk's CRC (or, in format 1, the last chunk's)
        assert_eq!(log_reader_fixed_crc::fix_crcs(&crcs_only), good, "{name}");
    }
}
