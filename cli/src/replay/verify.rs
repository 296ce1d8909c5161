//! `framelock replay verify FILE`: replay every frame and compare every recorded checksum.

use std::fmt::Write as _;
use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Args;
use framelock_core::arena::{scratch_size_bound, snapshot_size_bound, Arena};
use framelock_core::Error;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::text::checksum_hex;
use super::{arena_params, check_complete, completeness_text, duration_secs, scan, Input, ReplayError};

/// Options of `framelock replay verify`.
#[derive(Debug, Clone, Args)]
pub struct VerifyArgs {
    /// The input log.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Verify the whole frames of a truncated log (one whose writer never finished, e.g. a crashed
    /// relay's recording) instead of refusing it.
    #[arg(long)]
    pub allow_truncated: bool,
}

/// A progress bar appears on stderr once a replay has run this long (and only on a terminal).
const SHOW_PROGRESS_AFTER: Duration = Duration::from_millis(300);

/// Replays the log and prints what was verified; a divergence or an unusable file is an error.
pub fn run(args: &VerifyArgs, out: &mut impl Write) -> Result<(), ReplayError> {
    let path = args.file.as_path();
    let input = Input::open(path)?;
    let log = scan(path, &input)?;
    let truncated = check_complete(path, &log, args.allow_truncated)?;
    let params =
        arena_params(&log.header).map_err(|why| ReplayError::invalid(path, format!("cannot replay: {why}")))?;
    let mut arena =
        Arena::new(params).map_err(|e| ReplayError::invalid(path, format!("cannot create the arena: {e}")))?;
    if log.checksums == 0 {
        return Err(ReplayError::invalid(
            path,
            format!("nothing to verify: the log records no checksum ({} frames not replayed)", log.frames),
        ));
    }

    // The second pass: the file was validated whole, now the frames are replayed as they stream by.
    // A second stream reads the checksums and keyframes ahead of the frames, as far as the first
    // pass saw them recorded after their frames, so each is compared wherever it is in the file.
    let (mut stream, mut ahead) = (input.stream(path)?, input.stream(path)?);
    let replay = stream
        .replay()
        .read_ahead(&mut ahead, log.lag)
        .max_snapshot_size(snapshot_size_bound(&params))
        .frame_arena_size(scratch_size_bound(&params));
    let start = Instant::now();
    let mut progress = Progress::new(log.frames);
    let result = replay.verify(&mut arena, &mut |frames| progress.update(frames));
    progress.finish();
    let elapsed = start.elapsed();
    let report = match result {
        Ok(report) => report,
        Err(error @ Error::ReplayDiverged { .. }) => {
            return Err(ReplayError::Diverged { path: path.to_path_buf(), error });
        }
        Err(e) => return Err(ReplayError::invalid(path, format!("cannot replay: {e}"))),
    };
    let recorded = log.checksums;
    let Some((last_frame, last)) = report.last_checksum.filter(|_| report.checksums_verified > 0) else {
        return Err(ReplayError::invalid(
            path,
            format!(
                "nothing to verify: the replay of {} frames could compare none of the log's {recorded} recorded checksums",
                report.frames
            ),
        ));
    };

    let h = &log.header;
    let secs = elapsed.as_secs_f64();
    let mut s = String::new();
    match truncated {
        None => {
            let _ = writeln!(s, "{}: OK, every recorded checksum matches", path.display());
        }
        Some(_) => {
            let _ = writeln!(
                s,
                "{}: OK up to the cut, every recorded checksum of the readable frames matches (TRUNCATED log)",
                path.display()
            );
        }
    }
    let _ = writeln!(s, "log:        {}", completeness_text(&log));
    let play = duration_secs(report.frames, h.tick_rate)
        .map_or_else(|| "unknown tick rate".to_string(), |d| format!("{d:.1} s at {} Hz", h.tick_rate));
    let _ = writeln!(s, "frames:     {} ({play})", report.frames);
    let _ = writeln!(
        s,
        "checksums:  {} verified (every {} frames; last at frame {last_frame} = {})",
        report.checksums_verified,
        h.checksum_interval,
        checksum_hex(last)
    );
    if !log.keyframes.is_empty() {
        let _ = writeln!(s, "keyframes:  {} verified against the replay's state", report.keyframes_verified);
    }
    if report.checksums_unchecked > 0 {
        let _ = writeln!(
            s,
            "unchecked:  {} recorded checksums the replay could not compare (of the state after the last frame or off the interval)",
            report.checksums_unchecked
        );
    }
    let rate = if secs > 0.0 { format!(", {:.0} frames/s", f64::from(report.frames) / secs) } else { String::new() };
    let _ = writeln!(s, "time:       {secs:.2} s{rate}");
    out.write_all(s.as_bytes()).map_err(ReplayError::stdout)
}

/// A progress bar on stderr, shown only when stderr is a terminal and the replay takes more than
/// a moment; never in pipes or tests.
#[derive(Debug)]
struct Progress {
    total: u64,
    start: Instant,
    terminal: bool,
    bar: Option<ProgressBar>,
}

impl Progress {
    fn new(total: u32) -> Self {
        Progress { total: total.into(), start: Instant::now(), terminal: io::stderr().is_terminal(), bar: None }
    }

    fn update(&mut self, frames: u32) {
        if self.bar.is_none() && self.terminal && self.start.elapsed() >= SHOW_PROGRESS_AFTER {
            let style = ProgressStyle::with_template("verifying [{bar:40}] {pos}/{len} frames")
                .map(|s| s.progress_chars("=> "))
                .unwrap_or_else(|_| ProgressStyle::default_bar());
            let bar = ProgressBar::with_draw_target(Some(self.total), ProgressDrawTarget::stderr()).with_style(style);
            self.bar = Some(bar);
        }
        if let Some(bar) = &self.bar {
            bar.set_position(frames.into());
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
