//! The frame-sync messages that ride in the connection layer's payloads, and their byte codec.
//!
//! Two messages, one per direction, each carrying everything that is not acknowledged yet, so a
//! lost packet costs nothing but latency:
//!
//! ```text
//! update (client → relay) := 1 u8 | next_bundle u32 | first u32 | count u8 | count × (len u8, bytes)
//!                            | checksums u8 | checksums × (frame u32, checksum u64)
//! bundle (relay → client) := 2 u8 | next_input u32 | lead i16 | slots u8 | first u32 | count u8
//!                            | count × slots × (flags u8, len u8, bytes) | desyncs u8 | desyncs × (frame u32, mask u64, majority u64)
//! ```
//!
//! `next_bundle` acknowledges every bundled frame below it; `next_input` acknowledges every input
//! below it (or says those frames are closed). `lead` is the relay's time-sync feedback: how many
//! frames before it closed the frame the client's newest input arrived (negative: late).

use framelock_core::Frame;

/// The largest message: it must fit one connection-layer payload.
pub const MAX_MESSAGE: usize = 1200;
/// Flag of a bundled input: the relay substituted it (the slot's input was late or missing). The
/// same bit as in input logs, so a room records its bundles as they are.
pub const FLAG_SUBSTITUTED: u8 = framelock_core::replay::FLAG_SUBSTITUTED;
/// Flag of a bundled input: the slot is not connected.
pub const FLAG_DISCONNECTED: u8 = framelock_core::replay::FLAG_DISCONNECTED;

const TAG_UPDATE: u8 = 1;
const TAG_BUNDLE: u8 = 2;
const TAG_SNAPSHOT_REQUEST: u8 = 3;
const TAG_CHUNK: u8 = 4;
const TAG_CHUNK_ACK: u8 = 5;

/// Bytes of snapshot per chunk (a chunk message is at most 1,055 bytes: well under the MTU).
pub const CHUNK: usize = 1024;
/// The most chunks in one snapshot (chunk indices are `u16`).
pub const MAX_CHUNKS: usize = u16::MAX as usize;

/// The kind of a message, from its first byte (`None`: empty or unknown).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// [`Update`].
    Update,
    /// [`Bundle`].
    Bundle,
    /// [`SnapshotRequest`].
    SnapshotRequest,
    /// [`Chunk`].
    Chunk,
    /// [`ChunkAck`].
    ChunkAck,
}

/// The kind of the message `bytes`.
pub fn kind(bytes: &[u8]) -> Option<Kind> {
    match *bytes.first()? {
        TAG_UPDATE => Some(Kind::Update),
        TAG_BUNDLE => Some(Kind::Bundle),
        TAG_SNAPSHOT_REQUEST => Some(Kind::SnapshotRequest),
        TAG_CHUNK => Some(Kind::Chunk),
        TAG_CHUNK_ACK => Some(Kind::ChunkAck),
        _ => None,
    }
}

/// Why a message was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MsgError {
    /// Shorter than its fields say.
    Truncated,
    /// Unknown tag, or a field out of range.
    Malformed,
}

/// Writes a message into a fixed buffer; every write is checked against its capacity.
#[derive(Debug)]
pub struct Writer<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl<'a> Writer<'a> {
    /// A writer at the start of `buf`.
    pub fn new(buf: &'a mut [u8]) -> Self {
        Writer { buf, len: 0 }
    }
    /// Bytes written.
    pub fn len(&self) -> usize {
        self.len
    }
    /// True before the first write.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// Bytes still free.
    pub fn room(&self) -> usize {
        self.buf.len() - self.len
    }
    /// Appends bytes; false (and nothing written) when they do not fit.
    pub fn put(&mut self, bytes: &[u8]) -> bool {
        if bytes.len() > self.room() {
            return false;
        }
        self.buf[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
        true
    }
    /// Overwrites bytes already written at `at`.
    pub fn patch(&mut self, at: usize, bytes: &[u8]) {
        if at + bytes.len() <= self.len {
            self.buf[at..at + bytes.len()].copy_from_slice(bytes);
        }
    }
}

/// Reads a message; every read is bounds-checked.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader over a received message.
    pub fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, pos: 0 }
    }
    /// The next `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], MsgError> {
        if n > self.bytes.len() - self.pos {
            return Err(MsgError::Truncated);
        }
        let s = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    /// A `u8`.
    pub fn u8(&mut self) -> Result<u8, MsgError> {
        Ok(self.take(1)?[0])
    }
    /// A little-endian `u32`.
    pub fn u32(&mut self) -> Result<u32, MsgError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    /// A little-endian `u16`.
    pub fn u16(&mut self) -> Result<u16, MsgError> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    /// A little-endian `i16`.
    pub fn i16(&mut self) -> Result<i16, MsgError> {
        let b = self.take(2)?;
        Ok(i16::from_le_bytes([b[0], b[1]]))
    }
    /// A little-endian `u64`.
    pub fn u64(&mut self) -> Result<u64, MsgError> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }
    /// True when every byte was read.
    pub fn done(&self) -> bool {
        self.pos == self.bytes.len()
    }
}

