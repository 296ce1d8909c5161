"""``Session``: lockstep, rollback and sync-test sessions, over Python-owned state or the arena."""

from __future__ import annotations

import contextlib
import enum
import os
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple, TypeAlias

import numpy as np
import numpy.typing as npt

from . import _framelock
from ._arena import ArenaParams, ArenaState
from ._errors import U32, U64, USIZE, check_range

__all__ = [
    "AdvanceFrame",
    "ChecksumNotCompared",
    "Desync",
    "Event",
    "InputStatus",
    "LoadState",
    "Outcome",
    "Request",
    "RunResult",
    "SaveState",
    "Session",
    "SessionStats",
    "SlotDisconnected",
    "Step",
    "SyncTestEvidence",
    "SyncTestMismatch",
]

Mode: TypeAlias = Literal["lockstep"] | Literal["rollback"] | Literal["synctest"]
#: What an input may be given as: bytes-like, a uint8 numpy array, or a sequence of ints 0..255.
InputLike: TypeAlias = bytes | bytearray | memoryview | npt.NDArray[np.uint8] | Sequence[int]


class InputStatus(enum.IntEnum):
    """What the simulation is told about one slot's input for a frame."""

    CONFIRMED = 0
    PREDICTED = 1
    DISCONNECTED = 2
    SUBSTITUTED = 3


def _as_bytes(value: object, what: str = "input") -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, np.ndarray):
        if value.dtype != np.uint8:
            raise TypeError(f"{what} must be a uint8 array, not {value.dtype}")
        if value.ndim != 1:
            raise ValueError(f"{what} must be a 1-d array, not of shape {value.shape}")
        return value.tobytes()
    if isinstance(value, str):
        raise TypeError(f"{what} must be bytes, not str")
    if isinstance(value, Iterable):
        try:
            return bytes(value)
        except (TypeError, ValueError) as e:
            raise type(e)(f"{what} must be bytes or a sequence of ints 0..255: {e}") from None
    raise TypeError(f"{what} must be bytes, a uint8 array or a sequence of ints, not {type(value).__name__}")


def _uint8(inputs: npt.ArrayLike) -> npt.NDArray[np.uint8]:
    """``inputs`` as a uint8 array (``run``/``play`` inputs): integers 0..255 are converted."""
    arr = np.asarray(inputs)
    if arr.dtype != np.uint8:
        if arr.dtype.kind not in "iub" or arr.size and (arr.min() < 0 or arr.max() > 255):
            raise TypeError(f"inputs must be uint8 (or integers 0..255), not {arr.dtype}")
        arr = arr.astype(np.uint8)
    return arr


class _Frames:
    """The frame counters of ``Session``, ``NetClient`` and ``P2PSession``, read from their
    native half."""

    _native: _framelock.NativeSession | _framelock.NativeNetClient | _framelock.NativeP2PSession

    @property
    def current_frame(self) -> int:
        """The frame the next tick (or advance) simulates."""
        return self._native.current_frame

    @property
    def confirmed_until(self) -> int:
        """The first frame whose inputs are not all confirmed (by the relay for a ``NetClient``,
        as far as received)."""
        return self._native.confirmed_until

    @property
    def checksummed_until(self) -> int:
        """Every frame below this has its final checksum."""
        return self._native.checksummed_until


def _slots_of(mask: int) -> tuple[int, ...]:
    return tuple(s for s in range(mask.bit_length()) if mask >> s & 1)


# ----- requests --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SaveState:
    """Save the current state (the state at the start of ``frame``) with ``Step.save``."""

    frame: int


@dataclass(frozen=True, slots=True)
class LoadState:
    """Replace the current state by the one saved for ``frame`` (``Step.load``)."""

    frame: int


@dataclass(frozen=True, slots=True)
class AdvanceFrame:
    """Simulate ``frame`` with every slot's input (``inputs[slot]``) and its status."""

    frame: int
    inputs: tuple[bytes, ...]
    statuses: tuple[InputStatus, ...]


