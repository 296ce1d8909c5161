//! Disconnects and time sync on a virtual clock: a peer that vanishes is disconnected at the same
//! frame by everyone else, who go on and agree; the same peer coming back as a new process is
//! refused; a peer whose clock runs fast is told to wait, or waits by itself in automatic mode.

mod p2p_common;

use framelock_net::p2p::P2pEvent;
use p2p_common::{checksums, nodes, player, run, Layout, LinkConfig, CHAOS};

const FOUR: Layout = Layout { players: 4, slots_each: 1, spectators: 1 };

fn disconnect_frames(n: &p2p_common::Node, slot: usize) -> Vec<u32> {
    n.events
        .iter()
        .filter_map(|e| match *e {
            P2pEvent::Disconnected { slot: s, frame } if s == slot => Some(frame),
            _ => None,
        })
        .collect()
}

#[test]
fn a_vanished_peer_is_disconnected_at_the_same_frame_everywhere_and_a_new_session_is_refused() {
    for seed in [3, 4] {
        let mut restarted = false;
        let r = run(nodes(FOUR, seed), CHAOS, seed, 8_000, |now, nodes, _| {
            if now == 50_000_000 {
                nodes[3].alive = false; // frame ~3000 at 60 Hz: the process is gone
            }
            if now == 70_000_000 && !restarted {
                // The same player starts a new process at the same address: a new epoch.
                restarted = true;
                nodes[3] = p2p_common::Node::new(player(FOUR, 3, seed + 77), nodes[3].addr, vec![3]);
                nodes[3].awaited = false;
            }
        });
        let sums = checksums(&r);
        assert_eq!(sums.len(), 4, "three players and the spectator");
        assert!(sums[0].is_some() && sums.iter().all(|c| *c == sums[0]), "seed {seed}: {sums:?}");
        let frames: Vec<Vec<u32>> = r.nodes[..3].iter().map(|n| disconnect_frames(n, 3)).collect();
        assert_eq!(frames[0].len(), 1, "seed {seed}: {frames:?}");
        assert!(frames.iter().all(|f| *f == frames[0]), "seed {seed}: {frames:?}");
        assert!((2_000..3_100).contains(&frames[0][0]), "seed {seed}: {frames:?}");
        // The spectator applies the same frame through its host's confirmed inputs.
        let spectator = &r.nodes[4];
        assert!(spectator.ep.driver().session().confirmed_until() > 8_000);
        for n in &r.nodes[..3] {
            assert!(n.events.iter().any(|e| matches!(e, P2pEvent::NetworkInterrupted { .. })));
            assert!(n.events.iter().any(|e| matches!(e, P2pEvent::NewSessionRefused { peer } if peer.index == 2)));
            assert!(n.ep.drops().wrong_epoch > 0, "{:?}", n.ep.drops());
        }
        assert!(!r.nodes[3].ep.is_running(), "the restarted process is never synchronized");
    }
}

#[test]
fn a_config_mismatch_names_the_setting_and_never_runs() {
    let layout = Layout { players: 2, slots_each: 1, spectators: 0 };
    let mut v = nodes(layout, 1);
    let other = p2p_common::builder(layout, 99).tick_rate(30).local_slot(1).remote_slot(0, p2p_common::addr(0));
    v[1].ep = other.build(std::time::Duration::ZERO, framelock_core::testing::HashSim::new(0)).expect("builds");
    v[1].awaited = false;
    v[0].awaited = false;
    let link = LinkConfig { latency_us: 10_000, jitter_us: 0, loss: 0, duplicate: 0, reorder: 0 };
    let mut rounds = 0;
    let r = run(v, link, 1, 30, |_, _, _| rounds += 1);
    assert!(rounds > 10_000, "ran to the time limit");
    for (n, (local, remote)) in r.nodes.iter().zip([(60, 30), (30, 60)]) {
        assert!(!n.ep.is_running());
        let e = P2pEvent::ConfigMismatch {
            peer: n.ep.peers().next().expect("a peer"),
            setting: "tick_rate",
            local,
            remote,
        };
        assert_eq!(n.events.iter().filter(|x| **x == e).count(), 1, "{:?}", n.events);
        assert!(n.ep.drops().config_mismatch > 10);
    }
}

