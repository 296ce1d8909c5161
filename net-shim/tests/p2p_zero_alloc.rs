//! Zero heap allocations per tick and per datagram in steady state: three player endpoints (one
//! with two local slots) and a hosted spectator, playing the reference simulation over a
//! preallocated lossy, duplicating delay line, counted by a per-thread counting allocator after
//! synchronization and warm-up. The counted stretch includes rollbacks, sealing and opening,
//! duplicates dropped by the replay window, and forged datagrams dropped unauthenticated.

use std::net::SocketAddr;
use std::time::Duration;

use framelock_core::arena::{scratch_size_bound, scripted_input, snapshot_size_bound, Arena, ArenaParams, INPUT_SIZE};
use framelock_net::p2p::{P2pBuilder, P2pEndpoint, P2pEvent};

#[global_allocator]
static GLOBAL: framelock_testkit::Counting = framelock_testkit::Counting;

const KEY: [u8; 32] = [5; 32];
/// (process, its slots): process 0 plays slots 0 and 1.
const PROCESSES: [&[usize]; 3] = [&[0, 1], &[2], &[3]];
const SLOTS: usize = 4;

fn addr(i: usize) -> SocketAddr {
    SocketAddr::from(([10, 0, 2, 1 + i as u8], 9000))
}

/// A preallocated delay line: 30..50 ms, 5% loss, 3% duplicated.
struct DelayLine {
    slots: Vec<(u64, SocketAddr, SocketAddr, usize, [u8; 1200])>,
    used: Vec<bool>,
    state: u64,
}

impl DelayLine {
    fn roll(&mut self) -> u64 {
        self.state = self.state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.state >> 33
    }

    fn send(&mut self, at: u64, from: SocketAddr, to: SocketAddr, bytes: &[u8]) {
        if self.roll() % 20 == 0 || bytes.len() > 1200 {
            return;
        }
        let copies = if self.roll() % 33 == 0 { 2 } else { 1 };
        for _ in 0..copies {
            let delay = 30_000 + self.roll() % 20_000;
            if let Some(i) = self.used.iter().position(|u| !u) {
                self.used[i] = true;
                let s = &mut self.slots[i];
                *s = (at + delay, from, to, bytes.len(), s.4);
                s.4[..bytes.len()].copy_from_slice(bytes);
            }
        }
    }
}

fn endpoint(params: ArenaParams, p: usize) -> P2pEndpoint<Arena> {
    let mut b = P2pBuilder::new(SLOTS, INPUT_SIZE)
        .key(KEY)
        .rng_seed([p as u8 + 1; 32])
        .tick_rate(60)
        .input_delay(0)
        .max_snapshot_size(snapshot_size_bound(&params))
        .frame_arena_size(scratch_size_bound(&params));
    if p == PROCESSES.len() {
        b = b.spectate(addr(0));
    } else {
        for (q, slots) in PROCESSES.iter().enumerate() {
            for &s in *slots {
                b = if q == p { b.local_slot(s) } else { b.remote_slot(s, addr(q)) };
            }
        }
        if p == 0 {
            b = b.spectator(addr(PROCESSES.len()));
        }
    }
    b.build(Duration::ZERO, Arena::new(params).expect("params")).expect("endpoint")
}

#[test]
fn peer_to_peer_endpoints_allocate_nothing_per_tick_or_datagram() {
    framelock_testkit::assert_counting();
    let params = ArenaParams { players: SLOTS as u8, ..ArenaParams::default() };
    let mut eps: Vec<P2pEndpoint<Arena>> = (0..=PROCESSES.len()).map(|p| endpoint(params, p)).collect();
    let mut line =
        DelayLine { slots: vec![(0, addr(0), addr(0), 0, [0; 1200]); 1024], used: vec![false; 1024], state: 9 };
    let mut events = 0u64;
    let mut ticks = vec![0u32; eps.len()];
    let mut forged = [0u8; 64];
    forged[0] = 0xFB;
    forged[1] = 2; // process 1's handle, to process 0
    let mut now_us = 0u64;
    let mut run = |ms: u64| {
        let end = now_us + ms * 1_000;
        while now_us < end {
            let now = Duration::from_micros(now_us);
            for i in 0..line.slots.len() {
                if line.used[i] && line.slots[i].0 <= now_us {
                    line.used[i] = false;
                    let (_, from, to, len, ref bytes) = line.slots[i];
                    if let Some(e) = (0..eps.len()).find(|&e| addr(e) == to) {
                        eps[e].handle_datagram(now, from, &bytes[..len]);
                    }
                }
            }
            if now_us % 10_000 == 0 {
                eps[0].handle_datagram(now, addr(1), &forged);
            }
            for (e, ep) in eps.iter_mut().enumerate() {
                if ep.poll_timeout().is_some_and(|t| t <= now) {
                    ep.handle_timeout(now);
                }
                if ep.next_tick().is_some_and(|t| t <= now) {
                    ticks[e] += 1;
                    let mut input = [0u8; 2 * INPUT_SIZE];
                    let slots: &[usize] = PROCESSES.get(e).copied().unwrap_or(&[]);
                    for (k, &s) in slots.iter().enumerate() {
                        input[k * INPUT_SIZE..(k + 1) * INPUT_SIZE].copy_from_slice(&scripted_input(1, s, ticks[e]));
                    }
                    ep.tick(now, &input[..slots.len() * INPUT_SIZE]).expect("tick");
                }
                while let Some(ev) = ep.poll_event() {
                    events += 1;
                    assert!(!matches!(ev, P2pEvent::Desync { .. } | P2pEvent::Disconnecting { .. }), "{ev:?}");
                }
                while let Some(t) = ep.poll_transmit() {
                    line.send(now_us, addr(e), t.destination, t.contents);
                }
            }
            now_us += 1_000;
        }
        eps.iter().all(|e| e.is_running())
    };
    assert!(run(10_000), "synchronized and warm");
    let (allocs, reallocs, running) = framelock_testkit::count(|| run(30_000));
    assert!(running);
    assert_eq!((allocs, reallocs), (0, 0), "heap allocations after warm-up");
    assert!(events > 0);
    let f = 1_500;
    let c0 = eps[0].driver().session().checksum(f);
    assert!(c0.is_some() && eps.iter().all(|e| e.driver().session().checksum(f) == c0));
    let s = eps[0].driver().session().stats();
    assert!(s.frames_resimulated > 100, "rollbacks happened: {s:?}");
    assert!(eps[0].drops().unauthenticated >= 3_000 && eps[0].drops().replayed > 0, "{:?}", eps[0].drops());
}
