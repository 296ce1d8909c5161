//! Peer to peer without a server (GGPO's `ggpo_start_session`): one endpoint of a match on its own
//! UDP socket, playing the reference simulation or the engine's callbacks. The protocol is
//! `docs/p2p-protocol.md`; the Rust endpoint is `framelock_net::p2p`.

mod build;
mod types;

pub use types::*;

use std::net::SocketAddr;
use std::time::Duration;

use framelock_core::arena::Arena;
use framelock_core::{Error, Outcome, Session};
use framelock_net::io::UdpDriver;
use framelock_net::p2p::{P2pEndpoint, P2pError, P2pEvent};

use crate::arena::{default_params, framelock_arena_player, player_of};
use crate::error::{bytes, check_size, guard, handle, out, FfiError};
use crate::framelock_status;
use crate::lock::{free_guarded, Claim, Guarded};
use crate::session::{framelock_callbacks, framelock_outcome, write_tick_outcome, Callbacks};
use crate::tagged_sim::TaggedCallbackSim;
use build::new_p2p;

/// A peer-to-peer endpoint (opaque): its UDP socket, its peers, its rollback session and its game.
/// Create with framelock_p2p_new() or framelock_p2p_new_with_callbacks(), free with
/// framelock_p2p_free().
#[derive(Debug)]
pub struct framelock_p2p {
    /// Claimed by every call (see `lock.rs`): BUSY from a second thread, REENTRANT from a callback.
    guarded: Guarded<P2pState>,
}

#[derive(Debug)]
struct P2pState {
    udp: UdpDriver,
    ep: Ep,
    /// Local slots, ascending, and this tick's staged inputs (input_size bytes each, in that order).
    local: Vec<usize>,
    staged: Vec<u8>,
    staged_mask: u64,
    input_size: usize,
    period: Duration,
}

#[derive(Debug)]
enum Ep {
    Arena(P2pEndpoint<Arena>),
    Callbacks(P2pEndpoint<TaggedCallbackSim>),
}

macro_rules! each {
    ($ep:expr, $e:ident => $body:expr) => {
        match $ep {
            Ep::Arena($e) => $body,
            Ep::Callbacks($e) => $body,
        }
    };
}

impl Ep {
    fn session(&self) -> &Session {
        each!(self, e => e.driver().session())
    }
    fn is_running(&self) -> bool {
        each!(self, e => e.is_running())
    }
    fn next_tick(&self) -> Option<Duration> {
        each!(self, e => e.next_tick())
    }
    fn run_once(&mut self, udp: &mut UdpDriver, wait: Duration) -> std::io::Result<()> {
        each!(self, e => udp.run_once(e, wait))
    }
    fn flush(&mut self, udp: &mut UdpDriver, now: Duration) {
        each!(self, e => udp.flush(e, now))
    }
    fn tick(&mut self, now: Duration, input: &[u8]) -> Result<Option<Outcome>, P2pError> {
        each!(self, e => e.tick(now, input))
    }
    fn poll_event(&mut self) -> Option<P2pEvent> {
        each!(self, e => e.poll_event())
    }
    fn peer_count(&self) -> usize {
        each!(self, e => e.peers().count())
    }
    fn peer(&self, index: usize, now: Duration) -> Option<(SocketAddr, framelock_net::p2p::PeerStats)> {
        each!(self, e => e.peers().nth(index).zip(e.peer_stats(index, now)).map(|(p, s)| (p.addr, s)))
    }
}

impl From<P2pError> for FfiError {
    fn from(e: P2pError) -> Self {
        match e {
            P2pError::Config { setting, reason } => FfiError::Core(Error::InvalidConfig { setting, reason }),
            P2pError::Session(e) => FfiError::Core(e),
        }
    }
}

/// Claims an endpoint for one call (BUSY from another thread, REENTRANT from its own callback).
///
/// # Safety
/// `p` is NULL or a live endpoint handle.
unsafe fn lock<'a>(p: *const framelock_p2p) -> Result<Claim<'a, P2pState>, FfiError> {
    // SAFETY: as the caller promises; only the atomic owner flag is touched before the claim.
    let h = unsafe { handle(p, "p2p") }?;
    h.guarded.claim("p2p endpoint")
}