fn drifting(auto: bool) -> p2p_common::Run {
    let layout = Layout { players: 2, slots_each: 1, spectators: 0 };
    let mut v = nodes(layout, 5);
    v[0].ep = p2p_common::builder(layout, 5_000)
        .auto_time_sync(auto)
        .local_slot(0)
        .remote_slot(1, p2p_common::addr(1))
        .build(std::time::Duration::ZERO, framelock_core::testing::HashSim::new(0))
        .expect("builds");
    v[0].clock = 1_030; // 3% fast
    let link = LinkConfig { latency_us: 40_000, jitter_us: 5_000, loss: 50, duplicate: 0, reorder: 0 };
    let r = run(v, link, 5, 3_000, |_, _, _| {});
    let sums = checksums(&r);
    assert!(sums[0].is_some() && sums[0] == sums[1], "{sums:?}");
    r
}

#[test]
fn a_fast_clock_gets_wait_recommendations_and_automatic_mode_stretches_frames() {
    let manual = drifting(false);
    let waits = manual.nodes[0].events.iter().filter(|e| matches!(e, P2pEvent::WaitRecommendation { .. })).count();
    assert!(waits >= 5, "{waits} recommendations");
    assert_eq!(manual.nodes[0].ep.frames_stretched(), 0);
    let auto = drifting(true);
    assert!(auto.nodes[0].ep.frames_stretched() > 50, "{}", auto.nodes[0].ep.frames_stretched());
    let stalls = |r: &p2p_common::Run| r.nodes[0].ep.driver().session().stats().stalls;
    assert!(stalls(&auto) * 2 < stalls(&manual), "stalls: auto {} manual {}", stalls(&auto), stalls(&manual));
}

#[test]
fn a_spectator_whose_acks_are_lost_is_too_far_behind_then_catches_up() {
    let layout = Layout { players: 2, slots_each: 1, spectators: 1 };
    let mut v = nodes(layout, 6);
    // The host waits longer than the blackout before it would disconnect the spectator.
    v[0].ep = p2p_common::builder(layout, 6_000)
        .disconnect_timeout(std::time::Duration::from_secs(10))
        .local_slot(0)
        .remote_slot(1, p2p_common::addr(1))
        .spectator(p2p_common::addr(2))
        .build(std::time::Duration::ZERO, framelock_core::testing::HashSim::new(0))
        .expect("host");
    let link = LinkConfig { latency_us: 20_000, jitter_us: 5_000, loss: 50, duplicate: 0, reorder: 0 };
    let (host, spectator) = (p2p_common::addr(0), p2p_common::addr(2));
    let r = run(v, link, 6, 1_500, |now, _, net| {
        if now == 8_000_000 {
            net.blocked.push((spectator, host)); // its acknowledgements vanish for 3 s
        }
        if now == 11_000_000 {
            net.blocked.clear();
        }
    });
    let sums = checksums(&r);
    assert!(sums[0].is_some() && sums.iter().all(|c| *c == sums[0]), "{sums:?}");
    let behind: Vec<u32> = r.nodes[0]
        .events
        .iter()
        .filter_map(|e| match *e {
            P2pEvent::PeerTooFarBehind { peer, queued } if peer.addr == spectator => Some(queued),
            _ => None,
        })
        .collect();
    assert_eq!(behind.len(), 1, "{:?}", r.nodes[0].events);
    assert!(behind[0] > 128);
    assert!(!r.nodes[0].events.iter().any(|e| matches!(e, P2pEvent::Disconnecting { .. })));
    // Silent for 3 s: interrupted after disconnect_notify, resumed when heard again.
    let seen: Vec<&P2pEvent> = r.nodes[0]
        .events
        .iter()
        .filter(|e| match e {
            P2pEvent::NetworkInterrupted { peer, .. } | P2pEvent::NetworkResumed { peer } => peer.addr == spectator,
            _ => false,
        })
        .collect();
    assert!(
        matches!(seen[..], [P2pEvent::NetworkInterrupted { disconnect_in, .. }, P2pEvent::NetworkResumed { .. }]
            if *disconnect_in > std::time::Duration::from_secs(9)),
        "{seen:?}"
    );
}
