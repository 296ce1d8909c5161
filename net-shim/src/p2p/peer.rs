//! What an endpoint knows about one remote endpoint: handshake, keys in use, inputs received and
//! acknowledged, time sync, disconnect agreement, statistics.

use std::net::SocketAddr;
use std::time::Duration;

use framelock_core::Frame;

use super::types::PeerStats;
use crate::netcode::ReplayProtection;

/// Frames of a peer's inputs kept (for forwarding them when it disconnects) and of local inputs
/// kept for resending. A power of two.
pub(super) const RING: u32 = 256;
/// Synchronization requests remembered while unanswered.
pub(super) const SYNC_OUTSTANDING: usize = 8;

/// What the remote endpoint is to this one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    /// A remote player (one or more slots).
    Player,
    /// A spectator this endpoint hosts.
    Spectator,
    /// The player this spectator watches.
    Host,
}

#[derive(Debug)]
pub(super) struct Peer {
    pub addr: SocketAddr,
    pub role: Role,
    /// Its handle (lowest slot; spectators send with `SPECTATOR_HANDLE`).
    pub handle: u8,
    /// The slots it plays.
    pub slots: u64,
    /// Bytes of one of its input records (its slots' inputs, in slot order).
    pub record_len: usize,

    // ----- sealing
    pub epoch: Option<u32>,
    pub replay: ReplayProtection,
    pub send_seq: u32,
    pub refused_reported: bool,

    // ----- synchronization
    /// The nonces of the last requests still unanswered, with their send times: a reply to any
    /// of them counts, so a round trip longer than the retry interval still completes.
    pub sync_nonces: [Option<(u32, Duration)>; SYNC_OUTSTANDING],
    pub sync_next: usize,
    /// When the last request went out.
    pub sync_sent_at: Option<Duration>,
    pub sync_done: u8,
    pub synced: bool,
    pub mismatch: bool,

    // ----- liveness
    pub last_recv: Duration,
    pub last_send: Option<Duration>,
    pub interrupted: bool,

    // ----- inputs
    /// Its inputs below this frame are here (contiguous).
    pub received_until: Frame,
    /// Its records by frame (`RING` of them), for forwarding.
    pub ring: Vec<u8>,
    /// It has this endpoint's inputs (or, for a spectator, confirmed frames) below this frame.
    pub acked: Frame,
    pub too_far: bool,
    pub last_checksum: Option<Frame>,
    /// The checksum frame last sent to it, and in how many messages.
    pub checksum_sent: (Frame, u8),

    // ----- time
    pub remote_frame: Frame,
    pub remote_frame_at: Duration,
    pub remote_adv: i32,
    pub local_adv: i32,
    /// Its last timestamp (ms) and when it arrived, echoed for round-trip times.
    pub last_ts: Option<(u32, Duration)>,
    pub rtt_ms: u32,

    // ----- disconnects
    /// This endpoint stopped accepting its inputs, having them below this frame.
    pub frozen: Option<Frame>,
    /// What the other players reported for it, by peer index.
    pub reports: Vec<Option<Frame>>,
    pub applied: bool,

    // ----- statistics
    pub synced_at: Duration,
    pub packets_sent: u64,
    pub packets_received: u64,
    pub packets_duplicated: u64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    /// The first and the highest sequence number received, for losses.
    pub seq_range: Option<(u32, u32)>,
}

impl Peer {
    pub fn new(addr: SocketAddr, role: Role, handle: u8, slots: u64, record_len: usize, peers: usize) -> Peer {
        Peer {
            addr,
            role,
            handle,
            slots,
            record_len,
            epoch: None,
            replay: ReplayProtection::new(),
            send_seq: 0,
            refused_reported: false,
            sync_nonces: [None; SYNC_OUTSTANDING],
            sync_next: 0,
            sync_sent_at: None,
            sync_done: 0,
            synced: false,
            mismatch: false,
            last_recv: Duration::ZERO,
            last_send: None,
            interrupted: false,
            received_until: 0,
            ring: vec![0; RING as usize * record_len],
            acked: 0,
            too_far: false,
            last_checksum: None,
            checksum_sent: (Frame::MAX, 0),
            remote_frame: 0,
            remote_frame_at: Duration::ZERO,
            remote_adv: 0,
            local_adv: 0,
            last_ts: None,
            rtt_ms: 0,
            frozen: None,
            reports: vec![None; peers],
            applied: false,
            synced_at: Duration::ZERO,
            packets_sent: 0,
            packets_received: 0,
            packets_duplicated: 0,
            bytes_sent: 0,
            bytes_received: 0,
            seq_range: None,
        }
    }

    /// Its record of `frame` in the ring.
    pub fn record(&self, frame: Frame) -> &[u8] {
        let i = (frame % RING) as usize * self.record_len;
        &self.ring[i..i + self.record_len]
    }

    pub fn record_mut(&mut self, frame: Frame) -> &mut [u8] {
        let i = (frame % RING) as usize * self.record_len;
        &mut self.ring[i..i + self.record_len]
    }

    /// Records a round-trip sample (smoothed 7/8 old, 1/8 new).
    pub fn rtt_sample(&mut self, ms: u32) {
        self.rtt_ms = if self.rtt_ms == 0 { ms.max(1) } else { (self.rtt_ms * 7 + ms).div_ceil(8) };
    }

    /// Counts an authenticated datagram's sequence number.
    pub fn seq_received(&mut self, seq: u32) {
        self.seq_range = Some(match self.seq_range {
            None => (seq, seq),
            Some((first, high)) => (first.min(seq), high.max(seq)),
        });
    }

    pub fn stats(&self, now: Duration, local_end: Frame) -> PeerStats {
        let ms = now.saturating_sub(self.synced_at).as_millis().max(1) as u64;
        let kbps = |bytes: u64| u32::try_from(bytes * 8 / ms).unwrap_or(u32::MAX);
        let expected = self.seq_range.map_or(0, |(a, b)| u64::from(b - a) + 1);
        PeerStats {
            rtt_ms: self.rtt_ms,
            kbps_sent: kbps(self.bytes_sent),
            kbps_received: kbps(self.bytes_received),
            send_queue: local_end.saturating_sub(self.acked),
            local_frame_advantage: self.local_adv,
            remote_frame_advantage: self.remote_adv,
            packets_sent: self.packets_sent,
            packets_received: self.packets_received,
            packets_lost: expected.saturating_sub(self.packets_received),
            packets_duplicated: self.packets_duplicated,
            bytes_sent: self.bytes_sent,
            bytes_received: self.bytes_received,
            acknowledged: self.acked,
            disconnected: self.frozen.is_some(),
        }
    }
}
