//! `framelock serve --record-dir DIR`: every room the relay opens is recorded to
//! `DIR/room-<id>.flog` (`room-<id>-<n>.flog` when the id was used before) as it is played, and the
//! file is finished and closed when the relay frees the room: each closed frame as the relay closed it (substitutes and
//! disconnects flagged) and the checksums its players agreed on. The files replay with
//! `framelock replay verify`.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use framelock_core::arena::{self, ArenaParams, INPUT_SIZE};
use framelock_core::replay::{LogHeader, LogWriter, LoggedInput, SessionKind};
use framelock_core::Frame;
use framelock_net::relay::Relay;
use framelock_net::sync::Room;

use crate::record::{CHECKSUM_INTERVAL, TICK_RATE};

struct RoomLog {
    path: PathBuf,
    // No `BufWriter`: the writer hands the file whole chunks (one second of frames each), so each
    // reaches the kernel as soon as it is complete and survives the relay being killed.
    writer: LogWriter<File>,
    next_checksum: Frame,
}

impl RoomLog {
    /// Writes what `room` closed since the last call, up to `end` (the match's end, if any).
    fn record(&mut self, id: u64, room: &Room, end: Option<Frame>) -> Result<(), String> {
        let path = &self.path;
        let fail = |e: framelock_core::Error| format!("cannot write {}: {e}", path.display());
        let until = end.map_or(room.next_close(), |e| e.min(room.next_close()));
        while self.writer.next_frame() < until {
            let f = self.writer.next_frame();
            let mut inputs = [LoggedInput::confirmed(&[]); 64];
            let Some(closed) = room.closed_frame(f) else {
                return Err(format!("room {id}: frame {f} left the relay's history before it was recorded"));
            };
            let n = closed.len();
            for (slot, i) in closed.enumerate() {
                inputs[slot] = LoggedInput { flags: i.flags, bytes: i.bytes };
            }
            self.writer.record_inputs(f, &inputs[..n]).map_err(fail)?;
        }
        // Checksums come later than frames: record each interval's once the players agree,
        // and give up on one the history no longer holds.
        while self.next_checksum < until {
            let f = self.next_checksum;
            match room.agreed_checksum(f) {
                Some(c) => self.writer.record_checksum(f, c).map_err(fail)?,
                None if room.next_close() - f < 600 => break,
                None => {}
            }
            self.next_checksum += CHECKSUM_INTERVAL;
        }
        Ok(())
    }
}

/// The recorders of a relay's rooms.
pub struct RoomLogs {
    dir: PathBuf,
    players: u8,
    tick_rate: u16,
    seed: u64,
    logs: BTreeMap<u64, RoomLog>,
    finished: Vec<PathBuf>,
}

impl RoomLogs {
    /// Records into `dir` (created if missing). `seed` is the arena seed the bots play with.
    pub fn new(dir: &Path, players: u8, tick_rate: u16, seed: u64) -> Result<Self, String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        Ok(RoomLogs { dir: dir.to_path_buf(), players, tick_rate, seed, logs: BTreeMap::new(), finished: Vec::new() })
    }

    /// Writes what the rooms closed since the last call; finishes and closes the logs of the rooms
    /// the relay freed (call it after every `handle_timeout`, while they are readable).
    pub fn record(&mut self, relay: &Relay) -> Result<(), String> {
        for closed in relay.closed_rooms() {
            if let Some(mut log) = self.logs.remove(&closed.id) {
                let recorded = log.record(closed.id, &closed.room, closed.match_end);
                let finished = log.writer.finish().map_err(|e| format!("cannot write {}: {e}", log.path.display()));
                recorded?;
                finished?;
                self.finished.push(log.path);
            }
        }
        let end = Some(relay.config().match_frames).filter(|&f| f > 0);
        for (id, room) in relay.rooms() {
            if !self.logs.contains_key(&id) {
                let log = self.open(id)?;
                self.logs.insert(id, log);
            }
            if let Some(log) = self.logs.get_mut(&id) {
                log.record(id, room, end)?;
            }
        }
        Ok(())
    }

    /// The logs finished since the last call (their rooms were freed).
    pub fn take_finished(&mut self) -> Vec<PathBuf> {
        std::mem::take(&mut self.finished)
    }

    /// Closes every log (writing its last chunk) and returns the paths of every log finished.
    pub fn finish(mut self) -> Result<Vec<PathBuf>, String> {
        let mut paths = std::mem::take(&mut self.finished);
        for (_, log) in self.logs {
            log.writer.finish().map_err(|e| format!("cannot write {}: {e}", log.path.display()))?;
            paths.push(log.path);
        }
        Ok(paths)
    }

    /// Creates `room-<id>.flog`, or `room-<id>-<n>.flog` with the first free `n` when a room of the
    /// same id was recorded before (ids are reused; no recording is overwritten).
    fn open(&self, id: u64) -> Result<RoomLog, String> {
        let mut n = 1u32;
        let (path, file) = loop {
            let name = if n == 1 { format!("room-{id}.flog") } else { format!("room-{id}-{n}.flog") };
            let path = self.dir.join(name);
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(file) => break (path, file),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 1_000_000 => n += 1,
                Err(e) => return Err(format!("cannot create {}: {e}", path.display())),
            }
        };
        let params = ArenaParams { players: self.players, seed: self.seed, ..ArenaParams::default() };
        let mut h = LogHeader::new(self.players, INPUT_SIZE as u16);
        h.tick_rate = if self.tick_rate == 0 { TICK_RATE } else { self.tick_rate };
        // One chunk per second of frames: a killed relay loses at most about a second per room.
        h.frames_per_chunk = h.tick_rate.max(1);
        h.session = SessionKind::Relay;
        h.default_input = arena::NEUTRAL_INPUT.to_vec();
        h.checksum_interval = CHECKSUM_INTERVAL;
        h.simulation = arena::SIMULATION_ID.to_string();
        h.sim_params = arena::encode_params(&params);
        h.creator = format!("framelock-cli {} (relay)", env!("CARGO_PKG_VERSION"));
        h.created_unix = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let writer = LogWriter::new(file, h).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        Ok(RoomLog { path, writer, next_checksum: 0 })
    }
}
