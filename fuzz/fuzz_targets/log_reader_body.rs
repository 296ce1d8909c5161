// The body of the `log_reader` fuzz target, shared with `core/tests/fuzz_corpus.rs` so that the
// corpus is replayed by a plain `cargo test`.

use framelock_core::replay::{Completeness, LogEvent, LogReader, LogStream, Replay, Trailer};
use framelock_core::testing::HashSim;
use framelock_core::{Error, Frame};

/// Feeds untrusted bytes to everything that reads a log: parse, decode every frame, seek, read the
/// keyframes, and verify (the trivial simulation cannot match the recorded checksums, so verification
/// may fail — it must fail with an error, never a panic).
pub fn run(data: &[u8]) {
    stream_agrees(data);
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

/// What a reader makes of a log: every frame's inputs (flattened), the checksums by frame, the
/// keyframes `(frame, offset, len, hash)` by frame, and what it says about the whole file.
#[derive(Debug, PartialEq)]
pub struct Read {
    frames: u32,
    /// XXH3 of every frame's number and inputs.
    inputs: u64,
    checksums: Vec<(Frame, u64)>,
    keyframes: Vec<(Frame, u64, u32, u64)>,
    completeness: Completeness,
    trailer: Option<Trailer>,
    end_frame: Frame,
    size: u64,
    version: u16,
}

fn push_frame(inputs: &mut Vec<u8>, frame: Frame, f: framelock_core::replay::LoggedFrame<'_>) {
    inputs.extend_from_slice(&frame.to_le_bytes());
    for i in f.inputs() {
        inputs.push(i.flags);
        inputs.extend_from_slice(&(i.bytes.len() as u16).to_le_bytes());
        inputs.extend_from_slice(i.bytes);
    }
}

/// The in-memory reader's view.
pub fn read_parsed(data: &[u8]) -> Result<Read, Error> {
    let log = LogReader::parse(data)?;
    let mut inputs = Vec::new();
    let mut c = log.cursor();
    while let Some(f) = c.next_frame()? {
        push_frame(&mut inputs, f.frame(), f);
    }
    let keyframes = log
        .keyframes()
        .iter()
        .map(|k| (k.frame, k.offset, k.len, framelock_core::checksum64(log.keyframe_bytes(k))))
        .collect();
    Ok(Read {
        frames: log.frames(),
        inputs: framelock_core::checksum64(&inputs),
        checksums: log.checksums().collect(),
        keyframes,
        completeness: log.completeness(),
        trailer: log.trailer(),
        end_frame: log.end_frame(),
        size: log.size(),
        version: log.format_version(),
    })
}

/// The streaming reader's view (reading from a slice in small pieces, as a file would come).
pub fn read_streamed(data: &[u8]) -> Result<Read, Error> {
    read_stream(LogStream::new(Trickle(data))?)
}

/// What a stream gives out, read to its end.
fn read_stream<R: std::io::Read>(mut s: LogStream<R>) -> Result<Read, Error> {
    let (mut inputs, mut checksums, mut keyframes, mut frames) = (Vec::new(), Vec::new(), Vec::new(), 0u32);
    while let Some(event) = s.next_event()? {
        match event {
            LogEvent::Frame(f) => {
                frames += 1;
                push_frame(&mut inputs, f.frame(), f);
            }
            LogEvent::Checksum { frame, checksum } => checksums.push((frame, checksum)),
            LogEvent::Keyframe(k) => keyframes.push((k.frame, k.offset, k.len, k.hash)),
        }
    }
    assert_eq!(frames, s.frames(), "the stream gives out every frame it validated");
    assert_eq!(checksums.len() as u64, s.checksums_seen());
    checksums.sort_by_key(|c| c.0);
    keyframes.sort_by_key(|k| k.0);
    Ok(Read {
        frames,
        inputs: framelock_core::checksum64(&inputs),
        checksums,
        keyframes,
        completeness: s.completeness(),
        trailer: s.trailer(),
        end_frame: s.end_frame(),
        size: s.bytes_read(),
        version: s.format_version(),
    })
}

/// The streaming reader and the in-memory one agree on every input: the same error, or the same
/// frames, checksums, keyframes and completeness.
pub fn stream_agrees(data: &[u8]) {
    let parsed = read_parsed(data);
    let streamed = read_streamed(data);
    assert_eq!(parsed, streamed, "LogStream and LogReader::parse disagree");
    // Read in place from a source's buffer (whole, or in buffers that cut chunks anywhere): the same.
    let in_place = LogStream::from_buf_read(data).and_then(read_stream);
    assert_eq!(parsed, in_place, "LogStream::from_buf_read disagrees");
    for capacity in [16, 100, 4096] {
        let buffered = std::io::BufReader::with_capacity(capacity, data);
        let in_place = LogStream::from_buf_read(buffered).and_then(read_stream);
        assert_eq!(parsed, in_place, "LogStream::from_buf_read with a {capacity}-byte buffer disagrees");
    }
    if parsed.is_ok() {
        // Validating without giving out frames reaches the same end.
        let mut s = LogStream::new(data).expect("header");
        s.validate().expect("validates");
        assert!(s.is_finished());
        let mut s = LogStream::from_buf_read(data).expect("header");
        s.validate().expect("validates in place");
        assert_eq!((s.is_finished(), s.bytes_read()), (true, data.len() as u64));
    }
}

/// Gives out at most 7 bytes a read, so chunk heads and bodies straddle reads.
struct Trickle<'a>(&'a [u8]);

impl std::io::Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.0.len()).min(7);
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}