Request: TypeAlias = SaveState | LoadState | AdvanceFrame


class Outcome(NamedTuple):
    """Whether a step simulated a new frame, or which slots the session waits for."""

    advanced: bool
    #: The frame simulated for the first time, when ``advanced``.
    frame: int | None
    #: The slots whose input is needed first, when not ``advanced``.
    waiting_for: tuple[int, ...]

    @classmethod
    def _from_native(cls, advanced: bool, value: int) -> Outcome:
        if advanced:
            return cls(True, value, ())
        return cls(False, None, _slots_of(value))


class Step:
    """The requests of one ``Session.advance()``, fulfilled in order.

    For a session over Python-owned state, iterate the requests and answer each: ``save`` the
    state for ``SaveState``, ``load`` it for ``LoadState``, simulate for ``AdvanceFrame``. The step
    is finished (snapshots checksummed, events raised) by ``finish()``, by leaving a ``with``
    block, or by the session's next call. A session driving the arena returns a finished step
    with no requests.
    """

    __slots__ = ("_native", "_id", "outcome", "requests")

    def __init__(self, native: _framelock.NativeSession, step_id: int, outcome: Outcome, requests: tuple[Request, ...]):
        self._native = native
        self._id = step_id
        self.outcome = outcome
        self.requests = requests

    @property
    def advanced(self) -> bool:
        return self.outcome.advanced

    def __iter__(self) -> Iterator[Request]:
        return iter(self.requests)

    def __len__(self) -> int:
        return len(self.requests)

    def __repr__(self) -> str:
        return f"Step({self.outcome!r}, {len(self.requests)} requests)"

    def save(self, frame: int, data: bytes | bytearray | memoryview, checksum: int | None = None) -> None:
        """Answers ``SaveState(frame)``: stores ``data`` in the session's snapshot ring.

        ``checksum`` replaces the core's hash of the bytes (give one when equal states may
        serialize differently, e.g. pickles of dicts).
        """
        self._native.step_save(self._id, frame, _as_bytes(data, "snapshot"), checksum)

    def load(self, frame: int) -> bytes:
        """Answers ``LoadState(frame)``: the bytes saved for that frame."""
        return self._native.step_load(self._id, frame)

    def finish(self) -> None:
        """Finishes the step now (otherwise the session's next call does)."""
        self._native.finish_step()

    def __enter__(self) -> Step:
        return self

    def __exit__(self, *exc: object) -> None:
        self.finish()


_STATUS = tuple(InputStatus)


def _request(raw: tuple[int, int] | tuple[int, int, tuple[bytes, ...], tuple[int, ...]]) -> Request:
    kind = raw[0]
    if kind == 2:
        _, frame, inputs, statuses = raw  # type: ignore[misc]
        return AdvanceFrame(frame, inputs, tuple(map(_STATUS.__getitem__, statuses)))
    if kind == 0:
        return SaveState(raw[1])
    return LoadState(raw[1])


# ----- events and statistics ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Desync:
    """A remote checksum of a confirmed frame differs from the local one."""

    frame: int
    slot: int
    local: int
    remote: int


@dataclass(frozen=True, slots=True)
class SyncTestMismatch:
    """Sync test: resimulating gave another state (see ``Session.sync_test_evidence``)."""

    frame: int
    first: int
    second: int


@dataclass(frozen=True, slots=True)
class SlotDisconnected:
    """A slot was disconnected; from ``frame`` on its input is the default input."""

    slot: int
    frame: int


@dataclass(frozen=True, slots=True)
class ChecksumNotCompared:
    """A remote checksum waited for a frame that never got a local checksum."""

    frame: int
    slot: int


Event: TypeAlias = Desync | SyncTestMismatch | SlotDisconnected | ChecksumNotCompared


def _event(raw: tuple[str, int, int, int, int]) -> Event:
    kind, frame, slot, a, b = raw
    if kind == "desync":
        return Desync(frame, slot, a, b)
    if kind == "sync_test_mismatch":
        return SyncTestMismatch(frame, a, b)
    if kind == "slot_disconnected":
        return SlotDisconnected(slot, frame)
    return ChecksumNotCompared(frame, slot)


