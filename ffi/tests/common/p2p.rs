//! Driving peer-to-peer endpoints through the C ABI, for the p2p tests.

use std::ptr;

use framelock::*;

use super::ok;

/// Polls endpoint `p` once (waiting up to 1 ms) and plays every frame due: stages `input(tick)`
/// for local slot `slot` (`None`: a spectator, which ticks without inputs) and ticks, without
/// asking for the outcome. `tick` counts the frames played; returns how many this call played.
/// Allocates nothing itself (p2p_zero_alloc.rs counts).
pub fn poll_and_tick<I: AsRef<[u8]>>(
    p: *mut framelock_p2p,
    slot: Option<usize>,
    tick: &mut u32,
    mut input: impl FnMut(u32) -> I,
) -> u32 {
    let mut due = 0;
    // SAFETY: a live handle used by this thread only; valid out-parameters.
    unsafe {
        ok(framelock_p2p_poll(p, 1));
        ok(framelock_p2p_ticks_due(p, &mut due));
        for _ in 0..due {
            *tick += 1;
            if let Some(slot) = slot {
                let i = input(*tick);
                let i = i.as_ref();
                ok(framelock_p2p_add_local_input(p, slot as u32, i.as_ptr(), i.len()));
            }
            ok(framelock_p2p_tick(p, ptr::null_mut()));
        }
    }
    due
}

/// Takes every event `p` has waiting, oldest first.
pub fn each_event(p: *mut framelock_p2p, mut f: impl FnMut(framelock_p2p_event)) {
    let mut e = framelock_p2p_event::default();
    loop {
        // SAFETY: a live handle used by this thread only; a valid out-parameter.
        ok(unsafe { framelock_p2p_poll_event(p, &mut e) });
        if e.kind == FRAMELOCK_P2P_EVENT_NONE {
            break;
        }
        f(e);
    }
}
