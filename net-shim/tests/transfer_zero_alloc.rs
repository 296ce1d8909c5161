//! A snapshot transfer costs the relay and the providing members no heap allocation once the room
//! made its first transfer (its buffer is reused; each client's is allocated with it). The joiner's
//! own calls are left out: restarting its session at the snapshot's frame allocates, as building a
//! session does.

mod common;

use framelock_core::testing::HashSim;
use framelock_net::sync::msg::MAX_MESSAGE;
use framelock_net::sync::{Room, RoomClient, RoomConfig};

#[global_allocator]
static GLOBAL: framelock_testkit::Counting = framelock_testkit::Counting;

const DEFAULT: [u8; 1] = [7];
const PERIOD: u64 = 1_000_000 / 60;

/// A preallocated delay line: 30..50 ms, 10% loss.
struct DelayLine {
    slots: Vec<(u64, bool, usize, usize, [u8; MAX_MESSAGE])>,
    used: Vec<bool>,
    state: u64,
}

impl DelayLine {
    fn send(&mut self, at: u64, to_relay: bool, member: usize, bytes: &[u8]) {
        self.state = self.state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        if (self.state >> 33) % 10 == 0 {
            return;
        }
        if let Some(i) = self.used.iter().position(|u| !u) {
            self.used[i] = true;
            let s = &mut self.slots[i];
            (s.0, s.1, s.2, s.3) = (at + 30_000 + (self.state >> 40) % 20_000, to_relay, member, bytes.len());
            s.4[..bytes.len()].copy_from_slice(bytes);
        }
    }
}

struct Sim {
    room: Room,
    clients: Vec<Option<RoomClient<HashSim>>>,
    line: DelayLine,
    inbox: Vec<(usize, [u8; MAX_MESSAGE])>,
    inbox_len: usize,
    buf: [u8; MAX_MESSAGE],
    now: u64,
    ticks: u32,
    joiner: usize,
    counted: (u64, u64),
}

impl Sim {
    /// One millisecond; the room's and the other members' work counted, the joiner's not.
    fn step(&mut self) {
        let tick = self.now % PERIOD < 1_000;
        if tick {
            self.ticks += 1;
        }
        let (a, r, ()) = framelock_testkit::count(|| {
            let now = self.now;
            for i in 0..self.line.slots.len() {
                if self.line.used[i] && self.line.slots[i].0 <= now {
                    self.line.used[i] = false;
                    let (_, to_relay, m, len, ref bytes) = self.line.slots[i];
                    if to_relay {
                        let _ = self.room.handle_update(now, m, &bytes[..len]);
                    } else if m == self.joiner {
                        if self.inbox_len < self.inbox.len() {
                            self.inbox[self.inbox_len].0 = len;
                            self.inbox[self.inbox_len].1[..len].copy_from_slice(&bytes[..len]);
                            self.inbox_len += 1;
                        }
                    } else if let Some(c) = &mut self.clients[m] {
                        let _ = c.handle_bundle(&bytes[..len]);
                    }
                }
            }
            if self.room.poll_timeout().is_none_or(|t| t <= now) {
                self.room.handle_timeout(now);
            }
            while let Some((m, len)) = self.room.poll_transmit(&mut self.buf) {
                self.line.send(now, false, m, &self.buf[..len]);
            }
            for (m, c) in self.clients.iter_mut().enumerate() {
                let Some(c) = c.as_mut().filter(|_| m != self.joiner) else { continue };
                c.catch_up(64).expect("catch up");
                if tick {
                    let (input, len) = common::scripted(5, m, self.ticks);
                    c.tick(&input[..len]).expect("tick");
                    let n = c.poll_transmit(&mut self.buf);
                    self.line.send(now, true, m, &self.buf[..n]);
                    while let Some(n) = c.poll_transfer(&mut self.buf) {
                        self.line.send(now, true, m, &self.buf[..n]);
                    }
                }
            }
        });
        self.counted = (self.counted.0 + a, self.counted.1 + r);
        if let Some(c) = &mut self.clients[self.joiner] {
            for i in 0..self.inbox_len {
                let (len, ref bytes) = self.inbox[i];
                let _ = c.handle_bundle(&bytes[..len]);
            }
            c.catch_up(256).expect("catch up");
            if tick {
                let (input, len) = common::scripted(5, self.joiner, self.ticks);
                c.tick(&input[..len]).expect("tick");
                let n = c.poll_transmit(&mut self.buf);
                self.line.send(self.now, true, self.joiner, &self.buf[..n]);
                while let Some(n) = c.poll_transfer(&mut self.buf) {
                    self.line.send(self.now, true, self.joiner, &self.buf[..n]);
                }
            }
        }
        self.inbox_len = 0;
        self.now += 1_000;
    }

    fn run_to(&mut self, frame: u32) {
        while self.room.next_close() < frame {
            self.step();
        }
    }
}

#[test]
fn a_second_transfer_allocates_nothing_on_the_relay_or_the_provider() {
    framelock_testkit::assert_counting();
    let player = |s| common::hash_player_at(3, s, &DEFAULT, 0, 3_000);
    let cfg = RoomConfig {
        slots: 3,
        tick_rate: 60,
        max_input_size: 4,
        default_input: DEFAULT.to_vec(),
        history: 64,
        max_snapshot_size: 8 * 1024,
        ..RoomConfig::default()
    };
    let mut sim = Sim {
        room: Room::new(cfg).expect("room"),
        clients: (0..3).map(|s| Some(player(s))).collect(),
        line: DelayLine { slots: vec![(0, false, 0, 0, [0; MAX_MESSAGE]); 256], used: vec![false; 256], state: 11 },
        inbox: vec![(0, [0; MAX_MESSAGE]); 64],
        inbox_len: 0,
        buf: [0; MAX_MESSAGE],
        now: 0,
        ticks: 0,
        joiner: 2,
        counted: (0, 0),
    };
    for s in 0..3 {
        sim.room.connect(s);
    }
    // Both returning processes exist before anything is counted.
    let mut returning = vec![player(2), player(2)];
    for round in 0..2 {
        sim.run_to(200 + 600 * round);
        sim.room.disconnect(2);
        sim.clients[2] = None;
        sim.run_to(400 + 600 * round);
        sim.room.connect(2);
        sim.clients[2] = returning.pop();
        if round == 0 {
            sim.run_to(700);
            assert_eq!(sim.room.transfer_stats().delivered, 1, "{:?}", sim.room.transfer_stats());
            sim.counted = (0, 0);
        }
    }
    sim.run_to(1_300);
    assert_eq!(sim.room.transfer_stats().delivered, 2, "{:?}", sim.room.transfer_stats());
    assert_eq!(sim.counted, (0, 0), "heap allocations of the relay and the providers in the second round");
    let f = 1_200;
    let sums: Vec<_> = sim.clients.iter().flatten().map(|c| c.driver().session().checksum(f)).collect();
    assert!(sums[0].is_some() && sums.iter().all(|c| *c == sums[0]), "{sums:?}");
}
