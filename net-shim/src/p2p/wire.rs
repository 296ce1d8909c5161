//! The peer-to-peer wire format (docs/p2p-protocol.md): the plaintext header, sealing with
//! ChaCha20-Poly1305, bounds-checked readers and writers, and the delta codec of input records.
//! Nothing here allocates.

use chacha20poly1305::aead::AeadInPlace;
use chacha20poly1305::{ChaCha20Poly1305, KeyInit, Nonce, Tag};

/// The first byte of every datagram (fixed forever; the protocol version travels sealed).
pub const MARKER: u8 = 0xFB;
/// The protocol version checked during synchronization.
pub const PROTOCOL_VERSION: u8 = 1;
/// Header bytes: marker, sender handle, receiver handle, sender epoch (u32), sequence (u32).
pub const HEADER: usize = 11;
/// The authentication tag.
pub const TAG: usize = 16;
/// The largest datagram sent or accepted.
pub const MAX_DATAGRAM: usize = 1200;
/// The handle a spectator sends with.
pub const SPECTATOR_HANDLE: u8 = 0xFF;

/// Message types (the first sealed byte).
pub const MSG_SYNC_REQUEST: u8 = 1;
/// A synchronization reply.
pub const MSG_SYNC_REPLY: u8 = 2;
/// Player to player: inputs, acks, time sync, checksum, disconnect reports, forwarded inputs.
pub const MSG_INPUT: u8 = 3;
/// Host to spectator: confirmed inputs of every slot.
pub const MSG_SPECTATE: u8 = 4;
/// Spectator to host: acknowledgement.
pub const MSG_SPECTATOR_ACK: u8 = 5;

/// The plaintext header of a datagram (also the associated data of its seal).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// The sender's handle: its lowest local slot, or 0xFF for a spectator.
    pub from: u8,
    /// The receiver's handle.
    pub to: u8,
    /// The sender's random session epoch.
    pub epoch: u32,
    /// The sender's sequence number towards this receiver.
    pub seq: u32,
}

impl Header {
    /// Writes the header's bytes.
    pub fn write(&self, out: &mut [u8; HEADER]) {
        out[0] = MARKER;
        out[1] = self.from;
        out[2] = self.to;
        out[3..7].copy_from_slice(&self.epoch.to_le_bytes());
        out[7..11].copy_from_slice(&self.seq.to_le_bytes());
    }

    /// Parses the header of a datagram; `None` for a datagram too short or not ours.
    pub fn read(bytes: &[u8]) -> Option<Header> {
        let h = bytes.get(..HEADER)?;
        let u32_at = |i: usize| u32::from_le_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
        (h[0] == MARKER).then(|| Header { from: h[1], to: h[2], epoch: u32_at(3), seq: u32_at(7) })
    }

    /// Sender, receiver, epoch and sequence: unique per key as long as epochs differ (docs).
    fn nonce(&self) -> Nonce {
        let mut n = [0u8; 12];
        n[0] = self.from;
        n[1] = self.to;
        n[4..8].copy_from_slice(&self.epoch.to_le_bytes());
        n[8..12].copy_from_slice(&self.seq.to_le_bytes());
        Nonce::from(n)
    }
}

/// Seals `buf[HEADER..len]` in place (header as associated data) and appends the tag; returns the
/// datagram's length, or `None` when the tag does not fit.
pub fn seal(key: &[u8; 32], h: &Header, buf: &mut [u8], len: usize) -> Option<usize> {
    let end = len.checked_add(TAG).filter(|&e| e <= buf.len() && len >= HEADER)?;
    let mut head = [0u8; HEADER];
    h.write(&mut head);
    buf[..HEADER].copy_from_slice(&head);
    let (data, rest) = buf[..end].split_at_mut(len);
    let body = &mut data[HEADER..];
    let tag = ChaCha20Poly1305::new(key.into()).encrypt_in_place_detached(&h.nonce(), &head, body).ok()?;
    rest.copy_from_slice(&tag);
    Some(end)
}

/// Opens a datagram in place: verifies the tag and decrypts; returns the body.
pub fn open<'a>(key: &[u8; 32], h: &Header, buf: &'a mut [u8]) -> Option<&'a [u8]> {
    let split = buf.len().checked_sub(TAG).filter(|&s| s >= HEADER)?;
    let (data, tag) = buf.split_at_mut(split);
    let (head, body) = data.split_at_mut(HEADER);
    ChaCha20Poly1305::new(key.into()).decrypt_in_place_detached(&h.nonce(), head, body, Tag::from_slice(tag)).ok()?;
    Some(body)
}

