"""``P2PSession``: one process of a peer-to-peer rollback match over UDP (no relay), GGPO style."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeAlias

import numpy as np
import numpy.typing as npt

from . import _framelock
from ._arena import INPUT_SIZE, ArenaParams, ArenaState
from ._session import (
    Desync,
    InputLike,
    InputStatus,
    Outcome,
    SessionStats,
    SlotDisconnected,
    _as_bytes,
    _Frames,
    _uint8,
)

__all__ = [
    "ConfigMismatch",
    "Disconnecting",
    "NetworkInterrupted",
    "NetworkResumed",
    "NewSessionRefused",
    "P2PDrops",
    "P2PEvent",
    "P2PGame",
    "P2PSession",
    "PeerId",
    "PeerStats",
    "PeerTooFarBehind",
    "Running",
    "Synchronized",
    "Synchronizing",
    "WaitRecommendation",
]


class P2PGame(Protocol):
    """Python-owned state played by a :class:`P2PSession` (GGPO's callbacks). The session calls
    these in order while it plays (rolling back = ``load_state`` then ``advance_frame`` again);
    the state must be a pure function of the inputs, as for :class:`Session`."""

    def save_state(self, frame: int) -> bytes | tuple[bytes, int]:
        """The state at the start of ``frame`` as bytes (optionally with its own 64-bit checksum)."""
        ...

    def load_state(self, frame: int, data: bytes) -> None:
        """Restore the state ``save_state`` returned for ``frame``."""
        ...

    def advance_frame(self, frame: int, inputs: tuple[bytes, ...], statuses: tuple[InputStatus, ...]) -> None:
        """Simulate ``frame`` with every slot's input (``inputs[slot]``) and its status."""
        ...


@dataclass(frozen=True, slots=True)
class PeerId:
    """A remote endpoint: its index (remote players in the order first named, then spectators or
    the spectated host), its address and its role (``"player"``, ``"spectator"``, ``"host"``)."""

    index: int
    addr: str
    role: str


# ----- events --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Synchronizing:
    """A synchronization round trip with ``peer`` completed (``done`` of ``total``)."""

    peer: PeerId
    done: int
    total: int


@dataclass(frozen=True, slots=True)
class Synchronized:
    """``peer`` is synchronized."""

    peer: PeerId


@dataclass(frozen=True, slots=True)
class Running:
    """Every peer is synchronized: frame 0 is being played."""


@dataclass(frozen=True, slots=True)
class ConfigMismatch:
    """``peer`` runs with another ``setting`` (``protocol_version``, ``slots``, ``input_size``,
    ``tick_rate``, ``checksum_interval``, ``simulation_id`` or ``peer_slots``): it never
    synchronizes. ``play()`` raises it as ``PeerConfigMismatchError``."""

    peer: PeerId
    setting: str
    local: int
    remote: int


@dataclass(frozen=True, slots=True)
class NewSessionRefused:
    """An authenticated datagram from ``peer``'s address carried another session epoch (the peer
    restarted): refused."""

    peer: PeerId


@dataclass(frozen=True, slots=True)
class NetworkInterrupted:
    """Nothing heard from ``peer`` for ``disconnect_notify``; disconnected in ``disconnect_in`` s."""

    peer: PeerId
    disconnect_in: float


@dataclass(frozen=True, slots=True)
class NetworkResumed:
    """``peer`` was heard again after an interruption."""

    peer: PeerId


@dataclass(frozen=True, slots=True)
class Disconnecting:
    """``peer`` is being disconnected; the remaining peers agree on the frame
    (``SlotDisconnected`` follows for each of its slots)."""

    peer: PeerId


@dataclass(frozen=True, slots=True)
class WaitRecommendation:
    """This process runs ahead of its peers: waiting ``frames`` frames evens out the rollbacks
    (GGPO's timesync event; ``auto_time_sync=True`` stretches frames instead)."""

    frames: int


@dataclass(frozen=True, slots=True)
class PeerTooFarBehind:
    """``peer`` has not acknowledged ``queued`` frames of this process's inputs."""

    peer: PeerId
    queued: int


P2PEvent: TypeAlias = (
    Synchronizing
    | Synchronized
    | Running
    | ConfigMismatch
    | NewSessionRefused
    | NetworkInterrupted
    | NetworkResumed
    | Disconnecting
    | SlotDisconnected
    | WaitRecommendation
    | PeerTooFarBehind
    | Desync
)


# ----- statistics ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PeerStats:
    """Network statistics of one peer (GGPO's ``ggpo_get_network_stats``, and more)."""

    #: Smoothed round-trip time in milliseconds.
    rtt_ms: int
    #: Kilobits per second sent to it / received from it since synchronization.
    kbps_sent: int
    kbps_received: int
    #: Frames of local input it has not acknowledged.
    send_queue: int
    #: How many frames this process is ahead of it (negative: behind).
    local_frame_advantage: int
    #: How many frames it says it is ahead of this process.
    remote_frame_advantage: int
    packets_sent: int
    #: Authenticated datagrams received from it.
    packets_received: int
    #: Its datagrams that never arrived (gaps in its sequence numbers).
    packets_lost: int
    #: Its datagrams that arrived twice (or were replayed).
    packets_duplicated: int
    bytes_sent: int
    bytes_received: int
    #: It has this process's inputs (a hosted spectator: the confirmed frames) below this frame.
    acknowledged: int
    #: It is disconnected or being disconnected.
    disconnected: bool

    def as_dict(self) -> dict[str, int | bool]:
        return {f: getattr(self, f) for f in self.__dataclass_fields__}


@dataclass(frozen=True, slots=True)
class P2PDrops:
    """Datagrams dropped, by reason (docs/p2p-protocol.md), and datagrams not queued because the
    transmit queue was full."""

    malformed: int
    unknown_address: int
    wrong_handle: int
    wrong_epoch: int
    replayed: int
    #: The tag did not verify: a wrong key, a forgery or corruption.
    unauthenticated: int
    bad_body: int
    config_mismatch: int
    unexpected: int
    transmit_queue_full: int

    @property
    def total(self) -> int:
        """Every received datagram dropped (``transmit_queue_full`` counts sends, not drops)."""
        return sum(getattr(self, f) for f in self.__dataclass_fields__ if f != "transmit_queue_full")

    def as_dict(self) -> dict[str, int]:
        return {f: getattr(self, f) for f in self.__dataclass_fields__}


# ----- the session ---------------------------------------------------------------------------------


def _read_key(key: bytes | bytearray | memoryview | None, key_file: str | os.PathLike[str] | None) -> bytes:
    if (key is None) == (key_file is None):
        raise ValueError("give the session key as key=<32 bytes> or key_file=<path of `framelock key`'s file>")
    if key is not None:
        raw = bytes(key)
        if len(raw) != 32:
            raise ValueError(f"key must be 32 bytes, not {len(raw)}")
        return raw
    assert key_file is not None
    with open(key_file, encoding="ascii", errors="replace") as f:
        text = f.read().strip()
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise ValueError(f"the key file {os.fspath(key_file)!r} must hold 64 hex digits (see `framelock key`)")
    return raw


class P2PSession(_Frames):
    """One process of a peer-to-peer match: rollback (or lockstep) with peer-to-peer authority,
    over a UDP socket owned by the native side, with authenticated datagrams (docs/p2p-protocol.md).

    ``listen`` is this process's UDP address, the one its peers name. ``key`` (32 bytes) or
    ``key_file`` (``framelock key``'s file) is the session key every process of the match shares.
    A player names its ``local`` slot(s) and every other slot's address in ``peers``
    (``{slot: "host:port"}``; slots at one address form one peer) and may host ``spectators``
    (addresses); a spectator passes ``spectate="host:port"`` (a player's address) and ``players``.

    The simulation is the built-in arena (``arena``, default ``ArenaParams(players, seed=seed)``;
    inputs of 2 bytes) or Python-owned state: ``game``, an object with ``save_state``,
    ``load_state`` and ``advance_frame`` (:class:`P2PGame`), with inputs of ``input_size`` bytes
    and a ``simulation_id`` every process must share. ``max_prediction=0`` plays lockstep.
    ``latency_ms``, ``jitter_ms``, ``loss``, ``duplicate`` and ``reorder`` put a seeded link
    conditioner on the send path. Every setting is checked: ``InvalidConfigError`` names it.

    Drive it with ``play(frames)`` (the whole real-time loop; the GIL is released except while
    Python code runs), or a loop of your own calling ``poll()`` and ``tick()`` when
    ``until_next_tick()`` reaches 0. ``close()`` (or leaving a ``with`` block) frees the socket.
    """

    _native: _framelock.NativeP2PSession

    def __init__(
        self,
        listen: str,
        *,
        key: bytes | bytearray | memoryview | None = None,
        key_file: str | os.PathLike[str] | None = None,
        local: int | Iterable[int] = (),
        peers: Mapping[int, str] | None = None,
        spectators: Iterable[str] = (),
        spectate: str | None = None,
        players: int | None = None,
        arena: ArenaParams | None = None,
        game: P2PGame | None = None,
        input_size: int | None = None,
        simulation_id: int | None = None,
        max_snapshot_size: int = 64 * 1024,
        default_input: InputLike | None = None,
        tick_rate: int = 60,
        max_prediction: int = 8,
        input_delay: int = 2,
        checksum_interval: int = 30,
        disconnect_notify: float = 0.75,
        disconnect_timeout: float = 5.0,
        auto_time_sync: bool = False,
        latency_ms: int = 0,
        jitter_ms: int = 0,
        loss: float = 0.0,
        duplicate: float = 0.0,
        reorder: float = 0.0,
        seed: int = 1,
        rng_seed: bytes | None = None,
    ) -> None:
        raw_key = _read_key(key, key_file)
        local_slots = [local] if isinstance(local, int) else list(local)
        peer_map = dict(peers or {})
        if spectate is not None and (local_slots or peer_map):
            raise ValueError("a spectator (spectate=...) has no local slots or peers")
        if players is None:
            named = [*local_slots, *peer_map]
            if spectate is not None or not named:
                raise ValueError("players= is required for a spectator (and without local/peers)")
            players = max(named) + 1
        if game is not None and arena is not None:
            raise ValueError("give either arena=ArenaParams(...) or game=<Python-owned state>, not both")
        callbacks = None
        if game is None:
            arena = arena if arena is not None else ArenaParams(players=players, seed=seed)
            size = INPUT_SIZE if input_size is None else input_size
        else:
            size = 8 if input_size is None else input_size
            g = game
            statuses = tuple(InputStatus)

            def advance(frame: int, inputs: tuple[bytes, ...], raw: tuple[int, ...]) -> None:
                g.advance_frame(frame, inputs, tuple(statuses[s] for s in raw))

            callbacks = (g.save_state, g.load_state, advance)
        self._native = _framelock.NativeP2PSession(
            listen,
            raw_key,
            os.urandom(32) if rng_seed is None else bytes(rng_seed),
            players,
            size,
            local_slots,
            [(s, a) for s, a in peer_map.items()],
            list(spectators),
            spectate,
            tick_rate,
            max_prediction,
            input_delay,
            checksum_interval,
            simulation_id,
            round(disconnect_notify * 1000),
            round(disconnect_timeout * 1000),
            auto_time_sync,
            None if default_input is None else _as_bytes(default_input, "default_input"),
            None if arena is None else arena._tuple(),
            callbacks,
            max_snapshot_size,
            latency_ms,
            jitter_ms,
            float(loss),
            float(duplicate),
            float(reorder),
            seed,
        )
        self._players = players
        self._local = tuple(sorted(set(local_slots)))
        self._input_size = size
        self._arena = arena
        self._spectator = spectate is not None
        self._tick_rate = tick_rate
        self._peers = tuple(PeerId(i, a, r) for i, a, r in self._native.peers())

    def __repr__(self) -> str:
        who = "spectator" if self._spectator else f"local={list(self._local)}"
        return f"P2PSession({who}, running={self.running}, current_frame={self.current_frame})"

    def __enter__(self) -> P2PSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----- driving ------------------------------------------------------------------------------

    def poll(self, max_wait: float = 0.0) -> None:
        """One driver iteration, without the GIL: waits up to ``max_wait`` seconds for a datagram
        or the endpoint's next deadline, takes every datagram that arrived, sends what is due."""
        self._native.poll(max_wait)

    def until_next_tick(self) -> float | None:
        """Seconds until the next frame is due (0 when late); ``None`` until running."""
        return self._native.until_next_tick()

    def tick(self, input: InputLike | Sequence[InputLike] | None = None) -> Outcome | None:
        """One frame: adds this process's input (``input_size`` bytes per local slot, in slot
        order, or one input per local slot; ``None``: the arena's scripted inputs), advances
        (rolling back as needed) and sends the update. Returns ``None`` (and does nothing) until
        every peer is synchronized."""
        raw = self._native.tick(None if input is None else self._input_bytes(input))
        return None if raw is None else Outcome._from_native(*raw)

    def _input_bytes(self, value: object) -> bytes:
        if isinstance(value, (list, tuple)) and value and not isinstance(value[0], int):
            return b"".join(_as_bytes(v) for v in value)
        return _as_bytes(value)

    def play(
        self,
        frames: int,
        inputs: P2PInputs = None,
        *,
        timeout: float | None = None,
        sync_timeout: float = 10.0,
    ) -> int:
        """Plays in real time (synchronizing first if need be) until frame ``frames`` is final and
        every peer has what it needs from this process (at most 5 s more); returns the checksum of
        ``frames``, the same on every peer and spectator.

        ``inputs``: ``None`` plays the arena's scripted inputs (``framelock p2p``'s); a uint8 array
        of shape ``(ticks, input_size)`` or ``(ticks, local slots, input_size)`` gives row ``t`` to
        this call's tick ``t``, then the default input; a callable is called once per tick with the
        session and returns the input (bytes for every local slot, or one input per local slot).
        The GIL is released except while Python code (the callable, a ``game``) runs.

        Raises ``PeerConfigMismatchError`` when a peer runs with another setting, ``NetworkError``
        when the peers do not synchronize within ``sync_timeout`` seconds (a wrong key, a peer not
        running) or ``frames`` is not final within ``timeout`` (default: the sync timeout plus
        20 s plus the frames and 600 more at the tick rate). Ctrl-C interrupts it (the session can
        go on). Other threads may read ``running``, ``current_frame``, ``confirmed_until`` and
        ``checksummed_until`` meanwhile; any other call raises ``RuntimeError`` (busy).
        """
        if frames < 0:
            raise ValueError(f"frames must be at least 0, not {frames}")
        if inputs is None:
            return self._native.play(frames, None, 0, None, timeout, sync_timeout)
        if callable(inputs):
            fn = inputs

            def callback() -> bytes:
                return self._input_bytes(fn(self))

            return self._native.play(frames, None, 0, callback, timeout, sync_timeout)
        arr = _uint8(inputs)
        n = len(self._local)
        if arr.ndim == 2 and n == 1:
            arr = arr[:, None, :]
        if arr.ndim != 3 or arr.shape[1:] != (n, self._input_size):
            raise ValueError(
                f"inputs must have shape (ticks, {n}, {self._input_size})"
                + (f" or (ticks, {self._input_size})" if n == 1 else "")
                + f", not {np.shape(inputs)}"
            )
        arr = np.ascontiguousarray(arr)
        return self._native.play(frames, arr.tobytes(), arr.shape[0], None, timeout, sync_timeout)

    def close(self) -> None:
        """Closes the session and its socket (nothing more is sent; the port is free). Idempotent."""
        self._native.close()

    @property
    def closed(self) -> bool:
        return self._native.closed

    # ----- observation --------------------------------------------------------------------------

    def events(self) -> list[P2PEvent]:
        """Every event since the last call, oldest first (at most 1,024 are kept)."""
        raw, _dropped = self._native.events()
        return [self._event(*e) for e in raw]

    def _event(self, kind: str, peer: int, a: int, b: int, c: int, setting: str) -> P2PEvent:
        p = self._peers[peer] if 0 <= peer < len(self._peers) else PeerId(peer, "", "")
        if kind == "synchronizing":
            return Synchronizing(p, a, b)
        if kind == "synchronized":
            return Synchronized(p)
        if kind == "running":
            return Running()
        if kind == "config_mismatch":
            return ConfigMismatch(p, setting, a, b)
        if kind == "new_session_refused":
            return NewSessionRefused(p)
        if kind == "network_interrupted":
            return NetworkInterrupted(p, a / 1000)
        if kind == "network_resumed":
            return NetworkResumed(p)
        if kind == "disconnecting":
            return Disconnecting(p)
        if kind == "disconnected":
            return SlotDisconnected(a, b)
        if kind == "wait_recommendation":
            return WaitRecommendation(a)
        if kind == "peer_too_far_behind":
            return PeerTooFarBehind(p, a)
        return Desync(a, peer, b, c)

    @property
    def peers(self) -> tuple[PeerId, ...]:
        """The remote endpoints, by index."""
        return self._peers

    def peer_stats(self, peer: int | PeerId) -> PeerStats:
        """Network statistics of a peer (by index or :class:`PeerId`)."""
        index = peer.index if isinstance(peer, PeerId) else peer
        fields: dict[str, int | bool] = dict(self._native.peer_stats(index))
        fields["disconnected"] = bool(fields["disconnected"])
        return PeerStats(**fields)  # type: ignore[arg-type]

    def network_stats(self) -> dict[PeerId, PeerStats]:
        """Every peer's statistics."""
        return {p: self.peer_stats(p) for p in self._peers}

    @property
    def drops(self) -> P2PDrops:
        """Datagrams dropped, by reason."""
        return P2PDrops(**dict(self._native.drops()))

    @property
    def stats(self) -> SessionStats:
        """The core session's counters (frames advanced and resimulated, rollbacks, stalls...)."""
        return SessionStats(*self._native.stats()[0])

    @property
    def frames_stretched(self) -> int:
        """Frames ``auto_time_sync`` made longer."""
        return self._native.stats()[1]

    def checksum(self, frame: int) -> int | None:
        """The final checksum of the state at the start of ``frame``, while kept."""
        return self._native.checksum(frame)

    @property
    def running(self) -> bool:
        """True once every peer is synchronized (frames are being played)."""
        return self._native.running

    @property
    def local_addr(self) -> str:
        """The UDP socket's address."""
        return self._native.local_addr

    @property
    def local_slots(self) -> tuple[int, ...]:
        return self._local

    @property
    def players(self) -> int:
        return self._players

    @property
    def input_size(self) -> int:
        return self._input_size

    @property
    def tick_rate(self) -> int:
        return self._tick_rate

    @property
    def is_spectator(self) -> bool:
        return self._spectator

    @property
    def arena(self) -> ArenaParams | None:
        """The built-in simulation's params, or ``None`` for Python-owned state."""
        return self._arena

    def arena_state(self) -> ArenaState:
        """The arena's current (possibly predicted) state as read-only numpy arrays."""
        return ArenaState._from_native(self._native.arena_state())


#: What ``P2PSession.play`` takes as inputs: none (scripted), an array of rows, or a callable.
P2PInputs: TypeAlias = npt.ArrayLike | Callable[[P2PSession], InputLike | Sequence[InputLike]] | None
