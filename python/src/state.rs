//! `Session.save_state()` / `load_state()` for sessions over the built-in arena: the session's
//! configuration, the frame and the arena's snapshot as one self-checking byte string, from which
//! an equivalent session is rebuilt (pickle and `copy.deepcopy` go through it).
//!
//! Layout (little-endian): magic `b"FLSS"`, version u8 (1), the configuration (below), the
//! arena's snapshot (u32 length + the core's `FLA1` snapshot bytes), then `checksum64` of
//! everything before it (u64). The configuration: slots u16, local slots (u16 count + u16 each),
//! mode u8 (0 lockstep, 1 rollback, 2 synctest) + depth u32, relay u8, three optional sizes
//! (u8 present + u64) for max_input_size, max_snapshot_size and frame_arena_size, input_delay,
//! input_window, checksum_history, checksum_interval u32, event_capacity and
//! early_checksum_capacity u64, record u8, start frame u32 (the saved frame), an optional default
//! input (u8 present + u16 length + bytes), the arena params (16 bytes, `encode_params`).

use framelock_core::arena::{self, Arena, ArenaParams};
use framelock_core::{checksum64, Authority, Error, Frame, Mode, Session, SessionBuilder, SimError, Simulation};
use pyo3::exceptions::PyValueError;
use pyo3::PyResult;

use crate::errors::{to_py, IntoPy};

/// Everything `NativeSession.__new__` was given: what a restored session is rebuilt from.
#[derive(Debug, Clone)]
pub struct Config {
    pub slots: usize,
    pub local: Vec<usize>,
    pub mode: String,
    pub depth: u32,
    pub relay: bool,
    pub max_input_size: Option<usize>,
    pub input_delay: u32,
    pub max_snapshot_size: Option<usize>,
    pub default_input: Option<Vec<u8>>,
    pub frame_arena_size: Option<usize>,
    pub input_window: u32,
    pub checksum_history: u32,
    pub checksum_interval: u32,
    pub event_capacity: usize,
    pub record: bool,
    pub start_frame: Frame,
    pub arena_params: Option<ArenaParams>,
    pub early_checksum_capacity: usize,
}

const MAGIC: &[u8; 4] = b"FLSS";
const VERSION: u8 = 1;

/// The arena's snapshot in the core's documented `FLA1` layout (`core/src/arena/state.rs`), which
/// `Arena::load` validates; `Simulation::save` needs a session-owned writer, so it is built here.
pub fn arena_snapshot(a: &Arena) -> Vec<u8> {
    let p = a.params();
    let (players, shots) = (a.players(), a.projectiles());
    let mut out = Vec::with_capacity(arena::snapshot_size_bound(p));
    out.extend_from_slice(b"FLA1");
    out.push(p.players);
    out.extend_from_slice(&p.max_projectiles.to_le_bytes());
    out.extend_from_slice(&p.world_size.to_le_bytes());
    out.extend_from_slice(&p.seed.to_le_bytes());
    out.extend_from_slice(&a.frame().to_le_bytes());
    out.extend_from_slice(&a.rng().state().to_le_bytes());
    out.extend_from_slice(&(shots.len() as u16).to_le_bytes());
    for q in players {
        for v in [q.x, q.y, q.vx, q.vy, q.facing] {
            out.extend_from_slice(&v.raw().to_le_bytes());
        }
        out.extend_from_slice(&q.health.to_le_bytes());
        out.extend_from_slice(&q.cooldown.to_le_bytes());
        out.extend_from_slice(&q.respawn.to_le_bytes());
        out.extend_from_slice(&q.score.to_le_bytes());
    }
    for s in shots {
        for v in [s.x, s.y, s.vx, s.vy] {
            out.extend_from_slice(&v.raw().to_le_bytes());
        }
        out.extend_from_slice(&s.ttl.to_le_bytes());
        out.push(s.owner);
    }
    out
}

fn opt(out: &mut Vec<u8>, v: Option<usize>) {
    out.push(u8::from(v.is_some()));
    out.extend_from_slice(&(v.unwrap_or(0) as u64).to_le_bytes());
}

