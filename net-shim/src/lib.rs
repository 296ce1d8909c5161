//! framelock networking.
//!
//! [`netcode`] is the connection layer: the netcode 1.02 standard (connect tokens, challenge/response,
//! AEAD-encrypted packets, replay protection, keep-alive, timeouts, redundant disconnect) as sans-IO state machines.
//! Frame-sync messages ride in its payloads: [`sync`] holds the relay's rooms (frame clocks, bundles,
//! time sync, checksum arbitration) and the players' room clients; [`relay::Relay`] and
//! [`player::NetClient`] put each on its connection. Everything here is sans-IO: whole rooms run in one
//! process on a virtual clock (see `tests/relay_netcode.rs`).
//!
//! # Quick start: a client and a server connecting in memory
//!
//! ```
//! use std::time::Duration;
//! use framelock_net::netcode::{Client, ConnectToken, SeededRng, Server, ServerConfig, ServerEvent, TokenParams, UserData};
//!
//! let server_addr = "127.0.0.1:40000".parse().unwrap();
//! let client_addr = "127.0.0.1:50000".parse().unwrap();
//! let key = [7u8; 32]; // shared by the token issuer and the servers
//! let mut rng = SeededRng::from_u64(1); // seed from the OS in production
//! let mut now = Duration::from_secs(1_700_000_000); // the caller's clock (Unix time)
//!
//! let mut server = Server::new(now, ServerConfig::new(0xF1, key, 8, server_addr), &mut rng).unwrap();
//! let token = ConnectToken::generate(
//!     &TokenParams {
//!         protocol_id: 0xF1,
//!         client_id: 42,
//!         create_timestamp: now.as_secs(),
//!         expire_timestamp: now.as_secs() + 30,
//!         timeout_seconds: 5,
//!         server_addresses: &[server_addr],
//!         user_data: UserData::for_room_slot(9, 1),
//!     },
//!     &key,
//!     &mut rng,
//! )
//! .unwrap();
//! let mut client = Client::new(now, token);
//!
//! let mut connected = None;
//! for _ in 0..10 {
//!     client.handle_timeout(now);
//!     while let Some(t) = client.poll_transmit() {
//!         server.handle_packet(now, client_addr, t.contents);
//!     }
//!     server.handle_timeout(now);
//!     while let Some(ev) = server.poll_event() {
//!         if let ServerEvent::Connected { client_index, user_data, .. } = ev {
//!             connected = Some((client_index, user_data.room_slot()));
//!         }
//!     }
//!     while let Some(t) = server.poll_transmit() {
//!         client.handle_packet(now, server_addr, t.contents);
//!     }
//!     now += Duration::from_millis(50);
//! }
//! assert!(client.is_connected());
//! assert_eq!(connected, Some((0, Some((9, 1)))));
//!
//! client.send_payload(now, b"input for frame 1").unwrap();
//! while let Some(t) = client.poll_transmit() {
//!     server.handle_packet(now, client_addr, t.contents);
//! }
//! match server.poll_event() {
//!     Some(ServerEvent::Payload { client_index: 0, payload, .. }) => assert_eq!(payload, b"input for frame 1"),
//!     other => panic!("{other:?}"),
//! }
//! ```
// Safe Rust everywhere but in `mmsg`, the batched syscalls, which opts in with its own `allow`.
#![deny(unsafe_code)]
#![deny(missing_docs)]

pub mod histogram;
pub mod io;
pub mod mmsg;
pub mod netcode;
pub mod p2p;
pub mod player;
pub mod relay;
mod relay_config;
pub mod sync;
pub mod sys;
pub mod workers;