/// Fills `config` with the defaults (2 players, slot 0 local, no peers, 60 Hz, rollback with 8
/// frames of prediction, input delay 2, checksums every 30 frames, interrupted after 750 ms,
/// disconnected after 5000 ms, default arena params, no key, rng seed from the OS, no link
/// conditioner) and sets its struct_size.
///
/// Returns FRAMELOCK_OK or FRAMELOCK_ERR_NULL_ARGUMENT.
#[no_mangle]
pub unsafe extern "C" fn framelock_p2p_config_init(config: *mut framelock_p2p_config) -> framelock_status {
    guard(|| {
        let config = out(config, "config")?;
        let c = framelock_p2p_config {
            struct_size: core::mem::size_of::<framelock_p2p_config>() as u32,
            key: [0; 32],
            rng_seed: [0; 32],
            listen: core::ptr::null(),
            players: 2,
            local_slots: 1,
            peers: core::ptr::null(),
            peer_count: 0,
            spectators: core::ptr::null(),
            spectator_count: 0,
            spectate: core::ptr::null(),
            input_size: 8,
            tick_rate: 60,
            max_prediction: 8,
            input_delay: 2,
            checksum_interval: 30,
            disconnect_notify_ms: 750,
            disconnect_timeout_ms: 5000,
            auto_time_sync: false,
            simulation_id: 0,
            max_snapshot_size: 65536,
            default_input: core::ptr::null(),
            default_input_len: 0,
            arena: default_params(),
            latency_ms: 0,
            jitter_ms: 0,
            loss_per_mille: 0,
            duplicate_per_mille: 0,
            reorder_per_mille: 0,
            conditioner_seed: 0,
        };
        // SAFETY: non-NULL, writable out-parameter.
        unsafe { config.write(c) };
        Ok(())
    })
}

/// Creates an endpoint playing the reference simulation (GGPO's ggpo_start_session plus one
/// ggpo_add_player per player): checks the config, binds config.listen and starts synchronizing
/// with every peer (the round trips run in framelock_p2p_poll()). Everything it needs is allocated
/// here. Free it with framelock_p2p_free().
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT (config, out_p2p, an address string);
/// FRAMELOCK_ERR_STRUCT_SIZE (config or config.arena); FRAMELOCK_ERR_INVALID_ARGUMENT (a value out
/// of range, an address that does not parse); FRAMELOCK_ERR_INVALID_CONFIG (slots that are not
/// each local or remote exactly once, and the other settings the endpoint checks; the message
/// names it); FRAMELOCK_ERR_IO (the socket).
#[no_mangle]
pub unsafe extern "C" fn framelock_p2p_new(
    config: *const framelock_p2p_config,
    out_p2p: *mut *mut framelock_p2p,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a readable config struct.
        let cfg = unsafe { handle(config, "config") }?;
        let out_p2p = out(out_p2p, "out_p2p")?;
        // SAFETY: the config's pointers are as documented.
        let p = Box::new(unsafe { new_p2p(cfg, None) }?);
        // SAFETY: non-NULL, writable out-parameter.
        unsafe { out_p2p.write(Box::into_raw(p)) };
        Ok(())
    })
}

/// Creates an endpoint whose game is the engine's own state, through three GGPO-style callbacks
/// (save_state, load_state, advance_frame, as framelock_session_advance_with() takes them); the
/// same as framelock_p2p_new() otherwise. config.input_size, config.max_snapshot_size,
/// config.simulation_id and config.default_input apply; config.arena does not. The callbacks run,
/// with `callbacks->user`, inside framelock_p2p_tick(): keep `user` valid until framelock_p2p_free().
/// They are told the frame concerned, also on a load.
///
/// Returns as framelock_p2p_new(), and FRAMELOCK_ERR_NULL_ARGUMENT (callbacks, or one of them, is
/// NULL); FRAMELOCK_ERR_STRUCT_SIZE (callbacks).
#[no_mangle]
pub unsafe extern "C" fn framelock_p2p_new_with_callbacks(
    config: *const framelock_p2p_config,
    callbacks: *const framelock_callbacks,
    out_p2p: *mut *mut framelock_p2p,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a readable config struct.
        let cfg = unsafe { handle(config, "config") }?;
        // SAFETY: NULL or a readable callbacks struct.
        let cb = unsafe { Callbacks::read(callbacks) }?;
        let out_p2p = out(out_p2p, "out_p2p")?;
        // SAFETY: the config's pointers are as documented.
        let p = Box::new(unsafe { new_p2p(cfg, Some(cb)) }?);
        // SAFETY: non-NULL, writable out-parameter.
        unsafe { out_p2p.write(Box::into_raw(p)) };
        Ok(())
    })
}

