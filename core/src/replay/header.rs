//! The log header: what was recorded, with which settings, by whom.

use super::codec::{crc32, Cursor, Put};
use crate::{Error, Frame, Mode, MAX_INPUT_SIZE, MAX_SLOTS};

/// The first eight bytes of every input log. The `\r\n` and `\x1a` catch text-mode mangling.
pub const MAGIC: [u8; 8] = *b"FLOG\r\n\x1a\n";
/// The format version this crate writes (and the newest it reads). Version 2 added the end chunk;
/// version 3 changed the snapshot checksum to XXH3-64 ([`crate::checksum64`]; versions 1 and 2
/// record [`crate::checksum64_v1`]).
pub const FORMAT_VERSION: u16 = 3;
/// The `min_reader` this crate writes: a version-1 reader cannot skip the end chunk, and a
/// version-2 reader would verify the checksums with the wrong hash.
pub const MIN_READER_WRITTEN: u16 = 3;
/// The first format version whose checksums are XXH3-64.
pub const XXH3_SINCE_VERSION: u16 = 3;
/// The oldest format version this reader reads.
pub const OLDEST_READABLE_VERSION: u16 = 1;
/// Magic, version, oldest reader version and header length.
const PREFIX_LEN: usize = 16;
/// The largest header body a reader accepts.
pub const MAX_HEADER_LEN: u32 = 1 << 20;

/// How the recorded session ran (informational: a replay always runs in lockstep).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionKind {
    /// Lockstep.
    Lockstep,
    /// Rollback with this prediction limit.
    Rollback(u32),
    /// Sync test with this check distance.
    SyncTest(u32),
    /// A relay's room (the authority's own record).
    Relay,
}

impl From<Mode> for SessionKind {
    fn from(m: Mode) -> Self {
        match m {
            Mode::Lockstep => SessionKind::Lockstep,
            Mode::Rollback { max_prediction } => SessionKind::Rollback(max_prediction),
            Mode::SyncTest { check_distance } => SessionKind::SyncTest(check_distance),
        }
    }
}

/// Everything a log says about itself before its first frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogHeader {
    /// Player slots (1..=64).
    pub slots: u8,
    /// The largest input in bytes.
    pub max_input_size: u16,
    /// Frames per second the match ran at.
    pub tick_rate: u16,
    /// How the recorded session ran.
    pub session: SessionKind,
    /// The input of a disconnected slot.
    pub default_input: Vec<u8>,
    /// Every this many frames a checksum is recorded (the writer's caller decides; informational).
    pub checksum_interval: u32,
    /// Every this many frames a keyframe snapshot is recorded (0: none; informational).
    pub keyframe_interval: u32,
    /// Frames per chunk (1..=4096): the unit of loss when a file is cut short.
    pub frames_per_chunk: u16,
    /// The first frame of the log (usually 0).
    pub first_frame: Frame,
    /// The simulation's name, e.g. `arena`.
    pub simulation: String,
    /// The simulation's parameters (seed, sizes), in its own encoding.
    pub sim_params: Vec<u8>,
    /// When the recording started, in seconds since the Unix epoch (given by the caller; the core
    /// has no clock). 0 when unknown.
    pub created_unix: u64,
    /// Which program wrote the log.
    pub creator: String,
}

impl LogHeader {
    /// A header for `slots` slots of at most `max_input_size` bytes, with defaults: 60 Hz, lockstep,
    /// empty default input, checksums every 60 frames, no keyframes, 256 frames per chunk.
    pub fn new(slots: u8, max_input_size: u16) -> Self {
        LogHeader {
            slots,
            max_input_size,
            tick_rate: 60,
            session: SessionKind::Lockstep,
            default_input: Vec::new(),
            checksum_interval: 60,
            keyframe_interval: 0,
            frames_per_chunk: 256,
            first_frame: 0,
            simulation: String::new(),
            sim_params: Vec::new(),
            created_unix: 0,
            creator: String::new(),
        }
    }

    /// The bytes of the changed-slot mask of every frame.
    pub(crate) fn mask_len(&self) -> usize {
        usize::from(self.slots).div_ceil(8)
    }

