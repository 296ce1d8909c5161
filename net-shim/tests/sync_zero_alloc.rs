//! Zero heap allocations per room tick and per packet in steady state: a relay and four clients on a
//! virtual clock, packets through a preallocated lossy delay line, counted by a per-thread counting
//! global allocator after a warm-up.

mod common;

use framelock_core::arena::{scripted_input, Arena, ArenaParams, INPUT_SIZE};
use framelock_net::sync::msg::MAX_MESSAGE;
use framelock_net::sync::{Room, RoomClient, RoomConfig};

#[global_allocator]
static GLOBAL: framelock_testkit::Counting = framelock_testkit::Counting;

/// A preallocated delay line: each packet arrives `delay` microseconds later unless dropped.
struct DelayLine {
    slots: Vec<(u64, bool, usize, usize, [u8; MAX_MESSAGE])>,
    used: Vec<bool>,
    state: u64,
}

impl DelayLine {
    fn send(&mut self, at: u64, to_relay: bool, peer: usize, bytes: &[u8]) {
        self.state = self.state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        if (self.state >> 33) % 10 == 0 {
            return; // 10% loss
        }
        let jitter = (self.state >> 40) % 20_000;
        if let Some(i) = self.used.iter().position(|u| !u) {
            self.used[i] = true;
            let s = &mut self.slots[i];
            s.0 = at + 60_000 + jitter;
            s.1 = to_relay;
            s.2 = peer;
            s.3 = bytes.len();
            s.4[..bytes.len()].copy_from_slice(bytes);
        }
    }
}

#[test]
fn a_room_and_its_clients_allocate_nothing_per_tick_or_packet() {
    framelock_testkit::assert_counting();
    const PLAYERS: u8 = 4;
    const TICK: u64 = 1_000_000 / 30;
    let params = ArenaParams { players: PLAYERS, ..ArenaParams::default() };
    let mut room = Room::new(RoomConfig {
        slots: PLAYERS,
        max_input_size: INPUT_SIZE as u8,
        default_input: vec![0, 0],
        ..RoomConfig::default()
    })
    .expect("room config");
    let mut clients: Vec<RoomClient<Arena>> = (0..usize::from(PLAYERS))
        .map(|s| {
            room.connect(s);
            common::arena_player(params, s, 12, 3)
        })
        .collect();
    let mut line = DelayLine { slots: vec![(0, false, 0, 0, [0; MAX_MESSAGE]); 512], used: vec![false; 512], state: 7 };
    let mut buf = [0u8; MAX_MESSAGE];
    let mut now = 0u64;
    let mut tick = 0u32;
    let mut run = |ticks: u32| {
        for _ in 0..ticks {
            let end = now + TICK;
            while now < end {
                for i in 0..line.slots.len() {
                    if line.used[i] && line.slots[i].0 <= now {
                        line.used[i] = false;
                        let (_, to_relay, peer, len, ref bytes) = line.slots[i];
                        if to_relay {
                            let _ = room.handle_update(now, peer, &bytes[..len]);
                        } else {
                            let _ = clients[peer].handle_bundle(&bytes[..len]);
                        }
                    }
                }
                if room.poll_timeout().is_none_or(|t| t <= now) {
                    room.handle_timeout(now);
                }
                while let Some((slot, len)) = room.poll_transmit(&mut buf) {
                    line.send(now, false, slot, &buf[..len]);
                }
                now += 1_000;
            }
            tick += 1;
            for (s, c) in clients.iter_mut().enumerate() {
                c.tick(&scripted_input(3, s, tick)).expect("tick");
                let len = c.poll_transmit(&mut buf);
                line.send(now, true, s, &buf[..len]);
            }
        }
    };
    run(300);
    let (allocs, reallocs, ()) = framelock_testkit::count(|| run(3_000));
    assert_eq!((allocs, reallocs), (0, 0), "heap allocations after warm-up");
    assert!(room.stats().frames_closed > 3_000);
    let c0 = clients[0].driver().session().checksum(3_000);
    assert!(c0.is_some() && clients.iter().all(|c| c.driver().session().checksum(3_000) == c0));
}