/// Frees an endpoint and closes its socket (GGPO's ggpo_close_session). Accepts NULL. Called from
/// inside one of its callbacks, or while another thread is in a call on it, it does nothing.
#[no_mangle]
pub unsafe extern "C" fn framelock_p2p_free(p2p: *mut framelock_p2p) {
    // SAFETY: NULL or a handle from framelock_p2p_new(), not freed yet (the C contract).
    unsafe { free_guarded(p2p, "p2p endpoint", |h| &h.guarded) }
}

/// One network iteration (GGPO's ggpo_idle): waits up to `max_wait_ms` milliseconds (less when a
/// timer or the next tick is due sooner; 0 does not block) for datagrams, takes every datagram
/// that arrived, runs the timers (synchronization, keep-alives, interruptions, disconnects) and
/// sends what is due.
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT; FRAMELOCK_ERR_BUSY; FRAMELOCK_ERR_REENTRANT;
/// FRAMELOCK_ERR_IO (the socket failed).
#[no_mangle]
pub unsafe extern "C" fn framelock_p2p_poll(p2p: *mut framelock_p2p, max_wait_ms: u32) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a live handle.
        let mut c = unsafe { lock(p2p) }?;
        let c = &mut *c;
        let mut wait = Duration::from_millis(u64::from(max_wait_ms));
        if let Some(t) = c.ep.next_tick() {
            wait = wait.min(t.saturating_sub(c.udp.now()));
        }
        c.ep.run_once(&mut c.udp, wait).map_err(|err| FfiError::Io { what: "socket", err })?;
        Ok(())
    })
}

/// Writes how many ticks are due now to `*out_count`: 0 until every peer is synchronized, then the
/// frames whose time came at the tick rate (stretched by automatic time sync), at most
/// FRAMELOCK_P2P_MAX_TICKS_DUE. Call framelock_p2p_tick() that many times (each with this
/// frame's inputs).
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT; FRAMELOCK_ERR_BUSY; FRAMELOCK_ERR_REENTRANT.
#[no_mangle]
pub unsafe extern "C" fn framelock_p2p_ticks_due(p2p: *mut framelock_p2p, out_count: *mut u32) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a live handle.
        let c = unsafe { lock(p2p) }?;
        let out_count = out(out_count, "out_count")?;
        let now = c.udp.now();
        let n = match c.ep.next_tick() {
            _ if !c.ep.is_running() => 0,
            None => 1,
            Some(t) if t > now => 0,
            Some(t) => {
                let behind = (now - t).as_nanos() / c.period.as_nanos().max(1);
                (behind + 1).min(u128::from(FRAMELOCK_P2P_MAX_TICKS_DUE)) as u32
            }
        };
        // SAFETY: non-NULL, writable out-parameter.
        unsafe { out_count.write(n) };
        Ok(())
    })
}

/// Stages this tick's input of local slot `slot` (GGPO's ggpo_add_local_input): `len` bytes, at
/// most the input size (FRAMELOCK_ARENA_INPUT_SIZE for the arena), padded with zeros. A second
/// call for the same slot before framelock_p2p_tick() replaces it.
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT (p2p, or input with a nonzero len);
/// FRAMELOCK_ERR_BUSY; FRAMELOCK_ERR_REENTRANT; FRAMELOCK_ERR_INPUT_TOO_LONG;
/// FRAMELOCK_ERR_WRONG_SLOT_KIND (not a local slot).
#[no_mangle]
pub unsafe extern "C" fn framelock_p2p_add_local_input(
    p2p: *mut framelock_p2p,
    slot: u32,
    input: *const u8,
    len: usize,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a live handle.
        let mut c = unsafe { lock(p2p) }?;
        // SAFETY: NULL (with len 0) or `len` readable bytes.
        let input = unsafe { bytes(input, len, "input") }?;
        let slot = slot as usize;
        let Some(k) = c.local.iter().position(|&s| s == slot) else {
            return Err(Error::WrongSlotKind { slot, is: "not local here" }.into());
        };
        let n = c.input_size;
        if input.len() > n {
            return Err(Error::InputTooLong { slot, len: input.len(), max: n }.into());
        }
        let dst = &mut c.staged[k * n..(k + 1) * n];
        dst.fill(0);
        dst[..input.len()].copy_from_slice(input);
        c.staged_mask |= 1 << slot;
        Ok(())
    })
}

