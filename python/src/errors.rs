//! `framelock_core::Error` as Python exceptions: one class per kind, all rooted in
//! `FramelockError`, with the same message as in Rust and the fields as attributes.

use framelock_core::Error;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple, PyType};
use pyo3::{create_exception, PyTypeInfo};

create_exception!(framelock, FramelockError, PyException, "The root of every error framelock raises.");
create_exception!(framelock, InvalidConfigError, FramelockError, "A configuration value is out of range.");
create_exception!(framelock, UnknownSlotError, FramelockError, "A slot index is not below the number of slots.");
create_exception!(framelock, WrongSlotKindError, FramelockError, "A local input for a remote slot, or the reverse.");
create_exception!(framelock, InputTooLongError, FramelockError, "An input is longer than `max_input_size`.");
create_exception!(framelock, AlreadyConfirmedError, FramelockError, "The slot's input for that frame is confirmed.");
create_exception!(framelock, FrameTooOldError, FramelockError, "An input for a frame the session let go of.");
create_exception!(framelock, BeyondWindowError, FramelockError, "An input too far ahead for the input window.");
create_exception!(framelock, MissingLocalInputError, FramelockError, "`advance` before a local slot's input.");
create_exception!(framelock, InvalidDisconnectError, FramelockError, "A disconnect that cannot be applied.");
create_exception!(framelock, ChecksumUnavailableError, FramelockError, "No local checksum of that frame is kept.");
create_exception!(framelock, ChecksumQueueFullError, FramelockError, "Too many early remote checksums.");
create_exception!(framelock, ArenaExhaustedError, FramelockError, "A frame arena reached its cap.");
create_exception!(framelock, SnapshotTooLargeError, FramelockError, "A snapshot exceeds `max_snapshot_size`.");
create_exception!(framelock, NoSuchSnapshotError, FramelockError, "No snapshot of that frame is held.");
create_exception!(framelock, NoOpenStepError, FramelockError, "A step request was fulfilled with no open step.");
create_exception!(framelock, FrameOverflowError, FramelockError, "The frame counter would overflow.");
create_exception!(framelock, LogCorruptError, FramelockError, "An input log is not in the expected format.");
create_exception!(framelock, LogChunkCrcError, FramelockError, "A chunk of an input log fails its CRC.");
create_exception!(framelock, LogTruncatedError, FramelockError, "An input log ends inside a chunk.");
create_exception!(framelock, LogUnsupportedVersionError, FramelockError, "An input log of an unreadable version.");
create_exception!(framelock, LogFramesOutOfOrderError, FramelockError, "Log frames that are not consecutive.");
create_exception!(framelock, LogMismatchError, FramelockError, "An input log does not fit what it is used with.");
create_exception!(framelock, ReplayDivergedError, FramelockError, "A replay computed a different checksum.");
create_exception!(framelock, SimulationError, FramelockError, "The simulation failed while fulfilling a request.");
create_exception!(framelock, NetworkError, FramelockError, "A network client failed: socket, connection, time limit.");
create_exception!(framelock, ConnectTokenError, NetworkError, "The bytes are not a usable connect token.");
create_exception!(framelock, ConnectionFailedError, NetworkError, "The connection to the relay failed or was lost.");
create_exception!(
    framelock,
    PeerConfigMismatchError,
    NetworkError,
    "A peer-to-peer peer runs with another setting (`setting`, `local`, `remote`): it never synchronizes."
);

/// Registers every exception class on the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    macro_rules! add {
        ($($t:ident),* $(,)?) => { $( m.add(stringify!($t), py.get_type::<$t>())?; )* };
    }
    add!(
        FramelockError,
        InvalidConfigError,
        UnknownSlotError,
        WrongSlotKindError,
        InputTooLongError,
        AlreadyConfirmedError,
        FrameTooOldError,
        BeyondWindowError,
        MissingLocalInputError,
        InvalidDisconnectError,
        ChecksumUnavailableError,
        ChecksumQueueFullError,
        ArenaExhaustedError,
        SnapshotTooLargeError,
        NoSuchSnapshotError,
        NoOpenStepError,
        FrameOverflowError,
        LogCorruptError,
        LogChunkCrcError,
        LogTruncatedError,
        LogUnsupportedVersionError,
        LogFramesOutOfOrderError,
        LogMismatchError,
        ReplayDivergedError,
        SimulationError,
        NetworkError,
        ConnectTokenError,
        ConnectionFailedError,
        PeerConfigMismatchError,
    );
    m.add("FramelockIOError", io_error_type(py)?)?;
    Ok(())
}

/// `FramelockIOError` is both a `FramelockError` and an `OSError` (with `errno`, `strerror` and
/// `filename`), so `except OSError` catches it. `create_exception!` takes one base, so the class
/// is built once with `type(name, bases, dict)`.
static IO_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();

