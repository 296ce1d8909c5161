//! The connection layer: the [netcode 1.02 standard](https://github.com/mas-bandwidth/netcode/blob/main/STANDARD.md)
//! as sans-IO state machines.
//!
//! * [`ConnectToken`] — minted by the web backend (or the `framelock token` CLI) with the private key it shares
//!   with the servers; its [`UserData`] names the room and slot ([`UserData::for_room_slot`]).
//! * [`Server`] — owns up to `max_clients` slots; negotiates request → challenge → response → connected,
//!   keep-alive, timeouts, payloads and redundant disconnects; counts every dropped packet in [`ServerStats`].
//! * [`Client`] — connects with a token, walks the standard's state machine ([`ClientState`]).
//! * [`packet`], [`ReplayProtection`] — the wire format and the replay window, usable on their own.
//!
//! # Driving the state machines
//!
//! Neither side reads a clock, touches a socket or asks the OS for randomness. Time is a [`Duration`] since the
//! Unix epoch passed as `now` (any epoch works as long as token timestamps use the same one); randomness comes from
//! an [`rand_core::RngCore`] the caller passes in (for example [`SeededRng`]). Per step, in this order:
//!
//! 1. for every received datagram: `handle_packet(now, from, bytes)`;
//! 2. application sends: `send_payload(now, ...)`, `disconnect(now, ...)`;
//! 3. `handle_timeout(now)` — keep-alives, retries, timeouts (cheap; call it every step or at `poll_timeout()`);
//! 4. drain `poll_event()` and `poll_transmit()` until they return `None`;
//! 5. sleep until `poll_timeout()` or the next datagram.
//!
//! Outgoing datagrams and received payloads live in rings preallocated at construction: after that no call
//! allocates. When a ring is full the datagram or event is dropped and counted (UDP loses packets anyway).
//!
//! # Nonces
//!
//! Every encrypted packet's nonce is its 64-bit sequence number. Sequences are never reused for the same key, also
//! when a server or client is re-created in the same process: each connection (server slot or client) and each
//! server's pre-connection traffic draws a fresh 2³²-packet *sequence block* from a process-wide counter
//! ([`sequence_block`]), whose value is also floored by the caller's clock in seconds so that a restarted process
//! starts above earlier blocks as long as it averaged fewer than one block per second. Connect-token nonces (24
//! random bytes) and challenge keys come from the caller's RNG, which must be cryptographically secure and not
//! re-seeded with the same seed in production. Because blocks are large, sequence numbers on the wire usually
//! take 5–8 bytes instead of 1–2.
//!
//! # Wire details and interoperability
//!
//! * The connection request carries the token's 24-byte nonce (1078 bytes in all), as netcode.c 1.02 and
//!   renetcode do; the STANDARD.md text still shows the 1.01 layout (8-byte sequence, 1062 bytes).
//! * Address types are 1 = IPv4, 2 = IPv6, and IPv6 addresses are eight little-endian `u16` groups, as the
//!   standard and netcode.c write them. renetcode writes IPv6 as 16 raw octets, so tokens with IPv6 server addresses
//!   do not interoperate with renetcode; IPv4 tokens do (tested in `tests/renetcode_interop.rs`).
//! * Sequence numbers take 1..=8 bytes; packets claiming 0 are dropped ([`DropReason::BadSequenceBytes`]), as in
//!   netcode.c. renetcode encodes sequence 0 with zero bytes, so its first challenge and first keep-alive to a
//!   client are dropped by us; their retransmissions connect.
//! * Replay protection covers keep-alive, payload and disconnect packets; the challenge token is ChaCha20-Poly1305
//!   IETF with no associated data; private tokens are XChaCha20-Poly1305 with `version | protocol id | expiry`.
//!
//! [`Duration`]: std::time::Duration

pub mod packet;

mod client;
mod crypto;
mod keyed;
mod queue;
mod replay;
mod rng;
mod server;
mod server_conn;
mod server_types;
mod stats;
mod timers;
mod token;
mod wire;

pub use client::{Client, ClientState};
pub use queue::Transmit;
pub use replay::ReplayProtection;
pub use rng::SeededRng;
pub use server::Server;
pub use server_types::{
    DisconnectReason, SendError, ServerConfig, ServerConfigError, ServerEvent, MAX_CLIENTS, MAX_RING_CAPACITY,
};
pub use stats::{ClientStats, DropReason, ServerStats};
pub(crate) use timers::Timers;
pub use token::{ConnectToken, PrivateConnectToken, TokenError, TokenParams, UserData};

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Version string of the protocol, with its null terminator.
pub const VERSION_INFO: &[u8; 13] = b"NETCODE 1.02\0";
/// Size of a serialized connect token.
pub const CONNECT_TOKEN_BYTES: usize = 2048;
/// Size of the encrypted private part of a connect token (including its 16-byte MAC).
pub const CONNECT_TOKEN_PRIVATE_BYTES: usize = 1024;
/// Size of the random nonce of a connect token (XChaCha20-Poly1305).
pub const CONNECT_TOKEN_NONCE_BYTES: usize = 24;
/// Size of a symmetric key.
pub const KEY_BYTES: usize = 32;
/// Size of an AEAD authentication tag.
pub const MAC_BYTES: usize = 16;
/// Size of the user data carried in a connect token.
pub const USER_DATA_BYTES: usize = 256;
/// Size of an encrypted challenge token.
pub const CHALLENGE_TOKEN_BYTES: usize = 300;
/// Maximum payload size of one payload packet.
pub const MAX_PAYLOAD_BYTES: usize = 1200;
/// Maximum number of server addresses in a connect token.
pub const MAX_SERVER_ADDRESSES: usize = 32;
/// Size of a connection request packet.
pub const CONNECTION_REQUEST_BYTES: usize = 1 + 13 + 8 + 8 + CONNECT_TOKEN_NONCE_BYTES + CONNECT_TOKEN_PRIVATE_BYTES;
/// Largest datagram either side sends or accepts: a full payload packet.
pub const MAX_PACKET_BYTES: usize = 1 + 8 + MAX_PAYLOAD_BYTES + MAC_BYTES;
/// Number of redundant disconnect packets sent when a connection is closed.
pub const NUM_DISCONNECT_PACKETS: usize = 10;
/// Entries in the replay protection window.
pub const REPLAY_BUFFER_SIZE: usize = 256;
/// Interval at which connection requests, responses and keep-alives are (re)sent.
pub const SEND_INTERVAL: Duration = Duration::from_millis(100);

/// Process-wide source of sequence blocks: see the module docs ("Nonces").
static SEQUENCE_BLOCKS: AtomicU64 = AtomicU64::new(0);

/// Draws a fresh sequence block: the returned value is a sequence number whose low 32 bits are zero and whose bit 63
/// is clear; no other call in this process returns the same block. `now` (the caller's clock) floors the block
/// number so that blocks also keep increasing across process restarts.
pub fn sequence_block(now: Duration) -> u64 {
    let floor = now.as_secs() & 0x7fff_ffff;
    let prev = SEQUENCE_BLOCKS
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |b| Some(b.max(floor).wrapping_add(1) & 0x7fff_ffff))
        .unwrap_or(0);
    ((prev.max(floor).wrapping_add(1)) & 0x7fff_ffff) << 32
}

/// The Unix timestamp in seconds of a caller-supplied `now`.
pub(crate) fn secs(now: Duration) -> u64 {
    now.as_secs()
}
