//! Interoperability with an independent netcode 1.02 implementation: the `renetcode` crate (2.0).
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::time::Duration;

use framelock_net::netcode::{
    Client, ClientState, ConnectToken, DropReason, SeededRng, Server, ServerConfig, ServerEvent, TokenParams, UserData,
    CONNECT_TOKEN_BYTES,
};
use renetcode::{ClientAuthentication, NetcodeClient, NetcodeServer, ServerAuthentication, ServerResult};

const PROTO: u64 = 0x0BAD_CAFE;
const KEY: [u8; 32] = [0x5A; 32];
const T0: u64 = 1_800_000_000;
const STEP: Duration = Duration::from_millis(10);

fn server_addr() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 40000))
}

fn client_addr() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 50000))
}

fn our_token(client_id: u64) -> ConnectToken {
    let params = TokenParams {
        protocol_id: PROTO,
        client_id,
        create_timestamp: T0,
        expire_timestamp: T0 + 60,
        timeout_seconds: 5,
        server_addresses: &[server_addr()],
        user_data: UserData::for_room_slot(55, 2),
    };
    ConnectToken::generate(&params, &KEY, &mut SeededRng::from_u64(client_id)).unwrap()
}

/// renetcode serializes a connect token as `[client id: u64]` followed by the standard's layout; everything after
/// that prefix is the standard 2048-byte token, so our bytes parse with renetcode's own reader.
fn to_renetcode_token(token: &ConnectToken, client_id: u64) -> renetcode::ConnectToken {
    let mut bytes = Vec::with_capacity(8 + CONNECT_TOKEN_BYTES);
    bytes.extend_from_slice(&client_id.to_le_bytes());
    bytes.extend_from_slice(&token.to_bytes());
    let t = renetcode::ConnectToken::read(&mut bytes.as_slice()).unwrap();
    assert_eq!(t.private_data, token.private_data);
    assert_eq!(t.xnonce, token.nonce);
    assert_eq!(t.server_addresses[0], Some(server_addr()));
    assert_eq!(t.client_to_server_key, token.client_to_server_key);
    assert_eq!(t.timeout_seconds, token.timeout_seconds);
    t
}

#[test]
fn renetcode_client_connects_to_our_server() {
    let mut now = Duration::from_secs(T0);
    let mut server =
        Server::new(now, ServerConfig::new(PROTO, KEY, 4, server_addr()), &mut SeededRng::from_u64(3)).unwrap();
    let token = our_token(777);
    let mut client =
        NetcodeClient::new(now, ClientAuthentication::Secure { connect_token: to_renetcode_token(&token, 777) })
            .unwrap();

    let mut connected_user_data = None;
    let mut server_got = Vec::new();
    let mut client_got = Vec::new();
    for step in 0..300 {
        now += STEP;
        if let Some((bytes, to)) = client.update(STEP) {
            assert_eq!(to, server_addr());
            server.handle_packet(now, client_addr(), bytes);
        }
        if client.is_connected() && step % 10 == 0 && step < 200 {
            let msg = format!("renet->us {step}");
            let (to, bytes) = client.generate_payload_packet(msg.as_bytes()).unwrap();
            assert_eq!(to, server_addr());
            server.handle_packet(now, client_addr(), bytes);
        }
        server.handle_timeout(now);
        while let Some(ev) = server.poll_event() {
            match ev {
                ServerEvent::Connected { client_id, user_data, .. } => {
                    assert_eq!(client_id, 777);
                    connected_user_data = user_data.room_slot();
                }
                ServerEvent::Payload { payload, .. } => server_got.push(payload.to_vec()),
                ServerEvent::Disconnected { .. } => {}
            }
        }
        if let Some(idx) = server.client_index(777) {
            if step % 10 == 5 && step < 200 {
                server.send_payload(now, idx, format!("us->renet {step}").as_bytes()).unwrap();
            }
        }
        while let Some(t) = server.poll_transmit() {
            assert_eq!(t.destination, client_addr());
            let mut buf = t.contents.to_vec();
            if let Some(p) = client.process_packet(&mut buf) {
                client_got.push(p.to_vec());
            }
        }
    }
    assert!(client.is_connected(), "{:?}", client.disconnect_reason());
    assert_eq!(connected_user_data, Some((55, 2)));
    assert!(server_got.len() >= 15, "{}", server_got.len());
    assert!(client_got.len() >= 15, "{}", client_got.len());
    assert!(server_got.iter().all(|p| p.starts_with(b"renet->us")));
    assert!(client_got.iter().all(|p| p.starts_with(b"us->renet")));
    assert_eq!(server.stats().dropped_total(), 0, "{:?}", server.stats());

    // renetcode's client disconnects: our server frees the slot.
    let (_, bytes) = client.disconnect().unwrap();
    server.handle_packet(now, client_addr(), bytes);
    assert_eq!(server.num_connected(), 0);
    assert!(matches!(server.poll_event(), Some(ServerEvent::Disconnected { client_id: 777, .. })));
}

