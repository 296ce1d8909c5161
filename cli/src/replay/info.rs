//! `framelock replay info FILE [--json]`: what a log holds, without replaying it.

use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;
use framelock_core::replay::Completeness;

use super::text::{checksum_hex, hex, json_string, params_text, session_parts, session_text, utc};
use super::{arena_params, check_complete, completeness_text, duration_secs, scan, Input, ReplayError, Scan};

/// Options of `framelock replay info`.
#[derive(Debug, Clone, Args)]
pub struct InfoArgs {
    /// The input log.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Print one JSON object instead of text (checksums are `0x` hex strings; absent values are
    /// `null`).
    #[arg(long)]
    pub json: bool,
    /// Describe a truncated log's whole frames instead of refusing it.
    #[arg(long)]
    pub allow_truncated: bool,
}

/// Keyframe frames listed in the text output (all of them go into the JSON).
const KEYFRAMES_SHOWN: usize = 12;

/// Describes the log. A truncated log is described up to its last whole chunk, with a note.
pub fn run(args: &InfoArgs, out: &mut impl Write) -> Result<(), ReplayError> {
    let input = Input::open(&args.file)?;
    let log = scan(&args.file, &input)?;
    check_complete(&args.file, &log, args.allow_truncated)?;
    let version = log.version;
    let s = if args.json { json(&args.file, &log, version) } else { text(&args.file, &log, version) };
    out.write_all(s.as_bytes()).map_err(ReplayError::stdout)
}

fn text(path: &Path, log: &Scan, version: u16) -> String {
    let h = &log.header;
    let mut s = String::new();
    let _ = writeln!(s, "file:        {}", path.display());
    let _ = writeln!(s, "format:      framelock input log, version {version}");
    let sim = match (h.simulation.as_str(), arena_params(h)) {
        ("", _) => "(none named)".to_string(),
        (name, Ok(p)) => format!("{name} ({})", params_text(&p)),
        (name, Err(why)) if h.sim_params.is_empty() => format!("{name} (cannot be replayed: {why})"),
        (name, Err(why)) => format!("{name} (parameters 0x{}; cannot be replayed: {why})", hex(&h.sim_params)),
    };
    let _ = writeln!(s, "simulation:  {sim}");
    let _ = writeln!(s, "session:     {}", session_text(h.session));
    let _ = writeln!(
        s,
        "slots:       {} (inputs up to {} bytes, default input {})",
        h.slots,
        h.max_input_size,
        if h.default_input.is_empty() { "empty".to_string() } else { format!("0x{}", hex(&h.default_input)) }
    );
    let range = match log.end_frame.checked_sub(1).filter(|&last| last >= h.first_frame) {
        Some(last) => format!("{}..={last}", h.first_frame),
        None => "none".to_string(),
    };
    let duration = duration_secs(log.frames, h.tick_rate)
        .map_or_else(|| "unknown tick rate".to_string(), |d| format!("{d:.1} s at {} Hz", h.tick_rate));
    let _ = writeln!(s, "frames:      {} ({range}), {duration}", log.frames);
    let count = log.checksums;
    let _ = match log.checksum_range {
        Some(((f0, c0), (f1, c1))) => writeln!(
            s,
            "checksums:   {count} (every {} frames), first at frame {f0} = {}, last at frame {f1} = {}",
            h.checksum_interval,
            checksum_hex(c0),
            checksum_hex(c1)
        ),
        _ => writeln!(s, "checksums:   none (nothing to verify)"),
    };
    let keyframes = &log.keyframes;
    if keyframes.is_empty() {
        let _ = writeln!(s, "keyframes:   none");
    } else {
        let mut frames: Vec<String> = keyframes.iter().take(KEYFRAMES_SHOWN).map(|k| k.to_string()).collect();
        if keyframes.len() > KEYFRAMES_SHOWN {
            frames.push(format!("... ({} more)", keyframes.len() - KEYFRAMES_SHOWN));
        }
        let _ = writeln!(
            s,
            "keyframes:   {} (every {} frames) at frames {}",
            keyframes.len(),
            h.keyframe_interval,
            frames.join(", ")
        );
    }
    let per_frame = bytes_per_frame(log).map_or_else(String::new, |b| format!(", {b:.1} bytes per frame"));
    let _ = writeln!(s, "size:        {} bytes{per_frame}", log.size);
    let _ = writeln!(s, "creator:     {}", if h.creator.is_empty() { "(unknown)" } else { &h.creator });
    let created = match h.created_unix {
        0 => "(unknown)".to_string(),
        t => format!("{} (unix {t})", utc(t)),
    };
    let _ = writeln!(s, "created:     {created}");
    let _ = match log.truncation() {
        None => writeln!(s, "truncated:   no"),
        Some(e) => writeln!(s, "truncated:   yes: {e}; everything above is the readable part before the cut"),
    };
    let _ = writeln!(s, "end:         {}", completeness_text(log));
    s
}

