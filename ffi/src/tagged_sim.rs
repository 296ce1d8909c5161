//! The engine's callbacks as a [`Simulation`] for the endpoints that drive their session
//! themselves (the network client and the peer-to-peer endpoint): the engine never sees a request,
//! so the frame a load restores travels with the snapshot, as a 4-byte tag after the engine's
//! bytes, hidden from the engine.

use framelock_core::{FrameInputs, SimError, Simulation, SnapshotWriter};

use crate::callbacks::InputRow;
use crate::session::{framelock_snapshot, Callbacks};

/// The bytes appended to every snapshot: the frame of the state, so the load_state callback is
/// told which frame it restores. An endpoint's snapshot capacity is the engine's plus this.
pub(crate) const FRAME_TAG: usize = 4;

/// The engine's callbacks as a [`Simulation`], snapshots tagged with their frame.
#[derive(Debug)]
pub(crate) struct TaggedCallbackSim {
    cb: Callbacks,
    /// Boxed (allocated once, here): the endpoints keep this sim by value in an enum beside the
    /// arena's, which a 1.5 KiB inline row would make as large.
    inputs: Box<InputRow>,
    /// The frame whose starting state the game holds.
    state_frame: u32,
}

impl TaggedCallbackSim {
    /// The callbacks (the input row holds `MAX_SLOTS`, any session's slots).
    pub(crate) fn new(cb: Callbacks) -> Self {
        TaggedCallbackSim { cb, inputs: Box::default(), state_frame: 0 }
    }
}

impl Simulation for TaggedCallbackSim {
    fn advance(&mut self, inputs: FrameInputs<'_>, _scratch: &framelock_core::Bump) -> Result<(), SimError> {
        let frame = inputs.frame();
        let row = self.inputs.fill(inputs)?;
        // SAFETY: the callbacks were checked non-NULL at creation and the caller promised they stay
        // callable with `user` for the handle's lifetime; the inputs are valid during the call.
        let rc = unsafe { (self.cb.advance)(self.cb.user, frame, row.as_ptr(), row.len()) };
        self.state_frame = frame.wrapping_add(1);
        if rc != 0 {
            return Err(SimError::new("the advance_frame callback returned nonzero"));
        }
        Ok(())
    }

    fn save(&self, out: &mut SnapshotWriter<'_>) -> Result<(), SimError> {
        let writer: *mut SnapshotWriter<'_> = out;
        let mut snap = framelock_snapshot { writer: writer.cast(), frame: self.state_frame, reserved: FRAME_TAG };
        // SAFETY: as in advance; `snap` points to a writer that lives for the whole call.
        let rc = unsafe { (self.cb.save)(self.cb.user, self.state_frame, &mut snap) };
        if rc != 0 {
            return Err(SimError::new("the save_state callback returned nonzero"));
        }
        out.write_u32(self.state_frame)
    }

    fn load(&mut self, snapshot: &[u8]) -> Result<(), SimError> {
        let Some(split) = snapshot.len().checked_sub(FRAME_TAG) else {
            return Err(SimError::new("a snapshot without its frame tag"));
        };
        let (data, tag) = snapshot.split_at(split);
        let frame = u32::from_le_bytes([tag[0], tag[1], tag[2], tag[3]]);
        // SAFETY: as in advance; the bytes are valid during the call.
        let rc = unsafe { (self.cb.load)(self.cb.user, frame, data.as_ptr(), data.len()) };
        self.state_frame = frame;
        if rc != 0 {
            return Err(SimError::new("the load_state callback returned nonzero"));
        }
        Ok(())
    }
}
