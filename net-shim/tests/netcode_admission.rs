//! The connection layer's admission hook: `Server::handle_packet_with` asks the application, from a
//! client's id and token user data, whether it may connect, when its request arrives and again at its
//! challenge response; a refusal is a connection-denied packet, and the client never connects.

use std::net::SocketAddr;
use std::time::Duration;

use framelock_net::netcode::{
    Client, ClientState, ConnectToken, SeededRng, Server, ServerConfig, ServerEvent, TokenParams, UserData,
};

const PROTOCOL: u64 = 0xadd;
const KEY: [u8; 32] = [8; 32];

fn server_addr() -> SocketAddr {
    SocketAddr::from(([10, 0, 0, 1], 40_000))
}

fn client(now: Duration, id: u64, slot: u8) -> Client {
    let token = ConnectToken::generate(
        &TokenParams {
            protocol_id: PROTOCOL,
            client_id: id,
            create_timestamp: now.as_secs(),
            expire_timestamp: now.as_secs() + 60,
            timeout_seconds: 5,
            server_addresses: &[server_addr()],
            user_data: UserData::for_room_slot(1, slot),
        },
        &KEY,
        &mut SeededRng::from_u64(id),
    )
    .expect("token");
    Client::new(now, token)
}

/// Runs one client against the server for a second; `admit` sees every question. Returns the
/// client's state and the connect events.
fn run(admit: &mut dyn FnMut(u64, &UserData) -> bool, slot: u8) -> (ClientState, usize, u64) {
    let mut now = Duration::from_secs(1_800_000_000);
    let mut server = Server::new(now, ServerConfig::new(PROTOCOL, KEY, 4, server_addr()), &mut SeededRng::from_u64(1))
        .expect("server");
    let mut c = client(now, 7, slot);
    let from = SocketAddr::from(([10, 0, 1, 1], 50_000));
    let mut connects = 0;
    for _ in 0..100 {
        c.handle_timeout(now);
        while let Some(t) = c.poll_transmit() {
            server.handle_packet_with(now, from, t.contents, admit);
        }
        server.handle_timeout(now);
        while let Some(e) = server.poll_event() {
            connects += usize::from(matches!(e, ServerEvent::Connected { .. }));
        }
        while let Some(t) = server.poll_transmit() {
            c.handle_packet(now, server_addr(), t.contents);
        }
        now += Duration::from_millis(10);
    }
    (c.state(), connects, server.stats().denied_sent)
}

#[test]
fn an_admitted_client_connects_and_the_hook_sees_its_user_data() {
    let mut seen = Vec::new();
    let (state, connects, denied) = run(
        &mut |id, user_data| {
            seen.push((id, user_data.room_slot()));
            true
        },
        2,
    );
    assert_eq!((state, connects, denied), (ClientState::Connected, 1, 0));
    // Asked at the request and at the challenge response.
    assert!(seen.len() >= 2 && seen.iter().all(|s| *s == (7, Some((1, 2)))), "{seen:?}");
}

#[test]
fn a_refused_client_is_denied_at_its_request() {
    let (state, connects, denied) = run(&mut |_, user_data| user_data.room_slot() != Some((1, 3)), 3);
    assert_eq!((state, connects), (ClientState::ConnectionDenied, 0));
    assert!(denied >= 1);
}

#[test]
fn a_client_whose_answer_changes_before_its_response_is_denied_then() {
    // Yes at the request, no at the challenge response (another client took the slot meanwhile).
    let mut asked = 0;
    let (state, connects, denied) = run(
        &mut |_, _| {
            asked += 1;
            asked == 1
        },
        0,
    );
    assert_eq!((state, connects), (ClientState::ConnectionDenied, 0));
    assert!(denied >= 1 && asked >= 2);
}
