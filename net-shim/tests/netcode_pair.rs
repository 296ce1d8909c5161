//! Our Client and Server on simulated time, over an in-memory link with optional loss, duplication and reordering.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use framelock_net::netcode::packet::{self, Receiver};
use framelock_net::netcode::{
    Client, ClientState, ConnectToken, DisconnectReason, DropReason, SeededRng, Server, ServerConfig, ServerEvent,
    TokenParams, UserData,
};
use quickcheck::{QuickCheck, TestResult};

const PROTO: u64 = 0xF00D;
const KEY: [u8; 32] = [0x42; 32];
const T0: u64 = 1_800_000_000;
const STEP: Duration = Duration::from_millis(10);

fn server_addr() -> SocketAddr {
    SocketAddr::from(([10, 0, 0, 1], 40000))
}

fn client_addr(i: usize) -> SocketAddr {
    SocketAddr::from(([10, 0, 1, 1], 50000 + i as u16))
}

fn token(client_id: u64, slot: u8, key: &[u8; 32], seed: u64) -> ConnectToken {
    let params = TokenParams {
        protocol_id: PROTO,
        client_id,
        create_timestamp: T0,
        expire_timestamp: T0 + 30,
        timeout_seconds: 2,
        server_addresses: &[server_addr()],
        user_data: UserData::for_room_slot(1234, slot),
    };
    ConnectToken::generate(&params, key, &mut SeededRng::from_u64(seed)).unwrap()
}

/// A tiny deterministic RNG for the link.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn percent(&mut self, p: u64) -> bool {
        self.next() % 100 < p
    }
}

#[derive(Default, Clone, Copy)]
struct Link {
    loss: u64,
    dup: u64,
    reorder: u64,
    cut: bool,
}

struct Datagram {
    at: Duration,
    from: SocketAddr,
    to: SocketAddr,
    bytes: Vec<u8>,
}

/// Per-address accounting on the server side.
#[derive(Default, Debug, Clone, Copy)]
struct Account {
    received: usize,
    sent_unconnected: usize,
}

struct Sim {
    now: Duration,
    server: Server,
    clients: Vec<Client>,
    link: Link,
    rng: Lcg,
    flight: Vec<Datagram>,
    server_events: Vec<(usize, String)>,
    server_payloads: Vec<(usize, Vec<u8>)>,
    client_payloads: Vec<Vec<Vec<u8>>>,
    accounts: HashMap<SocketAddr, Account>,
    /// Every datagram the server sent: (destination, bytes).
    server_log: Vec<(SocketAddr, Vec<u8>)>,
    /// Every datagram the clients sent: (source, bytes).
    client_log: Vec<(SocketAddr, Vec<u8>)>,
}

impl Sim {
    fn new(max_clients: usize, tokens: Vec<ConnectToken>) -> Self {
        let now = Duration::from_secs(T0);
        let server =
            Server::new(now, ServerConfig::new(PROTO, KEY, max_clients, server_addr()), &mut SeededRng::from_u64(7))
                .unwrap();
        let n = tokens.len();
        Self {
            now,
            server,
            clients: tokens.into_iter().map(|t| Client::new(now, t)).collect(),
            link: Link::default(),
            rng: Lcg(99),
            flight: Vec::new(),
            server_events: Vec::new(),
            server_payloads: Vec::new(),
            client_payloads: vec![Vec::new(); n],
            accounts: HashMap::new(),
            server_log: Vec::new(),
            client_log: Vec::new(),
        }
    }

    fn send(&mut self, from: SocketAddr, to: SocketAddr, bytes: &[u8]) {
        if self.link.cut || self.rng.percent(self.link.loss) {
            return;
        }
        let copies = if self.rng.percent(self.link.dup) { 2 } else { 1 };
        for _ in 0..copies {
            let delay =
                if self.rng.percent(self.link.reorder) { STEP * (1 + self.rng.next() as u32 % 5) } else { STEP };
            self.flight.push(Datagram { at: self.now + delay, from, to, bytes: bytes.to_vec() });
        }
    }

    /// Injects a datagram straight into the server (an attacker or a replay).
    fn inject_to_server(&mut self, from: SocketAddr, bytes: &[u8]) {
        self.accounts.entry(from).or_default().received += bytes.len();
        self.server.handle_packet(self.now, from, bytes);
        self.drain();
    }

