//! Receiving: the cheap checks, opening, and applying each message (docs/p2p-protocol.md).

use std::net::SocketAddr;
use std::time::Duration;

use framelock_core::{Error, Frame, Simulation};

use super::endpoint::{handles_match, P2pEndpoint, SYNC_ROUNDS};
use super::peer::Role;
use super::send::{ms, FLAG_CHECKSUM, FLAG_FORWARDS, FLAG_REPORTS};
use super::types::{DropReason, P2pEvent};
use super::wire::{
    self, Header, Reader, WireConfig, HEADER, MAX_DATAGRAM, MSG_INPUT, MSG_SPECTATE, MSG_SPECTATOR_ACK, MSG_SYNC_REPLY,
    MSG_SYNC_REQUEST, TAG,
};

impl<S: Simulation> P2pEndpoint<S> {
    /// Everything about one datagram; an error is the reason it was dropped.
    pub(super) fn receive(&mut self, now: Duration, from: SocketAddr, bytes: &[u8]) -> Result<(), DropReason> {
        // Cheap checks first: nothing is decrypted for a datagram that cannot be a peer's.
        if bytes.len() <= HEADER + TAG || bytes.len() > MAX_DATAGRAM {
            return Err(DropReason::Malformed);
        }
        let h = Header::read(bytes).ok_or(DropReason::Malformed)?;
        let i = self.peers.iter().position(|p| p.addr == from).ok_or(DropReason::UnknownAddress)?;
        let p = &mut self.peers[i];
        if !handles_match(p, &h, self.handle) {
            return Err(DropReason::WrongHandle);
        }
        let new_epoch = p.epoch.is_some_and(|e| e != h.epoch);
        if new_epoch && p.refused_reported {
            return Err(DropReason::WrongEpoch);
        }
        if !new_epoch && p.epoch.is_some() && p.replay.already_received(u64::from(h.seq)) {
            p.packets_duplicated += 1;
            return Err(DropReason::Replayed);
        }
        let mut rx = std::mem::take(&mut self.rx);
        let n = bytes.len();
        rx[..n].copy_from_slice(bytes);
        let result = match wire::open(&self.key, &h, &mut rx[..n]) {
            Some(body) => self.dispatch(now, i, &h, n, body, new_epoch),
            None => Err(DropReason::Unauthenticated),
        };
        self.rx = rx;
        result
    }

    /// Counts an authenticated datagram from peer `i`.
    fn accept(&mut self, now: Duration, i: usize, h: &Header, len: usize) {
        let p = &mut self.peers[i];
        p.replay.advance(u64::from(h.seq));
        p.seq_received(h.seq);
        p.packets_received += 1;
        p.bytes_received += len as u64;
        p.last_recv = now;
        if p.interrupted {
            p.interrupted = false;
            let peer = self.peer_id(i);
            self.push_event(P2pEvent::NetworkResumed { peer });
        }
    }

    fn dispatch(
        &mut self,
        now: Duration,
        i: usize,
        h: &Header,
        len: usize,
        body: &[u8],
        new_epoch: bool,
    ) -> Result<(), DropReason> {
        if new_epoch {
            // Authenticated, from the peer's address, under another epoch: a new process. Refused
            // (docs: "A peer that comes back"); reported once, dropped cheaply afterwards.
            self.peers[i].refused_reported = true;
            let peer = self.peer_id(i);
            self.push_event(P2pEvent::NewSessionRefused { peer });
            return Err(DropReason::WrongEpoch);
        }
        let (&ty, rest) = body.split_first().ok_or(DropReason::BadBody)?;
        let mut r = Reader::new(rest);
        if ty == MSG_SYNC_REQUEST || ty == MSG_SYNC_REPLY {
            return self.on_sync(now, i, h, len, ty, &mut r);
        }
        let p = &self.peers[i];
        if p.epoch.is_none() || p.frozen.is_some() {
            return Err(DropReason::Unexpected);
        }
        let expected = match p.role {
            Role::Player => MSG_INPUT,
            Role::Spectator => MSG_SPECTATOR_ACK,
            Role::Host => MSG_SPECTATE,
        };
        if ty != expected {
            return Err(DropReason::Unexpected);
        }
        let bad = DropReason::BadBody;
        let (ts, echo, hold) = (r.u32().ok_or(bad)?, r.u32().ok_or(bad)?, r.u16().ok_or(bad)?);
        self.accept(now, i, h, len);
        let p = &mut self.peers[i];
        p.last_ts = Some((ts, now));
        if hold != u16::MAX {
            let rtt = ms(now).wrapping_sub(echo).wrapping_sub(u32::from(hold));
            if rtt < 60_000 {
                p.rtt_sample(rtt);
            }
        }
        let result = match ty {
            MSG_INPUT => self.on_input(now, i, &mut r),
            MSG_SPECTATE => self.on_spectate(i, &mut r),
            _ => self.on_spectator_ack(i, &mut r),
        };
        self.apply_disconnects();
        result.ok_or(DropReason::BadBody)
    }