#[test]
fn our_client_connects_to_renetcode_server() {
    let start = Duration::from_secs(T0);
    let mut now = start;
    let mut server = NetcodeServer::new(renetcode::ServerConfig {
        current_time: now,
        max_clients: 4,
        protocol_id: PROTO,
        public_addresses: vec![server_addr()],
        authentication: ServerAuthentication::Secure { private_key: KEY },
    });
    let mut client = Client::new(now, our_token(888));
    let mut server_got = Vec::new();
    let mut client_got = Vec::new();
    let mut to_client: Vec<Vec<u8>> = Vec::new();
    let mut zero_sequence_types = Vec::new();
    for step in 0..300 {
        now += STEP;
        server.update(STEP);
        client.handle_timeout(now);
        if client.is_connected() && step % 10 == 0 && step < 200 {
            client.send_payload(now, format!("us->renet {step}").as_bytes()).unwrap();
        }
        while let Some(t) = client.poll_transmit() {
            assert_eq!(t.destination, server_addr());
            let mut buf = t.contents.to_vec();
            match server.process_packet(client_addr(), &mut buf) {
                ServerResult::PacketToSend { payload, .. } => to_client.push(payload.to_vec()),
                ServerResult::ClientConnected { client_id, user_data, payload, .. } => {
                    assert_eq!(client_id, 888);
                    assert_eq!(UserData(*user_data).room_slot(), Some((55, 2)));
                    to_client.push(payload.to_vec());
                }
                ServerResult::Payload { payload, .. } => server_got.push(payload.to_vec()),
                ServerResult::None | ServerResult::ClientDisconnected { .. } => {}
            }
        }
        if server.is_client_connected(888) {
            if let ServerResult::PacketToSend { payload, .. } = server.update_client(888) {
                to_client.push(payload.to_vec());
            }
            // renetcode does not send a keep-alive ahead of payloads to an unconfirmed client (the standard says
            // it should), so its application waits until the client has spoken before sending payloads.
            if step % 10 == 5 && step < 200 && !server_got.is_empty() {
                let (_, bytes) = server.generate_payload_packet(888, format!("renet->us {step}").as_bytes()).unwrap();
                to_client.push(bytes.to_vec());
            }
        }
        for bytes in to_client.drain(..) {
            if bytes[0] >> 4 == 0 {
                zero_sequence_types.push(bytes[0] & 0x0f);
            }
            client.handle_packet(now, server_addr(), &bytes);
        }
        while let Some(p) = client.poll_payload() {
            client_got.push(p.to_vec());
        }
    }
    assert_eq!(client.state(), ClientState::Connected);
    assert_eq!(client.max_clients(), 4);
    assert!(server_got.len() >= 15, "{}", server_got.len());
    assert!(client_got.len() >= 15, "{} {:?}", client_got.len(), client.stats());
    assert_eq!(client.stats().dropped(DropReason::DecryptFailed), 0);
    // renetcode encodes sequence number 0 with zero sequence bytes (prefix high nibble 0); the standard requires
    // 1..=8 and the reference implementation drops such packets, as we do: its first challenge (global sequence 0)
    // and first keep-alive (connection sequence 0) are dropped; their retransmissions (sequence >= 1) get through.
    assert_eq!(client.stats().dropped(DropReason::BadSequenceBytes), 2, "{:?}", client.stats());
    // Both carry nonce 0 under the same server-to-client key: renetcode reuses a (key, nonce) pair for two
    // different plaintexts (its challenge uses a global sequence and its keep-alive a per-connection one, both from 0).
    assert_eq!(zero_sequence_types, vec![2, 4]);

    // renetcode's server disconnects our client.
    if let ServerResult::ClientDisconnected { payload: Some(bytes), .. } = server.disconnect(888) {
        let bytes = bytes.to_vec();
        client.handle_packet(now, server_addr(), &bytes);
    }
    assert_eq!(client.state(), ClientState::Disconnected);
}