/// A decoded update (client → relay). Inputs and checksums are read lazily from the message.
#[derive(Debug, Clone)]
pub struct Update<'a> {
    /// The client has every bundled frame below this.
    pub next_bundle: Frame,
    /// The frame of the first input.
    pub first: Frame,
    /// The number of inputs.
    pub count: u8,
    inputs: Reader<'a>,
    checksums: Reader<'a>,
    /// The number of checksums.
    pub checksum_count: u8,
}

impl<'a> Update<'a> {
    /// Decodes and validates an update (every input at most `max_input` bytes).
    pub fn decode(bytes: &'a [u8], max_input: usize) -> Result<Self, MsgError> {
        let mut r = Reader::new(bytes);
        if r.u8()? != TAG_UPDATE {
            return Err(MsgError::Malformed);
        }
        let next_bundle = r.u32()?;
        let first = r.u32()?;
        let count = r.u8()?;
        first.checked_add(u32::from(count)).ok_or(MsgError::Malformed)?;
        let inputs = r.clone();
        for _ in 0..count {
            let len = usize::from(r.u8()?);
            if len > max_input {
                return Err(MsgError::Malformed);
            }
            r.take(len)?;
        }
        let checksum_count = r.u8()?;
        let checksums = r.clone();
        r.take(usize::from(checksum_count) * 12)?;
        if !r.done() {
            return Err(MsgError::Malformed);
        }
        Ok(Update { next_bundle, first, count, inputs, checksums, checksum_count })
    }

    /// The inputs `(frame, bytes)`, oldest first.
    pub fn inputs(&self) -> impl Iterator<Item = (Frame, &'a [u8])> + '_ {
        let mut r = self.inputs.clone();
        (0..self.count).map_while(move |i| {
            let len = r.u8().ok()?;
            Some((self.first + u32::from(i), r.take(len.into()).ok()?))
        })
    }

    /// The checksums `(frame, checksum)`.
    pub fn checksums(&self) -> impl Iterator<Item = (Frame, u64)> + '_ {
        let mut r = self.checksums.clone();
        (0..self.checksum_count).map_while(move |_| Some((r.u32().ok()?, r.u64().ok()?)))
    }
}

/// Starts an update; the caller then appends inputs with [`put_input`] and finishes with
/// [`finish_update`]. Returns the offset of the count byte.
pub fn begin_update(w: &mut Writer<'_>, next_bundle: Frame, first: Frame) -> usize {
    w.put(&[TAG_UPDATE]);
    w.put(&next_bundle.to_le_bytes());
    w.put(&first.to_le_bytes());
    let at = w.len();
    w.put(&[0]);
    at
}

/// Appends one input; false when it does not fit (leaving room for `reserve` more bytes).
pub fn put_input(w: &mut Writer<'_>, input: &[u8], reserve: usize) -> bool {
    if input.len() > 255 || w.room() < 1 + input.len() + reserve {
        return false;
    }
    w.put(&[input.len() as u8]) && w.put(input)
}

/// Writes the input count and the checksums.
pub fn finish_update(w: &mut Writer<'_>, count_at: usize, count: u8, checksums: &[(Frame, u64)]) {
    w.patch(count_at, &[count]);
    let n = checksums.len().min(usize::from(u8::MAX)).min(w.room().saturating_sub(1) / 12);
    w.put(&[n as u8]);
    for &(f, c) in &checksums[..n] {
        w.put(&f.to_le_bytes());
        w.put(&c.to_le_bytes());
    }
}

