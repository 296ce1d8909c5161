//! Building and sealing the endpoint's messages (docs/p2p-protocol.md, "Messages").

use std::time::Duration;

use framelock_core::Simulation;
use rand_core::RngCore;

use super::endpoint::{P2pEndpoint, SEND_QUEUE};
use super::peer::{Role, RING};
use super::types::P2pEvent;
use super::wire::{
    self, Header, Writer, HEADER, MAX_DATAGRAM, MSG_INPUT, MSG_SPECTATE, MSG_SPECTATOR_ACK, MSG_SYNC_REPLY,
    MSG_SYNC_REQUEST, SPECTATOR_HANDLE, TAG,
};

/// Milliseconds of `now`, wrapping (timestamps echoed for round-trip times).
pub(super) fn ms(now: Duration) -> u32 {
    now.as_millis() as u32
}

/// Flags of Input and Spectate messages: which optional blocks follow.
pub(super) const FLAG_CHECKSUM: u8 = 1;
/// Disconnect reports follow.
pub(super) const FLAG_REPORTS: u8 = 2;
/// Forwarded inputs follow.
pub(super) const FLAG_FORWARDS: u8 = 4;
/// Each new checksum rides in this many messages to each peer.
const CHECKSUM_REPEATS: u8 = 4;

impl<S: Simulation> P2pEndpoint<S> {
    /// Seals `self.body[HEADER..HEADER + len]` for peer `i` and queues it.
    fn queue(&mut self, now: Duration, i: usize, len: usize) {
        let Some(mut t) = self.tx_free.pop() else {
            self.tx_dropped += 1;
            return;
        };
        let p = &mut self.peers[i];
        let to = if p.role == Role::Spectator { SPECTATOR_HANDLE } else { p.handle };
        let h = Header { from: self.handle, to, epoch: self.epoch, seq: p.send_seq };
        p.send_seq = p.send_seq.wrapping_add(1);
        t.buf[..HEADER + len].copy_from_slice(&self.body[..HEADER + len]);
        match wire::seal(&self.key, &h, &mut t.buf[..], HEADER + len) {
            Some(n) => {
                t.to = p.addr;
                t.len = n;
                p.packets_sent += 1;
                p.bytes_sent += n as u64;
                p.last_send = Some(now);
                self.tx.push_back(t);
            }
            None => self.tx_free.push(t),
        }
    }

    /// A synchronization request with a fresh random nonce.
    pub(super) fn send_sync_request(&mut self, now: Duration, i: usize) {
        let nonce = self.rng.next_u32();
        let p = &mut self.peers[i];
        p.sync_nonces[p.sync_next % p.sync_nonces.len()] = Some((nonce, now));
        p.sync_next += 1;
        p.sync_sent_at = Some(now);
        self.send_sync(now, i, MSG_SYNC_REQUEST, nonce);
    }

    /// The reply to a request: the same size, so nobody can use it to amplify traffic.
    pub(super) fn send_sync_reply(&mut self, now: Duration, i: usize, nonce: u32) {
        self.send_sync(now, i, MSG_SYNC_REPLY, nonce);
    }

    fn send_sync(&mut self, now: Duration, i: usize, ty: u8, nonce: u32) {
        let mut body = std::mem::take(&mut self.body);
        let mut w = Writer::new(&mut body[..MAX_DATAGRAM - TAG], HEADER);
        let ok = w.u8(ty) && w.u32(nonce) && self.wire.write(&mut w);
        let len = w.len() - HEADER;
        self.body = body;
        if ok {
            self.queue(now, i, len);
        }
    }

    /// The regular message to peer `i`: inputs to a player, confirmed frames to a spectator, an
    /// acknowledgement to the host.
    pub(super) fn send_update(&mut self, now: Duration, i: usize) {
        let mut body = std::mem::take(&mut self.body);
        let len = {
            let mut w = Writer::new(&mut body[..MAX_DATAGRAM - TAG], HEADER);
            let ty = match self.peers[i].role {
                Role::Player => MSG_INPUT,
                Role::Spectator => MSG_SPECTATE,
                Role::Host => MSG_SPECTATOR_ACK,
            };
            self.write_prefix(&mut w, now, i, ty);
            match ty {
                MSG_INPUT => self.write_input(&mut w, i),
                MSG_SPECTATE => self.write_spectate(&mut w, i),
                _ => {
                    let p = &self.peers[i];
                    w.u32(p.received_until);
                    w.u32(self.driver.session().current_frame());
                }
            }
            w.len() - HEADER
        };
        self.body = body;
        self.queue(now, i, len);
    }

    /// Type, timestamp, the peer's last timestamp and how long ago it arrived.
    fn write_prefix(&self, w: &mut Writer<'_>, now: Duration, i: usize, ty: u8) {
        let (echo, hold) = match self.peers[i].last_ts {
            Some((ts, at)) => (ts, now.saturating_sub(at).as_millis().min(60_000) as u16),
            None => (0, u16::MAX),
        };
        w.u8(ty);
        w.u32(ms(now));
        w.u32(echo);
        w.u16(hold);
    }

