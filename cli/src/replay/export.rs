//! `framelock replay export FILE --format csv|jsonl`: one row per frame, for notebooks and
//! spreadsheets.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use framelock_core::replay::{LogEvent, LoggedFrame};
use framelock_core::{Error, Frame};

use super::text::{checksum_hex, csv_field, flags_text, json_string, push_input_hex};
use super::{check_complete, scan, Input, ReplayError, Scan, Stream};

/// The output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Comma-separated values with a header row.
    Csv,
    /// One JSON object per line.
    Jsonl,
}

/// What `--help` says about the rows.
const COLUMNS: &str = "\
Rows (one per frame, in frame order):
  CSV    frame,slot0_input,slot0_flags,slot1_input,slot1_flags,...,checksum
  JSONL  {\"frame\":120,\"inputs\":[\"0x1140\",\"0x0000\"],\"flags\":[\"\",\"disconnected\"],\"checksum\":\"0x...\"}

  frame      the frame number
  input      the slot's confirmed input bytes as hex with a 0x prefix (so spreadsheets keep it as
             text; an empty cell or string is a zero-length input)
  flags      empty for a plain confirmed input; `disconnected` (the slot had left: its input is the
             default input), `substituted` (the authority replaced a late input), or both joined by +
  checksum   the checksum recorded for the state at the start of this frame, as 0x and 16 hex
             digits; empty (CSV) or null (JSONL) on frames without one

A truncated log (cut short, or without its end chunk) is refused with exit code 2; with
--allow-truncated its whole frames are exported, with a warning on stderr.";

/// Options of `framelock replay export`.
#[derive(Debug, Clone, Args)]
#[command(after_help = COLUMNS)]
pub struct ExportArgs {
    /// The input log.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// The output format.
    #[arg(long, value_enum)]
    pub format: Format,
    /// The first frame to export (default: the log's first frame).
    #[arg(long, value_name = "F")]
    pub from: Option<Frame>,
    /// The last frame to export, inclusive (default and at most: the log's last frame).
    #[arg(long, value_name = "G")]
    pub to: Option<Frame>,
    /// Write to this file instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Export a truncated log's whole frames instead of refusing it.
    #[arg(long)]
    pub allow_truncated: bool,
}

/// Writes the rows of frames `from..=to` to stdout or `--out`.
pub fn run(args: &ExportArgs, stdout: &mut impl Write) -> Result<(), ReplayError> {
    let path = args.file.as_path();
    let input = Input::open(path)?;
    let log = scan(path, &input)?;
    check_complete(path, &log, args.allow_truncated)?;
    let range = frame_range(&log, args.from, args.to)?;
    match &args.out {
        None => write_rows(&input, &log, path, args.format, range, stdout).map(|_| ()),
        Some(out_path) => {
            let file =
                File::create(out_path).map_err(|error| ReplayError::Output { path: Some(out_path.clone()), error })?;
            let mut w = BufWriter::new(file);
            let rows = write_rows(&input, &log, path, args.format, range, &mut w)
                .and_then(|rows| w.flush().map(|()| rows).map_err(ReplayError::stdout))
                .map_err(|e| match e {
                    ReplayError::Output { path: None, error } => {
                        ReplayError::Output { path: Some(out_path.clone()), error }
                    }
                    e => e,
                })?;
            let what = match range {
                Some((from, to)) => format!("{rows} frames ({from}..={to})"),
                None => "0 frames".to_string(),
            };
            writeln!(stdout, "exported {what} of {} to {}", path.display(), out_path.display())
                .map_err(ReplayError::stdout)
        }
    }
}

/// The inclusive range of frames to export (`None`: the log has no frames), or why the options do
/// not fit the log.
fn frame_range(log: &Scan, from: Option<Frame>, to: Option<Frame>) -> Result<Option<(Frame, Frame)>, ReplayError> {
    let first = log.header.first_frame;
    let Some(last) = log.end_frame.checked_sub(1).filter(|&l| l >= first) else {
        return match (from, to) {
            (None, None) => Ok(None),
            _ => Err(ReplayError::Usage("the log holds no frames, so --from and --to do not apply".to_string())),
        };
    };
    let from = from.unwrap_or(first);
    if from < first || from > last {
        return Err(ReplayError::Usage(format!(
            "--from {from} is not in the log, which holds frames {first}..={last}"
        )));
    }
    let to = to.unwrap_or(last);
    if to < from {
        return Err(ReplayError::Usage(format!("--to {to} is before --from {from}")));
    }
    Ok(Some((from, to.min(last))))
}

