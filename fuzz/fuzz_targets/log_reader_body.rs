// The body of the `log_reader` fuzz target, shared with `core/tests/fuzz_corpus.rs` so that the
// corpus is replayed by a plain `cargo test`.

use framelock_core::replay::{LogReader, Replay};
use framelock_core::testing::HashSim;

/// Feeds untrusted bytes to everything that reads a log: parse, decode every frame, seek, read the
/// keyframes, and verify (the trivial simulation cannot match the recorded checksums, so verification
/// may fail — it must fail with an error, never a panic).
pub fn run(data: &[u8]) {
    let Ok(log) = LogReader::parse(data) else { return };
    let _ = log.header();
    let _ = log.truncation();
    let mut cursor = log.cursor();
    let mut frames = 0u32;
    while let Ok(Some(frame)) = cursor.next_frame() {
        for input in frame.inputs() {
            assert!(input.bytes.len() <= usize::from(log.header().max_input_size));
        }
        frames += 1;
    }
    assert_eq!(frames, log.frames(), "a parsed log decodes every frame it announces");
    for k in log.keyframes() {
        let _ = log.keyframe_bytes(k);
    }
    if log.frames() > 0 {
        let mid = log.header().first_frame + log.frames() / 2;
        let mut c = log.cursor_at(mid).expect("a frame of the log");
        assert_eq!(c.next_frame().ok().flatten().map(|f| f.frame()), Some(mid));
    }
    // Replaying is bounded by the file size (at least one mask byte per frame), so it stays fast.
    if log.frames() <= 20_000 {
        let mut sim = HashSim::new(0);
        let _ = Replay::new(&log).verify(&mut sim, &mut |_| {});
        let mut sim = HashSim::new(0);
        let _ = Replay::new(&log).seek(&mut sim, log.end_frame());
    }
}