    /// The newest final checksum at a multiple of the interval, in the first
    /// `CHECKSUM_REPEATS` messages to peer `i` after it became final.
    fn checksum_due(&mut self, i: usize) -> Option<(u32, u64)> {
        let s = self.driver.session();
        let until = s.checksummed_until();
        let f = until.saturating_sub(1) / self.checksum_interval * self.checksum_interval;
        let c = s.checksum(f).filter(|_| until > 0)?;
        let p = &mut self.peers[i];
        if p.checksum_sent.0 != f {
            p.checksum_sent = (f, 0);
        }
        (p.checksum_sent.1 < CHECKSUM_REPEATS).then(|| {
            p.checksum_sent.1 += 1;
            (f, c)
        })
    }

    /// The flags byte and, when due, the checksum.
    fn write_flags_and_checksum(&mut self, w: &mut Writer<'_>, i: usize) -> usize {
        let flags_at = w.len();
        w.u8(0);
        if let Some((f, c)) = self.checksum_due(i) {
            if w.u32(f) && w.u64(c) {
                w.patch(flags_at, FLAG_CHECKSUM);
            }
        }
        flags_at
    }

    fn write_input(&mut self, w: &mut Writer<'_>, i: usize) {
        let cur = self.driver.session().current_frame();
        let p = &self.peers[i];
        w.u32(cur);
        w.u16(p.local_adv.clamp(-30_000, 30_000) as i16 as u16);
        w.u32(p.received_until);
        let flags_at = self.write_flags_and_checksum(w, i);
        let mut flags = if w.len() > flags_at + 1 { FLAG_CHECKSUM } else { 0 };
        let p = &self.peers[i];
        // Disconnect reports: every player this endpoint froze, with the frame it froze at.
        if self.peers.iter().any(|x| x.role == Role::Player && x.frozen.is_some()) {
            let at = w.len();
            w.u8(0);
            let mut n = 0u8;
            for x in self.peers.iter().filter(|x| x.role == Role::Player) {
                if let Some(f) = x.frozen {
                    if w.u8(x.handle) && w.u32(f) {
                        n += 1;
                    }
                }
            }
            w.patch(at, n);
            flags |= FLAG_REPORTS;
        }
        // Forwards: inputs of a frozen player this peer lacks (it reported a lower frame).
        let at = w.len();
        w.u8(0);
        let mut n = 0u8;
        for x in self.peers.iter().filter(|x| x.role == Role::Player) {
            let (Some(mine), Some(theirs)) = (x.frozen, x.reports[i]) else { continue };
            if theirs >= mine || mine - theirs > RING || w.room() < 8 + x.record_len {
                continue;
            }
            let head = w.len();
            w.u8(x.handle);
            w.u32(theirs);
            let count_at = w.len();
            w.u8(0);
            let mut c = 0u8;
            let mut f = theirs;
            while f < mine && c < u8::MAX {
                let prev = (c > 0).then(|| x.record(f - 1));
                if !wire::put_record(w, prev, x.record(f)) {
                    break;
                }
                c += 1;
                f += 1;
            }
            if c == 0 {
                w.truncate(head);
                continue;
            }
            w.patch(count_at, c);
            n += 1;
        }
        if n == 0 {
            w.truncate(at);
        } else {
            w.patch(at, n);
            flags |= FLAG_FORWARDS;
        }
        w.patch(flags_at, flags);
        // Every local input the peer has not acknowledged, oldest first.
        let queued = self.local_end.saturating_sub(p.acked);
        let start = p.acked.max(self.local_end.saturating_sub(RING));
        w.u32(start);
        let count_at = w.len();
        w.u8(0);
        let rec = self.n_local * self.input_size;
        let mut c = 0u8;
        let mut f = start;
        while f < self.local_end && c < u8::MAX {
            let at = |f: u32| (f % RING) as usize * rec;
            let prev = (c > 0).then(|| &self.local_ring[at(f - 1)..at(f - 1) + rec]);
            if !wire::put_record(w, prev, &self.local_ring[at(f)..at(f) + rec]) {
                break;
            }
            c += 1;
            f += 1;
        }
        w.patch(count_at, c);
        self.note_queue(i, queued);
    }

    fn write_spectate(&mut self, w: &mut Writer<'_>, i: usize) {
        self.write_flags_and_checksum(w, i);
        let p = &self.peers[i];
        let queued = self.spec_end.saturating_sub(p.acked);
        let start = p.acked.max(self.spec_end.saturating_sub(RING));
        w.u32(start);
        let count_at = w.len();
        w.u8(0);
        let rec = self.slots * (self.input_size + 1);
        let mut c = 0u8;
        let mut f = start;
        while f < self.spec_end && c < u8::MAX {
            let at = |f: u32| (f % RING) as usize * rec;
            let prev = (c > 0).then(|| &self.spec_ring[at(f - 1)..at(f - 1) + rec]);
            if !wire::put_record(w, prev, &self.spec_ring[at(f)..at(f) + rec]) {
                break;
            }
            c += 1;
            f += 1;
        }
        w.patch(count_at, c);
        self.note_queue(i, queued);
    }

    fn note_queue(&mut self, i: usize, queued: u32) {
        let p = &mut self.peers[i];
        if queued > SEND_QUEUE && !p.too_far {
            p.too_far = true;
            let peer = self.peer_id(i);
            self.push_event(P2pEvent::PeerTooFarBehind { peer, queued });
        } else if queued <= SEND_QUEUE / 2 {
            p.too_far = false;
        }
    }
}