/// A decoded bundle (relay → client).
#[derive(Debug, Clone)]
pub struct Bundle<'a> {
    /// The relay has (or closed) every input of this client below this frame.
    pub next_input: Frame,
    /// Time-sync feedback: frames between the arrival of the newest input and the closing of its frame.
    pub lead: i16,
    /// Slots per frame.
    pub slots: u8,
    /// The first bundled frame.
    pub first: Frame,
    /// The number of bundled frames.
    pub count: u8,
    frames: Reader<'a>,
    desyncs: Reader<'a>,
    /// The number of desync reports.
    pub desync_count: u8,
}

/// One slot's input in a bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BundledInput<'a> {
    /// [`FLAG_SUBSTITUTED`], [`FLAG_DISCONNECTED`].
    pub flags: u8,
    /// The bytes.
    pub bytes: &'a [u8],
}

impl<'a> Bundle<'a> {
    /// Decodes and validates a bundle.
    pub fn decode(bytes: &'a [u8], max_input: usize) -> Result<Self, MsgError> {
        let mut r = Reader::new(bytes);
        if r.u8()? != TAG_BUNDLE {
            return Err(MsgError::Malformed);
        }
        let next_input = r.u32()?;
        let lead = r.i16()?;
        let slots = r.u8()?;
        let first = r.u32()?;
        let count = r.u8()?;
        if slots == 0 || slots > 64 {
            return Err(MsgError::Malformed);
        }
        first.checked_add(u32::from(count)).ok_or(MsgError::Malformed)?;
        let frames = r.clone();
        for _ in 0..usize::from(count) * usize::from(slots) {
            let flags = r.u8()?;
            let len = usize::from(r.u8()?);
            if flags & !(FLAG_SUBSTITUTED | FLAG_DISCONNECTED) != 0 || len > max_input {
                return Err(MsgError::Malformed);
            }
            r.take(len)?;
        }
        let desync_count = r.u8()?;
        let desyncs = r.clone();
        r.take(usize::from(desync_count) * 20)?;
        if !r.done() {
            return Err(MsgError::Malformed);
        }
        Ok(Bundle { next_input, lead, slots, first, count, frames, desyncs, desync_count })
    }

    /// Every bundled `(frame, slot, input)`, frame by frame, slot by slot.
    pub fn inputs(&self) -> impl Iterator<Item = (Frame, usize, BundledInput<'a>)> + '_ {
        let mut r = self.frames.clone();
        let slots = usize::from(self.slots);
        (0..usize::from(self.count) * slots).map_while(move |i| {
            let flags = r.u8().ok()?;
            let len = r.u8().ok()?;
            let bytes = r.take(len.into()).ok()?;
            Some((self.first + (i / slots) as u32, i % slots, BundledInput { flags, bytes }))
        })
    }

    /// Desync reports `(frame, slots that disagree, majority checksum)`.
    pub fn desyncs(&self) -> impl Iterator<Item = (Frame, u64, u64)> + '_ {
        let mut r = self.desyncs.clone();
        (0..self.desync_count).map_while(move |_| Some((r.u32().ok()?, r.u64().ok()?, r.u64().ok()?)))
    }
}

/// Starts a bundle; returns the offset of the count byte.
pub fn begin_bundle(w: &mut Writer<'_>, next_input: Frame, lead: i16, slots: u8, first: Frame) -> usize {
    w.put(&[TAG_BUNDLE]);
    w.put(&next_input.to_le_bytes());
    w.put(&lead.to_le_bytes());
    w.put(&[slots]);
    w.put(&first.to_le_bytes());
    let at = w.len();
    w.put(&[0]);
    at
}

/// Appends one frame of a bundle (every slot's input); false when it does not fit with `reserve` bytes left.
pub fn put_frame<'i>(
    w: &mut Writer<'_>,
    inputs: impl Iterator<Item = BundledInput<'i>> + Clone,
    reserve: usize,
) -> bool {
    let need: usize = inputs.clone().map(|i| 2 + i.bytes.len()).sum();
    if w.room() < need + reserve {
        return false;
    }
    for i in inputs {
        w.put(&[i.flags, i.bytes.len() as u8]);
        w.put(i.bytes);
    }
    true
}

/// Writes the frame count and the desync reports.
pub fn finish_bundle(w: &mut Writer<'_>, count_at: usize, count: u8, desyncs: &[(Frame, u64, u64)]) {
    w.patch(count_at, &[count]);
    let n = desyncs.len().min(usize::from(u8::MAX)).min(w.room().saturating_sub(1) / 20);
    w.put(&[n as u8]);
    for &(f, m, c) in &desyncs[..n] {
        w.put(&f.to_le_bytes());
        w.put(&m.to_le_bytes());
        w.put(&c.to_le_bytes());
    }
}