    pub(crate) fn validate(&self) -> Result<(), &'static str> {
        if self.slots == 0 || usize::from(self.slots) > MAX_SLOTS {
            return Err("slots must be 1..=64");
        }
        if usize::from(self.max_input_size) > MAX_INPUT_SIZE {
            return Err("max_input_size must be at most 1024");
        }
        if self.default_input.len() > usize::from(self.max_input_size) {
            return Err("default input longer than max_input_size");
        }
        if self.checksum_interval == 0 {
            return Err("checksum interval must be at least 1");
        }
        if self.first_frame == Frame::MAX {
            // The frame after the last one must be a frame number too (frames end before u32::MAX).
            return Err("first frame must be below 4294967295");
        }
        if self.frames_per_chunk == 0 || self.frames_per_chunk > 4096 {
            return Err("frames per chunk must be 1..=4096");
        }
        if self.simulation.len() > 255 || self.creator.len() > 255 {
            return Err("simulation and creator names must be at most 255 bytes");
        }
        if self.sim_params.len() > 1 << 16 {
            return Err("simulation parameters must be at most 64 KiB");
        }
        Ok(())
    }

    /// The header as it is written: magic, versions, length, body, CRC.
    pub(crate) fn encode(&self) -> Result<Vec<u8>, Error> {
        self.validate().map_err(|what| Error::LogMismatch { what })?;
        let mut body = Vec::new();
        body.put_u8(self.slots);
        body.put_u16(self.max_input_size);
        body.put_u16(self.tick_rate);
        let (kind, param) = match self.session {
            SessionKind::Lockstep => (0, 0),
            SessionKind::Rollback(p) => (1, p),
            SessionKind::SyncTest(d) => (2, d),
            SessionKind::Relay => (3, 0),
        };
        body.put_u8(kind);
        body.put_u32(param);
        body.put_u32(self.checksum_interval);
        body.put_u32(self.keyframe_interval);
        body.put_u16(self.frames_per_chunk);
        body.put_u32(self.first_frame);
        body.put_u16(self.default_input.len() as u16);
        body.extend_from_slice(&self.default_input);
        body.put_u8(self.simulation.len() as u8);
        body.extend_from_slice(self.simulation.as_bytes());
        body.put_u32(self.sim_params.len() as u32);
        body.extend_from_slice(&self.sim_params);
        body.put_u64(self.created_unix);
        body.put_u8(self.creator.len() as u8);
        body.extend_from_slice(self.creator.as_bytes());

        let mut out = Vec::with_capacity(PREFIX_LEN + body.len() + 4);
        out.extend_from_slice(&MAGIC);
        out.put_u16(FORMAT_VERSION);
        out.put_u16(MIN_READER_WRITTEN);
        out.put_u32(body.len() as u32);
        out.extend_from_slice(&body);
        let crc = crc32(0, &out);
        out.put_u32(crc);
        Ok(out)
    }

    /// Parses the header at the start of `bytes`; returns it, the offset of the first chunk and the
    /// file's format version.
    pub(crate) fn decode(bytes: &[u8]) -> Result<(LogHeader, usize, u16), Error> {
        let truncated = Error::LogTruncated { byte: bytes.len() as u64, chunk: None };
        if bytes.len() < MAGIC.len() {
            return Err(if MAGIC.starts_with(bytes) { truncated } else { bad_magic() });
        }
        if bytes[..MAGIC.len()] != MAGIC {
            return Err(bad_magic());
        }
        let mut c = Cursor::new(bytes, 0, None);
        c.take(MAGIC.len(), "magic")?;
        if c.remaining() < 8 {
            return Err(truncated);
        }
        let version = c.u16("version")?;
        let min_reader = c.u16("minimum reader version")?;
        if version < OLDEST_READABLE_VERSION || min_reader > FORMAT_VERSION {
            return Err(Error::LogUnsupportedVersion { version, min_reader, supported: FORMAT_VERSION });
        }
        let len = c.u32("header length")?;
        if len > MAX_HEADER_LEN {
            return Err(c.corrupt("header length over 1 MiB"));
        }
        let end = PREFIX_LEN + len as usize + 4;
        if bytes.len() < end {
            return Err(truncated);
        }
        let crc = u32::from_le_bytes([bytes[end - 4], bytes[end - 3], bytes[end - 2], bytes[end - 1]]);
        if crc32(0, &bytes[..end - 4]) != crc {
            return Err(Error::LogCorrupt { what: "header fails its CRC", byte: 0, chunk: None });
        }
        let mut b = Cursor::new(&bytes[PREFIX_LEN..end - 4], PREFIX_LEN as u64, None);
        let slots = b.u8("slots")?;
        let max_input_size = b.u16("max input size")?;
        let tick_rate = b.u16("tick rate")?;
        let kind = b.u8("session kind")?;
        let param = b.u32("session parameter")?;
        let session = match kind {
            0 => SessionKind::Lockstep,
            1 => SessionKind::Rollback(param),
            2 => SessionKind::SyncTest(param),
            3 => SessionKind::Relay,
            _ => return Err(b.corrupt("unknown session kind")),
        };
        let checksum_interval = b.u32("checksum interval")?;
        let keyframe_interval = b.u32("keyframe interval")?;
        let frames_per_chunk = b.u16("frames per chunk")?;
        let first_frame = b.u32("first frame")?;
        let n = b.u16("default input length")?;
        let default_input = b.take(n.into(), "default input")?.to_vec();
        let n = b.u8("simulation name length")?;
        let simulation = text(&mut b, n.into(), "simulation name")?;
        let n = b.u32("simulation parameters length")?;
        let sim_params = b.take(n as usize, "simulation parameters")?.to_vec();
        let created_unix = b.u64("creation time")?;
        let n = b.u8("creator length")?;
        let creator = text(&mut b, n.into(), "creator")?;
        // A newer writer may append fields an older reader skips (that is what `min_reader` allows);
        // in the versions this reader knows, anything after the last field is corruption.
        if version <= FORMAT_VERSION && b.remaining() != 0 {
            return Err(b.corrupt("bytes after the header's last field"));
        }
        let h = LogHeader {
            slots,
            max_input_size,
            tick_rate,
            session,
            default_input,
            checksum_interval,
            keyframe_interval,
            frames_per_chunk,
            first_frame,
            simulation,
            sim_params,
            created_unix,
            creator,
        };
        h.validate().map_err(|what| Error::LogCorrupt { what, byte: PREFIX_LEN as u64, chunk: None })?;
        Ok((h, end, version))
    }
}

fn bad_magic() -> Error {
    Error::LogCorrupt { what: "not an input log (bad magic)", byte: 0, chunk: None }
}

fn text(c: &mut Cursor<'_>, n: usize, what: &'static str) -> Result<String, Error> {
    let at = c.clone();
    let bytes = c.take(n, what)?;
    core::str::from_utf8(bytes).map(str::to_owned).map_err(|_| at.corrupt("text is not UTF-8"))
}
