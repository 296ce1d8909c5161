//! Hostile datagrams at a peer-to-peer endpoint: garbage, strangers, wrong handles, forgeries,
//! another key, replays and another configuration. None is applied (the match's traffic and
//! checksums are byte for byte those of the same match without them) and each is counted under
//! its reason.

mod p2p_common;

use std::net::SocketAddr;
use std::time::Duration;

use framelock_net::p2p::{seal, DropStats, Header, P2pEvent, HEADER, MARKER, PROTOCOL_VERSION, TAG};
use p2p_common::{addr, nodes, run, Layout, Mix, CHAOS, INPUT, KEY, TICK_RATE};

const LAYOUT: Layout = Layout { players: 2, slots_each: 1, spectators: 1 };
const FRAMES: u32 = 1_500;

struct Outcome {
    traffic: u64,
    checksums: Vec<Option<u64>>,
    drops: DropStats,
    events: Vec<P2pEvent>,
}

/// A sealed datagram from `from_handle` to `to_handle` under `epoch`.
fn sealed(key: &[u8; 32], from_handle: u8, to_handle: u8, epoch: u32, seq: u32, body: &[u8]) -> Vec<u8> {
    let mut buf = vec![0u8; HEADER + body.len() + TAG];
    buf[HEADER..HEADER + body.len()].copy_from_slice(body);
    let h = Header { from: from_handle, to: to_handle, epoch, seq };
    let n = seal(key, &h, &mut buf, HEADER + body.len()).expect("fits");
    buf.truncate(n);
    buf
}

/// A synchronization request as docs/p2p-protocol.md lays it out, with a 30 Hz tick rate.
fn sync_request_with_another_tick_rate() -> Vec<u8> {
    let mut b = vec![1u8];
    b.extend_from_slice(&7u32.to_le_bytes()); // nonce
    b.push(PROTOCOL_VERSION);
    b.push(2); // slots
    b.extend_from_slice(&(INPUT as u16).to_le_bytes());
    b.extend_from_slice(&(TICK_RATE / 2).to_le_bytes());
    b.extend_from_slice(&30u16.to_le_bytes()); // checksum interval
    b.extend_from_slice(&0x4841_5348u64.to_le_bytes()); // simulation id
    b.extend_from_slice(&2u64.to_le_bytes()); // the sender plays slot 1
    b
}

fn play(attack: bool) -> Outcome {
    let victim = addr(0);
    let peer = addr(1);
    let mut rng = Mix(77);
    let mut epoch = None;
    let r = run(nodes(LAYOUT, 8), CHAOS, 8, FRAMES, |now, nodes, net| {
        if now == 5_000_000 {
            net.tap = Some(Vec::new());
        }
        if !attack || now < 10_000_000 || now % 100_000 != 0 || now > 19_900_000 {
            return;
        }
        // Ten rounds of every kind, a tenth of a second apart, once the match runs.
        let t = Duration::from_micros(now);
        let ep = &mut nodes[0].ep;
        let tap = net.tap.as_ref().expect("tapping");
        let from_peer: Vec<&Vec<u8>> = tap.iter().filter(|d| d.1 == peer && d.2 == victim).map(|d| &d.3).collect();
        let e = *epoch.get_or_insert_with(|| Header::read(from_peer[0]).expect("a header").epoch);
        let mut noise = |n: usize| (0..n).map(|_| rng.next() as u8).collect::<Vec<u8>>();
        // Garbage (never our marker).
        let mut g = noise(40);
        g[0] = !MARKER;
        ep.handle_datagram(t, peer, &g);
        // A stranger sealing with the right key.
        let stranger: SocketAddr = "10.9.9.9:7000".parse().expect("addr");
        ep.handle_datagram(t, stranger, &sealed(&KEY, 1, 0, e, 1 << 30, &[3, 0, 0]));
        // The peer's address, another handle.
        ep.handle_datagram(t, peer, &sealed(&KEY, 5, 0, e, 1 << 30, &[3, 0, 0]));
        // Forged: the peer's header, fresh sequence numbers, random ciphertext and tag.
        let seq = (1 << 31) + (now / 100_000) as u32;
        let mut forged = sealed(&KEY, 1, 0, e, seq, &[0; 40]);
        let n = forged.len();
        forged[HEADER..n].copy_from_slice(&noise(n - HEADER));
        ep.handle_datagram(t, peer, &forged);
        // Another key.
        ep.handle_datagram(t, peer, &sealed(&[0x43; 32], 1, 0, e, seq, &[3; 40]));
        // Replays of what the peer really sent.
        let old = from_peer[rng.below(from_peer.len() as u64) as usize].clone();
        ep.handle_datagram(t, peer, &old);
        // Another configuration, sealed with the right key under the peer's epoch.
        ep.handle_datagram(t, peer, &sealed(&KEY, 1, 0, e, seq, &sync_request_with_another_tick_rate()));
    });
    let events = r.nodes[0].events.clone();
    Outcome { traffic: r.net.traffic, checksums: p2p_common::checksums(&r), drops: r.nodes[0].ep.drops(), events }
}

