//! Creating an endpoint: the config checked and turned into a `P2pBuilder`, the socket bound, and
//! the engine's callbacks as a simulation.

use core::ffi::c_char;
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

use framelock_core::arena::{self, scratch_size_bound, snapshot_size_bound, Arena, INPUT_SIZE, NEUTRAL_INPUT};
use framelock_core::{checksum64, Error, Mode};
use framelock_net::io::UdpDriver;
use framelock_net::p2p::{P2pBuilder, MAX_RECORD};

use super::types::{framelock_p2p_config, FRAMELOCK_P2P_MAX_INPUT_SIZE, FRAMELOCK_P2P_MAX_PEERS};
use super::{framelock_p2p, Ep, P2pState};
use crate::arena::{framelock_arena_params, params_of};
use crate::conditioner::Link;
use crate::error::{bytes, c_str, check_size, FfiError};
use crate::lock::Guarded;
use crate::session::Callbacks;
use crate::tagged_sim::{TaggedCallbackSim, FRAME_TAG};

fn addr(s: &str, name: &'static str, v6: bool) -> Result<SocketAddr, FfiError> {
    let all = s.trim().to_socket_addrs().map_err(|_| FfiError::Invalid(name, "is not a HOST:PORT address"))?;
    let all: Vec<SocketAddr> = all.collect();
    all.iter().find(|a| a.is_ipv6() == v6).or(all.first()).copied().ok_or(FfiError::Invalid(name, "names no address"))
}

/// `count` C strings at `p`.
///
/// # Safety
/// `p` is NULL (with count 0) or points to `count` NULL or NUL-terminated strings.
unsafe fn strings<'a>(p: *const *const c_char, count: usize, name: &'static str) -> Result<Vec<&'a str>, FfiError> {
    if count == 0 {
        return Ok(Vec::new());
    }
    if p.is_null() {
        return Err(FfiError::Null(name));
    }
    if count > FRAMELOCK_P2P_MAX_PEERS as usize {
        return Err(FfiError::Invalid(name, "names more than FRAMELOCK_P2P_MAX_PEERS addresses"));
    }
    (0..count)
        .map(|i| {
            // SAFETY: `count` readable pointers, as the caller promises; each NULL or a C string.
            unsafe { c_str(*p.add(i), name) }?.ok_or(FfiError::Null(name))
        })
        .collect()
}

/// A seed from the OS (the std hasher's keys are drawn from it), as `framelock p2p` does.
fn os_seed() -> [u8; 32] {
    use std::hash::{BuildHasher, Hasher};
    let mut out = [0u8; 32];
    for (i, chunk) in out.chunks_mut(8).enumerate() {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_usize(i);
        chunk.copy_from_slice(&h.finish().to_le_bytes());
    }
    out
}