    fn drain(&mut self) {
        while let Some(ev) = self.server.poll_event() {
            match ev {
                ServerEvent::Payload { client_index, payload, .. } => {
                    self.server_payloads.push((client_index, payload.to_vec()))
                }
                other => self.server_events.push((0, format!("{other:?}"))),
            }
        }
        let mut out = Vec::new();
        while let Some(t) = self.server.poll_transmit() {
            out.push((t.destination, t.contents.to_vec()));
        }
        for (to, bytes) in out {
            let connected = (0..self.server.max_clients()).any(|i| self.server.client_address(i) == Some(to));
            if !connected {
                self.accounts.entry(to).or_default().sent_unconnected += bytes.len();
            }
            self.server_log.push((to, bytes.clone()));
            self.send(server_addr(), to, &bytes);
        }
        for i in 0..self.clients.len() {
            let mut out = Vec::new();
            while let Some(t) = self.clients[i].poll_transmit() {
                out.push((t.destination, t.contents.to_vec()));
            }
            for (to, bytes) in out {
                self.client_log.push((client_addr(i), bytes.clone()));
                self.send(client_addr(i), to, &bytes);
            }
            while let Some(p) = self.clients[i].poll_payload() {
                self.client_payloads[i].push(p.to_vec());
            }
        }
    }

    /// Advances simulated time by `steps` steps, moving datagrams between the endpoints.
    fn drive(&mut self, steps: usize) {
        for _ in 0..steps {
            self.now += STEP;
            let now = self.now;
            let (due, later): (Vec<_>, Vec<_>) =
                std::mem::take(&mut self.flight).into_iter().partition(|d| d.at <= now);
            self.flight = later;
            for d in due {
                if d.to == server_addr() {
                    self.accounts.entry(d.from).or_default().received += d.bytes.len();
                    self.server.handle_packet(now, d.from, &d.bytes);
                } else if let Some(i) = (0..self.clients.len()).find(|&i| client_addr(i) == d.to) {
                    self.clients[i].handle_packet(now, d.from, &d.bytes);
                }
            }
            for c in &mut self.clients {
                c.handle_timeout(now);
            }
            self.server.handle_timeout(now);
            self.drain();
        }
    }

    fn all_connected(&self) -> bool {
        self.clients.iter().all(Client::is_connected)
    }

    fn assert_no_amplification(&self) {
        for (addr, a) in &self.accounts {
            assert!(a.sent_unconnected <= a.received, "{addr}: sent {} > received {}", a.sent_unconnected, a.received);
        }
    }
}

fn sim(n: usize) -> Sim {
    Sim::new(n.max(1), (0..n).map(|i| token(100 + i as u64, i as u8, &KEY, i as u64 + 1)).collect())
}

#[test]
fn connect_exchange_and_user_data() {
    let mut s = sim(3);
    s.drive(30);
    assert!(s.all_connected());
    assert_eq!(s.server.num_connected(), 3);
    for i in 0..3 {
        let idx = s.server.client_index(100 + i as u64).unwrap();
        assert_eq!(s.server.user_data(idx).unwrap().room_slot(), Some((1234, i as u8)));
        assert_eq!(s.clients[i].client_index() as usize, idx);
        assert_eq!(s.clients[i].max_clients(), 3);
    }
    assert_eq!(s.server_events.iter().filter(|e| e.1.starts_with("Connected")).count(), 3);
    for round in 0..20u8 {
        for i in 0..3 {
            let now = s.now;
            s.clients[i].send_payload(now, &[i as u8, round]).unwrap();
            let idx = s.server.client_index(100 + i as u64).unwrap();
            s.server.send_payload(now, idx, &[0xEE, i as u8, round]).unwrap();
        }
        s.drive(2);
    }
    s.drive(5);
    assert_eq!(s.server_payloads.len(), 60);
    for (idx, p) in &s.server_payloads {
        assert_eq!(s.server.client_id(*idx), Some(100 + p[0] as u64), "payload attributed to its token's slot");
    }
    for i in 0..3 {
        let expected: Vec<Vec<u8>> = (0..20u8).map(|r| vec![0xEE, i as u8, r]).collect();
        assert_eq!(s.client_payloads[i], expected);
    }
    let max = vec![7u8; 1200];
    let now = s.now;
    s.clients[0].send_payload(now, &max).unwrap();
    assert!(s.clients[0].send_payload(now, &[0u8; 1201]).is_err());
    s.drive(2);
    assert_eq!(s.server_payloads.last().map(|p| p.1.len()), Some(1200));
    assert_eq!(s.server.stats().dropped_total(), 0);
    s.assert_no_amplification();
}

