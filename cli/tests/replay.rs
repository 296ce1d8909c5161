//! `framelock demo --record` and `framelock replay verify|info|export`, run as a user would: exit
//! codes, what is printed, and that no bad file makes the binary panic.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use framelock_core::arena::{
    encode_params, scratch_size_bound, scripted_input, snapshot_size_bound, Arena, ArenaParams, INPUT_SIZE,
    NEUTRAL_INPUT, SIMULATION_ID,
};
use framelock_core::replay::{LogHeader, LogReader, LogWriter, LoggedInput};
use framelock_core::{Driver, SessionBuilder};

/// Frames of the recorded demo match: small, so the tests stay fast.
const FRAMES: u32 = 300;
const PLAYERS: u8 = 3;

fn framelock<P: AsRef<std::ffi::OsStr>>(args: &[P]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_framelock")).args(args).output().expect("the framelock binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A fresh path in the test scratch folder.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("framelock-cli-replay");
    std::fs::create_dir_all(&dir).expect("scratch folder");
    dir.join(name)
}

/// Runs `framelock` and checks its exit code; returns (stdout, stderr). Never a panic or backtrace.
fn run(args: &[&str], code: i32) -> (String, String) {
    let out = framelock(args);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(code), "{args:?}\nstdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(!stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"), "{args:?}: {stderr}");
    (stdout, stderr)
}

/// The demo match recorded once for every test: its path and the demo's stdout.
fn recorded() -> &'static (PathBuf, String) {
    static LOG: OnceLock<(PathBuf, String)> = OnceLock::new();
    LOG.get_or_init(|| {
        let path = scratch("demo.flog");
        let (players, frames) = (PLAYERS.to_string(), FRAMES.to_string());
        let p = path.to_str().expect("utf-8 path");
        let args = ["demo", "--in-process", "--players", &players, "--frames", &frames, "--loss", "0.1", "--record", p];
        let (stdout, stderr) = run(&args, 0);
        assert!(stderr.is_empty(), "{stderr}");
        (path, stdout)
    })
}

fn log_path() -> &'static str {
    recorded().0.to_str().expect("utf-8 path")
}

#[test]
fn demo_records_a_log_that_verifies() {
    let (path, demo) = recorded();
    let line = format!("recorded {}: {FRAMES} frames, ", path.display());
    assert!(demo.contains(&line), "no `{line}` in:\n{demo}");
    assert!(demo.contains("checksums agree: 3/3 peers at frame 299"), "{demo}");
    let size = std::fs::metadata(path).expect("the log exists").len();
    assert!(demo.contains(&format!(", {size} bytes (")), "the printed size is the file's: {demo}");

    let (stdout, stderr) = run(&["replay", "verify", log_path()], 0);
    assert!(stdout.contains("OK, every recorded checksum matches"), "{stdout}");
    assert!(stdout.contains(&format!("frames:     {FRAMES} (5.0 s at 60 Hz)")), "{stdout}");
    // A checksum every 60 frames: 0, 60, 120, 180, 240.
    assert!(stdout.contains("checksums:  5 verified (every 60 frames; last at frame 240 = 0x"), "{stdout}");
    assert!(stdout.contains("time:"), "{stdout}");
    assert!(stderr.is_empty(), "no progress bar when stderr is not a terminal: {stderr}");
}

#[test]
fn lockstep_recordings_verify_too() {
    let path = scratch("lockstep.flog");
    let p = path.to_str().expect("utf-8 path");
    let (demo, _) =
        run(&["demo", "--in-process", "--mode", "lockstep", "--players", "2", "--frames", "130", "--record", p], 0);
    assert!(demo.contains("130 frames"), "{demo}");
    let (stdout, _) = run(&["replay", "verify", p], 0);
    assert!(stdout.contains("3 verified"), "{stdout}");
    let (info, _) = run(&["replay", "info", p], 0);
    assert!(info.contains("session:     lockstep"), "{info}");
}