/// Writes the header (CSV) and one row per frame; returns the number of rows. The frames come
/// from one stream over the log, the checksums from a second one reading ahead of it (a checksum
/// is recorded after its frame, up to `log.lag` frames later).
fn write_rows(
    input: &Input,
    log: &Scan,
    path: &Path,
    format: Format,
    range: Option<(Frame, Frame)>,
    out: &mut impl Write,
) -> Result<u64, ReplayError> {
    let slots = usize::from(log.header.slots);
    let mut line = String::new();
    if format == Format::Csv {
        line.push_str("frame");
        for s in 0..slots {
            let _ = write!(line, ",slot{s}_input,slot{s}_flags");
        }
        line.push_str(",checksum\n");
        out.write_all(line.as_bytes()).map_err(ReplayError::stdout)?;
    }
    let Some((from, to)) = range else { return Ok(0) };
    let decode = |e: Error| ReplayError::invalid(path, e.to_string());
    let mut frames = input.stream(path)?;
    // The chunks before `from` are validated and passed over without decoding their frames.
    frames.skip_to(from).map_err(decode)?;
    let mut checksums = Ahead { stream: input.stream(path)?, lag: log.lag, sums: BTreeMap::new() };
    let mut rows = 0;
    while let Some(frame) = frames.next_frame().map_err(decode)? {
        if frame.frame() > to {
            break;
        }
        let checksum = checksums.at(frame.frame()).map_err(decode)?;
        line.clear();
        match format {
            Format::Csv => csv_row(&mut line, &frame, checksum),
            Format::Jsonl => json_row(&mut line, &frame, checksum),
        }
        out.write_all(line.as_bytes()).map_err(ReplayError::stdout)?;
        rows += 1;
    }
    Ok(rows)
}

/// The recorded checksums, read by a second stream ahead of the frames: it holds those of the
/// frames from the current one to `lag` frames ahead, so memory stays bounded.
struct Ahead<'i> {
    stream: Stream<'i>,
    lag: u32,
    sums: BTreeMap<Frame, u64>,
}

impl Ahead<'_> {
    /// The recorded checksum of `frame`; frames must be asked for in increasing order.
    fn at(&mut self, frame: Frame) -> Result<Option<u64>, Error> {
        // Every chunk that can hold the checksum of `frame` ends at most `lag` frames after it.
        while !self.stream.is_finished() && self.stream.end_frame() <= frame.saturating_add(self.lag) {
            match self.stream.next_event()? {
                Some(LogEvent::Frame(_)) => self.stream.skip_chunk_frames(),
                Some(LogEvent::Checksum { frame: f, checksum }) => {
                    self.sums.insert(f, checksum);
                }
                Some(LogEvent::Keyframe(_)) | None => {}
            }
        }
        while let Some(e) = self.sums.first_entry().filter(|e| *e.key() < frame) {
            e.remove();
        }
        Ok(self.sums.get(&frame).copied())
    }
}

fn csv_row(line: &mut String, frame: &LoggedFrame<'_>, checksum: Option<u64>) {
    let _ = write!(line, "{}", frame.frame());
    for input in frame.inputs() {
        line.push(',');
        push_input_hex(line, input.bytes);
        let _ = write!(line, ",{}", csv_field(flags_text(input.flags)));
    }
    let _ = writeln!(line, ",{}", checksum.map(checksum_hex).unwrap_or_default());
}

fn json_row(line: &mut String, frame: &LoggedFrame<'_>, checksum: Option<u64>) {
    let _ = write!(line, r#"{{"frame":{},"inputs":["#, frame.frame());
    for (i, input) in frame.inputs().enumerate() {
        // Hex needs no escaping: the JSON string is the digits in quotes.
        line.push_str(if i == 0 { "\"" } else { ",\"" });
        push_input_hex(line, input.bytes);
        line.push('"');
    }
    line.push_str(r#"],"flags":["#);
    for (i, input) in frame.inputs().enumerate() {
        let sep = if i == 0 { "" } else { "," };
        let _ = write!(line, "{sep}{}", json_string(flags_text(input.flags)));
    }
    let checksum = checksum.map_or_else(|| "null".to_string(), |c| json_string(&checksum_hex(c)));
    let _ = writeln!(line, r#"],"checksum":{checksum}}}"#);
}