#[test]
fn lossy_duplicating_reordering_link() {
    let mut s = sim(4);
    s.link = Link { loss: 20, dup: 20, reorder: 30, cut: false };
    s.drive(300);
    assert!(s.all_connected(), "{:?}", s.clients.iter().map(Client::state).collect::<Vec<_>>());
    for round in 0..50u8 {
        for i in 0..4 {
            let now = s.now;
            s.clients[i].send_payload(now, &[i as u8, round]).unwrap();
        }
        s.drive(1);
    }
    s.drive(20);
    // Every delivered payload is unique: duplicates were dropped by the replay window.
    let mut seen = std::collections::HashSet::new();
    for (_, p) in &s.server_payloads {
        assert!(seen.insert(p.clone()), "duplicate payload {p:?}");
    }
    assert!(s.server_payloads.len() > 100, "{}", s.server_payloads.len());
    assert!(s.server.stats().dropped(DropReason::Replayed) > 0);
    s.assert_no_amplification();
}

#[test]
fn keep_alive_holds_idle_connections() {
    let mut s = sim(2);
    s.drive(30);
    assert!(s.all_connected());
    s.drive(1000); // 10 s idle, timeout 2 s
    assert!(s.all_connected());
    assert_eq!(s.server.num_connected(), 2);
}

#[test]
fn timeouts_on_both_sides() {
    let mut s = sim(1);
    s.drive(30);
    assert!(s.all_connected());
    s.link.cut = true;
    s.drive(250);
    assert_eq!(s.clients[0].state(), ClientState::ConnectionTimedOut);
    assert_eq!(s.server.num_connected(), 0);
    assert!(s.server_events.iter().any(|e| e.1.contains(&format!("{:?}", DisconnectReason::TimedOut))));
}

#[test]
fn client_disconnect_is_redundant_and_seen_by_server() {
    let mut s = sim(2);
    s.drive(30);
    let now = s.now;
    s.clients[0].disconnect(now);
    assert_eq!(s.clients[0].state(), ClientState::Disconnected);
    let mut n = 0;
    while let Some(t) = s.clients[0].poll_transmit() {
        n += 1;
        s.server.handle_packet(now, client_addr(0), t.contents);
    }
    assert_eq!(n, 10);
    s.drain();
    assert_eq!(s.server.num_connected(), 1);
    assert!(s.server_events.iter().any(|e| e.1.contains("ByPeer")));
    // The 9 extra copies arrive from an address that no longer has a connection.
    assert_eq!(s.server.stats().dropped(DropReason::UnknownAddress), 9);
}

#[test]
fn server_disconnect_reaches_client_over_lossy_link() {
    let mut s = sim(1);
    s.drive(30);
    s.link.loss = 70;
    let now = s.now;
    assert!(s.server.disconnect(now, 0));
    s.drain();
    s.drive(5);
    assert_eq!(s.server.num_connected(), 0);
    assert_eq!(s.clients[0].state(), ClientState::Disconnected);
    let disconnects = s.server_log.iter().filter(|(_, b)| b[0] & 0x0f == 6).count();
    assert_eq!(disconnects, 10);
}

#[test]
fn expired_token_is_rejected() {
    let params = TokenParams {
        protocol_id: PROTO,
        client_id: 1,
        create_timestamp: T0 - 100,
        expire_timestamp: T0 - 1,
        timeout_seconds: 5,
        server_addresses: &[server_addr()],
        user_data: UserData::default(),
    };
    let t = ConnectToken::generate(&params, &KEY, &mut SeededRng::from_u64(1)).unwrap();
    let mut s = Sim::new(2, vec![t]);
    s.drive(20);
    assert!(s.server.stats().dropped(DropReason::TokenExpired) > 0);
    assert!(s.server_log.is_empty());
    // Nobody answers: the client times out (2 s) long before the token's lifetime (99 s).
    s.drive(600);
    assert_eq!(s.clients[0].state(), ClientState::ConnectionRequestTimedOut);

    // With timeouts disabled, the client gives up when the token's lifetime has passed.
    let p = TokenParams { timeout_seconds: -1, create_timestamp: T0, expire_timestamp: T0 + 3, ..params };
    let t = ConnectToken::generate(&p, &KEY, &mut SeededRng::from_u64(2)).unwrap();
    let mut s = Sim::new(2, vec![t]);
    s.link.cut = true;
    s.drive(299);
    assert_eq!(s.clients[0].state(), ClientState::SendingConnectionRequest);
    s.drive(2);
    assert_eq!(s.clients[0].state(), ClientState::ConnectTokenExpired);
}

#[test]
fn wrong_key_never_connects() {
    let mut s = Sim::new(2, vec![token(1, 0, &[0x13; 32], 1)]);
    s.drive(300);
    assert!(s.server.stats().dropped(DropReason::TokenDecryptFailed) > 0);
    assert_eq!(s.server.stats().packets_sent, 0);
    assert_eq!(s.clients[0].state(), ClientState::ConnectionRequestTimedOut);
}