/// The relay asks a member for a snapshot: `3 u8 | transfer u32 | min_frame u32`. The member captures
/// the state at the start of its newest final checksum frame at or after `min_frame` and sends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotRequest {
    /// The transfer's id (chunks and acknowledgements carry it; a stale one is ignored).
    pub transfer: u32,
    /// The earliest frame the relay wants.
    pub min_frame: Frame,
}

impl SnapshotRequest {
    /// Decodes a request.
    pub fn decode(bytes: &[u8]) -> Result<Self, MsgError> {
        let mut r = Reader::new(bytes);
        if r.u8()? != TAG_SNAPSHOT_REQUEST {
            return Err(MsgError::Malformed);
        }
        let m = SnapshotRequest { transfer: r.u32()?, min_frame: r.u32()? };
        if !r.done() {
            return Err(MsgError::Malformed);
        }
        Ok(m)
    }

    /// Encodes it; returns the length.
    pub fn encode(&self, buf: &mut [u8]) -> usize {
        let mut w = Writer::new(buf);
        w.put(&[TAG_SNAPSHOT_REQUEST]);
        w.put(&self.transfer.to_le_bytes());
        w.put(&self.min_frame.to_le_bytes());
        w.len()
    }
}

/// Chunk flag: the relay checked the whole snapshot's bytes against the room's agreed checksum.
pub const CHUNK_VERIFIED: u8 = 1;

/// One chunk of a snapshot, member → relay and relay → joiner:
/// `4 u8 | transfer u32 | frame u32 | len u32 | checksum u64 | flags u8 | index u16 | n u16 | n bytes`.
/// Every chunk repeats what the snapshot is, so any chunk can start a transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chunk<'a> {
    /// The transfer's id.
    pub transfer: u32,
    /// The snapshot is the state at the start of this frame.
    pub frame: Frame,
    /// The snapshot's length in bytes.
    pub len: u32,
    /// From a member: its session's checksum of `frame`; from the relay: the room's agreed checksum.
    pub checksum: u64,
    /// [`CHUNK_VERIFIED`].
    pub flags: u8,
    /// The chunk's index: its bytes start at `index × CHUNK`.
    pub index: u16,
    /// The bytes (`CHUNK` of them, fewer in the last chunk).
    pub bytes: &'a [u8],
}

/// The number of chunks of a snapshot of `len` bytes (at least one, for an empty snapshot).
pub fn chunks(len: usize) -> usize {
    len.div_ceil(CHUNK).max(1)
}

impl<'a> Chunk<'a> {
    /// Decodes and validates a chunk: its index inside the snapshot and its length exactly what
    /// the index and `len` say.
    pub fn decode(bytes: &'a [u8]) -> Result<Self, MsgError> {
        let mut r = Reader::new(bytes);
        if r.u8()? != TAG_CHUNK {
            return Err(MsgError::Malformed);
        }
        let (transfer, frame, len, checksum, flags) = (r.u32()?, r.u32()?, r.u32()?, r.u64()?, r.u8()?);
        let (index, n) = (r.u16()?, r.u16()?);
        let bytes = r.take(usize::from(n))?;
        let total = usize::try_from(len).map_err(|_| MsgError::Malformed)?;
        let start = usize::from(index) * CHUNK;
        if !r.done()
            || flags & !CHUNK_VERIFIED != 0
            || chunks(total) > MAX_CHUNKS
            || usize::from(index) >= chunks(total)
            || usize::from(n) != total.saturating_sub(start).min(CHUNK)
        {
            return Err(MsgError::Malformed);
        }
        Ok(Chunk { transfer, frame, len, checksum, flags, index, bytes })
    }

    /// Encodes chunk `index` of `snapshot` (which must have that many); returns the length.
    pub fn encode(
        buf: &mut [u8],
        transfer: u32,
        frame: Frame,
        checksum: u64,
        flags: u8,
        index: u16,
        snapshot: &[u8],
    ) -> usize {
        let start = (usize::from(index) * CHUNK).min(snapshot.len());
        let part = &snapshot[start..(start + CHUNK).min(snapshot.len())];
        let mut w = Writer::new(buf);
        w.put(&[TAG_CHUNK]);
        w.put(&transfer.to_le_bytes());
        w.put(&frame.to_le_bytes());
        w.put(&(snapshot.len() as u32).to_le_bytes());
        w.put(&checksum.to_le_bytes());
        w.put(&[flags]);
        w.put(&index.to_le_bytes());
        w.put(&(part.len() as u16).to_le_bytes());
        w.put(part);
        w.len()
    }
}

