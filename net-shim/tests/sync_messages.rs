//! The snapshot-transfer messages: they round-trip, and arbitrary bytes in any of them (and in the
//! room and client that receive them, in the middle of a transfer) are dropped or used, never a
//! panic.

mod common;

use framelock_net::sync::msg::{self, Chunk, ChunkAck, ChunkSet, SnapshotRequest, CHUNK, MAX_MESSAGE};
use framelock_net::sync::{Room, RoomConfig};
use quickcheck::QuickCheck;

#[test]
fn chunks_and_acknowledgements_round_trip() {
    fn prop(transfer: u32, frame: u32, len: u16, index: u16, checksum: u64, got: Vec<u16>) -> bool {
        let len = usize::from(len) % 9_000;
        let snapshot: Vec<u8> = (0..len).map(|i| i as u8).collect();
        let total = msg::chunks(len);
        let index = index % total as u16;
        let mut buf = [0u8; MAX_MESSAGE];
        let n = Chunk::encode(&mut buf, transfer, frame, checksum, 1, index, &snapshot);
        let Ok(c) = Chunk::decode(&buf[..n]) else { return false };
        let start = usize::from(index) * CHUNK;
        let ok = (c.transfer, c.frame, c.len as usize, c.checksum, c.flags, c.index)
            == (transfer, frame, len, checksum, 1, index)
            && c.bytes == &snapshot[start.min(len)..(start + CHUNK).min(len)];
        let mut set = ChunkSet::new(len);
        set.reset(total);
        for g in got {
            set.insert(usize::from(g) % (total + 2));
        }
        let ack = set.ack(transfer, msg::ACK_RECEIVING);
        let m = ack.encode(&mut buf);
        let back = ChunkAck::decode(&buf[..m]) == Ok(ack);
        let r = SnapshotRequest { transfer, min_frame: frame };
        let k = r.encode(&mut buf);
        // What the acknowledgement says arrived did arrive (it may leave out chunks far ahead).
        ok && back && SnapshotRequest::decode(&buf[..k]) == Ok(r) && (0..total).all(|i| !ack.has(i) || set.has(i))
    }
    QuickCheck::new().tests(300).quickcheck(prop as fn(u32, u32, u16, u16, u64, Vec<u16>) -> bool);
}

#[test]
fn arbitrary_transfer_messages_never_panic_the_room_or_the_client() {
    fn prop(tag: u8, body: Vec<u8>, from: u8) -> bool {
        let mut bytes = vec![3 + tag % 3];
        bytes.extend_from_slice(&body);
        for decode in [
            |b: &[u8]| Chunk::decode(b).is_ok(),
            |b: &[u8]| ChunkAck::decode(b).is_ok(),
            |b: &[u8]| SnapshotRequest::decode(b).is_ok(),
        ] {
            decode(&bytes);
        }
        // A room in the middle of a transfer: slot 2 is behind its 16-frame history.
        let cfg = RoomConfig { slots: 3, history: 16, max_snapshot_size: 4_096, ..RoomConfig::default() };
        let mut room = Room::new(cfg).expect("room");
        for s in 0..3 {
            room.connect(s);
        }
        let mut buf = [0u8; MAX_MESSAGE];
        let mut now = 0;
        while room.next_close() < 40 {
            room.handle_timeout(now);
            now += 40_000;
        }
        let mut w = msg::Writer::new(&mut buf);
        let at = msg::begin_update(&mut w, 0, 40);
        msg::finish_update(&mut w, at, 0, &[]);
        let n = w.len();
        let update = buf[..n].to_vec();
        let _ = room.handle_update(now, 2, &update);
        room.handle_timeout(now);
        let _ = room.handle_update(now, usize::from(from % 4), &bytes);
        room.handle_timeout(now + 3_000_000);
        while room.poll_transmit(&mut buf).is_some() {}
        let mut client = common::hash_player_at(3, usize::from(from % 3), &[7], 0, 100);
        let _ = client.handle_bundle(&bytes);
        let _ = client.tick(&[1]);
        while client.poll_transfer(&mut buf).is_some() {}
        true
    }
    QuickCheck::new().tests(300).quickcheck(prop as fn(u8, Vec<u8>, u8) -> bool);
}

#[test]
fn arbitrary_chunks_and_acks_mid_transfer_are_dropped_or_used_never_a_panic() {
    fn prop(id: u8, frame: u8, len: u16, index: u16, checksum: u8, acks: Vec<(u16, u64, u8)>) -> bool {
        let cfg = RoomConfig { slots: 3, history: 16, max_snapshot_size: 4_096, ..RoomConfig::default() };
        let mut room = Room::new(cfg).expect("room");
        for s in 0..3 {
            room.connect(s);
        }
        let mut buf = [0u8; MAX_MESSAGE];
        let mut now = 0;
        while room.next_close() < 40 {
            room.handle_timeout(now);
            now += 40_000;
        }
        let update = |next_bundle: u32, checksums: &[(u32, u64)]| {
            let mut b = [0u8; MAX_MESSAGE];
            let mut w = msg::Writer::new(&mut b);
            let at = msg::begin_update(&mut w, next_bundle, 40);
            msg::finish_update(&mut w, at, 0, checksums);
            let n = w.len();
            b[..n].to_vec()
        };
        // Slots 0 and 1 agree on frame 30 (trusted); slot 2 is behind the history.
        let _ = room.handle_update(now, 2, &update(0, &[]));
        let _ = room.handle_update(now, 0, &update(40, &[(30, 5)]));
        let _ = room.handle_update(now, 1, &update(40, &[(30, 5)]));
        room.handle_timeout(now);
        while room.poll_transmit(&mut buf).is_some() {}
        let len = usize::from(len) % 6_000;
        let snapshot = vec![checksum; len];
        let index = index % (msg::chunks(len) as u16 + 1);
        let n = Chunk::encode(
            &mut buf,
            u32::from(id % 4),
            20 + u32::from(frame % 30),
            u64::from(checksum % 6),
            0,
            index,
            &snapshot,
        );
        let chunk = buf[..n].to_vec();
        for from in 0..3 {
            let _ = room.handle_update(now, from, &chunk);
        }
        for (until, mask, status) in acks {
            let a = ChunkAck { transfer: u32::from(id % 4), status: status % 4, until, mask };
            let n = a.encode(&mut buf);
            let ack = buf[..n].to_vec();
            let _ = room.handle_update(now, 2, &ack);
            let _ = room.handle_update(now, 0, &ack);
            room.handle_timeout(now);
            while room.poll_transmit(&mut buf).is_some() {}
            now += 500_000;
        }
        room.handle_timeout(now + 10_000_000);
        while room.poll_transmit(&mut buf).is_some() {}
        true
    }
    QuickCheck::new().tests(300).quickcheck(prop as fn(u8, u8, u16, u16, u8, Vec<(u16, u64, u8)>) -> bool);
}
