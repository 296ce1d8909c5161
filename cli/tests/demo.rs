//! Runs the built `framelock` binary the way a user would, and checks what it prints and returns.

use std::process::{Command, Output};

fn framelock(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_framelock")).args(args).output().expect("the framelock binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Asserts a successful run that ended with every peer agreeing at `frame`, and returns stdout.
fn assert_agrees(args: &[&str], peers: usize, frame: u32) -> String {
    let out = framelock(args);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "stdout:\n{stdout}\nstderr:\n{stderr}");
    let line = format!("checksums agree: {peers}/{peers} peers at frame {frame} = 0x");
    assert!(stdout.contains(&line), "no `{line}` in:\n{stdout}");
    assert!(stdout.contains(&format!("{} frames on all {peers} peers", frame + 1)), "{stdout}");
    assert!(stderr.is_empty(), "{stderr}");
    stdout
}

#[test]
fn rollback_peers_agree_under_heavy_loss() {
    let args = ["demo", "--in-process", "--players", "4", "--frames", "600", "--loss", "0.2"];
    let stdout = assert_agrees(&args, 4, 599);
    assert!(stdout.starts_with("framelock demo: 4 peers x 600 frames, rollback"), "{stdout}");
    assert!(stdout.contains("frame     600 | rollbacks"), "a progress line: {stdout}");
    // The run is deterministic: the same options print the same report.
    assert_eq!(text(&framelock(&args).stdout), stdout);
}

#[test]
fn lockstep_peers_agree() {
    let stdout = assert_agrees(
        &["demo", "--in-process", "--mode", "lockstep", "--players", "3", "--frames", "300", "--loss", "0.1"],
        3,
        299,
    );
    assert!(stdout.contains("lockstep"), "{stdout}");
}

#[test]
fn lockstep_and_rollback_reach_the_same_state() {
    let checksum = |mode: &str| {
        let stdout = assert_agrees(&["demo", "--in-process", "--mode", mode, "--frames", "240", "--seed", "9"], 4, 239);
        stdout.lines().find(|l| l.starts_with("checksums agree")).map(|l| l.rsplit(' ').next().map(str::to_string))
    };
    assert_eq!(checksum("rollback"), checksum("lockstep"));
}

#[test]
fn invalid_options_fail_cleanly() {
    for args in [
        &["demo", "--in-process", "--players", "0"][..],
        &["demo", "--in-process", "--players", "65"],
        &["demo", "--in-process", "--loss", "1.5"],
        &["demo", "--in-process", "--mode", "warp"],
        &["demo", "--in-process", "--max-prediction", "0"],
        &["demo", "--in-process", "--input-delay", "33"],
        &["demo", "--in-process", "--frames", "many"],
        &["demo", "--in-process", "--no-such-option"],
        &["no-such-command"],
    ] {
        let out = framelock(args);
        let stderr = text(&out.stderr);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("error"), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn no_command_prints_usage() {
    let out = framelock(&[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("Usage: framelock <COMMAND>"), "{}", text(&out.stderr));
}

#[test]
fn a_run_that_cannot_finish_is_an_error() {
    let out = framelock(&["demo", "--in-process", "--players", "2", "--frames", "30", "--loss", "1"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.starts_with("error: ") && stderr.contains("did not finish"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn help_exits_zero() {
    let out = framelock(&["demo", "--help"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).contains("--max-prediction"));
}
