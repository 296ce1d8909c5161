//! [`P2pEndpoint`]: the sans-IO state machine of one process in a peer-to-peer match.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Duration;

use framelock_core::{Driver, Event, Frame, Outcome, Simulation};
use rand_core::RngCore;

use super::builder::P2pBuilder;
use super::peer::{Peer, Role, RING};
use super::types::{DropStats, P2pError, P2pEvent, PeerId, PeerStats};
use super::wire::{Header, WireConfig, MAX_DATAGRAM, SPECTATOR_HANDLE};
use crate::netcode::{SeededRng, Transmit};

/// Synchronization round trips before a peer counts as synchronized (as GGPO).
pub(super) const SYNC_ROUNDS: u8 = 5;
/// A synchronization request unanswered this long is sent again with a new nonce.
pub(super) const SYNC_RETRY: Duration = Duration::from_millis(200);
/// A synchronized peer that was sent nothing for this long is sent a packet anyway (acks, keep-alive).
pub(super) const KEEPALIVE: Duration = Duration::from_millis(100);
/// Frames of unacknowledged local input before [`P2pEvent::PeerTooFarBehind`].
pub(super) const SEND_QUEUE: u32 = 128;
/// Events kept for [`P2pEndpoint::poll_event`]; the oldest are dropped beyond this.
const EVENTS: usize = 256;
/// Ticks of frame-advantage samples averaged for time sync.
pub(super) const SKEW_WINDOW: usize = 32;
/// Ticks between two wait recommendations.
const RECOMMEND_EVERY: u32 = 120;
/// The averaged skew (in 1/256 frames) from which a wait is recommended: two frames, so that
/// jitter alone does not trigger it.
const RECOMMEND_FROM: i32 = 512;
/// The averaged skew from which automatic time sync stretches frames: one frame.
const STRETCH_FROM: i32 = 256;

/// One outgoing datagram slot.
#[derive(Debug)]
pub(super) struct Tx {
    pub to: SocketAddr,
    pub len: usize,
    pub buf: Box<[u8; MAX_DATAGRAM]>,
}

/// A peer-to-peer endpoint driving a core session (see the module docs).
#[derive(Debug)]
pub struct P2pEndpoint<S> {
    pub(super) driver: Driver<S>,
    pub(super) key: [u8; 32],
    pub(super) rng: SeededRng,
    pub(super) epoch: u32,
    /// This endpoint's handle: its lowest local slot, or `SPECTATOR_HANDLE`.
    pub(super) handle: u8,
    pub(super) spectator: bool,
    pub(super) local: u64,
    pub(super) n_local: usize,
    pub(super) input_size: usize,
    pub(super) slots: usize,
    pub(super) wire: WireConfig,
    pub(super) default: Vec<u8>,
    pub(super) period: Duration,
    pub(super) tick_rate: u32,
    pub(super) notify: Duration,
    pub(super) timeout: Duration,
    pub(super) auto_time_sync: bool,
    pub(super) checksum_interval: u32,
    pub(super) peers: Vec<Peer>,
    pub(super) running: bool,
    pub(super) next_tick: Option<Duration>,
    /// Local records (every local slot's input, in slot order) by frame, `RING` of them.
    pub(super) local_ring: Vec<u8>,
    /// Local inputs exist below this frame.
    pub(super) local_end: Frame,
    /// Confirmed frames for spectators (every slot: status byte and input), `RING` of them.
    pub(super) spec_ring: Vec<u8>,
    pub(super) spec_end: Frame,
    pub(super) tx: VecDeque<Tx>,
    pub(super) tx_free: Vec<Tx>,
    pub(super) tx_dropped: u64,
    /// Scratch: a message body being built, a datagram being opened, a record being decoded.
    pub(super) body: Vec<u8>,
    pub(super) rx: Vec<u8>,
    pub(super) rec: Vec<u8>,
    pub(super) events: VecDeque<P2pEvent>,
    pub(super) events_dropped: u64,
    pub(super) drops: DropStats,
    /// Recent time-sync skews in 1/256 frames (one per tick), and their sum.
    pub(super) skews: [i32; SKEW_WINDOW],
    pub(super) skew_at: usize,
    pub(super) ticks: u32,
    pub(super) last_recommend: u32,
    pub(super) stretched: u32,
}

