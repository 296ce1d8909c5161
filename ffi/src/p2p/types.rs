//! The C types of the peer-to-peer endpoint: constants, the config, events and statistics, and
//! their conversions from the Rust endpoint's values.

use core::ffi::c_char;
use std::net::SocketAddr;

use framelock_net::p2p::P2pEvent;

use crate::arena::framelock_arena_params;

/// The most remote players, spectators or hosts a config names in total.
pub const FRAMELOCK_P2P_MAX_PEERS: u32 = 64;
/// The largest input of one slot, in bytes.
pub const FRAMELOCK_P2P_MAX_INPUT_SIZE: u32 = 64;
/// The most ticks framelock_p2p_ticks_due() reports at once.
pub const FRAMELOCK_P2P_MAX_TICKS_DUE: u32 = 8;
/// The size of framelock_p2p_peer_stats.address (a NUL-terminated "HOST:PORT").
pub const FRAMELOCK_P2P_ADDRESS_LEN: u32 = 64;

/// P2P event: nothing waiting.
pub const FRAMELOCK_P2P_EVENT_NONE: u32 = 0;
/// P2P event: a synchronization round trip with `peer` completed (`count` of `total`).
pub const FRAMELOCK_P2P_EVENT_SYNCHRONIZING: u32 = 1;
/// P2P event: `peer` is synchronized.
pub const FRAMELOCK_P2P_EVENT_SYNCHRONIZED: u32 = 2;
/// P2P event: every peer is synchronized; frame 0 is played (GGPO's RUNNING).
pub const FRAMELOCK_P2P_EVENT_RUNNING: u32 = 3;
/// P2P event: `peer` runs with another `setting` (`local` here, `remote` there); never synchronized.
pub const FRAMELOCK_P2P_EVENT_CONFIG_MISMATCH: u32 = 4;
/// P2P event: an authenticated packet from `peer`'s address carried another session (a restarted
/// peer); refused, reported once per peer.
pub const FRAMELOCK_P2P_EVENT_NEW_SESSION_REFUSED: u32 = 5;
/// P2P event: nothing heard from `peer` for disconnect_notify_ms; `disconnect_in_ms` left.
pub const FRAMELOCK_P2P_EVENT_NETWORK_INTERRUPTED: u32 = 6;
/// P2P event: `peer` was heard again after an interruption.
pub const FRAMELOCK_P2P_EVENT_NETWORK_RESUMED: u32 = 7;
/// P2P event: `peer` is being disconnected (its inputs are no longer taken).
pub const FRAMELOCK_P2P_EVENT_DISCONNECTING: u32 = 8;
/// P2P event: `slot` is disconnected from `frame` on, the same frame at every remaining peer.
pub const FRAMELOCK_P2P_EVENT_DISCONNECTED: u32 = 9;
/// P2P event: this endpoint runs ahead; waiting `count` frames evens it out (GGPO's TIMESYNC).
pub const FRAMELOCK_P2P_EVENT_WAIT_RECOMMENDATION: u32 = 10;
/// P2P event: `peer` has not acknowledged `count` frames of inputs, more than the send queue holds.
pub const FRAMELOCK_P2P_EVENT_PEER_TOO_FAR_BEHIND: u32 = 11;
/// P2P event: `slot`'s peer has another checksum (`remote`) of `frame` than this one (`local`).
pub const FRAMELOCK_P2P_EVENT_DESYNC: u32 = 12;

