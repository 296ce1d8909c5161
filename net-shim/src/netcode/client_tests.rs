#![allow(clippy::unwrap_used)]

use super::*;
use crate::netcode::{SeededRng, TokenParams, UserData};

fn token(timeout: i32, servers: &[SocketAddr]) -> ConnectToken {
    let params = TokenParams {
        protocol_id: 5,
        client_id: 9,
        create_timestamp: 100,
        expire_timestamp: 130,
        timeout_seconds: timeout,
        server_addresses: servers,
        user_data: UserData::default(),
    };
    ConnectToken::generate(&params, &[2; 32], &mut SeededRng::from_u64(3)).unwrap()
}

fn a(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

#[test]
fn sends_requests_at_the_send_rate_and_times_out_per_server() {
    let t0 = Duration::from_secs(100);
    let mut c = Client::new(t0, token(2, &[a(1), a(2)]));
    assert_eq!(c.state(), ClientState::SendingConnectionRequest);
    assert_eq!(c.poll_timeout(), Some(t0));
    c.handle_timeout(t0);
    let t = c.poll_transmit().unwrap();
    assert_eq!((t.destination, t.contents.len()), (a(1), crate::netcode::CONNECTION_REQUEST_BYTES));
    c.handle_timeout(t0 + Duration::from_millis(50));
    assert!(c.poll_transmit().is_none());
    c.handle_timeout(t0 + Duration::from_millis(100));
    assert!(c.poll_transmit().is_some());
    c.handle_timeout(t0 + Duration::from_secs(2));
    assert_eq!(c.state(), ClientState::SendingConnectionRequest);
    assert_eq!(c.server_address(), a(2));
    assert_eq!(c.poll_transmit().map(|t| t.destination), Some(a(2)));
    c.handle_timeout(t0 + Duration::from_secs(4));
    assert_eq!(c.state(), ClientState::ConnectionRequestTimedOut);
    assert!(c.state().is_error());
    assert_eq!(c.poll_timeout(), None);
}

#[test]
fn token_expiry_ends_connecting() {
    let t0 = Duration::from_secs(100);
    let mut c = Client::new(t0, token(-1, &[a(1)]));
    c.handle_timeout(t0 + Duration::from_secs(30));
    assert_eq!(c.state(), ClientState::ConnectTokenExpired);
    assert_eq!(ClientState::ConnectTokenExpired as i32, -6);
}

#[test]
fn ignores_strangers_and_garbage() {
    let t0 = Duration::from_secs(100);
    let mut c = Client::new(t0, token(5, &[a(1)]));
    c.handle_packet(t0, a(9), &[0x15; 40]);
    c.handle_packet(t0, a(1), &[0x15; 40]);
    c.handle_packet(t0, a(1), &[0x13; 400]);
    c.handle_packet(t0, a(1), &[]);
    assert_eq!(c.stats().dropped(DropReason::UnknownAddress), 1);
    assert_eq!(c.stats().dropped(DropReason::DecryptFailed), 1);
    assert_eq!(c.stats().dropped(DropReason::UnexpectedType), 1);
    assert_eq!(c.stats().dropped(DropReason::TooSmall), 1);
    assert_eq!(c.send_payload(t0, b"x"), Err(SendError::NotConnected));
    c.disconnect(t0);
    assert_eq!(c.state(), ClientState::Disconnected);
    assert!(c.poll_transmit().is_none());
}
