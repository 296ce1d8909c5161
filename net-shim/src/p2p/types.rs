//! The endpoint's public value types: events, errors, statistics, drop reasons.

use std::net::SocketAddr;
use std::time::Duration;

use framelock_core::{Frame, Slot};

/// Who a remote endpoint is: its index among the configured peers (remote players first, in the
/// order they were added, then spectators or the spectated host) and its address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerId {
    /// Index in [`P2pEndpoint::peers`](super::P2pEndpoint::peers).
    pub index: usize,
    /// Its address.
    pub addr: SocketAddr,
}

/// Something the game should know, from [`P2pEndpoint::poll_event`](super::P2pEndpoint::poll_event).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum P2pEvent {
    /// A synchronization round trip with a peer completed (`done` of `total`).
    Synchronizing {
        /// The peer.
        peer: PeerId,
        /// Round trips done.
        done: u8,
        /// Round trips needed.
        total: u8,
    },
    /// The peer is synchronized.
    Synchronized {
        /// The peer.
        peer: PeerId,
    },
    /// Every peer is synchronized: frame 0 may be played.
    Running,
    /// A peer runs with another setting: it is never synchronized. `local` is this endpoint's
    /// value (for `peer_slots`, the slots configured at that address), `remote` the peer's.
    ConfigMismatch {
        /// The peer.
        peer: PeerId,
        /// The setting: `protocol_version`, `slots`, `input_size`, `tick_rate`,
        /// `checksum_interval`, `simulation_id` or `peer_slots`.
        setting: &'static str,
        /// This endpoint's value.
        local: u64,
        /// The peer's value.
        remote: u64,
    },
    /// An authenticated packet from a peer's address carried another session epoch: the peer
    /// restarted (or another process uses its address). Refused; reported once per peer.
    NewSessionRefused {
        /// The peer.
        peer: PeerId,
    },
    /// Nothing heard from the peer for `disconnect_notify`.
    NetworkInterrupted {
        /// The peer.
        peer: PeerId,
        /// Time left before it is disconnected.
        disconnect_in: Duration,
    },
    /// The peer was heard again after an interruption.
    NetworkResumed {
        /// The peer.
        peer: PeerId,
    },
    /// The peer is being disconnected (its timeout ran out here, or another peer reported it); its
    /// inputs are no longer accepted and the remaining peers agree on the frame.
    Disconnecting {
        /// The peer.
        peer: PeerId,
    },
    /// A slot is disconnected from `frame` on, the same frame at every remaining peer.
    Disconnected {
        /// The slot.
        slot: Slot,
        /// The first frame without its input.
        frame: Frame,
    },
    /// This endpoint is ahead of its peers: waiting `frames` frames would even out the rollbacks
    /// (GGPO's timesync event). With automatic time sync on, the endpoint stretches its frames
    /// instead ([`P2pEndpoint::next_tick`](super::P2pEndpoint::next_tick)).
    WaitRecommendation {
        /// Frames to wait.
        frames: u32,
    },
    /// A peer has not acknowledged `queued` frames of inputs: more than the send queue holds. Its
    /// oldest unacknowledged inputs are still sent first; frames beyond the queue are not sent.
    PeerTooFarBehind {
        /// The peer.
        peer: PeerId,
        /// Frames not acknowledged.
        queued: u32,
    },
    /// A peer's checksum of a confirmed frame differs from this endpoint's: the first divergent
    /// frame compared, and both values.
    Desync {
        /// The frame whose starting state differs.
        frame: Frame,
        /// The slot whose peer sent the checksum.
        slot: Slot,
        /// This endpoint's checksum.
        local: u64,
        /// The peer's checksum.
        remote: u64,
    },
}

/// Why a datagram was dropped (counted in [`DropStats`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// Shorter than a header and a tag, longer than the largest datagram, or not our marker.
    Malformed,
    /// From an address that is not a configured peer.
    UnknownAddress,
    /// The header's handles do not match the peer at that address and this endpoint.
    WrongHandle,
    /// The sender's epoch is not the one synchronized with (a restarted peer, or a forgery).
    WrongEpoch,
    /// A sequence number already received or too old (a duplicate or a replay).
    Replayed,
    /// The tag did not verify: wrong key, forged or corrupted.
    Unauthenticated,
    /// Authenticated, but the body did not decode.
    BadBody,
    /// A synchronization message with another configuration.
    ConfigMismatch,
    /// A message that is not expected in this state (inputs before synchronization, from a
    /// disconnected peer, a spectator message to a player).
    Unexpected,
}