/// How to create a peer-to-peer endpoint. Fill it with framelock_p2p_config_init(), then set the
/// key, the addresses and the slots. Every endpoint of a match must agree on players, input size,
/// tick rate, checksum interval and the simulation (a mismatch is a
/// FRAMELOCK_P2P_EVENT_CONFIG_MISMATCH naming the setting, never a silent desync).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct framelock_p2p_config {
    /// sizeof(framelock_p2p_config).
    pub struct_size: u32,
    /// The 32-byte session key every endpoint of the match shares (from the matchmaker, e.g. the
    /// file `framelock key` writes). All zero is refused.
    pub key: [u8; 32],
    /// Seeds the endpoint's session epoch and nonces. All zero (the default): drawn from the OS.
    pub rng_seed: [u8; 32],
    /// The UDP address to bind, "HOST:PORT" (NUL-terminated; NULL: "0.0.0.0:0"). The peers name it.
    pub listen: *const c_char,
    /// Player slots in the match, 1..=64 (default 2).
    pub players: u32,
    /// The slots played in this process, bit `s` for slot `s` (default 1: slot 0). 0 for a spectator.
    pub local_slots: u64,
    /// Every other slot: `peer_count` strings "SLOT=HOST:PORT" (slots of one address form one peer).
    pub peers: *const *const c_char,
    /// The number of strings in `peers`.
    pub peer_count: usize,
    /// Spectators hosted here: `spectator_count` strings "HOST:PORT".
    pub spectators: *const *const c_char,
    /// The number of strings in `spectators`.
    pub spectator_count: usize,
    /// Non-NULL: this endpoint is a spectator of the player at "HOST:PORT" (no local slots, peers
    /// or spectators).
    pub spectate: *const c_char,
    /// framelock_p2p_new_with_callbacks() only: the input size of a slot in bytes, 1..=64 (default
    /// 8); inputs shorter are padded with zeros. The arena's is FRAMELOCK_ARENA_INPUT_SIZE.
    pub input_size: u32,
    /// Frames per second, 1..=1000 (default 60).
    pub tick_rate: u32,
    /// Frames simulated past the last confirmed frame, 1..=64 (default 8); 0 plays lockstep.
    pub max_prediction: u32,
    /// Frames between a local input and the frame it is for, 0..=32 (default 2; GGPO's frame delay).
    pub input_delay: u32,
    /// Frames between two checksums exchanged, 1..=65535 (default 30).
    pub checksum_interval: u32,
    /// Silence from a peer before FRAMELOCK_P2P_EVENT_NETWORK_INTERRUPTED, in ms (default 750).
    pub disconnect_notify_ms: u32,
    /// Silence from a peer before it is disconnected, in ms, above disconnect_notify_ms (default 5000).
    pub disconnect_timeout_ms: u32,
    /// Stretch local frames by a tenth while ahead, instead of only recommending a wait (default false).
    pub auto_time_sync: bool,
    /// framelock_p2p_new_with_callbacks() only: identifies the game and its parameters; every
    /// endpoint must have the same (default 0). The arena's is derived from `arena`.
    pub simulation_id: u64,
    /// framelock_p2p_new_with_callbacks() only: the largest snapshot save_state writes (default 65536).
    pub max_snapshot_size: usize,
    /// framelock_p2p_new_with_callbacks() only: the input of a disconnected slot and of the first
    /// input_delay frames (`default_input_len` bytes, at most input_size; NULL: zeros).
    pub default_input: *const u8,
    /// The length of default_input.
    pub default_input_len: usize,
    /// framelock_p2p_new() only: the reference simulation's params (`arena.players` is ignored:
    /// the arena has `players` players).
    pub arena: framelock_arena_params,
    /// Link conditioner on this endpoint's sends (a test tool; all zero, the default, is off):
    /// one-way latency in milliseconds.
    pub latency_ms: u32,
    /// Link conditioner: the latency varies by up to this many milliseconds either way.
    pub jitter_ms: u32,
    /// Link conditioner: datagrams dropped, per mille (0..=1000).
    pub loss_per_mille: u32,
    /// Link conditioner: datagrams duplicated, per mille (0..=1000).
    pub duplicate_per_mille: u32,
    /// Link conditioner: datagrams held back by an extra jitter, per mille (0..=1000).
    pub reorder_per_mille: u32,
    /// Link conditioner: the seed of its decisions.
    pub conditioner_seed: u64,
}

/// Something the game should know, from framelock_p2p_poll_event(). Fields a kind does not use
/// are 0 (`peer`: -1, `setting`: NULL).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct framelock_p2p_event {
    /// FRAMELOCK_P2P_EVENT_NONE (nothing waiting) or another FRAMELOCK_P2P_EVENT_ kind.
    pub kind: u32,
    /// The peer concerned (its index for framelock_p2p_get_peer_stats()), or -1.
    pub peer: i32,
    /// DISCONNECTED, DESYNC: the slot.
    pub slot: u32,
    /// DISCONNECTED: the first frame without its input. DESYNC: the frame compared.
    pub frame: u32,
    /// SYNCHRONIZING: round trips done. WAIT_RECOMMENDATION: frames to wait.
    /// PEER_TOO_FAR_BEHIND: frames not acknowledged.
    pub count: u32,
    /// SYNCHRONIZING: round trips needed.
    pub total: u32,
    /// NETWORK_INTERRUPTED: milliseconds before the peer is disconnected.
    pub disconnect_in_ms: u32,
    /// CONFIG_MISMATCH: the setting ("protocol_version", "slots", "input_size", "tick_rate",
    /// "checksum_interval", "simulation_id" or "peer_slots"; a static string), else NULL.
    pub setting: *const c_char,
    /// CONFIG_MISMATCH: this endpoint's value. DESYNC: this endpoint's checksum.
    pub local: u64,
    /// CONFIG_MISMATCH: the peer's value. DESYNC: the peer's checksum.
    pub remote: u64,
}

