//! The GGRS 0.13 side: the same trivial state (frame counter + running hash, a `u32` input per
//! player, the same hash function), driven through its sync-test session and through two P2P
//! sessions connected by an in-memory socket that delays every message by a fixed number of ticks.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;

use framelock_core::checksum64;
use framelock_core::testing::HashSim;
use ggrs::{
    GgrsError, GgrsRequest, InputStatus, Message, NonBlockingSocket, P2PSession, PlayerType, PredictRepeatLast,
    SessionBuilder, SessionState, SyncTestSession,
};

use super::framelock_cases::{local_input, remote_input, slot_input, LAG, MAX_PREDICTION};
use super::Case;

/// The GGRS configuration: `u32` inputs, repeat-last prediction, the trivial state, `u8` addresses.
#[derive(Debug)]
pub struct Config;

impl ggrs::Config for Config {
    type Input = u32;
    type InputPredictor = PredictRepeatLast;
    type State = Trivial;
    type Address = u8;
}

/// The trivial state: what `framelock_core::testing::HashSim::new(0)` holds, advanced the same way.
#[derive(Debug, Clone, Copy, Default)]
pub struct Trivial {
    frame: u32,
    hash: u64,
}

impl Trivial {
    fn advance(&mut self, inputs: &[(u32, InputStatus)]) {
        let mut h = self.hash ^ u64::from(self.frame).rotate_left(17);
        for (input, status) in inputs {
            let status = match status {
                InputStatus::Confirmed | InputStatus::Predicted => framelock_core::InputStatus::Confirmed,
                InputStatus::Disconnected => framelock_core::InputStatus::Disconnected,
            };
            h = HashSim::mix_input(h, &input.to_le_bytes(), status);
        }
        self.hash = h;
        self.frame += 1;
    }

    /// The checksum framelock takes of the same state's 12-byte snapshot.
    fn checksum(&self) -> u128 {
        let mut b = [0u8; 12];
        b[..4].copy_from_slice(&self.frame.to_le_bytes());
        b[4..].copy_from_slice(&self.hash.to_le_bytes());
        u128::from(checksum64(&b))
    }
}

/// Requests fulfilled, by kind.
#[derive(Debug, Clone, Copy, Default)]
pub struct Counts {
    pub saves: u64,
    pub loads: u64,
    pub advances: u64,
    /// Ticks on which the session could not advance (no `AdvanceFrame` for a new frame).
    pub stalls: u64,
}

fn fulfil(state: &mut Trivial, requests: Vec<GgrsRequest<Config>>, counts: &mut Counts) {
    for request in requests {
        match request {
            GgrsRequest::SaveGameState { cell, frame } => {
                debug_assert_eq!(frame as u32, state.frame);
                cell.save(frame, Some(*state), Some(state.checksum()));
                counts.saves += 1;
            }
            GgrsRequest::LoadGameState { cell, .. } => {
                *state = cell.load().expect("GGRS loads a saved state");
                counts.loads += 1;
            }
            GgrsRequest::AdvanceFrame { inputs } => {
                state.advance(&inputs);
                counts.advances += 1;
            }
        }
    }
}

/// GGRS's sync-test session (prediction window 10).
pub struct SyncTest {
    session: SyncTestSession<Config>,
    state: Trivial,
    counts: Counts,
    players: usize,
}

impl SyncTest {
    pub fn new(players: usize, check_distance: u32) -> Self {
        let session = SessionBuilder::<Config>::new()
            .with_num_players(players)
            .expect("players")
            .with_max_prediction_window(MAX_PREDICTION as usize)
            .with_check_distance(check_distance as usize)
            .start_synctest_session()
            .expect("valid sync-test config");
        SyncTest { session, state: Trivial::default(), counts: Counts::default(), players }
    }
}