fn io_error_type(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
    IO_ERROR
        .get_or_try_init(py, || -> PyResult<Py<PyType>> {
            let bases = PyTuple::new(
                py,
                [py.get_type::<FramelockError>().into_any(), py.get_type::<pyo3::exceptions::PyOSError>().into_any()],
            )?;
            let dict = PyDict::new(py);
            dict.set_item("__module__", "framelock")?;
            dict.set_item(
                "__doc__",
                "Reading or writing a file failed in the OS (also an `OSError`: `errno`, `strerror`, `filename`).",
            )?;
            let ty = py.get_type::<PyType>().call1(("FramelockIOError", bases, dict))?;
            Ok(ty.cast_into::<PyType>()?.unbind())
        })
        .map(|t| t.bind(py))
}

/// The errno of an `io::ErrorKind`, for errors that carry only the kind.
fn errno_of(kind: std::io::ErrorKind) -> Option<i32> {
    use std::io::ErrorKind as K;
    Some(match kind {
        K::NotFound => 2,
        K::PermissionDenied => 13,
        K::AlreadyExists => 17,
        K::Interrupted => 4,
        K::InvalidInput => 22,
        K::WriteZero | K::StorageFull => 28,
        K::UnexpectedEof => 5,
        K::IsADirectory => 21,
        K::NotADirectory => 20,
        K::ReadOnlyFilesystem => 30,
        _ => return None,
    })
}

/// A `FramelockIOError` from an OS error on `filename` (`errno`, `strerror`, `filename` set as an
/// `OSError` would have them; `kind` is Rust's `io::ErrorKind`).
pub fn io_error(e: &std::io::Error, filename: Option<&str>) -> PyErr {
    Python::attach(|py| {
        let errno = e.raw_os_error().or_else(|| errno_of(e.kind()));
        io_error_in(py, errno, format!("I/O error: {e}"), filename, e.kind())
    })
}

fn io_error_in(
    py: Python<'_>,
    errno: Option<i32>,
    strerror: String,
    filename: Option<&str>,
    kind: std::io::ErrorKind,
) -> PyErr {
    let made = io_error_type(py).and_then(|ty| {
        let v = match (errno, filename) {
            (Some(n), Some(f)) => ty.call1((n, strerror.clone(), f))?,
            (Some(n), None) => ty.call1((n, strerror.clone()))?,
            (None, _) => {
                let v = ty.call1((strerror.clone(),))?;
                v.setattr("filename", filename)?;
                v
            }
        };
        v.setattr("kind", format!("{kind:?}"))?;
        Ok(PyErr::from_value(v))
    });
    made.unwrap_or_else(|e| e)
}