impl Default for framelock_p2p_event {
    fn default() -> Self {
        framelock_p2p_event {
            kind: FRAMELOCK_P2P_EVENT_NONE,
            peer: -1,
            slot: 0,
            frame: 0,
            count: 0,
            total: 0,
            disconnect_in_ms: 0,
            setting: core::ptr::null(),
            local: 0,
            remote: 0,
        }
    }
}

/// Network statistics of one peer (GGPO's ggpo_get_network_stats, and more). Set struct_size
/// before calling framelock_p2p_get_peer_stats().
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct framelock_p2p_peer_stats {
    /// sizeof(framelock_p2p_peer_stats).
    pub struct_size: u32,
    /// Its address, "HOST:PORT", NUL-terminated.
    pub address: [c_char; 64],
    /// Smoothed round-trip time in milliseconds (GGPO's ping).
    pub rtt_ms: u32,
    /// Kilobits per second sent to it since synchronization (GGPO's kbps_sent).
    pub kbps_sent: u32,
    /// Kilobits per second received from it.
    pub kbps_received: u32,
    /// Frames of local input it has not acknowledged (GGPO's send_queue_len).
    pub send_queue: u32,
    /// Frames this endpoint is ahead of it (negative: behind); GGPO's local_frames_behind negated.
    pub local_frame_advantage: i32,
    /// Frames it says it is ahead of this endpoint; GGPO's remote_frames_behind negated.
    pub remote_frame_advantage: i32,
    /// Datagrams sent to it.
    pub packets_sent: u64,
    /// Authenticated datagrams received from it.
    pub packets_received: u64,
    /// Its datagrams that never arrived.
    pub packets_lost: u64,
    /// Its datagrams that arrived twice (or were replayed).
    pub packets_duplicated: u64,
    /// Bytes sent to it.
    pub bytes_sent: u64,
    /// Bytes received from it.
    pub bytes_received: u64,
    /// It has this endpoint's inputs (a hosted spectator: the confirmed frames) below this frame.
    pub acknowledged: u32,
    /// It is disconnected or being disconnected.
    pub disconnected: bool,
}

/// What an endpoint counted. Set struct_size before calling framelock_p2p_get_stats().
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct framelock_p2p_stats {
    /// sizeof(framelock_p2p_stats).
    pub struct_size: u32,
    /// Every peer is synchronized: frames are played.
    pub running: bool,
    /// Configured peers (remote players' addresses, then spectators or the spectated host).
    pub peers: u32,
    /// The frame the next tick simulates.
    pub current_frame: u32,
    /// The first frame whose inputs are not all confirmed.
    pub confirmed_until: u32,
    /// Every frame below this has its final checksum (framelock_p2p_checksum()).
    pub checksummed_until: u32,
    /// The longest rollback, in frames.
    pub max_rollback: u32,
    /// Frames automatic time sync stretched.
    pub frames_stretched: u32,
    /// Frames simulated for the first time.
    pub frames_advanced: u64,
    /// Frames simulated again after a rollback.
    pub frames_resimulated: u64,
    /// Rollbacks performed.
    pub rollbacks: u64,
    /// Ticks that could not advance (prediction window full).
    pub stalls: u64,
    /// Datagrams dropped: too short or long, not ours.
    pub dropped_malformed: u64,
    /// Datagrams dropped: from an address that is no peer.
    pub dropped_unknown_address: u64,
    /// Datagrams dropped: wrong handles, or another session epoch.
    pub dropped_wrong_session: u64,
    /// Datagrams dropped: duplicates or replays.
    pub dropped_replayed: u64,
    /// Datagrams dropped: the tag did not verify (wrong key, forged, corrupted).
    pub dropped_unauthenticated: u64,
    /// Datagrams dropped: authenticated but unexpected, undecodable, or another configuration.
    pub dropped_other: u64,
    /// Events dropped because nobody polled them.
    pub events_dropped: u64,
    /// Datagrams received on the socket.
    pub datagrams_in: u64,
    /// Datagrams sent on the socket.
    pub datagrams_out: u64,
    /// Bytes received.
    pub bytes_in: u64,
    /// Bytes sent.
    pub bytes_out: u64,
    /// Datagrams not sent: the socket's buffer or the endpoint's transmit queue was full.
    pub send_dropped: u64,
    /// Datagrams the link conditioner dropped on purpose.
    pub conditioner_dropped: u64,
}