    fn on_sync(
        &mut self,
        now: Duration,
        i: usize,
        h: &Header,
        len: usize,
        ty: u8,
        r: &mut Reader<'_>,
    ) -> Result<(), DropReason> {
        let nonce = r.u32().ok_or(DropReason::BadBody)?;
        let cfg = WireConfig::read(r).ok_or(DropReason::BadBody)?;
        let p = &self.peers[i];
        let mut expected = WireConfig { sender_slots: p.slots, ..self.wire };
        if p.role == Role::Host {
            expected.sender_slots = cfg.sender_slots; // any player can host
        }
        if let Some((setting, local, remote)) = cfg.mismatch(&expected) {
            if !p.mismatch {
                self.peers[i].mismatch = true;
                let peer = self.peer_id(i);
                self.push_event(P2pEvent::ConfigMismatch { peer, setting, local, remote });
            }
            return Err(DropReason::ConfigMismatch);
        }
        if p.role == Role::Host && (cfg.sender_slots == 0 || h.from as u32 != cfg.sender_slots.trailing_zeros()) {
            return Err(DropReason::WrongHandle);
        }
        let p = &mut self.peers[i];
        if p.epoch.is_none() {
            p.epoch = Some(h.epoch);
            p.replay.reset();
            p.handle = h.from;
            if p.role == Role::Spectator {
                // A hosted spectator is served once it authenticated itself.
                p.synced = true;
                p.synced_at = now;
            }
        }
        self.accept(now, i, h, len);
        if ty == MSG_SYNC_REQUEST {
            self.send_sync_reply(now, i, nonce);
            return Ok(());
        }
        let p = &mut self.peers[i];
        let answered = p.sync_nonces.iter().position(|e| e.is_some_and(|(n, _)| n == nonce));
        let Some((k, false)) = answered.map(|k| (k, p.synced)) else {
            return Ok(()); // a late, repeated or unknown reply: harmless
        };
        let sent = p.sync_nonces[k].map_or(now, |e| e.1);
        p.sync_nonces[k] = None;
        p.rtt_sample(now.saturating_sub(sent).as_millis() as u32);
        p.sync_done += 1;
        let (done, peer) = (p.sync_done, self.peer_id(i));
        self.push_event(P2pEvent::Synchronizing { peer, done, total: SYNC_ROUNDS });
        if done < SYNC_ROUNDS {
            self.send_sync_request(now, i);
            return Ok(());
        }
        let p = &mut self.peers[i];
        p.synced = true;
        p.synced_at = now;
        p.last_recv = now;
        self.push_event(P2pEvent::Synchronized { peer });
        if !self.running && self.peers.iter().all(|p| p.synced || p.role == Role::Spectator) {
            self.running = true;
            self.next_tick = Some(now);
            for p in &mut self.peers {
                p.last_recv = p.last_recv.max(now);
            }
            self.push_event(P2pEvent::Running);
        }
        Ok(())
    }

    fn add_checksum(&mut self, i: usize, frame: Frame, value: u64) {
        let p = &mut self.peers[i];
        if p.last_checksum.is_some_and(|l| l >= frame) {
            return;
        }
        p.last_checksum = Some(frame);
        let slot = usize::from(p.handle);
        // Too old for the history, or too many ahead: not compared (the next ones are).
        let _ = self.driver.session_mut().add_remote_checksum(slot, frame, value);
    }

