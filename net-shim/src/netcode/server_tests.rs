#![allow(clippy::unwrap_used)]

use super::*;
use crate::netcode::{ConnectToken, SeededRng, TokenParams};

const PROTO: u64 = 77;
const KEY: [u8; 32] = [1; 32];

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([10, 0, 0, 1], port))
}

fn server(max: usize) -> Server {
    Server::new(Duration::from_secs(1000), ServerConfig::new(PROTO, KEY, max, addr(1)), &mut SeededRng::from_u64(5))
        .unwrap()
}

fn request(client_id: u64, seed: u64) -> (ConnectToken, Vec<u8>) {
    let params = TokenParams {
        protocol_id: PROTO,
        client_id,
        create_timestamp: 1000,
        expire_timestamp: 1100,
        timeout_seconds: 5,
        server_addresses: &[addr(1)],
        user_data: UserData::for_room_slot(3, client_id as u8),
    };
    let token = ConnectToken::generate(&params, &KEY, &mut SeededRng::from_u64(seed)).unwrap();
    let mut buf = [0u8; 2048];
    let n = packet::encode_request(&token, &mut buf).unwrap();
    (token, buf[..n].to_vec())
}

#[test]
fn config_validation_names_the_setting() {
    use super::super::{MAX_CLIENTS, MAX_RING_CAPACITY, MAX_SERVER_ADDRESSES};
    type Set = fn(&mut ServerConfig, usize);
    let settings: [(&str, usize, usize, Set); 3] = [
        ("max_clients", 1, MAX_CLIENTS, |c, v| c.max_clients = v),
        ("transmit_capacity", 1, MAX_RING_CAPACITY, |c, v| c.transmit_capacity = v),
        ("event_capacity", 1, MAX_RING_CAPACITY, |c, v| c.event_capacity = v),
    ];
    let mut rng = SeededRng::from_u64(1);
    for (name, min, max, set) in settings {
        for value in [0, 1, max, max + 1, usize::MAX] {
            let mut c = ServerConfig::new(1, KEY, 2, addr(1));
            set(&mut c, value);
            match Server::new(Duration::ZERO, c, &mut rng) {
                Ok(_) => assert!((min..=max).contains(&value), "{name} = {value} accepted"),
                Err(ServerConfigError::OutOfRange { setting, value: v, min: lo, max: hi }) => {
                    assert_eq!((setting, v, lo, hi), (name, value, min, max));
                    assert!(!(min..=max).contains(&value), "{name} = {value} refused");
                }
            }
        }
    }
    // ServerConfig::new itself never overflows, whatever max_clients says.
    let c = ServerConfig::new(1, KEY, usize::MAX, addr(1));
    assert_eq!(c.transmit_capacity, MAX_RING_CAPACITY);
    assert!(matches!(
        Server::new(Duration::ZERO, c, &mut rng),
        Err(ServerConfigError::OutOfRange { setting: "max_clients", .. })
    ));
    for n in [0, 1, MAX_SERVER_ADDRESSES, MAX_SERVER_ADDRESSES + 1] {
        let mut c = ServerConfig::new(1, KEY, 2, addr(1));
        c.public_addresses = (0..n).map(|i| addr(i as u16)).collect();
        let result = Server::new(Duration::ZERO, c, &mut rng);
        assert_eq!(result.is_ok(), (1..=MAX_SERVER_ADDRESSES).contains(&n), "{n} addresses");
        if let Err(e) = result {
            assert!(e.to_string().contains("public_addresses"), "{e}");
        }
    }
}

#[test]
fn valid_request_gets_smaller_challenge() {
    let mut s = server(2);
    let (_, req) = request(1, 1);
    let now = Duration::from_secs(1000);
    s.handle_packet(now, addr(50), &req);
    let t = s.poll_transmit().unwrap();
    assert_eq!(t.destination, addr(50));
    assert!(t.contents.len() < req.len());
    assert_eq!(t.contents[0] & 0x0f, 2);
    assert!(s.poll_transmit().is_none());
    assert_eq!(s.poll_timeout(), Some(now + Duration::from_secs(5)));
    // The same token from another address is refused.
    s.handle_packet(now, addr(51), &req);
    assert_eq!(s.stats().dropped(DropReason::TokenInUse), 1);
    assert!(s.poll_transmit().is_none());
}

#[test]
fn request_checks() {
    let mut s = server(2);
    let (_, req) = request(1, 1);
    s.handle_packet(Duration::from_secs(1100), addr(50), &req);
    assert_eq!(s.stats().dropped(DropReason::TokenExpired), 1);
    let mut bad = req.clone();
    bad[100] ^= 1;
    s.handle_packet(Duration::from_secs(1000), addr(50), &bad);
    assert_eq!(s.stats().dropped(DropReason::TokenDecryptFailed), 1);
    s.handle_packet(Duration::from_secs(1000), addr(50), &req[..req.len() - 1]);
    assert_eq!(s.stats().dropped(DropReason::BadSize), 1);
    s.handle_packet(Duration::from_secs(1000), addr(50), &[]);
    assert_eq!(s.stats().dropped(DropReason::TooSmall), 1);
    assert!(s.poll_transmit().is_none());
    assert_eq!(s.stats().packets_sent, 0);
}