fn json(path: &Path, log: &Scan, version: u16) -> String {
    let h = &log.header;
    let null = || "null".to_string();
    let (params, params_error) = match arena_params(h) {
        Ok(p) => (
            format!(
                r#"{{"players":{},"max_projectiles":{},"world_size":{},"seed":{}}}"#,
                p.players, p.max_projectiles, p.world_size, p.seed
            ),
            null(),
        ),
        Err(why) => (null(), json_string(&why)),
    };
    let (kind, param) = session_parts(h.session);
    let session = match param {
        Some((name, v)) => format!(r#"{{"kind":"{kind}","{name}":{v}}}"#),
        None => format!(r#"{{"kind":"{kind}"}}"#),
    };
    let checksum = |c: Option<(u32, u64)>| {
        c.map_or_else(null, |(f, c)| format!(r#"{{"frame":{f},"checksum":"{}"}}"#, checksum_hex(c)))
    };
    let checksums = format!(
        r#"{{"count":{},"first":{},"last":{}}}"#,
        log.checksums,
        checksum(log.checksum_range.map(|r| r.0)),
        checksum(log.checksum_range.map(|r| r.1))
    );
    // One string for every keyframe's frame (not a string per keyframe): a log of a million tiny
    // keyframes costs about 8 bytes each here.
    let mut keyframes = format!(r#"{{"count":{},"frames":["#, log.keyframes.len());
    for (i, k) in log.keyframes.iter().enumerate() {
        let _ = write!(keyframes, "{}{}", if i == 0 { "" } else { "," }, k);
    }
    keyframes.push_str("]}");
    let fields: Vec<(&str, String)> = vec![
        ("file", json_string(&path.to_string_lossy())),
        ("format_version", version.to_string()),
        ("slots", h.slots.to_string()),
        ("max_input_size", h.max_input_size.to_string()),
        ("default_input", json_string(&hex(&h.default_input))),
        ("first_frame", h.first_frame.to_string()),
        ("end_frame", log.end_frame.to_string()),
        ("frames", log.frames.to_string()),
        ("tick_rate", h.tick_rate.to_string()),
        ("duration_seconds", duration_secs(log.frames, h.tick_rate).map_or_else(null, |d| format!("{d:.3}"))),
        ("simulation", json_string(&h.simulation)),
        ("sim_params", params),
        ("sim_params_hex", json_string(&hex(&h.sim_params))),
        ("sim_params_error", params_error),
        ("session", session),
        ("checksum_interval", h.checksum_interval.to_string()),
        ("keyframe_interval", h.keyframe_interval.to_string()),
        ("frames_per_chunk", h.frames_per_chunk.to_string()),
        ("checksums", checksums),
        ("keyframes", keyframes),
        ("size_bytes", log.size.to_string()),
        ("bytes_per_frame", bytes_per_frame(log).map_or_else(null, |b| format!("{b:.3}"))),
        ("creator", json_string(&h.creator)),
        ("created_unix", h.created_unix.to_string()),
        ("created_utc", if h.created_unix == 0 { null() } else { json_string(&utc(h.created_unix)) }),
        ("truncated", log.truncation().map_or_else(null, |e| json_string(&e.to_string()))),
        (
            "completeness",
            json_string(match log.completeness {
                Completeness::Complete => "complete",
                Completeness::NoTrailer => "no trailer (format 1)",
                Completeness::Truncated(_) => "truncated",
            }),
        ),
        ("end", json_string(&completeness_text(log))),
    ];
    let body: Vec<String> = fields.iter().map(|(k, v)| format!("{}:{v}", json_string(k))).collect();
    format!("{{{}}}\n", body.join(","))
}

/// The file's size over its frames, when it has any.
fn bytes_per_frame(log: &Scan) -> Option<f64> {
    (log.frames > 0).then(|| log.size as f64 / f64::from(log.frames))
}