/// A bounds-checked writer into a fixed buffer: writes that do not fit are refused.
#[derive(Debug)]
pub struct Writer<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl<'a> Writer<'a> {
    pub fn new(buf: &'a mut [u8], start: usize) -> Self {
        Writer { buf, len: start }
    }
    pub fn len(&self) -> usize {
        self.len
    }
    pub fn room(&self) -> usize {
        self.buf.len() - self.len
    }
    pub fn bytes(&mut self, b: &[u8]) -> bool {
        match self.buf.get_mut(self.len..self.len + b.len()) {
            Some(d) => {
                d.copy_from_slice(b);
                self.len += b.len();
                true
            }
            None => false,
        }
    }
    pub fn u8(&mut self, v: u8) -> bool {
        self.bytes(&[v])
    }
    pub fn u16(&mut self, v: u16) -> bool {
        self.bytes(&v.to_le_bytes())
    }
    pub fn u32(&mut self, v: u32) -> bool {
        self.bytes(&v.to_le_bytes())
    }
    pub fn u64(&mut self, v: u64) -> bool {
        self.bytes(&v.to_le_bytes())
    }
    /// Overwrites one byte already written (a count filled in afterwards).
    pub fn patch(&mut self, at: usize, v: u8) {
        if let Some(b) = self.buf.get_mut(at) {
            *b = v;
        }
    }
    /// Moves the end back (a record that did not fit).
    pub fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }
}

