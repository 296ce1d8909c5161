//! Small formatting helpers shared by `info` and `export`: hex, JSON strings, dates, names.

use std::fmt::Write as _;

use framelock_core::arena::ArenaParams;
use framelock_core::replay::{SessionKind, FLAG_DISCONNECTED, FLAG_SUBSTITUTED};

/// Bytes as lowercase hex, two digits each, no prefix (`""` for no bytes).
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(2 * bytes.len());
    push_hex(&mut s, bytes);
    s
}

/// Appends `bytes` as lowercase hex. A table, not `write!` per byte: `export` writes every input
/// byte of a log this way, gigabytes for a large log.
pub fn push_hex(out: &mut String, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut buf = [0u8; 128];
    for piece in bytes.chunks(buf.len() / 2) {
        for (pair, &b) in buf.chunks_exact_mut(2).zip(piece) {
            pair[0] = DIGITS[usize::from(b >> 4)];
            pair[1] = DIGITS[usize::from(b & 15)];
        }
        // Hex digits are ASCII: always UTF-8.
        out.push_str(std::str::from_utf8(&buf[..2 * piece.len()]).unwrap_or_default());
    }
}

/// An input's bytes for a table cell: `0x` and hex, so spreadsheets keep it as text; `""` for an
/// empty input.
pub fn push_input_hex(out: &mut String, bytes: &[u8]) {
    if !bytes.is_empty() {
        out.push_str("0x");
        push_hex(out, bytes);
    }
}

/// An input's flags as words: `""` (a plain confirmed input), `disconnected`, `substituted`, or
/// both joined by `+`.
pub fn flags_text(flags: u8) -> &'static str {
    match (flags & FLAG_DISCONNECTED != 0, flags & FLAG_SUBSTITUTED != 0) {
        (false, false) => "",
        (true, false) => "disconnected",
        (false, true) => "substituted",
        (true, true) => "disconnected+substituted",
    }
}

/// A checksum as `0x` and 16 hex digits.
pub fn checksum_hex(c: u64) -> String {
    format!("{c:#018x}")
}

/// `s` as a JSON string literal, quotes included.
pub fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A CSV field: quoted (with doubled quotes) when it holds a comma, a quote or a line break.
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// How the recorded session ran, in words.
pub fn session_text(kind: SessionKind) -> String {
    match kind {
        SessionKind::Lockstep => "lockstep".to_string(),
        SessionKind::Rollback(p) => format!("rollback (max prediction {p})"),
        SessionKind::SyncTest(d) => format!("sync test (check distance {d})"),
        SessionKind::Relay => "relay".to_string(),
    }
}

/// The session kind's name and parameter, for JSON.
pub fn session_parts(kind: SessionKind) -> (&'static str, Option<(&'static str, u32)>) {
    match kind {
        SessionKind::Lockstep => ("lockstep", None),
        SessionKind::Rollback(p) => ("rollback", Some(("max_prediction", p))),
        SessionKind::SyncTest(d) => ("sync_test", Some(("check_distance", d))),
        SessionKind::Relay => ("relay", None),
    }
}

/// Arena params in words.
pub fn params_text(p: &ArenaParams) -> String {
    format!(
        "{} players, max {} projectiles, world {} units, seed {}",
        p.players, p.max_projectiles, p.world_size, p.seed
    )
}

/// Seconds since the Unix epoch as `YYYY-MM-DD HH:MM:SS UTC`.
pub fn utc(unix: u64) -> String {
    let (days, secs) = (unix / 86_400, unix % 86_400);
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC", secs / 3600, secs % 3600 / 60, secs % 60)
}

/// The date `days` days after 1970-01-01 (Howard Hinnant's `civil_from_days`, for days >= 0).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc(1_700_000_000), "2023-11-14 22:13:20 UTC");
        assert_eq!(utc(4_102_444_799), "2099-12-31 23:59:59 UTC");
        let _ = utc(u64::MAX); // no overflow panic
    }

    #[test]
    fn escaping() {
        assert_eq!(json_string("a\"b\\c\nd\u{1}é"), "\"a\\\"b\\\\c\\nd\\u0001é\"");
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,\"b\""), "\"a,\"\"b\"\"\"");
        assert_eq!(hex(&[0, 0xab, 0x10]), "00ab10");
        let input_hex = |b: &[u8]| {
            let mut s = String::new();
            push_input_hex(&mut s, b);
            s
        };
        assert_eq!(input_hex(&[]), "");
        assert_eq!(input_hex(&[1, 2]), "0x0102");
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(hex(&all), all.iter().map(|b| format!("{b:02x}")).collect::<String>(), "past one 64-byte piece");
        assert_eq!(flags_text(FLAG_DISCONNECTED | FLAG_SUBSTITUTED), "disconnected+substituted");
    }
}
