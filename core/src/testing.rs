//! Small simulations for tests, examples and benchmarks.

use bumpalo::Bump;

use crate::{FrameInputs, SimError, Simulation, SnapshotReader, SnapshotWriter};

/// The smallest meaningful simulation: its state is a running hash of every input it was given
/// (bytes and status), plus a frame counter and an optional block of padding bytes that make the
/// state as large as wanted (to measure the cost of saving and loading it).
///
/// Two `HashSim`s that were given the same confirmed inputs have the same state; one that saw any
/// other input has (with overwhelming probability) a different one. That makes it the fixture for
/// rollback equivalence: a rollback session must end in exactly the state a lockstep one reaches.
#[derive(Debug)]
pub struct HashSim {
    /// Frames simulated.
    pub frame: u32,
    /// The running hash.
    pub hash: u64,
    /// `HEAD` unused bytes, then the padding (saved and loaded with the state, changed every
    /// frame). The padding sits at the same offset as in the snapshot (after the 4-byte frame and
    /// the 8-byte hash), so copying it in and out moves bytes between equally aligned addresses:
    /// a 64 KiB copy between addresses 12 bytes apart modulo 16 ran about 40 % slower here. The
    /// state starts on a 64-byte boundary, like the session's snapshot buffers (unused bytes
    /// before it), so its padding is `buf[pad_at..]`, `HEAD` bytes past that boundary.
    buf: Vec<u8>,
    pad_at: usize,
}

/// The bytes of a snapshot before the padding: the frame (4) and the hash (8).
const HEAD: usize = 12;

impl HashSim {
    /// A state with `pad` bytes of padding.
    pub fn new(pad: usize) -> Self {
        let (mut buf, start) = crate::snapshot::aligned_buffer(HEAD + pad);
        buf.resize(start + HEAD + pad, 0);
        HashSim { frame: 0, hash: 0, buf, pad_at: start + HEAD }
    }

    /// The padding bytes.
    pub fn pad(&self) -> &[u8] {
        &self.buf[self.pad_at..]
    }

    /// Mixes one slot's input into the running hash: FNV-1a over the bytes after mixing in the
    /// length and the status (predicted and confirmed count the same). Every step is a bijection, so
    /// any single changed byte changes the hash; and it costs a few nanoseconds, so benchmarks on
    /// this state measure the session, not the state.
    pub fn mix_input(hash: u64, bytes: &[u8], status: crate::InputStatus) -> u64 {
        let status = match status {
            crate::InputStatus::Predicted | crate::InputStatus::Confirmed => 0,
            other => other as u64,
        };
        let h = hash.rotate_left(5) ^ (status << 56) ^ (bytes.len() as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let fnv =
            |h: u64, bytes: &[u8]| bytes.iter().fold(h, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3));
        // The same bytes in the same order either way; a 4-byte input (a `u32`, as in the
        // benchmarks) as an array, so the compiler unrolls the loop as it does where the caller
        // passes `&u32::to_le_bytes()` (the GGRS side of the benchmarks).
        match <&[u8; 4]>::try_from(bytes) {
            Ok(b4) => fnv(h, b4),
            Err(_) => fnv(h, bytes),
        }
    }

    /// The size of this state's snapshot in bytes.
    pub fn snapshot_size(&self) -> usize {
        self.buf.len() - self.pad_at + HEAD
    }
}

/// Equal states: the same frame, hash and padding (wherever each keeps its bytes).
impl PartialEq for HashSim {
    fn eq(&self, other: &Self) -> bool {
        (self.frame, self.hash, self.pad()) == (other.frame, other.hash, other.pad())
    }
}

impl Eq for HashSim {}

/// A copy with its own 64-byte-aligned buffer (a derived clone would keep the offset, not the
/// alignment).
impl Clone for HashSim {
    fn clone(&self) -> Self {
        let mut c = HashSim::new(self.pad().len());
        c.frame = self.frame;
        c.hash = self.hash;
        let at = c.pad_at;
        c.buf[at..].copy_from_slice(self.pad());
        c
    }
}

impl Simulation for HashSim {
    fn advance(&mut self, inputs: FrameInputs<'_>, _scratch: &Bump) -> Result<(), SimError> {
        let mut h = self.hash ^ u64::from(inputs.frame()).rotate_left(17);
        for p in inputs.iter() {
            h = HashSim::mix_input(h, p.bytes, p.status);
        }
        self.hash = h;
        let pad = self.buf.len() - self.pad_at;
        if pad > 0 {
            let i = self.pad_at + self.frame as usize % pad;
            self.buf[i] = self.buf[i].wrapping_add(h as u8);
        }
        self.frame += 1;
        Ok(())
    }

    fn save(&self, out: &mut SnapshotWriter<'_>) -> Result<(), SimError> {
        out.write_u32(self.frame)?;
        out.write_u64(self.hash)?;
        out.write(self.pad())
    }

    fn load(&mut self, snapshot: &[u8]) -> Result<(), SimError> {
        let mut r = SnapshotReader::new(snapshot);
        self.frame = r.read_u32()?;
        self.hash = r.read_u64()?;
        let pad = r.read(self.buf.len() - self.pad_at)?;
        self.buf[self.pad_at..].copy_from_slice(pad);
        if r.remaining() != 0 {
            return Err(SimError::new("hash sim: snapshot has trailing bytes"));
        }
        Ok(())
    }
}
