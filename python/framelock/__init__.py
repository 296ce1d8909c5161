"""framelock: deterministic frame sync (lockstep, rollback, sync test) for Python.

The package wraps the Rust core ``framelock-core`` (the native module ``framelock._framelock``):

- :class:`Session` for every mode, over state you own (answer its requests) or over the built-in
  reference simulation (``arena=ArenaParams(...)``), with ``run()`` for whole batches of ticks;
- :class:`NetClient`: a bot (or spectator) in a live room of a relay (``framelock serve``);
- :class:`P2PSession`: one process of a peer-to-peer match over UDP, no relay (GGPO style);
- :class:`InputLog` to open, iterate, export, verify and seek recorded matches;
- :mod:`framelock.env` (optional extra ``env``): a PettingZoo ``ParallelEnv`` over the arena.

Every error is a :class:`FramelockError`, one subclass per kind. See ``docs/python.md``.
"""

from ._framelock import (
    AlreadyConfirmedError,
    ArenaExhaustedError,
    BeyondWindowError,
    ChecksumQueueFullError,
    ChecksumUnavailableError,
    ConnectionFailedError,
    ConnectTokenError,
    FrameOverflowError,
    FrameTooOldError,
    FramelockError,
    FramelockIOError,
    InputTooLongError,
    InvalidConfigError,
    InvalidDisconnectError,
    LogChunkCrcError,
    LogCorruptError,
    LogFramesOutOfOrderError,
    LogMismatchError,
    LogTruncatedError,
    LogUnsupportedVersionError,
    MissingLocalInputError,
    NetworkError,
    NoOpenStepError,
    NoSuchSnapshotError,
    PeerConfigMismatchError,
    ReplayDivergedError,
    SimulationError,
    SnapshotTooLargeError,
    UnknownSlotError,
    WrongSlotKindError,
    __version__,
    checksum64,
)
from ._arena import (
    BUTTON_DOWN,
    BUTTON_FIRE,
    BUTTON_LEFT,
    BUTTON_RIGHT,
    BUTTON_UP,
    INPUT_SIZE,
    NEUTRAL_INPUT,
    ArenaParams,
    ArenaState,
    encode_input,
    scripted_inputs,
)
from ._errors import OutOfRangeError
from ._render import draw_arena
from ._log import FLAG_DISCONNECTED, FLAG_SUBSTITUTED, InputLog, LoggedFrame, LogHeader, VerifyReport
from ._net import ConnectionState, NetClient, NetStats
from ._p2p import (
    ConfigMismatch,
    Disconnecting,
    NetworkInterrupted,
    NetworkResumed,
    NewSessionRefused,
    P2PDrops,
    P2PEvent,
    P2PGame,
    P2PSession,
    PeerId,
    PeerStats,
    PeerTooFarBehind,
    Running,
    Synchronized,
    Synchronizing,
    WaitRecommendation,
)
from ._session import (
    AdvanceFrame,
    ChecksumNotCompared,
    Desync,
    Event,
    InputStatus,
    LoadState,
    Outcome,
    Request,
    RunResult,
    SaveState,
    Session,
    SessionStats,
    SlotDisconnected,
    Step,
    SyncTestEvidence,
    SyncTestMismatch,
)

__all__ = [
    "AdvanceFrame",
    "AlreadyConfirmedError",
    "ArenaExhaustedError",
    "ArenaParams",
    "ArenaState",
    "BUTTON_DOWN",
    "BUTTON_FIRE",
    "BUTTON_LEFT",
    "BUTTON_RIGHT",
    "BUTTON_UP",
    "BeyondWindowError",
    "ChecksumNotCompared",
    "ChecksumQueueFullError",
    "ChecksumUnavailableError",
    "ConfigMismatch",
    "ConnectTokenError",
    "ConnectionFailedError",
    "ConnectionState",
    "Desync",
    "Disconnecting",
    "Event",
    "FLAG_DISCONNECTED",
    "FLAG_SUBSTITUTED",
    "FrameOverflowError",
    "FrameTooOldError",
    "FramelockError",
    "FramelockIOError",
    "INPUT_SIZE",
    "InputLog",
    "InputStatus",
    "InputTooLongError",
    "InvalidConfigError",
    "InvalidDisconnectError",
    "LoadState",
    "LogChunkCrcError",
    "LogCorruptError",
    "LogFramesOutOfOrderError",
    "LogHeader",
    "LogMismatchError",
    "LogTruncatedError",
    "LogUnsupportedVersionError",
    "LoggedFrame",
    "MissingLocalInputError",
    "NEUTRAL_INPUT",
    "NetClient",
    "NetStats",
    "NetworkError",
    "NetworkInterrupted",
    "NetworkResumed",
    "NewSessionRefused",
    "NoOpenStepError",
    "NoSuchSnapshotError",
    "OutOfRangeError",
    "Outcome",
    "P2PDrops",
    "P2PEvent",
    "P2PGame",
    "P2PSession",
    "PeerConfigMismatchError",
    "PeerId",
    "PeerStats",
    "PeerTooFarBehind",
    "ReplayDivergedError",
    "Request",
    "RunResult",
    "Running",
    "SaveState",
    "Session",
    "SessionStats",
    "SimulationError",
    "SlotDisconnected",
    "SnapshotTooLargeError",
    "Step",
    "SyncTestEvidence",
    "SyncTestMismatch",
    "Synchronized",
    "Synchronizing",
    "UnknownSlotError",
    "VerifyReport",
    "WaitRecommendation",
    "WrongSlotKindError",
    "__version__",
    "checksum64",
    "draw_arena",
    "encode_input",
    "scripted_inputs",
]


def _register_gymnasium() -> None:
    """``gymnasium.make("framelock/Arena-v0")`` works once framelock is imported, when
    gymnasium is installed (the ``env`` extra)."""
    import importlib.util

    if importlib.util.find_spec("gymnasium") is None:
        return
    import gymnasium

    if "framelock/Arena-v0" not in gymnasium.registry:
        gymnasium.register(
            id="framelock/Arena-v0",
            entry_point="framelock.env:ArenaEnv",
            vector_entry_point="framelock.vector:ArenaGymVecEnv",
        )


_register_gymnasium()
