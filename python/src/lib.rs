//! # framelock-py
//!
//! The native module `framelock._framelock` of the Python package `framelock`: framelock-core's
//! sessions, logs and reference simulation, and framelock-net's network client (see
//! `python/framelock/` for the public API and `docs/python.md` for the tour). It is deliberately
//! thin: every class here is wrapped by a pure-Python class that gives it numpy arrays,
//! dataclasses and docstrings.
//!
//! Built with maturin (`pip install ./python`); the `extension-module` feature is enabled there.
//! `#![deny(unsafe_code)]` holds: pyo3's macros expand to no code that trips it.

// Return types are the tuples the Python layer unpacks; naming each one would add nothing.
#![allow(clippy::type_complexity)]

mod arena;
mod errors;
mod log;
mod net;
mod observe;
mod p2p;
mod p2p_game;
mod realtime;
mod session;
mod signals;
mod state;
mod vecenv;

use std::time::Instant;

use framelock_core::arena::{scratch_size_bound, snapshot_size_bound, INPUT_SIZE};
use framelock_core::{checksum64 as core_checksum64, Driver, Error, SessionBuilder};
use pyo3::prelude::*;

use crate::errors::IntoPy;

/// `checksum64` of the bytes: the core's platform-independent snapshot hash.
#[pyfunction]
fn checksum64(data: &[u8]) -> u64 {
    core_checksum64(data)
}

/// The reference loop a Rust user writes, timed: a lockstep session over the arena with every
/// slot local, fed `inputs` (`frames × slots × 2` bytes, as given to `Session.run`). Returns
/// `(seconds, checksum of the last confirmed frame)`, for the benchmark's native baseline
/// (`checksum_interval` 65,536 is the vector env's: no snapshot per frame).
#[pyfunction]
#[pyo3(signature = (params, inputs, frames, checksum_interval = 1))]
fn _bench_native(
    py: Python<'_>,
    params: arena::ParamsTuple,
    inputs: Vec<u8>,
    frames: usize,
    checksum_interval: u32,
) -> PyResult<(f64, u64)> {
    let p = arena::params(params).py_err()?;
    let slots = usize::from(p.players);
    if inputs.len() != frames * slots * INPUT_SIZE {
        return Err(pyo3::exceptions::PyValueError::new_err("inputs must hold frames × players × 2 bytes"));
    }
    let r = py.detach(move || -> Result<(f64, u64), Error> {
        let session = SessionBuilder::new(slots)
            .local_slots(if slots == 64 { u64::MAX } else { (1u64 << slots) - 1 })
            .max_input_size(INPUT_SIZE)
            .default_input(&framelock_core::arena::NEUTRAL_INPUT)
            .max_snapshot_size(snapshot_size_bound(&p))
            .frame_arena_size(scratch_size_bound(&p))
            .checksum_interval(checksum_interval)
            .build()?;
        let sim = arena::new_arena(p)?;
        let mut driver = Driver::new(session, sim);
        let start = Instant::now();
        for row in inputs.chunks_exact(slots * INPUT_SIZE) {
            for (slot, input) in row.chunks_exact(INPUT_SIZE).enumerate() {
                driver.session_mut().add_local_input(slot, input)?;
            }
            driver.advance()?;
        }
        let secs = start.elapsed().as_secs_f64();
        let s = driver.session();
        let last = s.checksummed_until().checked_sub(1).and_then(|f| s.checksum(f)).unwrap_or(0);
        Ok((secs, last))
    });
    r.py_err()
}

/// Raises the exception of one core error kind, built with sample fields: lets the tests check the
/// mapping of kinds that no Python call can reach (`FrameOverflow`, a writer's out-of-order frame).
#[pyfunction]
fn _raise_core_error(kind: &str) -> PyResult<()> {
    let e = match kind {
        "InvalidConfig" => Error::InvalidConfig { setting: "slots", reason: "must be 1..=64" },
        "UnknownSlot" => Error::UnknownSlot { slot: 9, slots: 2 },
        "WrongSlotKind" => Error::WrongSlotKind { slot: 1, is: "remote" },
        "InputTooLong" => Error::InputTooLong { slot: 0, len: 9, max: 8 },
        "AlreadyConfirmed" => Error::AlreadyConfirmed { slot: 1, frame: 3 },
        "FrameTooOld" => Error::FrameTooOld { slot: 1, frame: 3, oldest: 10 },
        "BeyondWindow" => Error::BeyondWindow { slot: 1, frame: 300, newest: 130 },
        "MissingLocalInput" => Error::MissingLocalInput { slot: 0, frame: 5 },
        "InvalidDisconnect" => Error::InvalidDisconnect { slot: 1, frame: 2, earliest: 4 },
        "ChecksumUnavailable" => Error::ChecksumUnavailable { frame: 1, slot: 1 },
        "ChecksumQueueFull" => Error::ChecksumQueueFull { capacity: 4 },
        "ArenaExhausted" => Error::ArenaExhausted { arena: "scratch", cap: 64 },
        "SnapshotTooLarge" => Error::SnapshotTooLarge { frame: 7, capacity: 16 },
        "NoSuchSnapshot" => Error::NoSuchSnapshot { frame: 7 },
        "NoOpenStep" => Error::NoOpenStep,
        "FrameOverflow" => Error::FrameOverflow,
        "LogCorrupt" => Error::LogCorrupt { what: "bad magic", byte: 0, chunk: None },
        "LogChunkCrc" => Error::LogChunkCrc { chunk: 2, byte: 400 },
        "LogTruncated" => Error::LogTruncated { byte: 90, chunk: Some(1) },
        "LogUnsupportedVersion" => Error::LogUnsupportedVersion { version: 9, min_reader: 9, supported: 1 },
        "LogFramesOutOfOrder" => Error::LogFramesOutOfOrder { expected: 4, found: 6 },
        "LogMismatch" => Error::LogMismatch { what: "slots differ" },
        "Io" => Error::Io { kind: std::io::ErrorKind::NotFound },
        "ReplayDiverged" => Error::ReplayDiverged { frame: 60, expected: 1, actual: 2 },
        "Simulation" => Error::Simulation { frame: 3, reason: "snapshot truncated" },
        _ => return Err(pyo3::exceptions::PyValueError::new_err(format!("no error kind {kind:?}"))),
    };
    Err(errors::to_py(e))
}

#[pymodule]
fn _framelock(m: &Bound<'_, PyModule>) -> PyResult<()> {
    errors::register(m)?;
    m.add_class::<session::NativeSession>()?;
    m.add_class::<log::NativeLog>()?;
    m.add_class::<log::NativeLogFrames>()?;
    m.add_function(wrap_pyfunction!(log::verify_log_file, m)?)?;
    m.add_class::<net::NativeNetClient>()?;
    m.add_class::<p2p::NativeP2PSession>()?;
    m.add_class::<vecenv::NativeVecEnv>()?;
    m.add_function(wrap_pyfunction!(checksum64, m)?)?;
    m.add_function(wrap_pyfunction!(_bench_native, m)?)?;
    m.add_function(wrap_pyfunction!(_raise_core_error, m)?)?;
    m.add_function(wrap_pyfunction!(arena::scripted_inputs, m)?)?;
    m.add_function(wrap_pyfunction!(arena::encode_input, m)?)?;
    m.add_function(wrap_pyfunction!(arena::arena_bounds, m)?)?;
    m.add_function(wrap_pyfunction!(arena::encode_arena_params, m)?)?;
    m.add_function(wrap_pyfunction!(arena::decode_arena_params, m)?)?;
    m.add("INPUT_STATUSES", session::status_names())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