impl<S: Simulation> P2pEndpoint<S> {
    pub(super) fn new(
        now: Duration,
        b: P2pBuilder,
        driver: Driver<S>,
        mut peers: Vec<Peer>,
        wire: WireConfig,
        default: Vec<u8>,
    ) -> Self {
        let mut rng = SeededRng::from_seed(b.seed.unwrap_or_default());
        let epoch = rng.next_u32();
        let n_local = b.local.count_ones() as usize;
        for p in &mut peers {
            p.last_recv = now;
        }
        let tx_cap = 4 * peers.len() + 8;
        let spec_record = b.slots * (b.input_size + 1);
        let max_record = spec_record.max(n_local * b.input_size);
        let mut ep = P2pEndpoint {
            key: b.key.unwrap_or_default(),
            rng,
            epoch,
            handle: if b.host.is_some() { SPECTATOR_HANDLE } else { b.local.trailing_zeros() as u8 },
            spectator: b.host.is_some(),
            local: b.local,
            n_local,
            input_size: b.input_size,
            slots: b.slots,
            wire,
            period: Duration::from_secs(1) / u32::from(b.tick_rate),
            tick_rate: u32::from(b.tick_rate),
            notify: b.disconnect_notify,
            timeout: b.disconnect_timeout,
            auto_time_sync: b.auto_time_sync,
            checksum_interval: u32::from(b.checksum_interval),
            running: false,
            next_tick: None,
            local_ring: vec![0; RING as usize * n_local * b.input_size],
            local_end: 0,
            spec_ring: vec![0; if b.spectators.is_empty() { 0 } else { RING as usize * spec_record }],
            spec_end: 0,
            tx: VecDeque::with_capacity(tx_cap),
            tx_free: (0..tx_cap)
                .map(|_| Tx { to: SocketAddr::from(([0, 0, 0, 0], 0)), len: 0, buf: Box::new([0; MAX_DATAGRAM]) })
                .collect(),
            tx_dropped: 0,
            body: vec![0; MAX_DATAGRAM],
            rx: vec![0; MAX_DATAGRAM],
            rec: vec![0; max_record],
            events: VecDeque::with_capacity(EVENTS),
            events_dropped: 0,
            drops: DropStats::default(),
            skews: [0; SKEW_WINDOW],
            skew_at: 0,
            ticks: 0,
            last_recommend: 0,
            stretched: 0,
            driver,
            peers,
            default,
        };
        // The first `input_delay` frames of every local slot hold the default input (as the
        // session does); the peers need them like any other input.
        let delay = ep.driver.session().input_delay();
        for f in 0..delay {
            ep.put_local_record(f, None);
        }
        ep.local_end = delay;
        for i in 0..ep.peers.len() {
            if ep.peers[i].role != Role::Spectator {
                ep.send_sync_request(now, i);
            }
        }
        ep
    }

    // ----- the sans-IO surface --------------------------------------------------------------------

    /// Takes a datagram from the network. Anything that is not an authenticated, expected message
    /// from a configured peer is dropped and counted ([`P2pEndpoint::drops`]).
    pub fn handle_datagram(&mut self, now: Duration, from: SocketAddr, bytes: &[u8]) {
        if let Err(reason) = self.receive(now, from, bytes) {
            self.drops.count(reason);
        }
    }

    /// Advances timers: synchronization resends, keep-alives, interruptions and disconnects.
    pub fn handle_timeout(&mut self, now: Duration) {
        for i in 0..self.peers.len() {
            let p = &self.peers[i];
            if p.frozen.is_some() {
                continue;
            }
            if !p.synced && p.role != Role::Spectator {
                if p.sync_sent_at.is_none_or(|t| now >= t + SYNC_RETRY) {
                    self.send_sync_request(now, i);
                }
                continue;
            }
            if !p.synced && p.epoch.is_none() {
                continue;
            }
            if self.running && p.synced {
                let silence = now.saturating_sub(p.last_recv);
                if silence >= self.timeout {
                    self.freeze(i);
                    continue;
                }
                if silence >= self.notify && !p.interrupted {
                    self.peers[i].interrupted = true;
                    let disconnect_in = self.timeout - silence;
                    self.push_event(P2pEvent::NetworkInterrupted { peer: self.peer_id(i), disconnect_in });
                }
            }
            if self.peers[i].last_send.is_none_or(|t| now >= t + KEEPALIVE) {
                self.send_update(now, i);
            }
        }
        self.apply_disconnects();
        self.drain_session_events();
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit<'_>> {
        let t = self.tx.pop_front()?;
        self.tx_free.push(t);
        let t = self.tx_free.last()?;
        Some(Transmit { destination: t.to, contents: &t.buf[..t.len] })
    }