@dataclass(frozen=True, slots=True)
class SessionStats:
    """Counters of what a session did."""

    frames_advanced: int
    frames_resimulated: int
    rollbacks: int
    max_rollback: int
    stalls: int
    checksums_compared: int
    desyncs: int
    events_dropped: int

    def as_dict(self) -> dict[str, int]:
        return {f: getattr(self, f) for f in self.__dataclass_fields__}


@dataclass(frozen=True, slots=True)
class SyncTestEvidence:
    """The two snapshots of the first sync-test mismatch."""

    frame: int
    first: bytes
    second: bytes


@dataclass(frozen=True, slots=True)
class RunResult:
    """What ``Session.run`` did: ticks that advanced a frame and ticks that stalled."""

    advanced: int
    stalled: int


# ----- the session -------------------------------------------------------------------------------


class Session(_Frames):
    """A frame-sync session: inputs in, ordered requests out, checksums compared.

    Over Python-owned state (no ``arena``), ``advance()`` returns a :class:`Step` whose requests
    you fulfil. With ``arena=ArenaParams(...)`` the session drives the built-in reference
    simulation itself: ``advance()`` simulates, ``run()`` runs many ticks without the GIL, and
    ``state()`` returns the simulation's state as numpy arrays.

    ``local`` names the slots whose inputs this process adds with ``add_local_input`` (default:
    every slot); the others are remote and take ``add_remote_input``. ``mode`` is ``"lockstep"``,
    ``"rollback"`` (predict up to ``max_prediction`` frames) or ``"synctest"`` (resimulate
    ``check_distance`` frames every tick and compare). ``relay=True`` makes local inputs proposals
    until confirmed with ``add_remote_input``. ``record=True`` lets the session write input logs
    (``start_recording``). Sizes default to the arena's needs, or 8-byte inputs and 64 KiB
    snapshots. Every value is checked by the core: ``InvalidConfigError`` says which one.
    """

    _native: _framelock.NativeSession

    def __init__(
        self,
        slots: int,
        *,
        local: int | Iterable[int] | None = None,
        mode: Mode = "lockstep",
        max_prediction: int = 8,
        check_distance: int = 2,
        relay: bool = False,
        input_size: int | None = None,
        input_delay: int = 0,
        max_snapshot_size: int | None = None,
        default_input: bytes | None = None,
        frame_arena_size: int | None = None,
        input_window: int = 128,
        checksum_history: int = 1024,
        checksum_interval: int = 1,
        event_capacity: int = 256,
        early_checksum_capacity: int = 256,
        record: bool = False,
        start_frame: int = 0,
        arena: ArenaParams | None = None,
    ) -> None:
        if local is None:
            local_slots = list(range(slots)) if 0 < slots <= 64 else []
        elif isinstance(local, int):
            local_slots = [local]
        else:
            local_slots = list(local)
        depth = {"rollback": max_prediction, "synctest": check_distance}.get(mode, 0)
        try:
            self._native = _framelock.NativeSession(
                slots,
                local_slots,
                mode,
                depth,
                relay,
                input_size,
                input_delay,
                max_snapshot_size,
                None if default_input is None else _as_bytes(default_input, "default_input"),
                frame_arena_size,
                input_window,
                checksum_history,
                checksum_interval,
                event_capacity,
                record,
                start_frame,
                None if arena is None else arena._tuple(),
                early_checksum_capacity,
            )
        except OverflowError:
            check_range(
                slots=(slots, USIZE),
                max_prediction=(max_prediction, U32),
                check_distance=(check_distance, U32),
                input_size=(input_size, USIZE),
                input_delay=(input_delay, U32),
                max_snapshot_size=(max_snapshot_size, USIZE),
                frame_arena_size=(frame_arena_size, USIZE),
                input_window=(input_window, U32),
                checksum_history=(checksum_history, U32),
                checksum_interval=(checksum_interval, U32),
                event_capacity=(event_capacity, USIZE),
                early_checksum_capacity=(early_checksum_capacity, USIZE),
                start_frame=(start_frame, U32),
            )
            for slot in local_slots:
                check_range(local=(slot, USIZE))
            raise
        self._arena = arena
        # Fixed for the session's life: repr() reads these without taking the session's lock.
        self._slots = slots
        self._mode: Mode = mode

    def __repr__(self) -> str:
        sim = f", arena={self._arena!r}" if self._arena else ""
        try:
            frame = str(self.current_frame)
        except RuntimeError:  # another thread is inside run(): say so rather than fail
            frame = "<running>"
        return f"Session(slots={self._slots}, mode={self._mode!r}, current_frame={frame}{sim})"

    # ----- inputs -------------------------------------------------------------------------------

    def add_local_input(self, slot: int, input: InputLike) -> int | None:
        """Adds this tick's input of a local slot; returns the frame it is for (``None`` when a
        lowered input delay drops it)."""
        try:
            return self._native.add_local_input(slot, _as_bytes(input))
        except OverflowError:
            check_range(slot=(slot, USIZE))
            raise

    def add_remote_input(self, slot: int, frame: int, input: InputLike) -> None:
        """Adds the confirmed input of ``slot`` for ``frame`` (a remote player's, or the relay's)."""
        try:
            self._native.add_remote_input(slot, frame, _as_bytes(input))
        except OverflowError:
            check_range(slot=(slot, USIZE), frame=(frame, U32))
            raise

    def add_substituted_input(self, slot: int, frame: int, input: InputLike) -> None:
        """A confirmed input the relay substituted for a late one."""
        try:
            self._native.add_substituted_input(slot, frame, _as_bytes(input))
        except OverflowError:
            check_range(slot=(slot, USIZE), frame=(frame, U32))
            raise

    def add_disconnected_input(self, slot: int, frame: int, input: InputLike) -> None:
        """A frame the authority closed with ``slot`` disconnected (one frame only)."""
        try:
            self._native.add_disconnected_input(slot, frame, _as_bytes(input))
        except OverflowError:
            check_range(slot=(slot, USIZE), frame=(frame, U32))
            raise

    def disconnect_slot(self, slot: int, frame: int) -> None:
        """Disconnects ``slot`` from ``frame`` on (its input becomes the default input)."""
        try:
            self._native.disconnect_slot(slot, frame)
        except OverflowError:
            check_range(slot=(slot, USIZE), frame=(frame, U32))
            raise

    def add_remote_checksum(self, slot: int, frame: int, checksum: int) -> None:
        """Compares a peer's checksum of ``frame`` with the local one (now or once final)."""
        try:
            self._native.add_remote_checksum(slot, frame, checksum)
        except OverflowError:
            check_range(slot=(slot, USIZE), frame=(frame, U32), checksum=(checksum, U64))
            raise

    @property
    def input_delay(self) -> int:
        """Frames between adding a local input and the frame it is for (settable, 0..32)."""
        return self._native.input_delay

    @input_delay.setter
    def input_delay(self, frames: int) -> None:
        try:
            self._native.set_input_delay(frames)
        except OverflowError:
            check_range(input_delay=(frames, U32))
            raise

    # ----- advancing ----------------------------------------------------------------------------

    def advance(self) -> Step:
        """Plans this tick. Returns the :class:`Step` of requests to fulfil, or, for an arena
        session, the finished step (the arena was advanced)."""
        advanced, value, step_id, raw = self._native.advance()
        outcome = Outcome(True, value, ()) if advanced else Outcome(False, None, _slots_of(value))
        return Step(self._native, step_id, outcome, tuple(map(_request, raw)))

    def tick(self, inputs: Sequence[InputLike] | npt.NDArray[np.uint8]) -> Step:
        """Adds one input per local slot (``inputs[slot]``; other slots' entries are ignored)
        and advances: the body of a typical game loop."""
        if len(inputs) != self.slots:
            raise ValueError(f"tick() takes one input per slot ({self.slots}), got {len(inputs)}")
        for slot in self.local_slots:
            self.add_local_input(slot, inputs[slot])
        return self.advance()

    def run(self, inputs: npt.ArrayLike) -> RunResult:
        """Runs one tick per row of ``inputs`` on the built-in simulation, without the GIL.

        ``inputs`` is a ``(frames, slots, input_bytes)`` uint8 array (any array-like that numpy
        converts without loss). Row ``t`` holds every slot's input of tick ``t``: local slots get
        it with ``add_local_input``, remote ones with ``add_remote_input`` for the same frame, then
        the session advances. Other threads run meanwhile. On an error the ticks before it are
        done; the exception's ``tick`` attribute says which tick failed.
        """
        if self._arena is None:
            raise TypeError("run() needs the built-in simulation: build the session with arena=ArenaParams(...)")
        arr = _uint8(inputs)
        if arr.ndim != 3 or arr.shape[1] != self.slots:
            raise ValueError(f"inputs must have shape (frames, {self.slots}, input_bytes), not {arr.shape}")
        if arr.shape[2] < 1 or arr.shape[2] > self.max_input_size:
            raise ValueError(f"inputs must have 1 to {self.max_input_size} bytes per input, not {arr.shape[2]}")
        arr = np.ascontiguousarray(arr)
        advanced, stalled = self._native.run(arr, arr.shape[0], arr.shape[2])
        return RunResult(advanced, stalled)

    # ----- observation --------------------------------------------------------------------------

    def poll_event(self) -> Event | None:
        """The oldest event not yet polled, or ``None``."""
        raw = self._native.poll_event()
        return None if raw is None else _event(raw)

    def events(self) -> list[Event]:
        """Every event waiting, oldest first."""
        out: list[Event] = []
        while (e := self.poll_event()) is not None:
            out.append(e)
        return out

    def checksum(self, frame: int) -> int | None:
        """The final checksum of the state at the start of ``frame``, while kept."""
        try:
            return self._native.checksum(frame)
        except OverflowError:
            check_range(frame=(frame, U32))
            raise

    def checksums(
        self, start: int = 0, stop: int | None = None
    ) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.uint64]]:
        """Every kept final checksum of frames in ``[start, stop)``: ``(frames, checksums)``."""
        stop = self.checksummed_until if stop is None else stop
        try:
            frames, values = self._native.checksums(start, stop)
        except OverflowError:
            check_range(start=(start, U32), stop=(stop, U32))
            raise
        return np.array(frames, dtype=np.uint32), np.array(values, dtype=np.uint64)

    def waiting_for(self, frame: int) -> tuple[int, ...]:
        """The slots whose input for ``frame`` is not confirmed yet."""
        try:
            return _slots_of(self._native.waiting_for(frame))
        except OverflowError:
            check_range(frame=(frame, U32))
            raise

    @property
    def stats(self) -> SessionStats:
        """Counters: frames advanced and resimulated, rollbacks, stalls, desyncs..."""
        return SessionStats(*self._native.stats())

    @property
    def slots(self) -> int:
        return self._native.slots

    @property
    def local_slots(self) -> tuple[int, ...]:
        return _slots_of(self._native.local_slots)

    @property
    def mode(self) -> Mode:
        return self._native.mode[0]  # type: ignore[return-value]

    @property
    def max_input_size(self) -> int:
        return self._native.max_input_size

    @property
    def max_snapshot_size(self) -> int:
        return self._native.max_snapshot_size

    @property
    def default_input(self) -> bytes:
        return self._native.default_input

    @property
    def arena(self) -> ArenaParams | None:
        """The built-in simulation's params, or ``None`` for Python-owned state."""
        return self._arena

    def final_snapshot(self, frame: int) -> bytes | None:
        """The snapshot of ``frame`` once its checksum is final, while the ring holds it."""
        try:
            return self._native.final_snapshot(frame)
        except OverflowError:
            check_range(frame=(frame, U32))
            raise

    def sync_test_evidence(self) -> SyncTestEvidence | None:
        """The two snapshots of the first sync-test mismatch, if there was one."""
        raw = self._native.sync_test_evidence()
        return None if raw is None else SyncTestEvidence(*raw)

    def state(self) -> ArenaState:
        """The built-in simulation's current state as read-only numpy arrays."""
        return ArenaState._from_native(self._native.arena_state())

    # ----- saving and restoring (built-in simulation) ---------------------------------------------

    def save_state(self) -> bytes:
        """The session and the arena at the current frame as bytes, for ``load_state``, pickle
        and ``copy.deepcopy`` (tree search, population-based training).

        Holds the configuration, the frame and the arena's snapshot, with a checksum. A restored
        session continues from that frame exactly as this one would, but has no history: earlier
        checksums, events, statistics and a running recording are not kept. Only an arena session
        at a frame where nothing is predicted and no input was added ahead can be saved
        (``RuntimeError`` otherwise: a lockstep session between ticks always can).
        """
        return self._native.save_state()

    def load_state(self, data: bytes | bytearray | memoryview) -> None:
        """Replaces this session by the one ``save_state()``'s bytes describe (its configuration
        too). ``ValueError`` for bytes that are not a saved state (bad magic, checksum, fields)."""
        self._native.load_state(_as_bytes(data, "state"))
        self._sync_from_native()

    @classmethod
    def from_state(cls, data: bytes | bytearray | memoryview) -> Session:
        """A new session from ``save_state()``'s bytes."""
        self = cls.__new__(cls)
        self._native = _framelock.NativeSession.from_state(_as_bytes(data, "state"))
        self._sync_from_native()
        return self

    def _sync_from_native(self) -> None:
        raw = self._native.arena_params
        self._arena = None if raw is None else ArenaParams(*raw)
        self._slots = self._native.slots
        self._mode = self._native.mode[0]  # type: ignore[assignment]

    def __reduce__(self) -> tuple[object, tuple[bytes]]:
        return (Session.from_state, (self.save_state(),))

    def __copy__(self) -> Session:
        return Session.from_state(self.save_state())

    def __deepcopy__(self, memo: dict[int, object]) -> Session:
        return Session.from_state(self.save_state())

    # ----- recording ----------------------------------------------------------------------------

    def start_recording(
        self,
        path: str | os.PathLike[str],
        *,
        checksum_interval: int = 60,
        keyframe_interval: int = 0,
        tick_rate: int = 60,
        simulation: str | None = None,
        sim_params: bytes | None = None,
        creator: str = f"framelock-python {_framelock.__version__}",
    ) -> None:
        """Starts writing an input log of every confirmed frame to ``path`` (the session must be
        built with ``record=True``): a checksum every ``checksum_interval`` frames and, if
        ``keyframe_interval`` > 0, a snapshot every that many frames for seeking. Arena sessions
        record the simulation's name and params, so ``InputLog.verify`` can replay them."""
        try:
            self._native.start_recording(
                os.fspath(path),
                checksum_interval,
                keyframe_interval,
                tick_rate,
                simulation,
                sim_params,
                creator,
                int(time.time()),
            )
        except OverflowError:
            check_range(
                checksum_interval=(checksum_interval, U32),
                keyframe_interval=(keyframe_interval, U32),
                tick_rate=(tick_rate, (0, 2**16 - 1)),
            )
            raise

    def stop_recording(self) -> int:
        """Writes everything confirmed so far, closes the log and returns the frames recorded.
        ``RuntimeError`` when the session is not recording."""
        r = self._native.stop_recording()
        if r is None:
            raise RuntimeError("the session is not recording: start_recording() first")
        return r[1]

    @property
    def is_recording(self) -> bool:
        return self._native.recording is not None

    @contextlib.contextmanager
    def recording(self, path: str | os.PathLike[str], **options: int | str | bytes | None) -> Iterator[Session]:
        """``with session.recording("match.flog"): ...`` records the block's frames."""
        self.start_recording(path, **options)  # type: ignore[arg-type]
        try:
            yield self
        finally:
            self.stop_recording()
