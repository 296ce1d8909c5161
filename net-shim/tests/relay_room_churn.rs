//! Rooms on demand at scale: 2,000 rooms with fresh ids are opened, played and freed by the sans-IO
//! relay on a virtual clock, and the live heap, resident memory and open file descriptors return to
//! their baseline. (Its own test binary: the live heap is counted for the whole process.)

mod common;
mod relay_harness;

use std::time::Duration;

use framelock_net::netcode::SeededRng;
use framelock_net::relay::{room_bytes, Relay};
use relay_harness::{config, leave, peer, run, START};

#[global_allocator]
static GLOBAL: framelock_testkit::Counting = framelock_testkit::Counting;

/// This process's resident memory in KiB (Linux `/proc`), after asking the C allocator to give its
/// free memory back (glibc keeps freed blocks for reuse; without the trim the figure says more
/// about its caching than about what the program holds).
#[allow(unsafe_code)] // the one FFI call below
fn rss_kib() -> u64 {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` only releases free memory of the C allocator; no pointer is involved.
    unsafe {
        libc::malloc_trim(0);
    }
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmRSS")
}

/// This process's open file descriptors.
fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").expect("/proc/self/fd").count()
}

/// 2,000 rooms with fresh ids, 50 at a time: each is opened by its two players, played for about
/// 20 frames, emptied and freed; the heap returns to where it was before them.
#[test]
fn two_thousand_rooms_come_and_go_and_the_heap_returns_to_its_baseline() {
    framelock_testkit::assert_counting();
    const BATCH: u64 = 50;
    const ROOMS: u64 = 2_000;
    let mut rng = SeededRng::from_u64(3);
    let mut now = START;
    let mut cfg = config(BATCH as usize, 64);
    cfg.room_idle = Duration::ZERO;
    let mut relay = Relay::new(now, cfg.clone(), &mut rng).expect("relay");
    let mut baseline = None;
    let mut per_room = 0;
    let mut next_id = 1_000u64;
    let mut client_id = 0u32;
    // One warm-up batch, then the 2,000.
    for batch in 0..=(ROOMS / BATCH) {
        if batch == 1 {
            baseline = Some((framelock_testkit::live_bytes(), rss_kib(), open_fds()));
        }
        let mut peers = Vec::new();
        for _ in 0..BATCH {
            for slot in 0..2 {
                client_id += 1;
                peers.push(peer(&mut rng, now, client_id % 60_000, next_id, slot));
            }
            next_id += 1;
        }
        let before = framelock_testkit::live_bytes();
        run(&mut relay, &mut peers, &mut now, Duration::from_millis(700));
        assert_eq!(relay.room_count(), BATCH as usize);
        if batch == 1 {
            per_room = (framelock_testkit::live_bytes() - before) / BATCH as i64;
        }
        assert!(peers.iter().all(|p| p.net.is_connected() && p.ticks >= 15));
        leave(&mut relay, &mut peers, now);
        drop(peers);
        relay.handle_timeout(now);
        assert_eq!(relay.room_count(), 0);
        assert_eq!(relay.closed_rooms().len(), BATCH as usize);
        now += Duration::from_millis(1);
        relay.handle_timeout(now);
        while relay.poll_transmit().is_some() {}
    }
    let s = relay.stats();
    assert_eq!((s.rooms_opened, s.rooms_closed), (ROOMS + BATCH, ROOMS + BATCH));
    assert_eq!(s.refused_total(), 0);
    assert_eq!(relay.room_totals().desyncs, 0);
    assert!(relay.room_totals().frames_closed >= (ROOMS + BATCH) * 15);
    let (baseline, rss, fds) = baseline.expect("baseline");
    let after = framelock_testkit::live_bytes();
    assert!((after - baseline).abs() < 4_096, "live heap {baseline} before, {after} after 2,000 rooms");
    // 2,000 rooms of about 4 KiB each, had they leaked, would be 8 MiB.
    let rss_after = rss_kib();
    assert!(rss_after < rss + 2_048, "resident {rss} KiB before, {rss_after} KiB after 2,000 rooms");
    assert_eq!(open_fds(), fds);
    eprintln!("2,000 rooms: live heap {baseline} -> {after} bytes, resident {rss} -> {rss_after} KiB, {fds} fds");
    // The documented per-room arithmetic is close to what a room (and its clients' share of the
    // relay) actually took: rooms here keep 64 frames of history.
    let estimate = room_bytes(&cfg.room) as i64;
    assert!(per_room > 0 && (per_room - estimate).abs() < estimate / 2, "{per_room} measured, {estimate} estimated");
}
