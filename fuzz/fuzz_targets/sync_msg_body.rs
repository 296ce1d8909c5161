// The body of the `sync_msg` fuzz target, shared with `net-shim/tests/fuzz_corpus.rs`.
//
// Frame-sync messages travel inside netcode payloads, so after the MAC they are attacker-controlled
// bytes: the relay decodes client updates, clients decode relay bundles. The input is split into
// messages; each goes to the decoders, to a room (as an update from a player and from a
// spectator) and to a client (as a bundle), between ticks of the room's clock.

#![allow(dead_code)]

use framelock_core::testing::HashSim;
use framelock_core::{Authority, Driver, Mode, SessionBuilder};
use framelock_net::sync::msg::{Bundle, Update, MAX_MESSAGE};
use framelock_net::sync::{Room, RoomClient, RoomConfig};

const INPUT: usize = 2;

fn player(slot: usize) -> RoomClient<HashSim> {
    let session = SessionBuilder::new(2)
        .local_slot(slot)
        .authority(Authority::Relay)
        .mode(Mode::Rollback { max_prediction: 8 })
        .max_input_size(INPUT)
        .build();
    match session {
        Ok(s) => RoomClient::new(Driver::new(s, HashSim::new(0)), slot, 30),
        Err(e) => panic!("fixture session: {e}"),
    }
}

pub fn run(data: &[u8]) {
    let mut room = match Room::new(RoomConfig { slots: 2, max_input_size: INPUT as u8, ..RoomConfig::default() }) {
        Ok(room) => room,
        Err(e) => panic!("fixture room: {e}"),
    };
    room.connect(0);
    room.connect(1);
    let spectator = room.connect_spectator();
    let mut client = player(1);
    let mut out = vec![0u8; MAX_MESSAGE];
    let mut now = 0u64;
    // Messages: a length byte, then that many bytes (the rest if fewer remain).
    let mut rest = data;
    let mut n = 0;
    while let Some((&len, tail)) = rest.split_first() {
        n += 1;
        if n > 64 {
            break;
        }
        let len = usize::from(len).min(tail.len());
        let (m, tail) = tail.split_at(len);
        rest = tail;
        if let Ok(u) = Update::decode(m, INPUT) {
            assert!(u.inputs().all(|(_, b)| b.len() <= INPUT));
            let _ = u.checksums().count();
        }
        if let Ok(b) = Bundle::decode(m, INPUT) {
            let _ = b.inputs().count();
            let _ = b.desyncs().count();
        }
        let _ = room.handle_update(now, 0, m);
        if let Some(s) = spectator {
            let _ = room.handle_update(now, s, m);
        }
        let _ = client.handle_bundle(m);
        let _ = client.tick(&[n as u8, 0]);
        let _ = client.poll_transmit(&mut out);
        now += 33_334;
        room.handle_timeout(now);
        while room.poll_transmit(&mut out).is_some() {}
    }
    let _ = (room.stats(), client.stats());
}