/// Datagrams dropped, by reason. Drops are cheap: everything before `unauthenticated` is decided
/// without decrypting.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DropStats {
    /// See [`DropReason::Malformed`].
    pub malformed: u64,
    /// See [`DropReason::UnknownAddress`].
    pub unknown_address: u64,
    /// See [`DropReason::WrongHandle`].
    pub wrong_handle: u64,
    /// See [`DropReason::WrongEpoch`].
    pub wrong_epoch: u64,
    /// See [`DropReason::Replayed`].
    pub replayed: u64,
    /// See [`DropReason::Unauthenticated`].
    pub unauthenticated: u64,
    /// See [`DropReason::BadBody`].
    pub bad_body: u64,
    /// See [`DropReason::ConfigMismatch`].
    pub config_mismatch: u64,
    /// See [`DropReason::Unexpected`].
    pub unexpected: u64,
}

impl DropStats {
    pub(crate) fn count(&mut self, r: DropReason) {
        let c = match r {
            DropReason::Malformed => &mut self.malformed,
            DropReason::UnknownAddress => &mut self.unknown_address,
            DropReason::WrongHandle => &mut self.wrong_handle,
            DropReason::WrongEpoch => &mut self.wrong_epoch,
            DropReason::Replayed => &mut self.replayed,
            DropReason::Unauthenticated => &mut self.unauthenticated,
            DropReason::BadBody => &mut self.bad_body,
            DropReason::ConfigMismatch => &mut self.config_mismatch,
            DropReason::Unexpected => &mut self.unexpected,
        };
        *c += 1;
    }

    /// Every drop.
    pub fn total(&self) -> u64 {
        self.malformed
            + self.unknown_address
            + self.wrong_handle
            + self.wrong_epoch
            + self.replayed
            + self.unauthenticated
            + self.bad_body
            + self.config_mismatch
            + self.unexpected
    }
}

/// Network statistics of one peer (GGPO's `ggpo_get_network_stats`, and more).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PeerStats {
    /// Smoothed round-trip time in milliseconds.
    pub rtt_ms: u32,
    /// Kilobits per second sent to the peer since synchronization.
    pub kbps_sent: u32,
    /// Kilobits per second received from it since synchronization.
    pub kbps_received: u32,
    /// Frames of local input the peer has not acknowledged.
    pub send_queue: u32,
    /// How many frames this endpoint is ahead of the peer (negative: behind), GGPO's
    /// `local_frames_behind` with the opposite sign convention of "ahead".
    pub local_frame_advantage: i32,
    /// How many frames the peer says it is ahead of this endpoint.
    pub remote_frame_advantage: i32,
    /// Datagrams sent to it.
    pub packets_sent: u64,
    /// Authenticated datagrams received from it.
    pub packets_received: u64,
    /// Its datagrams that never arrived (gaps in its sequence numbers).
    pub packets_lost: u64,
    /// Its datagrams that arrived twice (or were replayed).
    pub packets_duplicated: u64,
    /// Bytes sent to it.
    pub bytes_sent: u64,
    /// Bytes received from it (authenticated datagrams).
    pub bytes_received: u64,
    /// It has this endpoint's inputs (a hosted spectator: the confirmed frames) below this frame.
    pub acknowledged: u32,
    /// It is disconnected or being disconnected.
    pub disconnected: bool,
}

/// Why an endpoint could not be built or ticked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum P2pError {
    /// A setting is invalid.
    Config {
        /// The setting.
        setting: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The core session refused.
    Session(framelock_core::Error),
}

impl From<framelock_core::Error> for P2pError {
    fn from(e: framelock_core::Error) -> Self {
        P2pError::Session(e)
    }
}

impl core::fmt::Display for P2pError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            P2pError::Config { setting, reason } => write!(f, "p2p setting {setting}: {reason}"),
            P2pError::Session(e) => write!(f, "p2p session: {e}"),
        }
    }
}

impl std::error::Error for P2pError {}