/// Checks a config and creates the endpoint.
///
/// # Safety
/// The config's pointers are NULL or valid as documented on framelock_p2p_config.
pub(super) unsafe fn new_p2p(cfg: &framelock_p2p_config, cb: Option<Callbacks>) -> Result<framelock_p2p, FfiError> {
    check_size::<framelock_p2p_config>(cfg.struct_size, "framelock_p2p_config")?;
    if cfg.key == [0; 32] {
        return Err(FfiError::Invalid("config.key", "is all zero (use the match's 32-byte session key)"));
    }
    if !(1..=64).contains(&cfg.players) {
        return Err(FfiError::Invalid("config.players", "must be 1..=64"));
    }
    if !(1..=1000).contains(&cfg.tick_rate) {
        return Err(FfiError::Invalid("config.tick_rate", "must be 1..=1000"));
    }
    if !(1..=u32::from(u16::MAX)).contains(&cfg.checksum_interval) {
        return Err(FfiError::Invalid("config.checksum_interval", "must be 1..=65535"));
    }
    if cfg.max_prediction > 64 {
        return Err(FfiError::Invalid("config.max_prediction", "must be 0..=64"));
    }
    let (c, seed) = (cfg, cfg.conditioner_seed);
    let link =
        Link::new(c.latency_ms, c.jitter_ms, c.loss_per_mille, c.duplicate_per_mille, c.reorder_per_mille, seed)?;
    // SAFETY: NULL or NUL-terminated, as documented.
    let listen = unsafe { c_str(cfg.listen, "config.listen") }?.unwrap_or("0.0.0.0:0");
    let listen = addr(listen, "config.listen", false)?;
    let v6 = listen.is_ipv6();
    // SAFETY: as documented on the fields.
    let peers = unsafe { strings(cfg.peers, cfg.peer_count, "config.peers") }?;
    // SAFETY: as above.
    let spectators = unsafe { strings(cfg.spectators, cfg.spectator_count, "config.spectators") }?;
    // SAFETY: as above.
    let spectate = unsafe { c_str(cfg.spectate, "config.spectate") }?;
    if peers.len() + spectators.len() > FRAMELOCK_P2P_MAX_PEERS as usize {
        return Err(FfiError::Invalid("config.peers", "with the spectators, more than FRAMELOCK_P2P_MAX_PEERS"));
    }
    let players = cfg.players as usize;
    let input_size = match cb {
        None => INPUT_SIZE,
        Some(_) => cfg.input_size as usize,
    };
    if !(1..=FRAMELOCK_P2P_MAX_INPUT_SIZE as usize).contains(&input_size) || players * (input_size + 1) > MAX_RECORD {
        return Err(FfiError::Invalid("config.input_size", "must be 1..=64, and players * (input_size + 1) <= 512"));
    }
    let mode = match cfg.max_prediction {
        0 => Mode::Lockstep,
        n => Mode::Rollback { max_prediction: n },
    };
    let seed = if cfg.rng_seed == [0; 32] { os_seed() } else { cfg.rng_seed };
    let mut b = P2pBuilder::new(players, input_size)
        .key(cfg.key)
        .rng_seed(seed)
        .tick_rate(cfg.tick_rate as u16)
        .checksum_interval(cfg.checksum_interval as u16)
        .mode(mode)
        .input_delay(cfg.input_delay)
        .auto_time_sync(cfg.auto_time_sync)
        .disconnect_notify(Duration::from_millis(u64::from(cfg.disconnect_notify_ms)))
        .disconnect_timeout(Duration::from_millis(u64::from(cfg.disconnect_timeout_ms)));
    for s in (0..64).filter(|s| cfg.local_slots >> s & 1 == 1) {
        b = b.local_slot(s);
    }
    for p in peers {
        let (slot, a) = p.split_once('=').ok_or(FfiError::Invalid("config.peers", "an entry is not SLOT=HOST:PORT"))?;
        let slot =
            slot.trim().parse::<usize>().map_err(|_| FfiError::Invalid("config.peers", "a SLOT is no number"))?;
        b = b.remote_slot(slot, addr(a, "config.peers", v6)?);
    }
    for s in spectators {
        b = b.spectator(addr(s, "config.spectators", v6)?);
    }
    if let Some(h) = spectate {
        b = b.spectate(addr(h, "config.spectate", v6)?);
    }
    let mut udp = UdpDriver::bind(listen).map_err(|err| FfiError::Io { what: "cannot bind config.listen", err })?;
    link.apply(&mut udp);
    let now = udp.now();
    let ep = match cb {
        None => {
            let params = params_of(&framelock_arena_params { players: cfg.players, ..cfg.arena })?;
            let mut id = arena::SIMULATION_ID.as_bytes().to_vec();
            id.extend_from_slice(&arena::encode_params(&params));
            let sim =
                Arena::new(params).map_err(|e| Error::InvalidConfig { setting: "config.arena", reason: e.reason })?;
            let b = b
                .simulation_id(checksum64(&id))
                .default_input(&NEUTRAL_INPUT)
                .max_snapshot_size(snapshot_size_bound(&params))
                .frame_arena_size(scratch_size_bound(&params));
            Ep::Arena(b.build(now, sim)?)
        }
        Some(cb) => {
            // SAFETY: NULL (with len 0) or default_input_len readable bytes, as documented.
            let default = unsafe { bytes(cfg.default_input, cfg.default_input_len, "config.default_input") }?;
            let snapshot = cfg
                .max_snapshot_size
                .checked_add(FRAME_TAG)
                .ok_or(FfiError::Invalid("config.max_snapshot_size", "is too large"))?;
            let sim = TaggedCallbackSim::new(cb);
            let b = b.simulation_id(cfg.simulation_id).default_input(default).max_snapshot_size(snapshot);
            Ep::Callbacks(b.build(now, sim)?)
        }
    };
    let local: Vec<usize> = (0..64).filter(|s| cfg.local_slots >> s & 1 == 1).collect();
    let staged = vec![0; local.len() * input_size];
    let state =
        P2pState { udp, ep, local, staged, staged_mask: 0, input_size, period: Duration::from_secs(1) / cfg.tick_rate };
    Ok(framelock_p2p { guarded: Guarded::new(state) })
}
