//! A peer-to-peer frame through the C ABI allocates nothing: two arena endpoints on loopback
//! sockets, after synchronization and a warm-up, poll (receiving and sending datagrams), stage
//! inputs, tick (with rollbacks: both inputs change every frame), drain events and read their
//! statistics and a checksum for 600 frames each, counted by a global allocator.
//!
//! Its own test binary with `framelock_testkit::Counting` as global allocator: counting is per
//! thread and only while a test switched it on.
#![allow(unsafe_code)] // calls of the exported functions

mod common;

use std::ffi::CString;
use std::net::UdpSocket;
use std::ptr;
use std::time::{Duration, Instant};

use common::ok;
use common::p2p::poll_and_tick;
use framelock::*;

#[global_allocator]
static GLOBAL: framelock_testkit::Counting = framelock_testkit::Counting;

/// Polls, ticks and drains both endpoints once; returns the frames ticked.
fn round(eps: &[*mut framelock_p2p; 2], ticks: &mut [u32; 2]) -> u32 {
    let mut played = 0;
    for (slot, &p) in eps.iter().enumerate() {
        played +=
            poll_and_tick(p, Some(slot), &mut ticks[slot], |t| [t as u8 & (if slot == 1 { 0xff } else { 0x0f }), 0]);
        // SAFETY: live handles used by this thread only; valid out-parameters.
        unsafe {
            let mut e = framelock_p2p_event::default();
            ok(framelock_p2p_poll_event(p, &mut e));
            let mut s = framelock_p2p_stats {
                struct_size: std::mem::size_of::<framelock_p2p_stats>() as u32,
                ..Default::default()
            };
            ok(framelock_p2p_get_stats(p, &mut s));
            let mut ps: framelock_p2p_peer_stats = std::mem::zeroed();
            ps.struct_size = std::mem::size_of::<framelock_p2p_peer_stats>() as u32;
            ok(framelock_p2p_get_peer_stats(p, 0, &mut ps));
            let mut c = 0;
            let _ = framelock_p2p_checksum(p, s.checksummed_until.saturating_sub(1), &mut c);
        }
    }
    played
}

#[test]
fn a_p2p_frame_through_the_c_abi_allocates_nothing() {
    let sockets =
        [UdpSocket::bind("127.0.0.1:0").expect("loopback"), UdpSocket::bind("127.0.0.1:0").expect("loopback")];
    let ports = sockets.each_ref().map(|s| s.local_addr().expect("loopback").port());
    drop(sockets);
    let strings: Vec<[CString; 2]> = (0..2)
        .map(|slot| {
            [
                CString::new(format!("127.0.0.1:{}", ports[slot])).expect("no NUL"),
                CString::new(format!("{}=127.0.0.1:{}", 1 - slot, ports[1 - slot])).expect("no NUL"),
            ]
        })
        .collect();
    let peer_lists: Vec<[*const std::ffi::c_char; 1]> = strings.iter().map(|s| [s[1].as_ptr()]).collect();
    let eps = [0, 1].map(|slot| {
        // SAFETY: a writable config; its strings outlive the call.
        let mut cfg = unsafe { std::mem::zeroed::<framelock_p2p_config>() };
        ok(unsafe { framelock_p2p_config_init(&mut cfg) });
        cfg.key = [3; 32];
        cfg.rng_seed = [slot as u8 + 9; 32];
        cfg.listen = strings[slot][0].as_ptr();
        cfg.local_slots = 1 << slot;
        cfg.peers = peer_lists[slot].as_ptr();
        cfg.peer_count = 1;
        cfg.tick_rate = 240;
        cfg.input_delay = 0;
        let mut p = ptr::null_mut();
        // SAFETY: as above.
        ok(unsafe { framelock_p2p_new(&cfg, &mut p) });
        p
    });
    let mut ticks = [0u32; 2];
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut warm = 0;
    while warm < 400 {
        assert!(Instant::now() < deadline, "no warm-up in time");
        warm += round(&eps, &mut ticks);
    }
    let stats = |p: *mut framelock_p2p| {
        let mut s = framelock_p2p_stats {
            struct_size: std::mem::size_of::<framelock_p2p_stats>() as u32,
            ..Default::default()
        };
        // SAFETY: a live handle, a valid out-parameter.
        ok(unsafe { framelock_p2p_get_stats(p, &mut s) });
        s
    };
    let before = eps.map(stats);
    let mut played = 0;
    framelock_testkit::assert_counting();
    let (allocs, reallocs, ()) = framelock_testkit::count(|| {
        while played < 1200 && Instant::now() < deadline {
            played += round(&eps, &mut ticks);
        }
    });
    assert!(played >= 1200, "only {played} frames played in time");
    assert_eq!(allocs + reallocs, 0, "allocations in {played} peer-to-peer frames through the C ABI");
    let after = eps.map(stats);
    for (b, a) in before.iter().zip(&after) {
        assert!(a.frames_advanced > b.frames_advanced + 500, "{b:?} {a:?}");
        assert!(a.datagrams_in > b.datagrams_in + 500, "datagrams were received: {a:?}");
    }
    // Whichever endpoint ticks a frame first predicts the other's input for it, and both inputs
    // change every frame; which one that is depends on how their clocks met, so the two together.
    let rollbacks = |s: &[framelock_p2p_stats; 2]| s[0].rollbacks + s[1].rollbacks;
    assert!(rollbacks(&after) > rollbacks(&before) + 100, "the changing inputs make an endpoint roll back: {after:?}");
    // SAFETY: freed once.
    unsafe { eps.iter().for_each(|&p| framelock_p2p_free(p)) };
}