/// Encodes `config` (with `frame` as the start frame) and the arena's snapshot.
pub fn encode(config: &Config, frame: Frame, arena: &Arena) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + arena::snapshot_size_bound(arena.params()));
    out.extend_from_slice(MAGIC);
    out.push(VERSION);
    out.extend_from_slice(&(config.slots as u16).to_le_bytes());
    out.extend_from_slice(&(config.local.len() as u16).to_le_bytes());
    for &s in &config.local {
        out.extend_from_slice(&(s as u16).to_le_bytes());
    }
    out.push(match config.mode.as_str() {
        "rollback" => 1,
        "synctest" | "sync_test" => 2,
        _ => 0,
    });
    out.extend_from_slice(&config.depth.to_le_bytes());
    out.push(u8::from(config.relay));
    opt(&mut out, config.max_input_size);
    opt(&mut out, config.max_snapshot_size);
    opt(&mut out, config.frame_arena_size);
    for v in [config.input_delay, config.input_window, config.checksum_history, config.checksum_interval] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&(config.event_capacity as u64).to_le_bytes());
    out.extend_from_slice(&(config.early_checksum_capacity as u64).to_le_bytes());
    out.push(u8::from(config.record));
    out.extend_from_slice(&frame.to_le_bytes());
    match &config.default_input {
        Some(d) => {
            out.push(1);
            out.extend_from_slice(&(d.len() as u16).to_le_bytes());
            out.extend_from_slice(d);
        }
        None => out.push(0),
    }
    out.extend_from_slice(&arena::encode_params(arena.params()));
    let snap = arena_snapshot(arena);
    out.extend_from_slice(&(snap.len() as u32).to_le_bytes());
    out.extend_from_slice(&snap);
    let sum = checksum64(&out);
    out.extend_from_slice(&sum.to_le_bytes());
    out
}

/// A reader that fails with a reason instead of panicking on short input.
struct Rd<'a> {
    b: &'a [u8],
}

const SHORT: SimError = SimError::new("saved state truncated");

impl<'a> Rd<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], SimError> {
        if self.b.len() < n {
            return Err(SHORT);
        }
        let (h, t) = self.b.split_at(n);
        self.b = t;
        Ok(h)
    }
    fn u8(&mut self) -> Result<u8, SimError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, SimError> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32, SimError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self) -> Result<u64, SimError> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }
    fn size(&mut self) -> Result<usize, SimError> {
        usize::try_from(self.u64()?).map_err(|_| SimError::new("saved state: a size does not fit this platform"))
    }
    fn opt(&mut self) -> Result<Option<usize>, SimError> {
        let present = self.u8()?;
        let v = self.size()?;
        match present {
            0 => Ok(None),
            1 => Ok(Some(v)),
            _ => Err(SimError::new("saved state: bad flag")),
        }
    }
}

/// Decodes what [`encode`] wrote: the configuration (its `start_frame` is the saved frame) and
/// the arena snapshot. Every field is checked; a session built from it checks the rest.
pub fn decode(bytes: &[u8]) -> Result<(Config, Vec<u8>), SimError> {
    if bytes.len() < 13 || &bytes[..4] != MAGIC {
        return Err(SimError::new("not a framelock saved state (bad magic)"));
    }
    let (body, sum) = bytes.split_at(bytes.len() - 8);
    let mut s = [0u8; 8];
    s.copy_from_slice(sum);
    if checksum64(body) != u64::from_le_bytes(s) {
        return Err(SimError::new("saved state fails its checksum (damaged or cut short)"));
    }
    let mut r = Rd { b: &body[4..] };
    if r.u8()? != VERSION {
        return Err(SimError::new("saved state of an unsupported version"));
    }
    let slots = usize::from(r.u16()?);
    let n = usize::from(r.u16()?);
    if n > 64 {
        return Err(SimError::new("saved state: more than 64 local slots"));
    }
    let mut local = Vec::with_capacity(n);
    for _ in 0..n {
        local.push(usize::from(r.u16()?));
    }
    let mode = match r.u8()? {
        0 => "lockstep",
        1 => "rollback",
        2 => "synctest",
        _ => return Err(SimError::new("saved state: unknown mode")),
    }
    .to_string();
    let depth = r.u32()?;
    let relay = r.u8()? != 0;
    let max_input_size = r.opt()?;
    let max_snapshot_size = r.opt()?;
    let frame_arena_size = r.opt()?;
    let (input_delay, input_window, checksum_history, checksum_interval) = (r.u32()?, r.u32()?, r.u32()?, r.u32()?);
    let event_capacity = r.size()?;
    let early_checksum_capacity = r.size()?;
    let record = r.u8()? != 0;
    let start_frame = r.u32()?;
    let default_input = match r.u8()? {
        0 => None,
        _ => {
            let len = usize::from(r.u16()?);
            Some(r.take(len)?.to_vec())
        }
    };
    let params = arena::decode_params(r.take(16)?)?;
    let len = r.u32()? as usize;
    let snap = r.take(len)?.to_vec();
    if !r.b.is_empty() {
        return Err(SimError::new("saved state has trailing bytes"));
    }
    let config = Config {
        slots,
        local,
        mode,
        depth,
        relay,
        max_input_size,
        input_delay,
        max_snapshot_size,
        default_input,
        frame_arena_size,
        input_window,
        checksum_history,
        checksum_interval,
        event_capacity,
        record,
        start_frame,
        arena_params: Some(params),
        early_checksum_capacity,
    };
    Ok((config, snap))
}

