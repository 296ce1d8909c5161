//! 4,096 clients on one netcode server (one relay worker's worth): they all connect, play, a tenth
//! leave and new clients take their slots — and the server allocates nothing after construction:
//! its address and client-id tables, free-slot heap, handshake table and deadline heap are
//! preallocated. Only the server's calls are counted (the clients live outside the counted regions).
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::time::Duration;

use framelock_net::netcode::{
    Client, ConnectToken, SeededRng, Server, ServerConfig, ServerEvent, TokenParams, UserData, MAX_PACKET_BYTES,
};

#[global_allocator]
static GLOBAL: framelock_testkit::Counting = framelock_testkit::Counting;

const PROTO: u64 = 5;
const KEY: [u8; 32] = [3; 32];
const T0: u64 = 1_800_000_000;
const N: usize = 4096;

struct Wire {
    bufs: Vec<[u8; MAX_PACKET_BYTES]>,
    lens: Vec<usize>,
    who: Vec<usize>,
}

impl Wire {
    fn new(cap: usize) -> Self {
        Wire { bufs: vec![[0; MAX_PACKET_BYTES]; cap], lens: vec![0; cap], who: vec![0; cap] }
    }
}

struct Net {
    server: Server,
    up: Wire,
    down: Wire,
    allocations: u64,
    connects: u64,
    payloads: u64,
}

fn addr(i: usize, generation: usize) -> SocketAddr {
    SocketAddr::from(([10, (generation % 200) as u8, (i >> 8) as u8, i as u8], 20_000))
}

fn client(i: usize, id: u64, rng: &mut SeededRng, server: SocketAddr) -> Client {
    let token = ConnectToken::generate(
        &TokenParams {
            protocol_id: PROTO,
            client_id: id,
            create_timestamp: T0,
            expire_timestamp: T0 + 600,
            timeout_seconds: 5,
            server_addresses: &[server],
            user_data: UserData::for_room_slot(i as u64 / 4, (i % 4) as u8),
        },
        &KEY,
        rng,
    )
    .unwrap();
    Client::new(Duration::from_secs(T0), token)
}

#[test]
fn four_thousand_clients_connect_churn_and_play_without_server_allocations() {
    framelock_testkit::assert_counting();
    let saddr = SocketAddr::from(([10, 255, 0, 1], 1));
    let mut rng = SeededRng::from_u64(9);
    let mut now = Duration::from_secs(T0);
    let server = Server::new(now, ServerConfig::new(PROTO, KEY, N, saddr), &mut rng).unwrap();
    let mut clients: Vec<(Client, usize)> = (0..N).map(|i| (client(i, i as u64 + 1, &mut rng, saddr), 0)).collect();
    let mut net =
        Net { server, up: Wire::new(N * 8), down: Wire::new(N * 16), allocations: 0, connects: 0, payloads: 0 };
    for _ in 0..20 {
        now += Duration::from_millis(20);
        step(&mut net, &mut clients, now, saddr);
    }
    assert_eq!(net.server.num_connected(), N, "every client connected");
    assert!(clients.iter().all(|(c, _)| c.is_connected()));
    // A tenth leave; new clients (new ids, new addresses) take their places.
    for (i, (c, generation)) in clients.iter_mut().enumerate().filter(|(i, _)| i % 10 == 0) {
        c.disconnect(now);
        while let Some(t) = c.poll_transmit() {
            let (a, r, ()) =
                framelock_testkit::count(|| net.server.handle_packet(now, addr(i, *generation), t.contents));
            net.allocations += a + r;
        }
    }
    let (a, r, ()) = framelock_testkit::count(|| while net.server.poll_event().is_some() {});
    net.allocations += a + r;
    assert_eq!(net.server.num_connected(), N - N.div_ceil(10));
    for (i, slot) in clients.iter_mut().enumerate().filter(|(i, _)| i % 10 == 0) {
        *slot = (client(i, (N + i) as u64 + 1, &mut rng, saddr), slot.1 + 1);
    }
    for _ in 0..25 {
        now += Duration::from_millis(20);
        step(&mut net, &mut clients, now, saddr);
    }
    assert_eq!(net.server.num_connected(), N, "the newcomers connected");
    assert!(clients.iter().all(|(c, _)| c.is_connected()));
    assert!(net.connects >= (N + N / 10) as u64 && net.payloads > (N * 30) as u64, "{} {}", net.connects, net.payloads);
    assert_eq!(net.allocations, 0, "server allocations after construction");
}

fn step(net: &mut Net, clients: &mut [(Client, usize)], now: Duration, saddr: SocketAddr) {
    let Net { server, up, down, allocations, connects, payloads } = net;
    // Clients (not counted): timers, payloads, datagrams onto the wire.
    let mut n_up = 0;
    for (i, (c, _)) in clients.iter_mut().enumerate() {
        c.handle_timeout(now);
        if c.is_connected() {
            c.send_payload(now, &[i as u8; 24]).unwrap();
        }
        while let Some(t) = c.poll_transmit() {
            if n_up < up.bufs.len() {
                up.bufs[n_up][..t.contents.len()].copy_from_slice(t.contents);
                (up.lens[n_up], up.who[n_up]) = (t.contents.len(), i);
                n_up += 1;
            }
        }
    }
    // The server (counted).
    let (a, r, n_down) = framelock_testkit::count(|| {
        for k in 0..n_up {
            let i = up.who[k];
            server.handle_packet(now, addr(i, clients[i].1), &up.bufs[k][..up.lens[k]]);
        }
        server.handle_timeout(now);
        while let Some(ev) = server.poll_event() {
            match ev {
                ServerEvent::Connected { .. } => *connects += 1,
                ServerEvent::Payload { .. } => *payloads += 1,
                ServerEvent::Disconnected { .. } => {}
            }
        }
        for i in 0..N {
            if server.is_connected(i) {
                let _ = server.send_payload(now, i, &[7; 40]);
            }
        }
        let mut n_down = 0;
        while let Some(t) = server.poll_transmit() {
            if n_down < down.bufs.len() {
                down.bufs[n_down][..t.contents.len()].copy_from_slice(t.contents);
                down.lens[n_down] = t.contents.len();
                // The destination's index: the low 16 bits of its address (see `addr`).
                let SocketAddr::V4(v4) = t.destination else { continue };
                let o = v4.ip().octets();
                down.who[n_down] = usize::from(o[2]) << 8 | usize::from(o[3]);
                n_down += 1;
            }
        }
        n_down
    });
    *allocations += a + r;
    // Clients receive (not counted).
    for k in 0..n_down {
        let (c, _) = &mut clients[down.who[k]];
        c.handle_packet(now, saddr, &down.bufs[k][..down.lens[k]]);
        while c.poll_payload().is_some() {}
    }
}