#[test]
fn pending_entries_expire() {
    let mut s = server(1);
    let (_, req) = request(1, 1);
    let now = Duration::from_secs(1000);
    s.handle_packet(now, addr(50), &req);
    s.handle_timeout(now + Duration::from_secs(6));
    assert_eq!(s.poll_timeout(), None);
}

#[test]
fn send_to_unknown_slot_fails() {
    let mut s = server(1);
    assert_eq!(s.send_payload(Duration::ZERO, 0, b"x"), Err(SendError::NotConnected));
    assert_eq!(s.send_payload(Duration::ZERO, 9, b"x"), Err(SendError::NotConnected));
    assert_eq!(s.send_payload(Duration::ZERO, 0, b""), Err(SendError::BadPayloadSize));
    assert!(!s.disconnect(Duration::ZERO, 0));
    assert_eq!(s.client_id(0), None);
    assert_eq!(s.user_data(0), None);
    assert_eq!(s.num_connected(), 0);
    assert_eq!(s.max_clients(), 1);
}

#[test]
fn token_for_another_server_is_ignored() {
    let mut s =
        Server::new(Duration::from_secs(1000), ServerConfig::new(PROTO, KEY, 2, addr(2)), &mut SeededRng::from_u64(5))
            .unwrap();
    let (_, req) = request(1, 1);
    s.handle_packet(Duration::from_secs(1000), addr(50), &req);
    assert_eq!(s.stats().dropped(DropReason::NotInHostList), 1);
    assert!(s.poll_transmit().is_none());
}

/// Drives one client through the handshake by hand; returns the server and the client's keys.
fn connected(max: usize) -> (Server, ConnectToken) {
    let mut s = server(max);
    let (token, req) = request(1, 1);
    let now = Duration::from_secs(1000);
    s.handle_packet(now, addr(50), &req);
    let challenge = s.poll_transmit().unwrap().contents.to_vec();
    let h = packet::peek_header(&challenge, Receiver::Client).unwrap();
    let mut scratch = [0u8; MAX_PACKET_BYTES];
    let mut replay = ReplayProtection::new();
    let Packet::Challenge { token_sequence, token: ct } =
        packet::open(&challenge, &h, &mut scratch, PROTO, &token.server_to_client_key, &mut replay).unwrap()
    else {
        panic!("not a challenge")
    };
    let ct = *ct;
    let mut out = [0u8; MAX_PACKET_BYTES];
    let resp = Packet::Response { token_sequence, token: &ct };
    let n = packet::encode(&resp, 1, &token.client_to_server_key, PROTO, &mut out).unwrap();
    assert!(n < req.len());
    s.handle_packet(now, addr(50), &out[..n]);
    assert!(matches!(s.poll_event(), Some(ServerEvent::Connected { client_index: 0, client_id: 1, .. })));
    assert_eq!(s.poll_transmit().map(|t| t.contents[0] & 0x0f), Some(4));
    (s, token)
}

#[test]
fn unconfirmed_clients_get_keep_alive_before_payload() {
    let (mut s, token) = connected(2);
    let now = Duration::from_secs(1000);
    s.send_payload(now, 0, b"a").unwrap();
    let types: Vec<u8> = std::iter::from_fn(|| s.poll_transmit().map(|t| t.contents[0] & 0x0f)).collect();
    assert_eq!(types, vec![4, 5]);
    // The client confirms with a keep-alive; afterwards payloads go alone.
    let mut out = [0u8; MAX_PACKET_BYTES];
    let ka = Packet::KeepAlive { client_index: 0, max_clients: 0 };
    let n = packet::encode(&ka, 2, &token.client_to_server_key, PROTO, &mut out).unwrap();
    s.handle_packet(now, addr(50), &out[..n]);
    s.send_payload(now, 0, b"b").unwrap();
    let types: Vec<u8> = std::iter::from_fn(|| s.poll_transmit().map(|t| t.contents[0] & 0x0f)).collect();
    assert_eq!(types, vec![5]);
    assert_eq!(s.stats().dropped_total(), 0);
}

#[test]
fn keep_alives_timeouts_and_disconnect_packets() {
    let (mut s, _) = connected(1);
    let t0 = Duration::from_secs(1000);
    assert_eq!(s.poll_timeout(), Some(t0 + SEND_INTERVAL));
    s.handle_timeout(t0 + SEND_INTERVAL);
    assert_eq!(s.poll_transmit().map(|t| t.contents[0] & 0x0f), Some(4));
    assert!(s.poll_transmit().is_none());
    s.handle_timeout(t0 + Duration::from_secs(5));
    assert_eq!(s.num_connected(), 0);
    let n = std::iter::from_fn(|| s.poll_transmit().map(|t| t.contents[0] & 0x0f)).filter(|t| *t == 6).count();
    assert_eq!(n, NUM_DISCONNECT_PACKETS);
    assert!(matches!(
        s.poll_event(),
        Some(ServerEvent::Disconnected { client_index: 0, client_id: 1, reason: DisconnectReason::TimedOut })
    ));
    assert_eq!(s.stats().disconnects, 1);
}

#[test]
fn full_server_denies_with_a_small_packet() {
    let (mut s, _) = connected(1);
    let (_, req) = request(2, 2);
    s.handle_packet(Duration::from_secs(1000), addr(60), &req);
    let t = s.poll_transmit().unwrap();
    assert_eq!(t.contents[0] & 0x0f, 1);
    assert!(t.contents.len() <= 1 + 8 + 16);
    assert_eq!(s.stats().denied_sent, 1);
}