fn setting_name(s: &str) -> *const c_char {
    let n: &'static core::ffi::CStr = match s {
        "protocol_version" => c"protocol_version",
        "slots" => c"slots",
        "input_size" => c"input_size",
        "tick_rate" => c"tick_rate",
        "checksum_interval" => c"checksum_interval",
        "simulation_id" => c"simulation_id",
        "peer_slots" => c"peer_slots",
        _ => c"other",
    };
    n.as_ptr()
}

pub(super) fn c_event(e: Option<P2pEvent>) -> framelock_p2p_event {
    let d = framelock_p2p_event::default();
    let peer = |p: framelock_net::p2p::PeerId| p.index as i32;
    match e {
        None => d,
        Some(P2pEvent::Synchronizing { peer: p, done, total }) => framelock_p2p_event {
            kind: FRAMELOCK_P2P_EVENT_SYNCHRONIZING,
            peer: peer(p),
            count: u32::from(done),
            total: u32::from(total),
            ..d
        },
        Some(P2pEvent::Synchronized { peer: p }) => {
            framelock_p2p_event { kind: FRAMELOCK_P2P_EVENT_SYNCHRONIZED, peer: peer(p), ..d }
        }
        Some(P2pEvent::Running) => framelock_p2p_event { kind: FRAMELOCK_P2P_EVENT_RUNNING, ..d },
        Some(P2pEvent::ConfigMismatch { peer: p, setting, local, remote }) => framelock_p2p_event {
            kind: FRAMELOCK_P2P_EVENT_CONFIG_MISMATCH,
            peer: peer(p),
            setting: setting_name(setting),
            local,
            remote,
            ..d
        },
        Some(P2pEvent::NewSessionRefused { peer: p }) => {
            framelock_p2p_event { kind: FRAMELOCK_P2P_EVENT_NEW_SESSION_REFUSED, peer: peer(p), ..d }
        }
        Some(P2pEvent::NetworkInterrupted { peer: p, disconnect_in }) => framelock_p2p_event {
            kind: FRAMELOCK_P2P_EVENT_NETWORK_INTERRUPTED,
            peer: peer(p),
            disconnect_in_ms: disconnect_in.as_millis().min(u128::from(u32::MAX)) as u32,
            ..d
        },
        Some(P2pEvent::NetworkResumed { peer: p }) => {
            framelock_p2p_event { kind: FRAMELOCK_P2P_EVENT_NETWORK_RESUMED, peer: peer(p), ..d }
        }
        Some(P2pEvent::Disconnecting { peer: p }) => {
            framelock_p2p_event { kind: FRAMELOCK_P2P_EVENT_DISCONNECTING, peer: peer(p), ..d }
        }
        Some(P2pEvent::Disconnected { slot, frame }) => {
            framelock_p2p_event { kind: FRAMELOCK_P2P_EVENT_DISCONNECTED, slot: slot as u32, frame, ..d }
        }
        Some(P2pEvent::WaitRecommendation { frames }) => {
            framelock_p2p_event { kind: FRAMELOCK_P2P_EVENT_WAIT_RECOMMENDATION, count: frames, ..d }
        }
        Some(P2pEvent::PeerTooFarBehind { peer: p, queued }) => {
            framelock_p2p_event { kind: FRAMELOCK_P2P_EVENT_PEER_TOO_FAR_BEHIND, peer: peer(p), count: queued, ..d }
        }
        Some(P2pEvent::Desync { frame, slot, local, remote }) => {
            framelock_p2p_event { kind: FRAMELOCK_P2P_EVENT_DESYNC, slot: slot as u32, frame, local, remote, ..d }
        }
    }
}

/// `a` as a NUL-terminated "HOST:PORT", without allocating (stats are read every frame).
pub(super) fn address_text(a: SocketAddr) -> [c_char; 64] {
    struct Fixed {
        buf: [c_char; 64],
        len: usize,
    }
    impl core::fmt::Write for Fixed {
        fn write_str(&mut self, s: &str) -> core::fmt::Result {
            for b in s.bytes() {
                // The longest address ("[v6%scope]:port") fits; anything longer is cut, NUL kept.
                if self.len < self.buf.len() - 1 {
                    self.buf[self.len] = b as c_char;
                    self.len += 1;
                }
            }
            Ok(())
        }
    }
    let mut w = Fixed { buf: [0; 64], len: 0 };
    let _ = core::fmt::write(&mut w, format_args!("{a}"));
    w.buf
}