    /// When [`P2pEndpoint::handle_timeout`] (or, once running, [`P2pEndpoint::tick`]) is due next.
    pub fn poll_timeout(&self) -> Option<Duration> {
        let mut t = self.next_tick;
        let mut earliest = |d: Duration| t = Some(t.map_or(d, |t: Duration| t.min(d)));
        for p in &self.peers {
            if p.frozen.is_some() {
                continue;
            }
            if !p.synced && p.role != Role::Spectator {
                earliest(p.sync_sent_at.map_or(Duration::ZERO, |s| s + SYNC_RETRY));
                continue;
            }
            if p.synced || p.epoch.is_some() {
                earliest(p.last_send.map_or(Duration::ZERO, |s| s + KEEPALIVE));
                if self.running && p.synced {
                    earliest(p.last_recv + if p.interrupted { self.timeout } else { self.notify });
                }
            }
        }
        t
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<P2pEvent> {
        self.events.pop_front()
    }

    /// One frame: adds this process's inputs (`input_size` bytes per local slot, in slot order;
    /// ignored by a spectator), advances the session (rolling back as needed) and sends the
    /// update to every peer. Before every peer is synchronized it does nothing and returns `None`.
    /// Call it every frame at the tick rate, e.g. when `now` reaches [`P2pEndpoint::next_tick`].
    ///
    /// Errors: [`P2pError::Config`] when `input` has the wrong length; [`P2pError::Session`] when the
    /// session or the simulation fails.
    pub fn tick(&mut self, now: Duration, input: &[u8]) -> Result<Option<Outcome>, P2pError> {
        if !self.running {
            return Ok(None);
        }
        self.schedule_next_tick(now);
        let outcome = if self.spectator { self.tick_spectator()? } else { self.tick_player(now, input)? };
        self.drain_session_events();
        for i in 0..self.peers.len() {
            let p = &self.peers[i];
            if p.frozen.is_none() && (p.synced || (p.role == Role::Spectator && p.epoch.is_some())) {
                self.send_update(now, i);
            }
        }
        Ok(Some(outcome))
    }

    fn tick_player(&mut self, now: Duration, input: &[u8]) -> Result<Outcome, P2pError> {
        if input.len() != self.n_local * self.input_size {
            return Err(P2pError::Config { setting: "input", reason: "must be input_size bytes per local slot" });
        }
        let mut added = None;
        let mut chunks = input.chunks(self.input_size);
        for slot in (0..self.slots).filter(|s| self.local >> s & 1 == 1) {
            let bytes = chunks.next().unwrap_or(&[]);
            if let Some(f) = self.driver.session_mut().add_local_input(slot, bytes)? {
                added = Some(f);
            }
        }
        if let Some(f) = added {
            self.put_local_record(f, Some(input));
            self.local_end = f + 1;
        }
        self.time_sync(now);
        let outcome = self.driver.advance()?;
        if !self.spec_ring.is_empty() {
            self.collect_confirmed();
        }
        Ok(outcome)
    }

    fn tick_spectator(&mut self) -> Result<Outcome, P2pError> {
        let mut outcome = self.driver.advance()?;
        // Behind the host: catch up a few frames per tick.
        for _ in 0..8 {
            let s = self.driver.session();
            if s.current_frame() + 2 >= s.confirmed_until() {
                break;
            }
            outcome = self.driver.advance()?;
        }
        Ok(outcome)
    }

    fn put_local_record(&mut self, f: Frame, input: Option<&[u8]>) {
        let len = self.n_local * self.input_size;
        let at = (f % RING) as usize * len;
        let dst = &mut self.local_ring[at..at + len];
        match input {
            Some(i) => dst.copy_from_slice(i),
            None => {
                for c in dst.chunks_mut(self.input_size.max(1)) {
                    c.copy_from_slice(&self.default);
                }
            }
        }
    }

    /// Copies newly confirmed frames into the spectators' ring.
    fn collect_confirmed(&mut self) {
        let rec = self.slots * (self.input_size + 1);
        while let Some(inputs) = self.driver.session_mut().poll_confirmed() {
            let f = inputs.frame();
            let at = (f % RING) as usize * rec;
            let dst = &mut self.spec_ring[at..at + rec];
            dst.fill(0);
            for p in inputs.iter() {
                let o = p.slot * (self.input_size + 1);
                dst[o] = match p.status {
                    framelock_core::InputStatus::Disconnected => 1,
                    framelock_core::InputStatus::Substituted => 2,
                    _ => 0,
                };
                let n = p.bytes.len().min(self.input_size);
                dst[o + 1..o + 1 + n].copy_from_slice(&p.bytes[..n]);
            }
            self.spec_end = f + 1;
        }
    }

    /// Measures the frame advantage against every player and recommends (or, in automatic mode,
    /// takes) a wait when this endpoint runs ahead.
    fn time_sync(&mut self, now: Duration) {
        let cur = self.driver.session().current_frame();
        let mut skew = i32::MIN;
        for p in self.peers.iter_mut().filter(|p| p.role == Role::Player && p.synced && p.frozen.is_none()) {
            // Where the peer is now: its last reported frame, plus the frames since it sent it.
            let since = now.saturating_sub(p.remote_frame_at).as_millis() as u64 + u64::from(p.rtt_ms / 2);
            let est = u64::from(p.remote_frame) + since * u64::from(self.tick_rate) / 1000;
            p.local_adv = (i64::from(cur) - est as i64).clamp(-1000, 1000) as i32;
            skew = skew.max((p.local_adv - p.remote_adv) * 128);
        }
        if skew == i32::MIN {
            return;
        }
        self.skews[self.skew_at % SKEW_WINDOW] = skew;
        self.skew_at += 1;
        self.ticks += 1;
        let avg = self.skews.iter().sum::<i32>() / SKEW_WINDOW as i32;
        if self.skew_at >= SKEW_WINDOW && avg >= RECOMMEND_FROM && self.ticks >= self.last_recommend + RECOMMEND_EVERY {
            self.last_recommend = self.ticks;
            self.push_event(P2pEvent::WaitRecommendation { frames: (avg / 256) as u32 });
        }
    }

    fn schedule_next_tick(&mut self, now: Duration) {
        let mut next = self.next_tick.unwrap_or(now) + self.period;
        if self.auto_time_sync && self.skew_at >= SKEW_WINDOW {
            let avg = self.skews.iter().sum::<i32>() / SKEW_WINDOW as i32;
            if avg >= STRETCH_FROM {
                // A frame ahead or more: this frame lasts 10% longer.
                next += self.period / 10;
                self.stretched += 1;
            }
        }
        // A caller that fell far behind does not get a burst of ticks.
        self.next_tick = Some(next.max(now.saturating_sub(4 * self.period)));
    }

    // ----- helpers ---------------------------------------------------------------------------------

    pub(super) fn peer_id(&self, i: usize) -> PeerId {
        PeerId { index: i, addr: self.peers[i].addr }
    }

    pub(super) fn push_event(&mut self, e: P2pEvent) {
        if self.events.len() == EVENTS {
            self.events.pop_front();
            self.events_dropped += 1;
        }
        self.events.push_back(e);
    }

    pub(super) fn drain_session_events(&mut self) {
        while let Some(e) = self.driver.session_mut().poll_event() {
            match e {
                Event::Desync { frame, slot, local, remote } => {
                    self.push_event(P2pEvent::Desync { frame, slot, local, remote })
                }
                Event::SlotDisconnected { slot, frame } => self.push_event(P2pEvent::Disconnected { slot, frame }),
                _ => {}
            }
        }
    }

    /// Stops accepting peer `i`'s inputs: the disconnect agreement starts (docs/p2p-protocol.md).
    pub(super) fn freeze(&mut self, i: usize) {
        let p = &mut self.peers[i];
        if p.frozen.is_some() {
            return;
        }
        p.frozen = Some(p.received_until);
        self.push_event(P2pEvent::Disconnecting { peer: self.peer_id(i) });
        self.apply_disconnects();
    }

    /// Disconnects every frozen player whose frame all remaining players reported.
    pub(super) fn apply_disconnects(&mut self) {
        for x in 0..self.peers.len() {
            let p = &self.peers[x];
            let Some(f) = p.frozen.filter(|_| p.role == Role::Player && !p.applied) else { continue };
            let agreed = self.peers.iter().enumerate().all(|(q, other)| {
                q == x || other.role != Role::Player || other.frozen.is_some() || p.reports[q] == Some(f)
            });
            if !agreed {
                continue;
            }
            self.peers[x].applied = true;
            let slots = self.peers[x].slots;
            for s in (0..self.slots).filter(|s| slots >> s & 1 == 1) {
                // The frame is this slot's first unconfirmed one here (frozen there), so it is valid.
                let _ = self.driver.session_mut().disconnect_slot(s, f);
            }
        }
        self.drain_session_events();
    }

    /// Disconnects peer `index` from this side (GGPO's `ggpo_disconnect_player`), as if it had
    /// timed out: its inputs are no longer taken, nothing more is sent to it, and its slots are
    /// disconnected at the frame the remaining players agree on ([`P2pEvent::Disconnecting`], then
    /// [`P2pEvent::Disconnected`]). The peer itself sees silence and times this endpoint out. False
    /// (nothing done) before running or for an unknown index.
    pub fn disconnect_peer(&mut self, index: usize) -> bool {
        if !self.running || index >= self.peers.len() {
            return false;
        }
        self.freeze(index);
        self.drain_session_events();
        true
    }

    // ----- observation -----------------------------------------------------------------------------

    /// True once every peer is synchronized (frames are being played).
    pub fn is_running(&self) -> bool {
        self.running
    }

    /// When the next frame is due: one frame period after the last tick, stretched by a tenth
    /// while automatic time sync finds this endpoint ahead. `None` before running.
    pub fn next_tick(&self) -> Option<Duration> {
        self.next_tick
    }

    /// The configured peers, in [`PeerId::index`] order.
    pub fn peers(&self) -> impl Iterator<Item = PeerId> + '_ {
        (0..self.peers.len()).map(|i| self.peer_id(i))
    }