/// One frame (GGPO's ggpo_advance_frame, with ggpo_synchronize_input folded in): takes the staged
/// inputs of every local slot, advances the session (rolling back and resimulating when remote
/// inputs differ from the predictions; the callbacks run here) and sends the update to every
/// peer. Writes the outcome to `*out_outcome` (may be NULL): before every peer is synchronized
/// nothing is simulated and `advanced` is false; a full prediction window stalls (`waiting_for`).
/// The staged inputs are used up either way. Allocates nothing without a link conditioner.
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT; FRAMELOCK_ERR_BUSY; FRAMELOCK_ERR_REENTRANT;
/// FRAMELOCK_ERR_MISSING_LOCAL_INPUT (a local slot has no staged input; nothing was done);
/// FRAMELOCK_ERR_SIMULATION (a callback returned nonzero); FRAMELOCK_ERR_FRAME_OVERFLOW.
#[no_mangle]
pub unsafe extern "C" fn framelock_p2p_tick(
    p2p: *mut framelock_p2p,
    out_outcome: *mut framelock_outcome,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a live handle.
        let mut c = unsafe { lock(p2p) }?;
        let c = &mut *c;
        if c.ep.is_running() {
            if let Some(&slot) = c.local.iter().find(|&&s| c.staged_mask >> s & 1 == 0) {
                let frame = c.ep.session().current_frame();
                return Err(Error::MissingLocalInput { slot, frame }.into());
            }
        }
        c.staged_mask = 0;
        let now = c.udp.now();
        let o = c.ep.tick(now, &c.staged)?;
        c.ep.flush(&mut c.udp, now);
        // SAFETY: NULL or writable, as documented.
        unsafe { write_tick_outcome(out_outcome, c.ep.session(), o) };
        Ok(())
    })
}

/// Disconnects peer `index` (GGPO's ggpo_disconnect_player), as if it had timed out here: its
/// inputs are no longer taken, nothing more is sent to it, and its slots are disconnected at the
/// frame the remaining players agree on (FRAMELOCK_P2P_EVENT_DISCONNECTING, then
/// FRAMELOCK_P2P_EVENT_DISCONNECTED per slot). The peer itself sees silence and times this
/// endpoint out after its disconnect_timeout_ms. Disconnecting a disconnected peer does nothing.
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT; FRAMELOCK_ERR_INVALID_ARGUMENT (no such
/// peer); FRAMELOCK_ERR_WRONG_STATE (not running yet); FRAMELOCK_ERR_BUSY; FRAMELOCK_ERR_REENTRANT.
#[no_mangle]
pub unsafe extern "C" fn framelock_p2p_disconnect_peer(p2p: *mut framelock_p2p, index: u32) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a live handle.
        let mut c = unsafe { lock(p2p) }?;
        let len = c.ep.peer_count();
        if index as usize >= len {
            return Err(FfiError::IndexOutOfRange { what: "peer", index: index as usize, len });
        }
        if !each!(&mut c.ep, e => e.disconnect_peer(index as usize)) {
            return Err(FfiError::WrongState("the endpoint is not running yet (every peer synchronized)"));
        }
        let now = c.udp.now();
        let c = &mut *c;
        c.ep.flush(&mut c.udp, now);
        Ok(())
    })
}