#[test]
fn hostile_datagrams_are_dropped_counted_and_change_nothing() {
    let clean = play(false);
    let attacked = play(true);
    assert!(clean.checksums[0].is_some() && clean.checksums.iter().all(|c| *c == clean.checksums[0]));
    assert_eq!(attacked.checksums, clean.checksums, "nothing applied");
    assert_eq!(attacked.traffic, clean.traffic, "not even a different datagram sent");
    let (a, c) = (attacked.drops, clean.drops);
    assert_eq!(c.total(), c.replayed, "only the link's duplicates, without an attacker: {c:?}");
    let rounds = 100;
    assert_eq!(a.malformed - c.malformed, rounds);
    assert_eq!(a.unknown_address - c.unknown_address, rounds);
    assert_eq!(a.wrong_handle - c.wrong_handle, rounds);
    assert_eq!(a.unauthenticated - c.unauthenticated, 2 * rounds, "forged and wrong key");
    assert_eq!(a.replayed - c.replayed, rounds);
    assert_eq!(a.config_mismatch - c.config_mismatch, rounds);
    assert_eq!(a.bad_body + a.unexpected + a.wrong_epoch, 0);
    let mismatches: Vec<_> = attacked.events.iter().filter(|e| matches!(e, P2pEvent::ConfigMismatch { .. })).collect();
    assert!(
        matches!(mismatches[..], [P2pEvent::ConfigMismatch { setting: "tick_rate", local: 60, remote: 30, .. }]),
        "{mismatches:?}"
    );
}

/// An insider with the key sends every message type with arbitrary contents (fresh sequence
/// numbers, right epochs and handles) to a player, a host and a spectator: nothing panics and
/// every endpoint keeps answering.
#[test]
fn sealed_arbitrary_bodies_never_panic() {
    fn prop(bodies: Vec<(u8, Vec<u8>)>) -> bool {
        let layout = Layout { players: 2, slots_each: 1, spectators: 1 };
        let link = p2p_common::LinkConfig { latency_us: 5_000, jitter_us: 0, loss: 0, duplicate: 0, reorder: 0 };
        let mut seq = 1u32 << 31;
        let r = run(nodes(layout, 2), link, 2, 200, |now, nodes, net| {
            if now == 1_000_000 {
                net.tap = Some(Vec::new());
            }
            if now != 2_000_000 {
                return;
            }
            let tap = net.tap.as_ref().expect("tapping");
            let epoch_of =
                |a: SocketAddr| tap.iter().find(|d| d.1 == a).and_then(|d| Header::read(&d.3)).map(|h| h.epoch);
            let (e0, e1, es) = (epoch_of(addr(0)), epoch_of(addr(1)), epoch_of(addr(2)));
            let t = Duration::from_micros(now);
            for (ty, rest) in &bodies {
                let mut body = vec![1 + ty % 5];
                body.extend_from_slice(&rest[..rest.len().min(1100)]);
                seq += 1;
                // Player 1 to player 0, host 0 to the spectator, the spectator to host 0.
                let d = sealed(&KEY, 1, 0, e1.unwrap_or(0), seq, &body);
                nodes[0].ep.handle_datagram(t, addr(1), &d);
                let d = sealed(&KEY, 0, 0xFF, e0.unwrap_or(0), seq, &body);
                nodes[2].ep.handle_datagram(t, addr(0), &d);
                let d = sealed(&KEY, 0xFF, 0, es.unwrap_or(0), seq, &body);
                nodes[0].ep.handle_datagram(t, addr(2), &d);
            }
        });
        r.nodes.iter().all(|n| n.ep.is_running())
    }
    // Every field at its largest (frames at u32::MAX, counts 255) and at zero, for each message.
    let extremes: Vec<(u8, Vec<u8>)> = (0..5).flat_map(|ty| [(ty, vec![0xFF; 700]), (ty, vec![0; 700])]).collect();
    assert!(prop(extremes));
    quickcheck::QuickCheck::new().tests(40).quickcheck(prop as fn(Vec<(u8, Vec<u8>)>) -> bool);
}