#[test]
fn server_full_denies() {
    let mut s = Sim::new(1, vec![token(1, 0, &KEY, 1), token(2, 1, &KEY, 2)]);
    s.drive(50);
    assert_eq!(s.server.num_connected(), 1);
    let states: Vec<_> = s.clients.iter().map(Client::state).collect();
    assert!(states.contains(&ClientState::Connected) && states.contains(&ClientState::ConnectionDenied), "{states:?}");
    assert!(s.server.stats().denied_sent > 0);
    s.assert_no_amplification();
}

#[test]
fn replayed_and_spoofed_packets_are_dropped_and_counted() {
    let mut s = sim(2);
    s.drive(30);
    let now = s.now;
    s.clients[0].send_payload(now, b"move left").unwrap();
    s.drive(2);
    assert_eq!(s.server_payloads.len(), 1);
    let captured: Vec<Vec<u8>> =
        s.client_log.iter().filter(|(a, b)| *a == client_addr(0) && b[0] & 0x0f == 5).map(|(_, b)| b.clone()).collect();
    assert_eq!(captured.len(), 1);
    // Replayed from the same address: the replay window catches it.
    s.inject_to_server(client_addr(0), &captured[0]);
    assert_eq!(s.server.stats().dropped(DropReason::Replayed), 1);
    // Replayed from another connected client's address: that connection's replay window or key rejects it.
    let before = s.server.stats().dropped_total();
    s.inject_to_server(client_addr(1), &captured[0]);
    assert_eq!(s.server.stats().dropped_total(), before + 1);
    let mut forged = captured[0].clone();
    let last = forged.len() - 1;
    forged[last] ^= 1;
    s.inject_to_server(client_addr(0), &forged);
    assert_eq!(s.server.stats().dropped(DropReason::Replayed), 3, "replay check runs before decryption");
    // A fresh packet with a flipped tag bit: fails authentication.
    let now = s.now;
    s.clients[0].send_payload(now, b"move right").unwrap();
    let mut fresh = s.clients[0].poll_transmit().unwrap().contents.to_vec();
    let last = fresh.len() - 1;
    fresh[last] ^= 1;
    s.inject_to_server(client_addr(0), &fresh);
    assert_eq!(s.server.stats().dropped(DropReason::DecryptFailed), 1);
    // From a stranger: no session.
    s.inject_to_server(SocketAddr::from(([6, 6, 6, 6], 6)), &captured[0]);
    assert_eq!(s.server.stats().dropped(DropReason::UnknownAddress), 1);
    assert_eq!(s.server_payloads.len(), 1);
    // A captured connection request replayed from a spoofed address: the token is bound to its first address.
    let request = s.client_log.iter().find(|(a, b)| *a == client_addr(1) && b[0] == 0).unwrap().1.clone();
    s.inject_to_server(SocketAddr::from(([6, 6, 6, 7], 7)), &request);
    assert_eq!(s.server.stats().dropped(DropReason::ClientIdAlreadyConnected), 1, "{:?}", s.server.stats());
    s.assert_no_amplification();
}

#[test]
fn no_amplification_under_spoofed_requests() {
    let mut s = sim(1);
    s.link.cut = true;
    s.drive(1); // capture a request without delivering it
    let request = s.client_log.iter().find(|(_, b)| b[0] == 0).unwrap().1.clone();
    s.link.cut = false;
    for i in 0..50u8 {
        s.inject_to_server(SocketAddr::from(([7, 7, 7, i], 7)), &request);
        s.inject_to_server(SocketAddr::from(([8, 8, 8, i], 8)), &[0u8; 1078]);
        s.inject_to_server(SocketAddr::from(([9, 9, 9, i], 9)), &[0x13; 333]);
    }
    assert_eq!(s.server.stats().dropped(DropReason::TokenInUse), 49);
    s.drive(50);
    assert!(s.all_connected() || s.clients[0].state() == ClientState::SendingConnectionRequest);
    s.assert_no_amplification();
}