impl Case for SyncTest {
    #[inline(never)] // a symbol of its own for callgrind and perf
    fn tick(&mut self) {
        let f = self.session.current_frame() as u32;
        for slot in 0..self.players {
            self.session.add_local_input(slot, slot_input(slot, f)).expect("input");
        }
        let requests = self.session.advance_frame().expect("GGRS sync test: no mismatch");
        fulfil(&mut self.state, requests, &mut self.counts);
    }
    fn frames(&self) -> u64 {
        self.session.current_frame() as u64
    }
    fn resimulated(&self) -> u64 {
        self.counts.advances - self.frames()
    }
    fn detail(&self) -> String {
        format!("loads {}, saves {}, advances {}", self.counts.loads, self.counts.saves, self.counts.advances)
    }
}

/// A message in flight: deliverable from tick `at`, sent by `from`.
type Mailbox = Rc<RefCell<VecDeque<(u64, u8, Message)>>>;

/// An in-memory `NonBlockingSocket` between two peers: a message sent at tick `t` can be received
/// from tick `t + delay` on (the tick is a shared counter the driver advances).
pub struct MemSocket {
    me: u8,
    inbox: Mailbox,
    peer_inbox: Mailbox,
    clock: Rc<Cell<u64>>,
    delay: Rc<Cell<u64>>,
}

impl NonBlockingSocket<u8> for MemSocket {
    fn send_to(&mut self, msg: &Message, _addr: &u8) {
        let at = self.clock.get() + self.delay.get();
        self.peer_inbox.borrow_mut().push_back((at, self.me, msg.clone()));
    }

    fn receive_all_messages(&mut self) -> Vec<(u8, Message)> {
        let now = self.clock.get();
        let mut inbox = self.inbox.borrow_mut();
        let mut out = Vec::new();
        while inbox.front().is_some_and(|m| m.0 <= now) {
            if let Some((_, from, msg)) = inbox.pop_front() {
                out.push((from, msg));
            }
        }
        out
    }
}

/// One GGRS peer and its copy of the state.
struct Peer {
    session: P2PSession<Config>,
    state: Trivial,
    counts: Counts,
    input: fn(u32) -> u32,
    local: usize,
}

impl Peer {
    fn tick(&mut self) {
        let f = self.session.current_frame() as u32;
        self.session.add_local_input(self.local, (self.input)(f)).expect("local input");
        let before = self.counts.advances;
        match self.session.advance_frame() {
            Ok(requests) => fulfil(&mut self.state, requests, &mut self.counts),
            Err(GgrsError::PredictionThreshold) => {}
            Err(e) => panic!("GGRS P2P advance: {e}"),
        }
        if self.session.current_frame() as u32 == f {
            self.counts.stalls += 1;
        }
        debug_assert!(self.counts.advances >= before);
        for _event in self.session.events() {}
    }
}

/// Two GGRS P2P sessions (peer A: handle 0 local, handle 1 remote; peer B the other way round)
/// over [`MemSocket`]s. They synchronize with instant delivery; then every message takes `delay`
/// ticks. Each tick advances A, then B, then the clock. Inputs change every frame on both peers.
pub struct P2P {
    a: Peer,
    b: Peer,
    clock: Rc<Cell<u64>>,
    sync_ticks: u64,
    delay: u64,
}

impl P2P {
    /// Rollback: prediction window 10, no input delay, messages delayed 8 ticks, so each peer
    /// learns the other's input for frame `f - 8` while at frame `f` and rolls back 8 frames.
    pub fn rollback() -> Self {
        P2P::new(MAX_PREDICTION as usize, 0, u64::from(LAG))
    }

    /// Lockstep (prediction window 0): input delay 1 and instant delivery, so neither peer waits.
    pub fn lockstep() -> Self {
        P2P::new(0, 1, 0)
    }

