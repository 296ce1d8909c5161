//! `framelock serve --record-dir DIR`: every room the relay opens is recorded to
//! `DIR/room-<id>.flog` as it is played: each closed frame as the relay closed it (substitutes and
//! disconnects flagged) and the checksums its players agreed on. The files replay with
//! `framelock replay verify`.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use framelock_core::arena::{self, ArenaParams, INPUT_SIZE};
use framelock_core::replay::{LogHeader, LogWriter, LoggedInput, SessionKind};
use framelock_core::Frame;
use framelock_net::relay::Relay;

use crate::record::{CHECKSUM_INTERVAL, TICK_RATE};

struct RoomLog {
    path: PathBuf,
    writer: LogWriter<BufWriter<File>>,
    next_checksum: Frame,
}

/// The recorders of a relay's rooms.
pub struct RoomLogs {
    dir: PathBuf,
    players: u8,
    tick_rate: u16,
    seed: u64,
    logs: BTreeMap<u64, RoomLog>,
}

impl RoomLogs {
    /// Records into `dir` (created if missing). `seed` is the arena seed the bots play with.
    pub fn new(dir: &Path, players: u8, tick_rate: u16, seed: u64) -> Result<Self, String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        Ok(RoomLogs { dir: dir.to_path_buf(), players, tick_rate, seed, logs: BTreeMap::new() })
    }

    /// Writes what the rooms closed since the last call.
    pub fn record(&mut self, relay: &Relay) -> Result<(), String> {
        for (id, room) in relay.rooms() {
            if !self.logs.contains_key(&id) {
                let log = self.open(id)?;
                self.logs.insert(id, log);
            }
            let Some(log) = self.logs.get_mut(&id) else { continue };
            let fail = |e: framelock_core::Error| format!("cannot write {}: {e}", log.path.display());
            while log.writer.next_frame() < room.next_close() {
                let f = log.writer.next_frame();
                let mut inputs = [LoggedInput::confirmed(&[]); 64];
                let Some(closed) = room.closed_frame(f) else {
                    return Err(format!("room {id}: frame {f} left the relay's history before it was recorded"));
                };
                let n = closed.len();
                for (slot, i) in closed.enumerate() {
                    inputs[slot] = LoggedInput { flags: i.flags, bytes: i.bytes };
                }
                log.writer.record_inputs(f, &inputs[..n]).map_err(fail)?;
            }
            // Checksums come later than frames: record each interval's once the players agree,
            // and give up on one the history no longer holds.
            while log.next_checksum < room.next_close() {
                let f = log.next_checksum;
                match room.agreed_checksum(f) {
                    Some(c) => log.writer.record_checksum(f, c).map_err(fail)?,
                    None if room.next_close() - f < 600 => break,
                    None => {}
                }
                log.next_checksum += CHECKSUM_INTERVAL;
            }
        }
        Ok(())
    }

    /// Closes every log (writing its last chunk) and returns their paths.
    pub fn finish(self) -> Result<Vec<PathBuf>, String> {
        let mut paths = Vec::new();
        for (_, log) in self.logs {
            log.writer.finish().map_err(|e| format!("cannot write {}: {e}", log.path.display()))?;
            paths.push(log.path);
        }
        Ok(paths)
    }

    fn open(&self, id: u64) -> Result<RoomLog, String> {
        let path = self.dir.join(format!("room-{id}.flog"));
        let file = File::create(&path).map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        let params = ArenaParams { players: self.players, seed: self.seed, ..ArenaParams::default() };
        let mut h = LogHeader::new(self.players, INPUT_SIZE as u16);
        h.tick_rate = if self.tick_rate == 0 { TICK_RATE } else { self.tick_rate };
        h.session = SessionKind::Relay;
        h.default_input = arena::NEUTRAL_INPUT.to_vec();
        h.checksum_interval = CHECKSUM_INTERVAL;
        h.simulation = arena::SIMULATION_ID.to_string();
        h.sim_params = arena::encode_params(&params);
        h.creator = format!("framelock-cli {} (relay)", env!("CARGO_PKG_VERSION"));
        h.created_unix = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let writer =
            LogWriter::new(BufWriter::new(file), h).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        Ok(RoomLog { path, writer, next_checksum: 0 })
    }
}