/// A field value set as an exception attribute.
enum Field {
    Int(u64),
    Str(&'static str),
    OptInt(Option<u32>),
}

fn raise<T: PyTypeInfo>(py: Python<'_>, message: String, fields: &[(&str, Field)]) -> PyErr {
    let err = PyErr::new::<T, _>(message);
    let value = err.value(py);
    for (name, field) in fields {
        // Setting an attribute on a fresh exception instance cannot fail in practice; if it did,
        // the exception is still raised with its message.
        let _ = match field {
            Field::Int(v) => value.setattr(*name, *v),
            Field::Str(s) => value.setattr(*name, *s),
            Field::OptInt(v) => value.setattr(*name, *v),
        };
    }
    err
}

/// A `NetworkError` (socket failures, time limits).
pub fn network(message: String) -> PyErr {
    PyErr::new::<NetworkError, _>(message)
}

/// A `ConnectTokenError` whose `reason` attribute is the token error's text.
pub fn connect_token(reason: String) -> PyErr {
    Python::attach(|py| {
        let err = PyErr::new::<ConnectTokenError, _>(format!("not a usable connect token: {reason}"));
        let _ = err.value(py).setattr("reason", reason);
        err
    })
}

/// A `ConnectionFailedError` whose `state` attribute is the connection state's name.
pub fn connection_failed(message: String, state: &'static str) -> PyErr {
    Python::attach(|py| {
        let err = PyErr::new::<ConnectionFailedError, _>(message);
        let _ = err.value(py).setattr("state", state);
        err
    })
}

/// A `PeerConfigMismatchError` naming the peer and the first differing setting with both values.
pub fn peer_config_mismatch(peer: usize, addr: String, setting: &'static str, local: u64, remote: u64) -> PyErr {
    Python::attach(|py| {
        let msg = format!(
            "peer {peer} ({addr}) runs with another {setting}: {remote} there, {local} here; it never synchronizes"
        );
        raise::<PeerConfigMismatchError>(
            py,
            msg,
            &[
                ("peer", Field::Int(peer as u64)),
                ("setting", Field::Str(setting)),
                ("local", Field::Int(local)),
                ("remote", Field::Int(remote)),
            ],
        )
    })
}

/// The Python exception for a core error: same message, fields as attributes.
pub fn to_py(e: Error) -> PyErr {
    Python::attach(|py| to_py_in(py, e))
}

fn to_py_in(py: Python<'_>, e: Error) -> PyErr {
    use Field::{Int, OptInt, Str};
    let msg = e.to_string();
    let n = |v: usize| Int(v as u64);
    let f = |v: u32| Int(u64::from(v));
    match e {
        Error::InvalidConfig { setting, reason } => {
            raise::<InvalidConfigError>(py, msg, &[("setting", Str(setting)), ("reason", Str(reason))])
        }
        Error::UnknownSlot { slot, slots } => {
            raise::<UnknownSlotError>(py, msg, &[("slot", n(slot)), ("slots", n(slots))])
        }
        Error::WrongSlotKind { slot, is } => {
            raise::<WrongSlotKindError>(py, msg, &[("slot", n(slot)), ("is_", Str(is))])
        }
        Error::InputTooLong { slot, len, max } => {
            raise::<InputTooLongError>(py, msg, &[("slot", n(slot)), ("len", n(len)), ("max", n(max))])
        }
        Error::AlreadyConfirmed { slot, frame } => {
            raise::<AlreadyConfirmedError>(py, msg, &[("slot", n(slot)), ("frame", f(frame))])
        }
        Error::FrameTooOld { slot, frame, oldest } => {
            raise::<FrameTooOldError>(py, msg, &[("slot", n(slot)), ("frame", f(frame)), ("oldest", f(oldest))])
        }
        Error::BeyondWindow { slot, frame, newest } => {
            raise::<BeyondWindowError>(py, msg, &[("slot", n(slot)), ("frame", f(frame)), ("newest", f(newest))])
        }
        Error::MissingLocalInput { slot, frame } => {
            raise::<MissingLocalInputError>(py, msg, &[("slot", n(slot)), ("frame", f(frame))])
        }
        Error::InvalidDisconnect { slot, frame, earliest } => raise::<InvalidDisconnectError>(
            py,
            msg,
            &[("slot", n(slot)), ("frame", f(frame)), ("earliest", f(earliest))],
        ),
        Error::ChecksumUnavailable { frame, slot } => {
            raise::<ChecksumUnavailableError>(py, msg, &[("frame", f(frame)), ("slot", n(slot))])
        }
        Error::ChecksumQueueFull { capacity } => raise::<ChecksumQueueFullError>(py, msg, &[("capacity", n(capacity))]),
        Error::ArenaExhausted { arena, cap } => {
            raise::<ArenaExhaustedError>(py, msg, &[("arena", Str(arena)), ("cap", n(cap))])
        }
        Error::SnapshotTooLarge { frame, capacity } => {
            raise::<SnapshotTooLargeError>(py, msg, &[("frame", f(frame)), ("capacity", n(capacity))])
        }
        Error::NoSuchSnapshot { frame } => raise::<NoSuchSnapshotError>(py, msg, &[("frame", f(frame))]),
        Error::NoOpenStep => raise::<NoOpenStepError>(py, msg, &[]),
        Error::FrameOverflow => raise::<FrameOverflowError>(py, msg, &[]),
        Error::LogCorrupt { what, byte, chunk } => raise::<LogCorruptError>(
            py,
            msg,
            &[("what", Str(what)), ("byte", Int(byte)), ("chunk", OptInt(chunk)), ("frame", OptInt(None))],
        ),
        // A log that contradicts itself (two checksums for one frame, a keyframe that is not the
        // replay's state...) is corrupt too; it names a frame, not a byte.
        Error::LogInconsistent { what, frame } => raise::<LogCorruptError>(
            py,
            msg,
            &[("what", Str(what)), ("frame", OptInt(Some(frame))), ("byte", OptInt(None)), ("chunk", OptInt(None))],
        ),
        Error::LogChunkCrc { chunk, byte } => {
            raise::<LogChunkCrcError>(py, msg, &[("chunk", f(chunk)), ("byte", Int(byte))])
        }
        Error::LogTruncated { byte, chunk } => {
            raise::<LogTruncatedError>(py, msg, &[("byte", Int(byte)), ("chunk", OptInt(chunk))])
        }
        Error::LogUnsupportedVersion { version, min_reader, supported } => raise::<LogUnsupportedVersionError>(
            py,
            msg,
            &[
                ("version", Int(version.into())),
                ("min_reader", Int(min_reader.into())),
                ("supported", Int(supported.into())),
            ],
        ),
        Error::LogFramesOutOfOrder { expected, found } => {
            raise::<LogFramesOutOfOrderError>(py, msg, &[("expected", f(expected)), ("found", f(found))])
        }
        Error::LogMismatch { what } => raise::<LogMismatchError>(py, msg, &[("what", Str(what))]),
        Error::Io { kind } => io_error_in(py, errno_of(kind), msg, None, kind),
        Error::ReplayDiverged { frame, expected, actual } => raise::<ReplayDivergedError>(
            py,
            msg,
            &[("frame", f(frame)), ("expected", Int(expected)), ("actual", Int(actual))],
        ),
        Error::Simulation { frame, reason } => {
            raise::<SimulationError>(py, msg, &[("frame", f(frame)), ("reason", Str(reason))])
        }
        _ => raise::<FramelockError>(py, msg, &[]),
    }
}

/// Extension trait: `result.py()?` turns a core error into its Python exception.
pub trait IntoPy<T> {
    /// The result with the error converted.
    fn py_err(self) -> PyResult<T>;
}

impl<T> IntoPy<T> for Result<T, Error> {
    fn py_err(self) -> PyResult<T> {
        self.map_err(to_py)
    }
}
