# Stubs of the native module (python/src/). Checked against the built module by mypy.stubtest.
# The public, documented API is the pure-Python package around it (framelock/__init__.py).

from collections.abc import Callable
from typing import Any, final

__all__ = [
    "AlreadyConfirmedError",
    "ArenaExhaustedError",
    "BeyondWindowError",
    "ChecksumQueueFullError",
    "ChecksumUnavailableError",
    "ConnectTokenError",
    "ConnectionFailedError",
    "FrameOverflowError",
    "FrameTooOldError",
    "FramelockError",
    "FramelockIOError",
    "INPUT_STATUSES",
    "InputTooLongError",
    "InvalidConfigError",
    "InvalidDisconnectError",
    "LogChunkCrcError",
    "LogCorruptError",
    "LogFramesOutOfOrderError",
    "LogMismatchError",
    "LogTruncatedError",
    "LogUnsupportedVersionError",
    "MissingLocalInputError",
    "NativeLog",
    "NativeLogFrames",
    "NativeNetClient",
    "NativeP2PSession",
    "NativeSession",
    "NativeVecEnv",
    "NetworkError",
    "NoOpenStepError",
    "NoSuchSnapshotError",
    "PeerConfigMismatchError",
    "ReplayDivergedError",
    "SimulationError",
    "SnapshotTooLargeError",
    "UnknownSlotError",
    "WrongSlotKindError",
    "__version__",
    "_bench_native",
    "_raise_core_error",
    "arena_bounds",
    "checksum64",
    "decode_arena_params",
    "encode_arena_params",
    "encode_input",
    "scripted_inputs",
    "verify_log_file",
]
__version__: str
INPUT_STATUSES: list[tuple[str, int]]

_ArenaTuple = tuple[int, int, int, int]
_StateTuple = tuple[int, int, int, bytes]

class FramelockError(Exception): ...
class InvalidConfigError(FramelockError):
    setting: str
    reason: str
class UnknownSlotError(FramelockError):
    slot: int
    slots: int
class WrongSlotKindError(FramelockError):
    slot: int
    is_: str
class InputTooLongError(FramelockError):
    slot: int
    len: int
    max: int
class AlreadyConfirmedError(FramelockError):
    slot: int
    frame: int
class FrameTooOldError(FramelockError):
    slot: int
    frame: int
    oldest: int
class BeyondWindowError(FramelockError):
    slot: int
    frame: int
    newest: int
class MissingLocalInputError(FramelockError):
    slot: int
    frame: int
class InvalidDisconnectError(FramelockError):
    slot: int
    frame: int
    earliest: int
class ChecksumUnavailableError(FramelockError):
    frame: int
    slot: int
class ChecksumQueueFullError(FramelockError):
    capacity: int
class ArenaExhaustedError(FramelockError):
    arena: str
    cap: int
class SnapshotTooLargeError(FramelockError):
    frame: int
    capacity: int
class NoSuchSnapshotError(FramelockError):
    frame: int
class NoOpenStepError(FramelockError): ...
class FrameOverflowError(FramelockError): ...
class LogCorruptError(FramelockError):
    what: str
    #: The byte offset of a malformed field (``None`` when the log contradicts itself: see ``frame``).
    byte: int | None
    chunk: int | None
    #: The frame a self-contradicting log names (two checksums for it, a bad keyframe); else ``None``.
    frame: int | None
class LogChunkCrcError(FramelockError):
    chunk: int
    byte: int
class LogTruncatedError(FramelockError):
    byte: int
    chunk: int | None
class LogUnsupportedVersionError(FramelockError):
    version: int
    min_reader: int
    supported: int
class LogFramesOutOfOrderError(FramelockError):
    expected: int
    found: int
class LogMismatchError(FramelockError):
    what: str
class FramelockIOError(FramelockError, OSError):
    kind: str
class ReplayDivergedError(FramelockError):
    frame: int
    expected: int
    actual: int
class SimulationError(FramelockError):
    frame: int
    reason: str
class NetworkError(FramelockError): ...
class ConnectTokenError(NetworkError):
    reason: str
class ConnectionFailedError(NetworkError):
    state: str
class PeerConfigMismatchError(NetworkError):
    peer: int
    setting: str
    local: int
    remote: int