    fn on_input(&mut self, now: Duration, i: usize, r: &mut Reader<'_>) -> Option<()> {
        let frame = r.u32()?;
        let adv = r.u16()? as i16;
        let ack = r.u32()?;
        let flags = r.u8()?;
        if flags & !(FLAG_CHECKSUM | FLAG_REPORTS | FLAG_FORWARDS) != 0 {
            return None;
        }
        let local_end = self.local_end;
        let p = &mut self.peers[i];
        p.remote_frame = frame;
        p.remote_frame_at = now;
        p.remote_adv = i32::from(adv);
        p.acked = p.acked.max(ack.min(local_end));
        if flags & FLAG_CHECKSUM != 0 {
            let (ck_frame, ck) = (r.u32()?, r.u64()?);
            self.add_checksum(i, ck_frame, ck);
        }
        let reports = if flags & FLAG_REPORTS != 0 { r.u8()? } else { 0 };
        for _ in 0..reports {
            let (handle, f) = (r.u8()?, r.u32()?);
            let Some(x) = self.player_by_handle(handle).filter(|&x| x != i) else { continue };
            let rep = &mut self.peers[x].reports[i];
            *rep = Some(rep.map_or(f, |old| old.max(f)));
            if self.peers[x].frozen.is_none() {
                self.freeze(x);
            }
        }
        let forwards = if flags & FLAG_FORWARDS != 0 { r.u8()? } else { 0 };
        for _ in 0..forwards {
            let handle = r.u8()?;
            let x = self.player_by_handle(handle).filter(|&x| x != i);
            let start = r.u32()?;
            let count = r.u8()?;
            let rec = self.peers[x?].record_len;
            self.read_records(r, x?, start, count, rec, true)?;
        }
        let start = r.u32()?;
        let count = r.u8()?;
        let rec = self.peers[i].record_len;
        self.read_records(r, i, start, count, rec, false)?;
        r.is_empty().then_some(())
    }

    fn player_by_handle(&self, handle: u8) -> Option<usize> {
        self.peers.iter().position(|p| p.role == Role::Player && p.handle == handle)
    }

    /// Decodes `count` records of player `x` from `start` and adds the new ones: its own inputs
    /// (`forwarded` false) or, once it is frozen, inputs another player forwards.
    fn read_records(
        &mut self,
        r: &mut Reader<'_>,
        x: usize,
        start: Frame,
        count: u8,
        rec: usize,
        forwarded: bool,
    ) -> Option<()> {
        let mut buf = std::mem::take(&mut self.rec);
        let mut usable = true;
        let mut out = Some(());
        for k in 0..u32::from(count) {
            if wire::get_record(r, k > 0, &mut buf[..rec]).is_none() {
                out = None;
                break;
            }
            let f = start.saturating_add(k);
            let p = &self.peers[x];
            if !usable || f != p.received_until || forwarded != p.frozen.is_some() {
                continue;
            }
            let slots = p.slots;
            let mut chunks = buf[..rec].chunks(self.input_size);
            for s in (0..self.slots).filter(|s| slots >> s & 1 == 1) {
                match self.driver.session_mut().add_remote_input(s, f, chunks.next().unwrap_or(&[])) {
                    Ok(()) | Err(Error::AlreadyConfirmed { .. }) => {}
                    // Past the window: the rest comes again.
                    Err(_) => usable = false,
                }
            }
            if usable {
                let p = &mut self.peers[x];
                p.record_mut(f).copy_from_slice(&buf[..rec]);
                p.received_until = f + 1;
                if forwarded {
                    p.frozen = Some(f + 1);
                }
            }
        }
        self.rec = buf;
        out
    }

    fn on_spectate(&mut self, i: usize, r: &mut Reader<'_>) -> Option<()> {
        let flags = r.u8()?;
        if flags & !FLAG_CHECKSUM != 0 {
            return None;
        }
        if flags & FLAG_CHECKSUM != 0 {
            let (ck_frame, ck) = (r.u32()?, r.u64()?);
            self.add_checksum(i, ck_frame, ck);
        }
        let start = r.u32()?;
        let count = r.u8()?;
        let rec = self.slots * (self.input_size + 1);
        let mut buf = std::mem::take(&mut self.rec);
        let mut usable = true;
        let mut out = Some(());
        for k in 0..u32::from(count) {
            if wire::get_record(r, k > 0, &mut buf[..rec]).is_none() {
                out = None;
                break;
            }
            let f = start.saturating_add(k);
            if !usable || f != self.peers[i].received_until {
                continue;
            }
            let session = self.driver.session_mut();
            for (s, chunk) in buf[..rec].chunks(self.input_size + 1).enumerate() {
                let (status, bytes) = (chunk[0], &chunk[1..]);
                let added = match status {
                    0 => session.add_remote_input(s, f, bytes),
                    1 => session.add_disconnected_input(s, f, bytes),
                    _ => session.add_substituted_input(s, f, bytes),
                };
                match added {
                    Ok(()) | Err(Error::AlreadyConfirmed { .. }) => {}
                    Err(_) => usable = false,
                }
            }
            if usable {
                self.peers[i].received_until = f + 1;
            }
        }
        self.rec = buf;
        out?;
        r.is_empty().then_some(())
    }

    fn on_spectator_ack(&mut self, i: usize, r: &mut Reader<'_>) -> Option<()> {
        let (ack, frame) = (r.u32()?, r.u32()?);
        let spec_end = self.spec_end;
        let p = &mut self.peers[i];
        p.acked = p.acked.max(ack.min(spec_end));
        p.remote_frame = frame;
        r.is_empty().then_some(())
    }
}
