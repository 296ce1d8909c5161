//! Pieces the network tests share.
#![allow(dead_code)] // each test binary uses part of it

use framelock_core::arena::{scratch_size_bound, snapshot_size_bound, Arena, ArenaParams, INPUT_SIZE, NEUTRAL_INPUT};
use framelock_core::{Authority, Driver, Mode, SessionBuilder};
use framelock_net::sync::RoomClient;

/// A player of `slot` in an arena room behind a relay: a rollback session under relay authority,
/// reporting a checksum every 30 frames.
pub fn arena_player(params: ArenaParams, slot: usize, max_prediction: u32, input_delay: u32) -> RoomClient<Arena> {
    let session = SessionBuilder::new(usize::from(params.players))
        .local_slot(slot)
        .authority(Authority::Relay)
        .mode(Mode::Rollback { max_prediction })
        .max_input_size(INPUT_SIZE)
        .default_input(&NEUTRAL_INPUT)
        .input_delay(input_delay)
        .max_snapshot_size(snapshot_size_bound(&params))
        .frame_arena_size(scratch_size_bound(&params))
        .build()
        .expect("player session");
    RoomClient::new(Driver::new(session, Arena::new(params).expect("arena params")), slot, 30)
}