/// Acknowledgement status: receiving (or, relay → member, carry on).
pub const ACK_RECEIVING: u8 = 0;
/// Joiner → relay: the snapshot loaded and its checksum, once simulated, matched the agreed one.
pub const ACK_LOADED: u8 = 1;
/// Joiner → relay: the snapshot loaded but its checksum did not match: the member lied.
pub const ACK_MISMATCH: u8 = 2;
/// Relay → member: stop sending (the transfer is over or went to another member).
pub const ACK_STOP: u8 = 3;

/// Acknowledges the chunks of a transfer: `5 u8 | transfer u32 | status u8 | until u16 | mask u64`:
/// every chunk below `until`, and chunk `until + 1 + i` where bit `i` of `mask` is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkAck {
    /// The transfer's id.
    pub transfer: u32,
    /// [`ACK_RECEIVING`], [`ACK_LOADED`], [`ACK_MISMATCH`], [`ACK_STOP`].
    pub status: u8,
    /// Every chunk below this arrived.
    pub until: u16,
    /// Chunks after `until` that arrived.
    pub mask: u64,
}

impl ChunkAck {
    /// Decodes an acknowledgement.
    pub fn decode(bytes: &[u8]) -> Result<Self, MsgError> {
        let mut r = Reader::new(bytes);
        if r.u8()? != TAG_CHUNK_ACK {
            return Err(MsgError::Malformed);
        }
        let a = ChunkAck { transfer: r.u32()?, status: r.u8()?, until: r.u16()?, mask: r.u64()? };
        if !r.done() || a.status > ACK_STOP {
            return Err(MsgError::Malformed);
        }
        Ok(a)
    }

    /// Encodes it; returns the length.
    pub fn encode(&self, buf: &mut [u8]) -> usize {
        let mut w = Writer::new(buf);
        w.put(&[TAG_CHUNK_ACK]);
        w.put(&self.transfer.to_le_bytes());
        w.put(&[self.status]);
        w.put(&self.until.to_le_bytes());
        w.put(&self.mask.to_le_bytes());
        w.len()
    }

    /// True when it says chunk `i` arrived.
    pub fn has(&self, i: usize) -> bool {
        let until = usize::from(self.until);
        i < until || (i > until && i - until - 1 < 64 && self.mask >> (i - until - 1) & 1 == 1)
    }
}

/// Which chunks of a snapshot arrived (preallocated for the largest snapshot).
#[derive(Debug, Clone)]
pub struct ChunkSet {
    bits: Vec<u64>,
    count: usize,
    total: usize,
}

impl ChunkSet {
    /// A set for snapshots of up to `max_len` bytes.
    pub fn new(max_len: usize) -> Self {
        ChunkSet { bits: vec![0; chunks(max_len).div_ceil(64)], count: 0, total: 0 }
    }
    /// Empties it for a snapshot of `total` chunks (false when it cannot hold that many).
    pub fn reset(&mut self, total: usize) -> bool {
        self.bits.fill(0);
        self.count = 0;
        let fits = total <= self.bits.len() * 64;
        self.total = if fits { total } else { 0 };
        fits
    }
    /// Marks chunk `i`; true when it is new.
    pub fn insert(&mut self, i: usize) -> bool {
        if i >= self.total || self.has(i) {
            return false;
        }
        self.bits[i / 64] |= 1 << (i % 64);
        self.count += 1;
        true
    }
    /// True when chunk `i` arrived.
    pub fn has(&self, i: usize) -> bool {
        self.bits.get(i / 64).is_some_and(|b| b >> (i % 64) & 1 == 1)
    }
    /// True when every chunk arrived.
    pub fn complete(&self) -> bool {
        self.total > 0 && self.count == self.total
    }
    /// The chunks expected.
    pub fn total(&self) -> usize {
        self.total
    }
    /// The acknowledgement of what arrived.
    pub fn ack(&self, transfer: u32, status: u8) -> ChunkAck {
        let mut until = 0;
        while until < self.total && self.has(until) {
            until += 1;
        }
        let mut mask = 0u64;
        for i in 0..64 {
            if self.has(until + 1 + i) {
                mask |= 1 << i;
            }
        }
        ChunkAck { transfer, status, until: until.min(MAX_CHUNKS) as u16, mask }
    }
}
