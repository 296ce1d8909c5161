//! Zero heap allocations per packet in steady state for the netcode connection layer: payloads both ways,
//! keep-alives, replayed, forged and garbage packets, connection requests from strangers — counted by a per-thread
//! counting global allocator after warm-up.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::time::Duration;

use framelock_net::netcode::{
    packet, Client, ConnectToken, SeededRng, Server, ServerConfig, ServerEvent, TokenParams, UserData, MAX_PACKET_BYTES,
};

#[global_allocator]
static GLOBAL: framelock_testkit::Counting = framelock_testkit::Counting;

const PROTO: u64 = 3;
const KEY: [u8; 32] = [8; 32];
const T0: u64 = 1_800_000_000;

#[test]
fn steady_state_allocates_nothing() {
    framelock_testkit::assert_counting();
    let saddr = SocketAddr::from(([10, 0, 0, 1], 1));
    let caddr = SocketAddr::from(([10, 0, 0, 2], 2));
    let stranger = SocketAddr::from(([6, 6, 6, 6], 6));
    let mut now = Duration::from_secs(T0);
    let mut rng = SeededRng::from_u64(1);
    let mut server = Server::new(now, ServerConfig::new(PROTO, KEY, 4, saddr), &mut rng).unwrap();
    let addrs = [saddr];
    let params = |client_id| TokenParams {
        protocol_id: PROTO,
        client_id,
        create_timestamp: T0,
        expire_timestamp: T0 + 600,
        timeout_seconds: 5,
        server_addresses: &addrs,
        user_data: UserData::for_room_slot(1, 0),
    };
    let token = ConnectToken::generate(&params(1), &KEY, &mut rng).unwrap();
    let stranger_token = ConnectToken::generate(&params(2), &[9; 32], &mut rng).unwrap();
    let mut stranger_request = [0u8; MAX_PACKET_BYTES];
    let req_len = packet::encode_request(&stranger_token, &mut stranger_request).unwrap();
    let mut client = Client::new(now, token);

    let mut last_client_packet = [0u8; MAX_PACKET_BYTES];
    let mut last_len = 0;
    let mut payloads = 0u64;
    let mut run = |steps: usize, now: &mut Duration, payloads: &mut u64| {
        for step in 0..steps {
            *now += Duration::from_millis(16);
            client.handle_timeout(*now);
            if client.is_connected() {
                client.send_payload(*now, &[step as u8; 64]).unwrap();
            }
            while let Some(t) = client.poll_transmit() {
                server.handle_packet(*now, caddr, t.contents);
                last_len = t.contents.len();
                last_client_packet[..last_len].copy_from_slice(t.contents);
            }
            // Replayed, forged, garbage and unauthenticated traffic.
            server.handle_packet(*now, caddr, &last_client_packet[..last_len]);
            last_client_packet[last_len.saturating_sub(1)] ^= 1;
            server.handle_packet(*now, stranger, &last_client_packet[..last_len]);
            server.handle_packet(*now, stranger, &[0x15; 40]);
            server.handle_packet(*now, stranger, &stranger_request[..req_len]);
            server.handle_timeout(*now);
            while let Some(ev) = server.poll_event() {
                if let ServerEvent::Payload { .. } = ev {
                    *payloads += 1;
                }
            }
            if let Some(i) = server.client_index(1) {
                server.send_payload(*now, i, &[0xAB; 200]).unwrap();
            }
            while let Some(t) = server.poll_transmit() {
                client.handle_packet(*now, saddr, t.contents);
            }
            while client.poll_payload().is_some() {}
        }
    };
    run(100, &mut now, &mut payloads); // handshake + warm-up
    let warm = payloads;
    let (allocs, reallocs, ()) = framelock_testkit::count(|| run(2000, &mut now, &mut payloads));
    assert!(payloads - warm >= 1900, "{}", payloads - warm);
    assert_eq!((allocs, reallocs), (0, 0), "heap allocations in steady state");
    assert!(client.is_connected());
    assert!(server.stats().dropped_total() >= 4 * 2000);
}
