//! The simulation of a `NativeP2PSession`: the reference arena, or Python-owned state reached
//! through three Python callables (GGPO's save/load/advance callbacks).

use std::cell::{Cell, RefCell};

use framelock_core::arena::Arena;
use framelock_core::{Bump, Frame, FrameInputs, SimError, Simulation, SnapshotWriter};
use framelock_net::p2p::P2pError;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple};

use crate::errors::to_py;

/// Python-owned state: the three callables of `framelock.P2PSession`'s game object. The snapshot
/// the core keeps is the frame (4 bytes, so that `load` can tell Python which frame it restores)
/// followed by the bytes Python returned.
pub(crate) struct PySim {
    pub(crate) save: Py<PyAny>,
    pub(crate) load: Py<PyAny>,
    pub(crate) advance: Py<PyAny>,
    /// The frame the state is at (the next one `advance` simulates).
    pub(crate) frame: Cell<Frame>,
    /// The exception a callable raised: `play`/`tick` raise it instead of a `SimulationError`.
    pub(crate) error: RefCell<Option<PyErr>>,
}

impl std::fmt::Debug for PySim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PySim").field("frame", &self.frame.get()).finish_non_exhaustive()
    }
}

impl PySim {
    fn fail(&self, e: PyErr, reason: &'static str) -> SimError {
        self.error.borrow_mut().get_or_insert(e);
        SimError::new(reason)
    }
}

impl Simulation for PySim {
    fn advance(&mut self, inputs: FrameInputs<'_>, _scratch: &Bump) -> Result<(), SimError> {
        let frame = inputs.frame();
        let r = Python::attach(|py| -> PyResult<()> {
            let bytes = PyTuple::new(py, inputs.iter().map(|p| PyBytes::new(py, p.bytes)))?;
            let statuses = PyTuple::new(py, inputs.iter().map(|p| p.status as u8))?;
            self.advance.call1(py, (frame, bytes, statuses))?;
            Ok(())
        });
        r.map_err(|e| self.fail(e, "the Python advance_frame raised"))?;
        self.frame.set(frame.wrapping_add(1));
        Ok(())
    }

    fn save(&self, out: &mut SnapshotWriter<'_>) -> Result<(), SimError> {
        let frame = self.frame.get();
        let r = Python::attach(|py| -> PyResult<(Vec<u8>, Option<u64>)> {
            let v = self.save.call1(py, (frame,))?;
            let v = v.bind(py);
            let (data, sum) = match v.extract::<(Bound<'_, PyAny>, u64)>() {
                Ok((data, sum)) => (data, Some(sum)),
                Err(_) => (v.clone(), None),
            };
            let data = match data.cast::<PyBytes>() {
                Ok(b) => b.as_bytes().to_vec(),
                Err(_) => data.extract::<Vec<u8>>().map_err(|e| {
                    PyTypeError::new_err(format!("save_state must return bytes (or (bytes, checksum)): {e}"))
                })?,
            };
            Ok((data, sum))
        });
        let (data, sum) = r.map_err(|e| self.fail(e, "the Python save_state raised"))?;
        if let Some(s) = sum {
            out.set_checksum(s); // first: then the bytes are not hashed as they are copied in
        }
        out.write(&frame.to_le_bytes())?;
        out.write(&data)
    }

    fn load(&mut self, snapshot: &[u8]) -> Result<(), SimError> {
        let (head, data) = snapshot.split_at_checked(4).ok_or(SimError::new("snapshot shorter than its frame"))?;
        let mut f = [0u8; 4];
        f.copy_from_slice(head);
        let frame = Frame::from_le_bytes(f);
        let r = Python::attach(|py| -> PyResult<()> {
            self.load.call1(py, (frame, PyBytes::new(py, data)))?;
            Ok(())
        });
        r.map_err(|e| self.fail(e, "the Python load_state raised"))?;
        self.frame.set(frame);
        Ok(())
    }
}

/// The reference arena or Python-owned state.
#[derive(Debug)]
pub(crate) enum Game {
    Arena(Box<Arena>),
    Py(PySim),
}

impl Simulation for Game {
    fn advance(&mut self, inputs: FrameInputs<'_>, scratch: &Bump) -> Result<(), SimError> {
        match self {
            Game::Arena(a) => a.advance(inputs, scratch),
            Game::Py(p) => p.advance(inputs, scratch),
        }
    }
    fn save(&self, out: &mut SnapshotWriter<'_>) -> Result<(), SimError> {
        match self {
            Game::Arena(a) => a.save(out),
            Game::Py(p) => p.save(out),
        }
    }
    fn load(&mut self, snapshot: &[u8]) -> Result<(), SimError> {
        match self {
            Game::Arena(a) => a.load(snapshot),
            Game::Py(p) => p.load(snapshot),
        }
    }
}

/// A `P2pError` as a Python exception; a callable's own exception when one raised.
pub(crate) fn p2p_err(game: &Game, e: P2pError) -> PyErr {
    if let Game::Py(p) = game {
        if let Some(err) = p.error.borrow_mut().take() {
            return err;
        }
    }
    match e {
        P2pError::Config { setting, reason } => to_py(framelock_core::Error::InvalidConfig { setting, reason }),
        P2pError::Session(e) => to_py(e),
    }
}