    fn new(max_prediction: usize, input_delay: usize, delay: u64) -> Self {
        let clock = Rc::new(Cell::new(0));
        let delay_cell = Rc::new(Cell::new(0));
        let mail_a: Mailbox = Rc::default();
        let mail_b: Mailbox = Rc::default();
        let peer = |me: u8, inbox: &Mailbox, peer_inbox: &Mailbox| {
            let socket = MemSocket {
                me,
                inbox: inbox.clone(),
                peer_inbox: peer_inbox.clone(),
                clock: clock.clone(),
                delay: delay_cell.clone(),
            };
            let other = 1 - me;
            let (local, remote) = (usize::from(me), usize::from(other));
            let session = SessionBuilder::<Config>::new()
                .with_num_players(2)
                .expect("2 players")
                .with_max_prediction_window(max_prediction)
                .with_input_delay(input_delay)
                .add_player(PlayerType::Local, local)
                .expect("local player")
                .add_player(PlayerType::Remote(other), remote)
                .expect("remote player")
                .start_p2p_session(socket)
                .expect("valid P2P config");
            let input: fn(u32) -> u32 = if me == 0 { local_input } else { remote_input };
            Peer { session, state: Trivial::default(), counts: Counts::default(), input, local }
        };
        let a = peer(0, &mail_a, &mail_b);
        let b = peer(1, &mail_b, &mail_a);
        let mut p2p = P2P { a, b, clock, sync_ticks: 0, delay };
        while p2p.a.session.current_state() != SessionState::Running
            || p2p.b.session.current_state() != SessionState::Running
        {
            p2p.a.session.poll_remote_clients();
            p2p.b.session.poll_remote_clients();
            p2p.clock.set(p2p.clock.get() + 1);
            p2p.sync_ticks += 1;
            assert!(p2p.sync_ticks < 10_000, "GGRS peers did not synchronize");
        }
        for _ in p2p.a.session.events() {}
        for _ in p2p.b.session.events() {}
        delay_cell.set(delay);
        p2p
    }

    /// Requests fulfilled by both peers.
    pub fn counts(&self) -> Counts {
        let (a, b) = (self.a.counts, self.b.counts);
        Counts {
            saves: a.saves + b.saves,
            loads: a.loads + b.loads,
            advances: a.advances + b.advances,
            stalls: a.stalls + b.stalls,
        }
    }
}

impl Case for P2P {
    fn tick(&mut self) {
        self.a.tick();
        self.b.tick();
        self.clock.set(self.clock.get() + 1);
    }
    fn frames(&self) -> u64 {
        self.a.session.current_frame() as u64 + self.b.session.current_frame() as u64
    }
    fn resimulated(&self) -> u64 {
        self.counts().advances - self.frames()
    }
    fn detail(&self) -> String {
        let c = self.counts();
        format!(
            "both peers: loads {}, saves {}, advances {}, stalls {}; synchronized in {} ticks; delay {} ticks; \
             confirmed frame A {} / current {}",
            c.loads,
            c.saves,
            c.advances,
            c.stalls,
            self.sync_ticks,
            self.delay,
            self.a.session.confirmed_frame(),
            self.a.session.current_frame()
        )
    }
}

/// The state's own work in the sync-test pattern, without any session: per tick, `advances`
/// advances of [`Trivial`] (one input per player) and `checksums` checksums of its 12-byte
/// snapshot. Both sync-test sessions do at least this much per frame (check distance + 1 advances;
/// the GGRS side asks for check-distance saves), so it bounds how far apart they can be.
pub struct StateWork {
    state: Trivial,
    players: usize,
    advances: u32,
    checksums: u32,
    frames: u64,
}

impl StateWork {
    pub fn new(players: usize, advances: u32, checksums: u32) -> Self {
        StateWork { state: Trivial::default(), players, advances, checksums, frames: 0 }
    }
}

impl Case for StateWork {
    fn tick(&mut self) {
        let mut inputs = [(0, InputStatus::Confirmed); 8];
        for _ in 0..self.advances {
            let f = self.state.frame;
            for (s, i) in inputs.iter_mut().enumerate().take(self.players) {
                i.0 = slot_input(s, f);
            }
            self.state.advance(std::hint::black_box(&inputs[..self.players]));
        }
        for _ in 0..self.checksums {
            std::hint::black_box(std::hint::black_box(&self.state).checksum());
        }
        self.frames += 1;
    }
    fn frames(&self) -> u64 {
        self.frames
    }
    fn resimulated(&self) -> u64 {
        0
    }
}