#[test]
fn info_describes_the_log() {
    let (stdout, _) = run(&["replay", "info", log_path()], 0);
    for expected in [
        "format:      framelock input log, version 3",
        "simulation:  arena (3 players, max 1024 projectiles, world 1024 units, seed 1)",
        "session:     rollback (max prediction 8)",
        "slots:       3 (inputs up to 2 bytes, default input 0x0000)",
        "frames:      300 (0..=299), 5.0 s at 60 Hz",
        "checksums:   5 (every 60 frames), first at frame 0 = 0x",
        "last at frame 240 = 0x",
        "keyframes:   1 (every 600 frames) at frames 0",
        "bytes per frame",
        "creator:     framelock-cli ",
        "created:     20",
        "truncated:   no",
    ] {
        assert!(stdout.contains(expected), "no `{expected}` in:\n{stdout}");
    }
}

#[test]
fn info_json_is_one_object() {
    let (stdout, _) = run(&["replay", "info", "--json", log_path()], 0);
    assert!(stdout.starts_with('{') && stdout.ends_with("}\n"), "{stdout}");
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    for expected in [
        r#""format_version":3"#,
        r#""slots":3"#,
        r#""frames":300"#,
        r#""tick_rate":60"#,
        r#""duration_seconds":5.000"#,
        r#""simulation":"arena""#,
        r#""sim_params":{"players":3,"max_projectiles":1024,"world_size":1024,"seed":1}"#,
        r#""session":{"kind":"rollback","max_prediction":8}"#,
        r#""checksums":{"count":5,"first":{"frame":0,"checksum":"0x"#,
        r#""keyframes":{"count":1,"frames":[0]}"#,
        r#""creator":"framelock-cli "#,
        r#""truncated":null"#,
    ] {
        assert!(stdout.contains(expected), "no `{expected}` in:\n{stdout}");
    }
    // Balanced braces and brackets outside strings, and no raw control characters.
    let (mut depth, mut in_string, mut escaped) = (0i32, false, false);
    for c in stdout.trim_end().chars() {
        assert!(!c.is_control(), "{stdout}");
        match (in_string, escaped, c) {
            (true, true, _) => escaped = false,
            (true, false, '\\') => escaped = true,
            (_, false, '"') => in_string = !in_string,
            (false, _, '{' | '[') => depth += 1,
            (false, _, '}' | ']') => depth -= 1,
            _ => {}
        }
        assert!(depth >= 0, "{stdout}");
    }
    assert_eq!((depth, in_string), (0, false), "{stdout}");
}

#[test]
fn export_csv_has_a_row_per_frame() {
    let (stdout, _) = run(&["replay", "export", log_path(), "--format", "csv"], 0);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), FRAMES as usize + 1, "a header and one row per frame");
    assert_eq!(lines[0], "frame,slot0_input,slot0_flags,slot1_input,slot1_flags,slot2_input,slot2_flags,checksum");
    assert!(lines.iter().all(|l| l.split(',').count() == 8), "every row has every column");
    // Frame 0: every slot holds the neutral input (the input delay), and a checksum is recorded.
    assert!(lines[1].starts_with("0,0x0000,,0x0000,,0x0000,,0x"), "{}", lines[1]);
    let with_checksum: Vec<&str> =
        lines[1..].iter().filter(|l| !l.ends_with(',')).map(|l| l.split(',').next().unwrap_or("")).collect();
    assert_eq!(with_checksum, ["0", "60", "120", "180", "240"]);
    // The inputs are the bots' scripted inputs.
    let expected = scripted_input(1, 2, 150);
    assert!(lines[151].starts_with("150,"), "{}", lines[151]);
    assert_eq!(lines[151].split(',').nth(5), Some(format!("0x{:02x}{:02x}", expected[0], expected[1]).as_str()));
}