#[test]
fn sequences_never_repeat_across_server_restarts() {
    // Same seeds, same token, two server instances in one process: no (key, nonce) pair may repeat.
    let tok = token(5, 0, &KEY, 77);
    let mut seen = std::collections::HashSet::new();
    let mut client_seen = std::collections::HashSet::new();
    for _ in 0..3 {
        let mut s = Sim::new(1, vec![tok.clone()]);
        s.drive(40);
        assert!(s.all_connected());
        let now = s.now;
        s.server.send_payload(now, 0, b"x").unwrap();
        s.clients[0].send_payload(now, b"y").unwrap();
        s.drive(3);
        s.server.disconnect_all(s.now);
        s.drain();
        for (_, b) in &s.server_log {
            let h = packet::peek_header(b, Receiver::Client).unwrap();
            assert!(seen.insert(h.sequence), "server reused sequence {:#x}", h.sequence);
        }
        for (_, b) in s.client_log.iter().filter(|(_, b)| b[0] != 0) {
            let h = packet::peek_header(b, Receiver::Server).unwrap();
            assert!(client_seen.insert(h.sequence), "client reused sequence {:#x}", h.sequence);
        }
    }
    assert!(seen.len() > 30);
}

#[test]
fn garbage_never_panics_and_is_counted() {
    fn prop(data: Vec<u8>, port: u16) -> TestResult {
        let mut server = Server::new(
            Duration::from_secs(T0),
            ServerConfig::new(PROTO, KEY, 4, server_addr()),
            &mut SeededRng::from_u64(1),
        )
        .unwrap();
        let from = SocketAddr::from(([1, 2, 3, 4], port));
        server.handle_packet(Duration::from_secs(T0), from, &data);
        let mut with_prefix = data.clone();
        if let Some(b) = with_prefix.first_mut() {
            *b = (*b & 0xf0) | 0x15; // plausible payload prefix
        }
        server.handle_packet(Duration::from_secs(T0), from, &with_prefix);
        let mut request = vec![0u8; 1078];
        request[..data.len().min(1078)].copy_from_slice(&data[..data.len().min(1078)]);
        request[0] = 0;
        server.handle_packet(Duration::from_secs(T0), from, &request);
        server.handle_timeout(Duration::from_secs(T0 + 1));
        let st = server.stats();
        TestResult::from_bool(
            st.dropped_total() == 3 && server.poll_transmit().is_none() && server.poll_event().is_none(),
        )
    }
    QuickCheck::new().tests(300).quickcheck(prop as fn(Vec<u8>, u16) -> TestResult);
}

#[test]
fn mutated_valid_packets_are_dropped() {
    let mut s = sim(1);
    s.drive(30);
    let now = s.now;
    s.clients[0].send_payload(now, b"abc").unwrap();
    let pkt = s.clients[0].poll_transmit().unwrap().contents.to_vec();
    let mut rng = Lcg(5);
    for _ in 0..500 {
        let mut m = pkt.clone();
        let i = rng.next() as usize % m.len();
        m[i] ^= 1 << (rng.next() % 8);
        s.server.handle_packet(now, client_addr(0), &m);
    }
    assert_eq!(s.server.stats().dropped_total(), 500);
    assert!(s.server.poll_event().is_none());
    s.server.handle_packet(now, client_addr(0), &pkt);
    assert!(matches!(s.server.poll_event(), Some(ServerEvent::Payload { payload: b"abc", .. })));
}

#[test]
fn client_survives_garbage() {
    fn prop(data: Vec<u8>) -> bool {
        let mut c = Client::new(Duration::from_secs(T0), token(1, 0, &KEY, 1));
        let now = Duration::from_secs(T0);
        c.handle_packet(now, server_addr(), &data);
        let mut typed = data.clone();
        if let Some(b) = typed.first_mut() {
            *b = (*b & 0xf0) | 0x12;
        }
        c.handle_packet(now, server_addr(), &typed);
        c.stats().dropped_total() == 2 && c.state() == ClientState::SendingConnectionRequest
    }
    QuickCheck::new().tests(300).quickcheck(prop as fn(Vec<u8>) -> bool);
}

#[test]
fn denied_client_fails_over_to_the_next_server() {
    let other = SocketAddr::from(([10, 0, 0, 9], 40000));
    let params = TokenParams {
        protocol_id: PROTO,
        client_id: 2,
        create_timestamp: T0,
        expire_timestamp: T0 + 30,
        timeout_seconds: 2,
        server_addresses: &[server_addr(), other],
        user_data: UserData::default(),
    };
    let second = ConnectToken::generate(&params, &KEY, &mut SeededRng::from_u64(3)).unwrap();
    let mut s = Sim::new(1, vec![token(1, 0, &KEY, 1)]);
    s.drive(30);
    assert!(s.all_connected());
    s.clients.push(Client::new(s.now, second));
    s.client_payloads.push(Vec::new());
    s.drive(30);
    assert_eq!(s.clients[1].server_address(), other, "denied by the full server, now trying the next address");
    assert_eq!(s.clients[1].state(), ClientState::SendingConnectionRequest);
}
