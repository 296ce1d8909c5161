//! Peer-to-peer matches on a virtual clock under the network conditions: every peer and
//! spectator at the same checksum, byte-identical traffic for the same seed.

mod p2p_common;

use p2p_common::{checksums, nodes, run, Layout, LinkConfig, CHAOS};

const TWO: Layout = Layout { players: 2, slots_each: 1, spectators: 0 };
const FOUR_AND_TWO: Layout = Layout { players: 4, slots_each: 1, spectators: 2 };

fn agree(layout: Layout, link: LinkConfig, seed: u64, frames: u32) -> p2p_common::Run {
    agree_nodes(nodes(layout, seed), link, seed, frames)
}

fn agree_nodes(v: Vec<p2p_common::Node>, link: LinkConfig, seed: u64, frames: u32) -> p2p_common::Run {
    let r = run(v, link, seed, frames, |_, _, _| {});
    let sums = checksums(&r);
    let first = sums[0].unwrap_or_else(|| panic!("seed {seed}: node 0 did not reach frame {frames}"));
    assert!(sums.iter().all(|c| *c == Some(first)), "seed {seed}: {sums:?}");
    for n in &r.nodes {
        assert!(
            !n.events.iter().any(|e| matches!(e, framelock_net::p2p::P2pEvent::Desync { .. })),
            "seed {seed}: a desync at {}",
            n.addr
        );
        assert_eq!(n.ep.drops().unauthenticated + n.ep.drops().bad_body, 0, "seed {seed}");
    }
    r
}

#[test]
fn two_peers_on_a_perfect_link() {
    let link = LinkConfig { latency_us: 20_000, jitter_us: 0, loss: 0, duplicate: 0, reorder: 0 };
    let r = agree(TWO, link, 1, 600);
    let s = r.nodes[0].ep.peer_stats(0, std::time::Duration::from_micros(r.now)).expect("peer 0");
    assert!((38..=60).contains(&s.rtt_ms), "{s:?}");
    assert_eq!(s.packets_lost, 0);
}

#[test]
fn two_peers_under_chaos_agree_at_frame_10000_for_five_seeds() {
    for seed in 1..=5 {
        agree(TWO, CHAOS, seed, 10_000);
    }
}

#[test]
fn four_peers_and_two_spectators_under_chaos_agree_at_frame_10000_for_five_seeds() {
    for seed in 1..=5 {
        agree(FOUR_AND_TWO, CHAOS, seed, 10_000);
    }
}

#[test]
fn the_same_seed_gives_byte_identical_traffic() {
    let a = agree(FOUR_AND_TWO, CHAOS, 9, 600);
    let b = agree(FOUR_AND_TWO, CHAOS, 9, 600);
    assert_eq!(a.net.traffic, b.net.traffic);
    assert_eq!(a.net.sent, b.net.sent);
    assert_ne!(a.net.traffic, agree(FOUR_AND_TWO, CHAOS, 10, 600).net.traffic);
}

#[test]
fn lockstep_peers_with_two_local_players_each_agree() {
    use std::time::Duration;
    let layout = Layout { players: 2, slots_each: 2, spectators: 1 };
    let mut v = nodes(layout, 3);
    for (p, n) in v.iter_mut().take(2).enumerate() {
        let mut b = p2p_common::builder(layout, 300 + p as u64).mode(framelock_core::Mode::Lockstep);
        for slot in 0..4 {
            b = if slot / 2 == p { b.local_slot(slot) } else { b.remote_slot(slot, p2p_common::addr(1 - p)) };
        }
        if p == 0 {
            b = b.spectator(p2p_common::addr(2));
        }
        n.ep = b.build(Duration::ZERO, framelock_core::testing::HashSim::new(0)).expect("builds");
    }
    let link = LinkConfig { latency_us: 30_000, jitter_us: 10_000, loss: 100, duplicate: 20, reorder: 20 };
    let r = agree_nodes(v, link, 3, 1_000);
    assert_eq!(r.nodes[0].ep.driver().session().stats().frames_resimulated, 0);
}

#[test]
fn a_round_trip_longer_than_the_sync_retry_still_synchronizes() {
    // 300 ms each way: every reply arrives after a newer request went out.
    let link = LinkConfig { latency_us: 300_000, jitter_us: 20_000, loss: 100, duplicate: 0, reorder: 0 };
    let r = agree(TWO, link, 4, 600);
    let s = r.nodes[1].ep.peer_stats(0, std::time::Duration::from_micros(r.now)).expect("peer 0");
    assert!((560..=700).contains(&s.rtt_ms), "{s:?}");
}
