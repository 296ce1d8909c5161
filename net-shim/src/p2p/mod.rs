//! Peer-to-peer rollback over UDP, no server: what GGPO's `ggpo_start_session` and GGRS's
//! `P2PSession` do, with authenticated packets and no allocation per tick or packet.
//!
//! A [`P2pEndpoint`] is one process of a match: it owns a core session (peer-to-peer authority,
//! rollback or lockstep) and the simulation, knows its remote peers by address, plays one or more
//! local slots, and may host spectators; or it is a spectator of one player. It is sans-IO, like
//! the relay and the connection layer:
//!
//! 1. every received datagram: [`P2pEndpoint::handle_datagram`]`(now, from, bytes)`;
//! 2. [`P2pEndpoint::handle_timeout`]`(now)` at [`P2pEndpoint::poll_timeout`];
//! 3. once [`P2pEvent::Running`]: [`P2pEndpoint::tick`]`(now, inputs)` every frame (when `now`
//!    reaches [`P2pEndpoint::next_tick`]);
//! 4. drain [`P2pEndpoint::poll_transmit`] and [`P2pEndpoint::poll_event`].
//!
//! It implements [`crate::io::Endpoint`], so the mio [`UdpDriver`](crate::io::UdpDriver) (and its
//! link conditioner) runs it on a real socket. The protocol (synchronization, sealing, inputs and
//! acknowledgements, disconnect agreement, time sync, checksums) is specified in
//! `docs/p2p-protocol.md`.
//!
//! ```
//! use std::time::Duration;
//! use framelock_core::testing::HashSim;
//! use framelock_net::p2p::{P2pBuilder, P2pEvent};
//!
//! let (a_addr, b_addr) = ("10.0.0.1:7000".parse().unwrap(), "10.0.0.2:7000".parse().unwrap());
//! let build = |local: usize, remote, seed: u8| {
//!     P2pBuilder::new(2, 1)
//!         .key([9; 32])
//!         .rng_seed([seed; 32])
//!         .local_slot(local)
//!         .remote_slot(1 - local, remote)
//!         .max_snapshot_size(64)
//!         .build(Duration::ZERO, HashSim::new(0))
//! };
//! let mut a = build(0, b_addr, 1)?;
//! let mut b = build(1, a_addr, 2)?;
//! let mut now = Duration::ZERO;
//! for frame in 0..200u8 {
//!     // A perfect network: everything sent is delivered at once.
//!     for _ in 0..4 {
//!         while let Some(t) = a.poll_transmit() {
//!             let bytes = t.contents.to_vec();
//!             b.handle_datagram(now, a_addr, &bytes);
//!         }
//!         while let Some(t) = b.poll_transmit() {
//!             let bytes = t.contents.to_vec();
//!             a.handle_datagram(now, b_addr, &bytes);
//!         }
//!     }
//!     a.handle_timeout(now);
//!     b.handle_timeout(now);
//!     a.tick(now, &[frame])?;
//!     b.tick(now, &[frame / 2])?;
//!     now += Duration::from_millis(16);
//! }
//! let (sa, sb) = (a.driver().session(), b.driver().session());
//! assert!(sa.confirmed_until() > 150);
//! assert_eq!(sa.checksum(150), sb.checksum(150));
//! assert!(std::iter::from_fn(|| a.poll_event()).any(|e| e == P2pEvent::Running));
//! # Ok::<(), framelock_net::p2p::P2pError>(())
//! ```

mod builder;
mod endpoint;
mod peer;
mod recv;
mod send;
mod types;
mod wire;

pub use builder::{P2pBuilder, MAX_RECORD};
pub use endpoint::P2pEndpoint;
pub use types::{DropReason, DropStats, P2pError, P2pEvent, PeerId, PeerStats};
pub use wire::{open, seal, Header, HEADER, MARKER, MAX_DATAGRAM, PROTOCOL_VERSION, TAG};