/// Takes the oldest waiting event into `*out_event` (kind FRAMELOCK_P2P_EVENT_NONE when none is
/// waiting; the endpoint keeps the latest 256). GGPO's on_event callback, polled.
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT; FRAMELOCK_ERR_BUSY; FRAMELOCK_ERR_REENTRANT.
#[no_mangle]
pub unsafe extern "C" fn framelock_p2p_poll_event(
    p2p: *mut framelock_p2p,
    out_event: *mut framelock_p2p_event,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a live handle.
        let mut c = unsafe { lock(p2p) }?;
        let out_event = out(out_event, "out_event")?;
        let v = c_event(c.ep.poll_event());
        // SAFETY: non-NULL, writable out-parameter.
        unsafe { out_event.write(v) };
        Ok(())
    })
}

/// Writes the number of configured peers (remote players' addresses in the order first named, then
/// hosted spectators, or the spectated host) to `*out_count`: the indices of
/// framelock_p2p_get_peer_stats() and of framelock_p2p_event.peer.
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT; FRAMELOCK_ERR_BUSY; FRAMELOCK_ERR_REENTRANT.
#[no_mangle]
pub unsafe extern "C" fn framelock_p2p_peer_count(p2p: *const framelock_p2p, out_count: *mut u32) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a live handle.
        let c = unsafe { lock(p2p) }?;
        let out_count = out(out_count, "out_count")?;
        // SAFETY: non-NULL, writable out-parameter.
        unsafe { out_count.write(c.ep.peer_count() as u32) };
        Ok(())
    })
}

/// Writes the network statistics of peer `index` to `*out_stats`, whose struct_size the caller sets
/// first (GGPO's ggpo_get_network_stats).
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT; FRAMELOCK_ERR_STRUCT_SIZE;
/// FRAMELOCK_ERR_INVALID_ARGUMENT (no such peer); FRAMELOCK_ERR_BUSY; FRAMELOCK_ERR_REENTRANT.
#[no_mangle]
pub unsafe extern "C" fn framelock_p2p_get_peer_stats(
    p2p: *const framelock_p2p,
    index: u32,
    out_stats: *mut framelock_p2p_peer_stats,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a live handle.
        let c = unsafe { lock(p2p) }?;
        let out_stats = out(out_stats, "out_stats")?;
        // SAFETY: non-NULL; the caller set struct_size (one u32 at the start of the struct).
        let size = unsafe { out_stats.cast::<u32>().read() };
        check_size::<framelock_p2p_peer_stats>(size, "framelock_p2p_peer_stats")?;
        let len = c.ep.peer_count();
        let (a, s) = c.ep.peer(index as usize, c.udp.now()).ok_or(FfiError::IndexOutOfRange {
            what: "peer",
            index: index as usize,
            len,
        })?;
        let address = address_text(a);
        let v = framelock_p2p_peer_stats {
            struct_size: size,
            address,
            rtt_ms: s.rtt_ms,
            kbps_sent: s.kbps_sent,
            kbps_received: s.kbps_received,
            send_queue: s.send_queue,
            local_frame_advantage: s.local_frame_advantage,
            remote_frame_advantage: s.remote_frame_advantage,
            packets_sent: s.packets_sent,
            packets_received: s.packets_received,
            packets_lost: s.packets_lost,
            packets_duplicated: s.packets_duplicated,
            bytes_sent: s.bytes_sent,
            bytes_received: s.bytes_received,
            acknowledged: s.acknowledged,
            disconnected: s.disconnected,
        };
        // SAFETY: non-NULL, writable out-parameter of the checked size.
        unsafe { out_stats.write(v) };
        Ok(())
    })
}