#[test]
fn export_jsonl_with_a_frame_range() {
    let (stdout, _) = run(&["replay", "export", log_path(), "--format", "jsonl", "--from", "100", "--to", "159"], 0);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 60, "frames 100..=159");
    assert!(lines[0].starts_with(r#"{"frame":100,"inputs":["0x"#), "{}", lines[0]);
    assert!(lines[59].starts_with(r#"{"frame":159,"#), "{}", lines[59]);
    assert!(lines.iter().all(|l| l.contains(r#""flags":["","",""]"#) && l.ends_with('}')), "{stdout}");
    assert!(lines[20].starts_with(r#"{"frame":120,"#) && lines[20].contains(r#""checksum":"0x"#), "{}", lines[20]);
    assert!(lines[21].ends_with(r#""checksum":null}"#), "{}", lines[21]);

    // --to past the end stops at the last frame; --out writes a file and says so.
    let out = scratch("tail.csv");
    let o = out.to_str().expect("utf-8 path");
    let (stdout, _) =
        run(&["replay", "export", log_path(), "--format", "csv", "--from", "290", "--to", "9999", "--out", o], 0);
    assert!(stdout.contains("exported 10 frames (290..=299)"), "{stdout}");
    let csv = std::fs::read_to_string(&out).expect("exported file");
    assert_eq!(csv.lines().count(), 11, "{csv}");

    // A range that does not fit the log is a usage error.
    let (_, stderr) = run(&["replay", "export", log_path(), "--format", "csv", "--from", "300"], 2);
    assert!(stderr.contains("--from 300 is not in the log, which holds frames 0..=299"), "{stderr}");
    let (_, stderr) = run(&["replay", "export", log_path(), "--format", "csv", "--from", "20", "--to", "10"], 2);
    assert!(stderr.contains("--to 10 is before --from 20"), "{stderr}");
    let (help, _) = run(&["replay", "export", "--help"], 0);
    assert!(help.contains("slot0_input,slot0_flags") && help.contains("disconnected"), "{help}");
}

/// Writes `bytes` to a fresh file and returns its path.
fn file_with(name: &str, bytes: &[u8]) -> PathBuf {
    let path = scratch(name);
    std::fs::write(&path, bytes).expect("write test file");
    path
}

fn verify_fails(path: &Path, code: i32) -> String {
    let (stdout, stderr) = run(&["replay", "verify", path.to_str().expect("utf-8 path")], code);
    assert!(!stdout.contains("OK"), "{stdout}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    stderr
}

#[test]
fn a_truncated_log_is_refused_unless_allowed() {
    let bytes = std::fs::read(log_path()).expect("recorded log");
    let cut = file_with("truncated.flog", &bytes[..bytes.len() - 1]);
    let stderr = verify_fails(&cut, 2);
    assert!(stderr.contains("truncated") && stderr.contains("--allow-truncated"), "{stderr}");
    let c = cut.to_str().expect("utf-8 path");
    for sub in
        [&["replay", "info", c][..], &["replay", "info", "--json", c], &["replay", "export", c, "--format", "csv"]]
    {
        let (_, stderr) = run(sub, 2);
        assert!(stderr.contains("truncated") && stderr.contains("whole frames"), "{sub:?}: {stderr}");
    }
    let (info, _) = run(&["replay", "info", "--allow-truncated", c], 0);
    assert!(info.contains("truncated:   yes: input log is truncated at byte"), "{info}");
    let (json, _) = run(&["replay", "info", "--json", "--allow-truncated", c], 0);
    assert!(json.contains(r#""truncated":"input log is truncated at byte"#), "{json}");
    assert!(json.contains(r#""completeness":"truncated""#), "{json}");
    let (rows, warning) = run(&["replay", "export", c, "--format", "csv", "--allow-truncated"], 0);
    assert!(warning.contains("warning:") && warning.contains("before the cut"), "{warning}");
    assert!(rows.lines().count() > 1, "{rows}");
    let (ok, warning) = run(&["replay", "verify", "--allow-truncated", c], 0);
    assert!(ok.contains("OK up to the cut") && ok.contains("TRUNCATED"), "{ok}");
    assert!(warning.contains("warning:"), "{warning}");
}

/// File offsets of every chunk of a log (after the header).
fn chunk_offsets(bytes: &[u8]) -> Vec<usize> {
    let header_len = u32::from_le_bytes([bytes[12], bytes[13], bytes[14], bytes[15]]) as usize;
    let mut off = 16 + header_len + 4;
    let mut out = Vec::new();
    while off + 5 <= bytes.len() {
        out.push(off);
        off += 5 + u32::from_le_bytes([bytes[off + 1], bytes[off + 2], bytes[off + 3], bytes[off + 4]]) as usize + 4;
    }
    out
}

#[test]
fn a_log_cut_between_chunks_or_concatenated_is_not_complete() {
    let bytes = std::fs::read(log_path()).expect("recorded log");
    let chunks = chunk_offsets(&bytes);
    assert!(chunks.len() > 3, "{} chunks", chunks.len());
    let (info, _) = run(&["replay", "info", log_path()], 0);
    assert!(info.contains("format:      framelock input log, version 3"), "{info}");
    assert!(info.contains("end:         complete (end chunk:"), "{info}");
    // Every chunk boundary, including the one just before the end chunk.
    for (i, &at) in chunks.iter().enumerate().skip(1) {
        let cut = file_with(&format!("cut-at-chunk-{i}.flog"), &bytes[..at]);
        let stderr = verify_fails(&cut, 2);
        assert!(stderr.contains(&format!("truncated at byte {at} in chunk {i}")), "{stderr}");
        assert!(stderr.contains("holds") && stderr.contains("whole frame"), "{stderr}");
    }
    let mut twice = bytes.clone();
    twice.extend_from_slice(&bytes);
    let twice = file_with("twice.flog", &twice);
    let t = twice.to_str().expect("utf-8 path");
    for sub in [&["replay", "verify", t][..], &["replay", "info", t], &["replay", "export", t, "--format", "csv"]] {
        let (_, stderr) = run(sub, 2);
        assert!(stderr.contains("bytes after the end chunk"), "{sub:?}: {stderr}");
    }
}

#[test]
fn a_format_1_log_still_verifies_and_says_it_has_no_trailer() {
    let golden = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/data/golden-arena.flog");
    let (ok, _) = run(&["replay", "verify", golden], 0);
    assert!(ok.contains("OK, every recorded checksum matches") && ok.contains("no trailer (format 1)"), "{ok}");
    let (info, _) = run(&["replay", "info", golden], 0);
    assert!(info.contains("version 1") && info.contains("end:         no trailer (format 1)"), "{info}");
    let (json, _) = run(&["replay", "info", "--json", golden], 0);
    assert!(json.contains(r#""completeness":"no trailer (format 1)""#), "{json}");
}

/// Rewrites the recorded log through `edit`, which gets the writer after every frame was copied.
fn rewritten(name: &str, edit: impl FnOnce(&mut LogWriter<Vec<u8>>, &[(u32, u64)])) -> PathBuf {
    let bytes = std::fs::read(log_path()).expect("recorded log");
    let log = LogReader::parse(&bytes).expect("parse");
    let mut w = LogWriter::new(Vec::new(), log.header().clone()).expect("header");
    let mut c = log.cursor();
    while let Some(f) = c.next_frame().expect("decode") {
        let inputs: Vec<LoggedInput<'_>> = f.inputs().collect();
        w.record_inputs(f.frame(), &inputs).expect("record");
    }
    let checksums: Vec<(u32, u64)> = log.checksums().collect();
    edit(&mut w, &checksums);
    file_with(name, &w.finish().expect("finish"))
}

#[test]
fn edits_that_keep_the_crcs_are_still_caught() {
    // A second, different checksum for a frame: corrupt, naming the frame.
    let original = std::fs::read(log_path()).expect("recorded log");
    let third = LogReader::parse(&original).expect("parse").checksums().nth(2).expect("3 checksums").0;
    let dup = rewritten("dup-checksum.flog", |w, sums| {
        for &(f, c) in sums {
            w.record_checksum(f, c).expect("checksum");
        }
        w.record_checksum(sums[2].0, sums[2].1 ^ 1).expect("checksum");
    });
    let stderr = verify_fails(&dup, 2);
    assert!(stderr.contains(&format!("two different checksums recorded for one frame (frame {third})")), "{stderr}");
    run(&["replay", "info", dup.to_str().expect("utf-8 path")], 2);
    // A checksum past the end of the log.
    let past = rewritten("past-checksum.flog", |w, sums| {
        for &(f, c) in sums {
            w.record_checksum(f, c).expect("checksum");
        }
        w.record_checksum(FRAMES + 1000, 7).expect("checksum");
    });
    assert!(verify_fails(&past, 2).contains("a checksum recorded for a frame the log does not hold"));
    // No checksum at all: refused before replaying.
    let none = rewritten("no-checksums.flog", |_, _| {});
    assert!(verify_fails(&none, 2).contains("nothing to verify: the log records no checksum"));
    // A keyframe that is not the state at its frame.
    let bad_key = rewritten("bad-keyframe.flog", |w, sums| {
        for &(f, c) in sums {
            w.record_checksum(f, c).expect("checksum");
        }
        w.record_keyframe(10, &[1, 2, 3]).expect("keyframe");
    });
    let stderr = verify_fails(&bad_key, 2);
    assert!(stderr.contains("the keyframe is not the replay's state at its frame (frame 10)"), "{stderr}");
}

#[test]
fn a_flipped_byte_fails_the_chunk_crc() {
    let mut bytes = std::fs::read(log_path()).expect("recorded log");
    // The first chunk starts after the 16-byte prefix, the header body and its CRC.
    let header_len = u32::from_le_bytes([bytes[12], bytes[13], bytes[14], bytes[15]]) as usize;
    let in_first_chunk = 16 + header_len + 4 + 12;
    bytes[in_first_chunk] ^= 0x04;
    let stderr = verify_fails(&file_with("flipped.flog", &bytes), 2);
    assert!(stderr.contains("chunk 0") && stderr.contains("CRC"), "{stderr}");
}

#[test]
fn a_wrong_recorded_checksum_is_a_divergence_at_its_frame() {
    // Two bots in a lockstep arena, recorded by hand: the true checksum every 60 frames, except a
    // wrong one at frame 180.
    let params = ArenaParams { players: 2, seed: 7, ..ArenaParams::default() };
    let session = SessionBuilder::new(2)
        .local_slots(0b11)
        .max_input_size(INPUT_SIZE)
        .default_input(&NEUTRAL_INPUT)
        .max_snapshot_size(snapshot_size_bound(&params))
        .frame_arena_size(scratch_size_bound(&params))
        .checksum_history(1024)
        .build()
        .expect("session");
    let mut driver = Driver::new(session, Arena::new(params).expect("arena"));
    let mut header = LogHeader::new(2, INPUT_SIZE as u16);
    header.default_input = NEUTRAL_INPUT.to_vec();
    header.simulation = SIMULATION_ID.to_string();
    header.sim_params = encode_params(&params);
    let mut writer = LogWriter::new(Vec::new(), header).expect("header");
    for frame in 0..240 {
        let inputs = [scripted_input(7, 0, frame), scripted_input(7, 1, frame)];
        for (slot, input) in inputs.iter().enumerate() {
            driver.session_mut().add_local_input(slot, input).expect("input");
        }
        driver.advance().expect("advance");
        let logged = [LoggedInput::confirmed(&inputs[0]), LoggedInput::confirmed(&inputs[1])];
        writer.record_inputs(frame, &logged).expect("record");
    }
    let mut wrong = 0;
    for frame in (0..240).step_by(60) {
        let checksum = driver.session().checksum(frame).expect("checksum kept");
        if frame == 180 {
            wrong = checksum ^ 0x5a5a;
        }
        writer.record_checksum(frame, if frame == 180 { wrong } else { checksum }).expect("record");
    }
    let path = file_with("diverged.flog", &writer.finish().expect("finish"));
    let stderr = verify_fails(&path, 1);
    assert!(stderr.contains("replay diverged at frame 180"), "{stderr}");
    assert!(stderr.contains(&format!("recorded checksum {wrong:#018x}")), "{stderr}");

    // The file itself is sound: only the replay finds what is wrong with it.
    let (info, _) = run(&["replay", "info", path.to_str().expect("utf-8 path")], 0);
    assert!(info.contains("checksums:   4 (every 60 frames)"), "{info}");
}

#[test]
fn logs_this_program_cannot_replay_are_refused() {
    let mut header = LogHeader::new(2, INPUT_SIZE as u16);
    header.simulation = "pong".to_string();
    let mut writer = LogWriter::new(Vec::new(), header.clone()).expect("header");
    writer.record_inputs(0, &[LoggedInput::confirmed(&[1, 2]), LoggedInput::confirmed(&[])]).expect("record");
    writer.record_checksum(0, 1).expect("record");
    let pong = file_with("pong.flog", &writer.finish().expect("finish"));
    assert!(verify_fails(&pong, 2).contains("unknown simulation `pong`"));
    let (info, _) = run(&["replay", "info", pong.to_str().expect("utf-8 path")], 0);
    assert!(info.contains("simulation:  pong (cannot be replayed"), "{info}");

    header.simulation = SIMULATION_ID.to_string();
    header.sim_params = vec![1, 0, 0];
    let bad_params = file_with("bad-params.flog", &LogWriter::new(Vec::new(), header).expect("h").finish().expect("f"));
    assert!(verify_fails(&bad_params, 2).contains("arena params"));
}

#[test]
fn garbage_and_missing_files_exit_2() {
    let random: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let cases = [
        (file_with("random.flog", &random), "not an input log"),
        (file_with("empty.flog", b""), "empty"),
        (file_with("magic-only.flog", b"FLOG\r\n\x1a\n"), "truncated"),
        (scratch("does-not-exist.flog"), "cannot read"),
        (scratch(""), "cannot read"),
    ];
    for (path, says) in &cases {
        let p = path.to_str().expect("utf-8 path");
        for sub in [&["replay", "verify", p][..], &["replay", "info", p], &["replay", "info", "--json", p]] {
            let (_, stderr) = run(sub, 2);
            assert!(stderr.contains(says), "{sub:?}: {stderr}");
        }
        let (_, stderr) = run(&["replay", "export", p, "--format", "jsonl"], 2);
        assert!(stderr.contains(says), "{stderr}");
    }
    // Usage errors exit 2 as well.
    run(&["replay", "verify"], 2);
    run(&["replay", "export", log_path()], 2);
    run(&["replay", "export", log_path(), "--format", "xml"], 2);
}

/// Memory stays bounded whatever the input: garbage is refused after its first bytes, however
/// large the file (a sparse 2 GiB file here: logs are read streaming, with no size cap), and an
/// endless device too.
#[test]
fn huge_and_endless_inputs_end_with_a_clear_error() {
    let sparse = scratch("sparse-2g.flog");
    let f = std::fs::File::create(&sparse).expect("create");
    f.set_len(2 << 30).expect("a sparse file");
    drop(f);
    let s = sparse.to_str().expect("utf-8 path");
    for sub in
        [&["replay", "verify", s][..], &["replay", "info", "--json", s], &["replay", "export", s, "--format", "csv"]]
    {
        let (_, stderr) = run(sub, 2);
        assert!(stderr.contains("not an input log (bad magic)"), "{sub:?}: {stderr}");
    }
    std::fs::remove_file(&sparse).expect("remove");
    if Path::new("/dev/zero").exists() {
        let (_, stderr) = run(&["replay", "verify", "/dev/zero"], 2);
        assert!(stderr.contains("not an input log (bad magic)"), "{stderr}");
    }
}

#[test]
fn recording_into_a_missing_folder_fails_cleanly() {
    let path = scratch("no-such-folder/x.flog");
    let (_, stderr) =
        run(&["demo", "--in-process", "--frames", "10", "--record", path.to_str().expect("utf-8 path")], 1);
    assert!(stderr.contains("cannot create the input log"), "{stderr}");
}