    /// Network statistics of peer `index`.
    pub fn peer_stats(&self, index: usize, now: Duration) -> Option<PeerStats> {
        self.peers.get(index).map(|p| p.stats(now, self.local_end))
    }

    /// Datagrams dropped, by reason.
    pub fn drops(&self) -> DropStats {
        self.drops
    }

    /// Datagrams not queued because the transmit queue was full, and events dropped unpolled.
    pub fn queue_drops(&self) -> (u64, u64) {
        (self.tx_dropped, self.events_dropped)
    }

    /// Frames automatic time sync stretched.
    pub fn frames_stretched(&self) -> u32 {
        self.stretched
    }

    /// The session and simulation.
    pub fn driver(&self) -> &Driver<S> {
        &self.driver
    }

    /// The session and simulation, mutably (changing the simulation outside a request breaks
    /// determinism).
    pub fn driver_mut(&mut self) -> &mut Driver<S> {
        &mut self.driver
    }
}

impl<S: Simulation> crate::io::Endpoint for P2pEndpoint<S> {
    fn handle_datagram(&mut self, now: Duration, from: SocketAddr, bytes: &[u8]) {
        P2pEndpoint::handle_datagram(self, now, from, bytes);
    }
    fn handle_timeout(&mut self, now: Duration) {
        P2pEndpoint::handle_timeout(self, now);
    }
    fn poll_transmit(&mut self) -> Option<Transmit<'_>> {
        P2pEndpoint::poll_transmit(self)
    }
    fn poll_timeout(&self) -> Option<Duration> {
        P2pEndpoint::poll_timeout(self)
    }
}

/// Whether `h` may come from peer `p` to an endpoint with handle `me`.
pub(super) fn handles_match(p: &Peer, h: &Header, me: u8) -> bool {
    match p.role {
        Role::Player => h.from == p.handle && h.to == me,
        Role::Spectator => h.from == SPECTATOR_HANDLE,
        // The host's handle is learned with its epoch.
        Role::Host => h.to == SPECTATOR_HANDLE && (p.epoch.is_none() || h.from == p.handle),
    }
}