/// A bounds-checked reader: every read past the end is `None`.
#[derive(Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, at: 0 }
    }
    pub fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        let b = self.buf.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(b)
    }
    pub fn u8(&mut self) -> Option<u8> {
        self.bytes(1).map(|b| b[0])
    }
    pub fn u16(&mut self) -> Option<u16> {
        self.bytes(2).map(|b| u16::from_le_bytes([b[0], b[1]]))
    }
    pub fn u32(&mut self) -> Option<u32> {
        self.bytes(4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    pub fn u64(&mut self) -> Option<u64> {
        let b = self.bytes(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Some(u64::from_le_bytes(a))
    }
    pub fn is_empty(&self) -> bool {
        self.at >= self.buf.len()
    }
}

/// The settings both sides of a link must agree on, sent in every synchronization message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WireConfig {
    pub version: u8,
    pub slots: u8,
    pub input_size: u16,
    pub tick_rate: u16,
    pub checksum_interval: u16,
    pub simulation_id: u64,
    /// The slots the sender plays (0 for a spectator).
    pub sender_slots: u64,
}

/// Bytes of an encoded [`WireConfig`].
#[cfg(test)]
pub const CONFIG_BYTES: usize = 1 + 1 + 2 + 2 + 2 + 8 + 8;

impl WireConfig {
    pub fn write(&self, w: &mut Writer<'_>) -> bool {
        w.u8(self.version)
            && w.u8(self.slots)
            && w.u16(self.input_size)
            && w.u16(self.tick_rate)
            && w.u16(self.checksum_interval)
            && w.u64(self.simulation_id)
            && w.u64(self.sender_slots)
    }

    pub fn read(r: &mut Reader<'_>) -> Option<WireConfig> {
        Some(WireConfig {
            version: r.u8()?,
            slots: r.u8()?,
            input_size: r.u16()?,
            tick_rate: r.u16()?,
            checksum_interval: r.u16()?,
            simulation_id: r.u64()?,
            sender_slots: r.u64()?,
        })
    }

    /// The first setting that differs from what `expected` says, with both values.
    pub fn mismatch(&self, expected: &WireConfig) -> Option<(&'static str, u64, u64)> {
        let pairs: [(&'static str, u64, u64); 7] = [
            ("protocol_version", expected.version.into(), self.version.into()),
            ("slots", expected.slots.into(), self.slots.into()),
            ("input_size", expected.input_size.into(), self.input_size.into()),
            ("tick_rate", expected.tick_rate.into(), self.tick_rate.into()),
            ("checksum_interval", expected.checksum_interval.into(), self.checksum_interval.into()),
            ("simulation_id", expected.simulation_id, self.simulation_id),
            ("peer_slots", expected.sender_slots, self.sender_slots),
        ];
        pairs.into_iter().find(|p| p.1 != p.2)
    }
}

/// Writes `record` delta-compressed against `prev`: a change mask (one bit per byte) and the bytes
/// that changed. With no `prev`, the record is written whole. Returns false when it does not fit
/// (the writer is left where it was).
pub fn put_record(w: &mut Writer<'_>, prev: Option<&[u8]>, record: &[u8]) -> bool {
    let start = w.len();
    let ok = match prev {
        None => w.bytes(record),
        Some(prev) => {
            let mut ok = true;
            for (chunk, pchunk) in record.chunks(8).zip(prev.chunks(8)) {
                let mask = chunk.iter().zip(pchunk).enumerate().fold(0u8, |m, (i, (a, b))| m | u8::from(a != b) << i);
                ok &= w.u8(mask);
                for (i, &b) in chunk.iter().enumerate() {
                    if mask >> i & 1 == 1 {
                        ok &= w.u8(b);
                    }
                }
            }
            ok
        }
    };
    if !ok {
        w.truncate(start);
    }
    ok
}

/// Reads a record written by [`put_record`] into `out` (which holds `prev` on entry when delta).
pub fn get_record(r: &mut Reader<'_>, delta: bool, out: &mut [u8]) -> Option<()> {
    if !delta {
        out.copy_from_slice(r.bytes(out.len())?);
        return Some(());
    }
    for chunk in out.chunks_mut(8) {
        let mask = r.u8()?;
        if chunk.len() < 8 && mask >> chunk.len() != 0 {
            return None;
        }
        for (i, b) in chunk.iter_mut().enumerate() {
            if mask >> i & 1 == 1 {
                *b = r.u8()?;
            }
        }
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use quickcheck::quickcheck;

    #[test]
    fn seal_open_and_tamper() {
        let key = [3u8; 32];
        let h = Header { from: 1, to: 2, epoch: 77, seq: 9 };
        let mut buf = [0u8; 64];
        buf[HEADER..HEADER + 5].copy_from_slice(b"hello");
        let n = seal(&key, &h, &mut buf, HEADER + 5).expect("fits");
        assert_eq!(n, HEADER + 5 + TAG);
        assert_eq!(Header::read(&buf[..n]), Some(h));
        let mut copy = buf;
        assert_eq!(open(&key, &h, &mut copy[..n]), Some(&b"hello"[..]));
        for i in 0..n {
            let mut copy = buf;
            copy[i] ^= 0x10;
            let hh = Header::read(&copy[..n]);
            assert!(hh.and_then(|hh| open(&key, &hh, &mut copy[..n]).map(|_| ())).is_none(), "byte {i}");
        }
        let mut copy = buf;
        assert!(open(&[4u8; 32], &h, &mut copy[..n]).is_none(), "wrong key");
        assert!(open(&key, &h, &mut copy[..5]).is_none(), "too short");
    }

    quickcheck! {
        fn records_roundtrip(prev: Vec<u8>, next: Vec<u8>) -> bool {
            let n = prev.len().min(next.len()).min(100);
            let (prev, next) = (&prev[..n], &next[..n]);
            let mut buf = [0u8; 256];
            let mut w = Writer::new(&mut buf, 0);
            assert!(put_record(&mut w, None, prev) && put_record(&mut w, Some(prev), next));
            let len = w.len();
            let mut r = Reader::new(&buf[..len]);
            let mut out = vec![0u8; n];
            get_record(&mut r, false, &mut out).is_some()
                && out == prev
                && get_record(&mut r, true, &mut out).is_some()
                && out == next
                && r.is_empty()
        }

        fn reader_never_panics(bytes: Vec<u8>) -> bool {
            let mut r = Reader::new(&bytes);
            let mut out = [0u8; 11];
            let _ = WireConfig::read(&mut r);
            let _ = get_record(&mut r, true, &mut out);
            let _ = get_record(&mut r, false, &mut out);
            true
        }
    }

    #[test]
    fn config_size() {
        let mut buf = [0u8; 64];
        let mut w = Writer::new(&mut buf, 0);
        let c = WireConfig {
            version: 1,
            slots: 2,
            input_size: 3,
            tick_rate: 4,
            checksum_interval: 5,
            simulation_id: 6,
            sender_slots: 7,
        };
        assert!(c.write(&mut w));
        assert_eq!(w.len(), CONFIG_BYTES);
        let mut r = Reader::new(&buf[..CONFIG_BYTES]);
        assert_eq!(WireConfig::read(&mut r), Some(c));
        assert_eq!(c.mismatch(&c), None);
        let other = WireConfig { tick_rate: 9, ..c };
        assert_eq!(other.mismatch(&c), Some(("tick_rate", 4, 9)));
    }

    #[test]
    fn an_unchanged_record_costs_one_byte_per_eight() {
        let mut buf = [0u8; 64];
        let mut w = Writer::new(&mut buf, 0);
        assert!(put_record(&mut w, Some(&[1, 2, 3]), &[1, 2, 3]));
        assert_eq!(w.len(), 1);
    }
}
