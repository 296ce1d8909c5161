//! A player (or spectator) on the network: the connection layer's client and a frame-sync
//! [`RoomClient`] as one sans-IO state machine.
//!
//! Inputs: [`NetClient::handle_datagram`], [`NetClient::handle_timeout`], and [`NetClient::tick`]
//! once per frame at the room's tick rate. Outputs: [`NetClient::poll_transmit`] until `None`,
//! [`NetClient::poll_timeout`].

use std::net::SocketAddr;
use std::time::Duration;

use framelock_core::{Error, Outcome, Simulation};

use crate::netcode::{Client, ConnectToken, Transmit};
use crate::sync::msg::MAX_MESSAGE;
use crate::sync::RoomClient;

/// A networked room client.
#[derive(Debug)]
pub struct NetClient<S> {
    conn: Client,
    room: RoomClient<S>,
    buf: Vec<u8>,
}

impl<S: Simulation> NetClient<S> {
    /// Connects with `token` (whose user data names the room and slot) and plays through `room`.
    pub fn new(now: Duration, token: ConnectToken, room: RoomClient<S>) -> Self {
        NetClient { conn: Client::new(now, token), room, buf: vec![0; MAX_MESSAGE] }
    }

    /// Takes a datagram from the network; bundles go to the room client.
    pub fn handle_datagram(&mut self, now: Duration, from: SocketAddr, bytes: &[u8]) {
        self.conn.handle_packet(now, from, bytes);
        while let Some(payload) = self.conn.poll_payload() {
            // A malformed bundle is dropped and counted by the room client.
            let _ = self.room.handle_bundle(payload);
        }
    }

    /// Advances the connection's timers (handshake resends, keep-alives, timeouts).
    pub fn handle_timeout(&mut self, now: Duration) {
        self.conn.handle_timeout(now);
    }

    /// One frame: catches up with frames the relay already confirmed, plays `input`, and sends the
    /// update (and any snapshot-transfer message due: a client behind the room's history starts
    /// from a verified snapshot, see docs/wire-protocol.md). Before the connection is up it does nothing and returns `None`.
    pub fn tick(&mut self, now: Duration, input: &[u8]) -> Result<Option<Outcome>, Error> {
        if !self.conn.is_connected() {
            return Ok(None);
        }
        self.room.catch_up(64)?;
        let outcome = self.room.tick(input)?;
        let len = self.room.poll_transmit(&mut self.buf);
        // A full queue drops this update; the next one repeats its inputs.
        let _ = self.conn.send_payload(now, &self.buf[..len]);
        // Snapshot transfers (providing one for a late joiner, acknowledging one as a joiner):
        // paced by the room client, resent until acknowledged, so a dropped one only costs time.
        while let Some(len) = self.room.poll_transfer(&mut self.buf) {
            let _ = self.conn.send_payload(now, &self.buf[..len]);
        }
        Ok(Some(outcome))
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit<'_>> {
        self.conn.poll_transmit()
    }

    /// When [`NetClient::handle_timeout`] must be called next.
    pub fn poll_timeout(&self) -> Option<Duration> {
        self.conn.poll_timeout()
    }

    /// Leaves: tells the relay (redundantly, as the connection layer does).
    pub fn disconnect(&mut self, now: Duration) {
        self.conn.disconnect(now);
    }

    /// True once the handshake is done.
    pub fn is_connected(&self) -> bool {
        self.conn.is_connected()
    }

    /// The connection layer's client.
    pub fn connection(&self) -> &Client {
        &self.conn
    }

    /// The frame-sync client (its session and simulation).
    pub fn room(&self) -> &RoomClient<S> {
        &self.room
    }
}