/// The core session, the arena (with `snapshot` loaded, for a restored state) and the default
/// input of a configuration.
pub fn build(config: &Config, snapshot: Option<&[u8]>) -> PyResult<(Session, Option<Arena>, Vec<u8>)> {
    let c = config.clone();
    let arena_params = c.arena_params;
    if let Some(p) = &arena_params {
        if usize::from(p.players) != c.slots {
            return Err(to_py(Error::InvalidConfig {
                setting: "arena",
                reason: "must have one player per slot (players == slots)",
            }));
        }
    }
    let record = c.record;
    let mut b = SessionBuilder::new(c.slots)
        .mode(mode_of(&c.mode, c.depth)?)
        .authority(if c.relay { Authority::Relay } else { Authority::PeerToPeer })
        .input_delay(c.input_delay)
        .input_window(c.input_window)
        .checksum_history(c.checksum_history)
        .checksum_interval(c.checksum_interval)
        .event_capacity(c.event_capacity)
        .early_checksum_capacity(c.early_checksum_capacity)
        .record_confirmed(record)
        .start_frame(c.start_frame);
    for s in c.local {
        b = b.local_slot(s);
    }
    let default_input = match (&c.default_input, &arena_params) {
        (Some(d), _) => d.clone(),
        (None, Some(_)) => arena::NEUTRAL_INPUT.to_vec(),
        (None, None) => Vec::new(),
    };
    b = b.default_input(&default_input);
    let (snap, scratch, input) = match &arena_params {
        Some(p) => (arena::snapshot_size_bound(p), arena::scratch_size_bound(p), arena::INPUT_SIZE),
        None => (64 * 1024, 1 << 20, 8),
    };
    b = b
        .max_input_size(c.max_input_size.unwrap_or(input))
        .max_snapshot_size(c.max_snapshot_size.unwrap_or(snap))
        .frame_arena_size(c.frame_arena_size.unwrap_or(scratch));
    let session = b.build().py_err()?;
    let arena = match arena_params {
        Some(p) => {
            let mut a = crate::arena::new_arena(p).py_err()?;
            if let Some(bytes) = snapshot {
                a.load(bytes).map_err(|e| Error::Simulation { frame: c.start_frame, reason: e.reason }).py_err()?;
                if a.frame() != c.start_frame {
                    return Err(PyValueError::new_err("saved state: the arena's frame is not the session's"));
                }
            }
            Some(a)
        }
        None => None,
    };
    Ok((session, arena, default_input))
}

/// The core mode of `Session(mode=...)`.
fn mode_of(kind: &str, depth: u32) -> PyResult<Mode> {
    match kind {
        "lockstep" => Ok(Mode::Lockstep),
        "rollback" => Ok(Mode::Rollback { max_prediction: depth }),
        "synctest" | "sync_test" => Ok(Mode::SyncTest { check_distance: depth }),
        _ => Err(to_py(Error::InvalidConfig {
            setting: "mode",
            reason: "must be \"lockstep\", \"rollback\" or \"synctest\"",
        })),
    }
}