@final
class NativeSession:
    def __new__(
        cls,
        slots: int,
        local: list[int],
        mode: str,
        depth: int,
        relay: bool,
        max_input_size: int | None,
        input_delay: int,
        max_snapshot_size: int | None,
        default_input: bytes | None,
        frame_arena_size: int | None,
        input_window: int,
        checksum_history: int,
        checksum_interval: int,
        event_capacity: int,
        record: bool,
        start_frame: int,
        arena_params: _ArenaTuple | None,
        early_checksum_capacity: int = 256,
    ) -> NativeSession: ...
    @staticmethod
    def from_state(data: bytes) -> NativeSession: ...
    def save_state(self) -> bytes: ...
    def load_state(self, data: bytes) -> None: ...
    def add_local_input(self, slot: int, input: bytes) -> int | None: ...
    def add_remote_input(self, slot: int, frame: int, input: bytes) -> None: ...
    def add_substituted_input(self, slot: int, frame: int, input: bytes) -> None: ...
    def add_disconnected_input(self, slot: int, frame: int, input: bytes) -> None: ...
    def disconnect_slot(self, slot: int, frame: int) -> None: ...
    def set_input_delay(self, frames: int) -> None: ...
    def add_remote_checksum(self, slot: int, frame: int, checksum: int) -> None: ...
    def advance(self) -> tuple[bool, int, int, tuple[Any, ...]]: ...
    def step_save(self, step: int, frame: int, data: bytes, checksum: int | None = None) -> None: ...
    def step_load(self, step: int, frame: int) -> bytes: ...
    def finish_step(self) -> None: ...
    def run(self, inputs: object, frames: int, size: int) -> tuple[int, int]: ...
    def start_recording(
        self,
        path: str,
        checksum_interval: int,
        keyframe_interval: int,
        tick_rate: int,
        simulation: str | None,
        sim_params: bytes | None,
        creator: str,
        created_unix: int,
    ) -> None: ...
    def stop_recording(self) -> tuple[str, int] | None: ...
    @property
    def recording(self) -> str | None: ...
    def poll_event(self) -> tuple[str, int, int, int, int] | None: ...
    def checksum(self, frame: int) -> int | None: ...
    def checksums(self, start: int, stop: int) -> tuple[list[int], list[int]]: ...
    @property
    def checksummed_until(self) -> int: ...
    @property
    def current_frame(self) -> int: ...
    @property
    def confirmed_until(self) -> int: ...
    def waiting_for(self, frame: int) -> int: ...
    @property
    def input_delay(self) -> int: ...
    @property
    def slots(self) -> int: ...
    @property
    def local_slots(self) -> int: ...
    @property
    def mode(self) -> tuple[str, int]: ...
    @property
    def max_input_size(self) -> int: ...
    @property
    def max_snapshot_size(self) -> int: ...
    @property
    def default_input(self) -> bytes: ...
    def stats(self) -> tuple[int, int, int, int, int, int, int, int]: ...
    def final_snapshot(self, frame: int) -> bytes | None: ...
    def sync_test_evidence(self) -> tuple[int, bytes, bytes] | None: ...
    @property
    def arena_params(self) -> _ArenaTuple | None: ...
    def observe(self, full: bool, projectiles: int) -> tuple[bytes, bytes]: ...
    def arena_state(self) -> _StateTuple: ...

def verify_log_file(
    path: str, allow_truncated: bool = False
) -> tuple[int, int, int, int | None, int | None, int, str | None]: ...
@final
class NativeLog:
    def __new__(cls, data: bytes, allow_truncated: bool = False) -> NativeLog: ...
    def header(self) -> dict[str, Any]: ...
    def checksums(self) -> tuple[list[int], list[int]]: ...
    def keyframes(self) -> list[tuple[int, int, int]]: ...
    def keyframe(self, frame: int) -> bytes | None: ...
    def decode(self, start: int, stop: int) -> tuple[bytes, bytes, bytes]: ...
    def arena_params(self) -> _ArenaTuple: ...
    def verify(self) -> tuple[int, int, int, int | None, int | None]: ...
    def seek(self, frame: int) -> _StateTuple: ...

@final
class NativeLogFrames:
    def __new__(cls, path: str, allow_truncated: bool = False) -> NativeLogFrames: ...
    def first_frame(self) -> int: ...
    def next(self) -> tuple[int, list[bytes], list[int]] | None: ...