/// Writes the endpoint's counters to `*out_stats`, whose struct_size the caller sets first.
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT; FRAMELOCK_ERR_STRUCT_SIZE;
/// FRAMELOCK_ERR_BUSY; FRAMELOCK_ERR_REENTRANT.
#[no_mangle]
pub unsafe extern "C" fn framelock_p2p_get_stats(
    p2p: *const framelock_p2p,
    out_stats: *mut framelock_p2p_stats,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a live handle.
        let c = unsafe { lock(p2p) }?;
        let out_stats = out(out_stats, "out_stats")?;
        // SAFETY: non-NULL; the caller set struct_size.
        let size = unsafe { out_stats.cast::<u32>().read() };
        check_size::<framelock_p2p_stats>(size, "framelock_p2p_stats")?;
        let session = c.ep.session();
        let ss = session.stats();
        let io = c.udp.stats();
        let (d, (tx_dropped, events_dropped), stretched) =
            each!(&c.ep, e => (e.drops(), e.queue_drops(), e.frames_stretched()));
        let v = framelock_p2p_stats {
            struct_size: size,
            running: c.ep.is_running(),
            peers: c.ep.peer_count() as u32,
            current_frame: session.current_frame(),
            confirmed_until: session.confirmed_until(),
            checksummed_until: session.checksummed_until(),
            max_rollback: ss.max_rollback,
            frames_stretched: stretched,
            frames_advanced: ss.frames_advanced,
            frames_resimulated: ss.frames_resimulated,
            rollbacks: ss.rollbacks,
            stalls: ss.stalls,
            dropped_malformed: d.malformed,
            dropped_unknown_address: d.unknown_address,
            dropped_wrong_session: d.wrong_handle + d.wrong_epoch,
            dropped_replayed: d.replayed,
            dropped_unauthenticated: d.unauthenticated,
            dropped_other: d.bad_body + d.config_mismatch + d.unexpected,
            events_dropped,
            datagrams_in: io.datagrams_in,
            datagrams_out: io.datagrams_out,
            bytes_in: io.bytes_in,
            bytes_out: io.bytes_out,
            send_dropped: io.send_dropped + tx_dropped,
            conditioner_dropped: io.conditioner_dropped,
        };
        // SAFETY: non-NULL, writable out-parameter of the checked size.
        unsafe { out_stats.write(v) };
        Ok(())
    })
}

/// Writes the final checksum of the state at the start of `frame` (below
/// framelock_p2p_stats.checksummed_until) to `*out_checksum`: every endpoint of the match computes
/// the same one.
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT; FRAMELOCK_ERR_BUSY; FRAMELOCK_ERR_REENTRANT;
/// FRAMELOCK_ERR_CHECKSUM_UNAVAILABLE (not final yet, or too old).
#[no_mangle]
pub unsafe extern "C" fn framelock_p2p_checksum(
    p2p: *const framelock_p2p,
    frame: u32,
    out_checksum: *mut u64,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a live handle.
        let c = unsafe { lock(p2p) }?;
        let out_checksum = out(out_checksum, "out_checksum")?;
        let v = c.ep.session().checksum(frame).ok_or(Error::ChecksumUnavailable { frame, slot: 0 })?;
        // SAFETY: non-NULL, writable out-parameter.
        unsafe { out_checksum.write(v) };
        Ok(())
    })
}

/// Writes the UDP port the endpoint's socket is bound to (useful with a listen port of 0) to
/// `*out_port`.
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT; FRAMELOCK_ERR_BUSY; FRAMELOCK_ERR_REENTRANT;
/// FRAMELOCK_ERR_IO.
#[no_mangle]
pub unsafe extern "C" fn framelock_p2p_local_port(p2p: *const framelock_p2p, out_port: *mut u16) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a live handle.
        let c = unsafe { lock(p2p) }?;
        let out_port = out(out_port, "out_port")?;
        let a = c.udp.local_addr().map_err(|err| FfiError::Io { what: "socket address", err })?;
        // SAFETY: non-NULL, writable out-parameter.
        unsafe { out_port.write(a.port()) };
        Ok(())
    })
}

/// Writes player `slot` of the endpoint's arena (the predicted current state, for drawing) to
/// `*out_player`.
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT; FRAMELOCK_ERR_INVALID_ARGUMENT (no such
/// player); FRAMELOCK_ERR_WRONG_STATE (an endpoint made with framelock_p2p_new_with_callbacks());
/// FRAMELOCK_ERR_BUSY; FRAMELOCK_ERR_REENTRANT.
#[no_mangle]
pub unsafe extern "C" fn framelock_p2p_arena_get_player(
    p2p: *const framelock_p2p,
    slot: u32,
    out_player: *mut framelock_arena_player,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a live handle.
        let c = unsafe { lock(p2p) }?;
        let out_player = out(out_player, "out_player")?;
        let Ep::Arena(a) = &c.ep else {
            return Err(FfiError::WrongState("this endpoint runs the engine's callbacks, not the arena"));
        };
        let v = player_of(a.driver().sim(), slot)?;
        // SAFETY: non-NULL, writable out-parameter.
        unsafe { out_player.write(v) };
        Ok(())
    })
}