@final
class NativeNetClient:
    def __new__(
        cls,
        token: bytes,
        slot: int | None,
        players: int,
        tick_rate: int,
        arena_params: _ArenaTuple,
        max_prediction: int,
        input_delay: int,
        checksum_interval: int,
        loss: float,
        latency_ms: int,
        jitter_ms: int,
        seed: int,
        bind: str | None = None,
    ) -> NativeNetClient: ...
    def poll(self, max_wait: float) -> None: ...
    def tick(self, input: bytes | None = None) -> tuple[bool, int] | None: ...
    def play(
        self,
        frames: int,
        inputs: object | None,
        rows: int,
        width: int,
        callback: Callable[[], bytes] | None,
        timeout: float | None,
        leave: bool,
    ) -> int: ...
    def disconnect(self) -> None: ...
    @property
    def state(self) -> int: ...
    @property
    def connected(self) -> bool: ...
    def check_alive(self) -> None: ...
    def checksum(self, frame: int) -> int | None: ...
    @property
    def current_frame(self) -> int: ...
    @property
    def confirmed_until(self) -> int: ...
    @property
    def checksummed_until(self) -> int: ...
    @property
    def input_delay(self) -> int: ...
    @property
    def ticks(self) -> int: ...
    @property
    def local_addr(self) -> str: ...
    @property
    def server_addr(self) -> str: ...
    def stats(self) -> list[tuple[str, int]]: ...
    def arena_state(self) -> _StateTuple: ...

_EventTuple = tuple[str, int, int, int, int, str]

@final
class NativeP2PSession:
    def __new__(
        cls,
        bind: str,
        key: bytes,
        rng_seed: bytes,
        slots: int,
        input_size: int,
        local: list[int],
        peers: list[tuple[int, str]],
        spectators: list[str],
        spectate: str | None,
        tick_rate: int,
        max_prediction: int,
        input_delay: int,
        checksum_interval: int,
        simulation_id: int | None,
        disconnect_notify_ms: int,
        disconnect_timeout_ms: int,
        auto_time_sync: bool,
        default_input: bytes | None,
        arena_params: _ArenaTuple | None,
        callbacks: tuple[Callable[..., Any], Callable[..., Any], Callable[..., Any]] | None,
        max_snapshot_size: int,
        latency_ms: int,
        jitter_ms: int,
        loss: float,
        duplicate: float,
        reorder: float,
        seed: int,
    ) -> NativeP2PSession: ...
    def poll(self, max_wait: float) -> None: ...
    def until_next_tick(self) -> float | None: ...
    def tick(self, input: bytes | None = None) -> tuple[bool, int] | None: ...
    def play(
        self,
        frames: int,
        rows_data: bytes | None,
        rows: int,
        callback: Callable[[], bytes] | None,
        timeout: float | None,
        sync_timeout: float,
    ) -> int: ...
    def events(self) -> tuple[list[_EventTuple], int]: ...
    def peers(self) -> list[tuple[int, str, str]]: ...
    def peer_stats(self, index: int) -> list[tuple[str, int]]: ...
    def drops(self) -> list[tuple[str, int]]: ...
    def stats(self) -> tuple[tuple[int, int, int, int, int, int, int, int], int]: ...
    def checksum(self, frame: int) -> int | None: ...
    def close(self) -> None: ...
    @property
    def closed(self) -> bool: ...
    @property
    def running(self) -> bool: ...
    @property
    def current_frame(self) -> int: ...
    @property
    def confirmed_until(self) -> int: ...
    @property
    def checksummed_until(self) -> int: ...
    @property
    def ticks(self) -> int: ...
    @property
    def local_addr(self) -> str: ...
    def arena_state(self) -> _StateTuple: ...

def checksum64(data: bytes) -> int: ...
def _raise_core_error(kind: str) -> None: ...
def _bench_native(params: _ArenaTuple, inputs: bytes, frames: int, checksum_interval: int = 1) -> tuple[float, int]: ...
def scripted_inputs(seed: int, slots: int, frames: int, start: int = 0) -> bytes: ...
def encode_input(
    up: bool = False, down: bool = False, left: bool = False, right: bool = False, fire: bool = False, aim: int = 0
) -> bytes: ...
def arena_bounds(p: _ArenaTuple) -> tuple[int, int]: ...
def encode_arena_params(p: _ArenaTuple) -> bytes: ...
def decode_arena_params(bytes: bytes) -> _ArenaTuple: ...

@final
class NativeVecEnv:
    def __new__(
        cls,
        num_envs: int,
        params_tuple: _ArenaTuple,
        max_cycles: int,
        controlled: list[int],
        full: bool,
        projectiles: int,
        threads: int = 1,
    ) -> NativeVecEnv: ...
    def reset(self, seed: int) -> None: ...
    def step(self, actions: Any) -> None: ...
    def read(self, obs: Any, rewards: Any, truncated: Any, frames: Any, seeds: Any, scores: Any) -> None: ...
    def arena_state(self, env: int) -> _StateTuple: ...
