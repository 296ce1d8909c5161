"""``NetClient``: a player (or spectator) of a relay's room, running the built-in simulation."""

from __future__ import annotations

import enum
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeAlias

import numpy as np
import numpy.typing as npt

from . import _framelock
from ._arena import INPUT_SIZE, ArenaParams, ArenaState
from ._session import InputLike, Outcome, _as_bytes, _Frames, _uint8

__all__ = ["ConnectionState", "NetClient", "NetStats"]

class ConnectionState(enum.IntEnum):
    """The connection states of the netcode 1.02 standard, with its codes (errors are negative)."""

    CONNECT_TOKEN_EXPIRED = -6
    INVALID_CONNECT_TOKEN = -5
    CONNECTION_TIMED_OUT = -4
    CONNECTION_RESPONSE_TIMED_OUT = -3
    CONNECTION_REQUEST_TIMED_OUT = -2
    CONNECTION_DENIED = -1
    DISCONNECTED = 0
    SENDING_CONNECTION_REQUEST = 1
    SENDING_CONNECTION_RESPONSE = 2
    CONNECTED = 3

    @property
    def is_error(self) -> bool:
        return self < 0

    @property
    def is_active(self) -> bool:
        """Connecting or connected."""
        return self > 0


@dataclass(frozen=True, slots=True)
class NetStats:
    """Counters of a network client: its session, its room client, its socket and connection."""

    #: Ticks played while connected.
    ticks: int
    #: The frame the next tick simulates.
    frames: int
    #: Every frame below this has every input confirmed by the relay.
    confirmed: int
    frames_advanced: int
    frames_resimulated: int
    rollbacks: int
    max_rollback: int
    stalls: int
    #: Desyncs the session detected itself (checksums compared locally).
    desyncs: int
    #: The current input delay in frames (time sync moves it).
    input_delay: int
    #: Input-delay changes made for time sync.
    delay_changes: int
    #: Bundles from the relay that did not decode.
    bundles_malformed: int
    #: Bundles ignored because they did not continue the frames received (a resend fixes it).
    bundles_out_of_order: int
    #: Desyncs the relay reported that involve this client's slot.
    desyncs_reported: int
    datagrams_in: int
    datagrams_out: int
    bytes_in: int
    bytes_out: int
    #: Datagrams lost because the socket's send buffer was full.
    send_dropped: int
    #: Datagrams the link conditioner dropped on purpose (``loss``).
    conditioner_dropped: int
    #: Received packets the connection layer dropped (not decrypting, replayed, ...).
    packets_dropped: int

    def as_dict(self) -> dict[str, int]:
        return {f: getattr(self, f) for f in self.__dataclass_fields__}


def _read_token(token: bytes | bytearray | memoryview | str | os.PathLike[str]) -> bytes:
    if isinstance(token, (bytes, bytearray, memoryview)):
        return bytes(token)
    if isinstance(token, (str, os.PathLike)):
        with open(token, "rb") as f:
            return f.read()
    raise TypeError(f"token must be the token's bytes or the path of its file, not {type(token).__name__}")


class NetClient(_Frames):
    """A bot in a live room: connects to a relay with a connect token and plays the built-in
    simulation (the arena) under the relay's authority, as ``framelock bot`` does.

    ``token`` is a 2,048-byte connect token (``framelock token``), as bytes or the path of its
    file; ``slot`` the player slot it was issued for (``None`` with ``spectator=True``, for a
    slot-255 token). ``players`` and ``tick_rate`` must be the relay's (``framelock serve
    --players --tick-rate``); ``arena`` defaults to ``ArenaParams(players=players, seed=seed)``,
    the params ``framelock bot --seed`` plays. Players use rollback (``max_prediction``) with an
    initial ``input_delay`` that the relay's time sync then adjusts; spectators use lockstep.
    ``loss``, ``latency_ms`` and ``jitter_ms`` put a seeded link conditioner on the send path.

    Creating the client binds a UDP socket and starts the handshake; nothing happens until the
    client is driven: either ``play()`` (the whole real-time loop without the GIL), or a loop of
    your own calling ``poll()`` and, once per frame at the tick rate, ``tick()``. Use it as a
    context manager to leave the room at the end of the block.
    """

    _native: _framelock.NativeNetClient

    def __init__(
        self,
        token: bytes | bytearray | memoryview | str | os.PathLike[str],
        slot: int | None,
        *,
        players: int,
        tick_rate: int = 30,
        arena: ArenaParams | None = None,
        spectator: bool = False,
        max_prediction: int = 16,
        input_delay: int = 2,
        checksum_interval: int = 30,
        loss: float = 0.0,
        latency_ms: int = 0,
        jitter_ms: int = 0,
        seed: int = 1,
        bind: str | None = None,
    ) -> None:
        if spectator and slot is not None:
            raise ValueError("a spectator has no slot: pass slot=None with spectator=True")
        if not spectator and slot is None:
            raise ValueError("a player needs its slot (or pass spectator=True)")
        if arena is None:
            arena = ArenaParams(players=players, seed=seed)
        self._native = _framelock.NativeNetClient(
            _read_token(token),
            slot,
            players,
            tick_rate,
            arena._tuple(),
            max_prediction,
            input_delay,
            checksum_interval,
            float(loss),
            latency_ms,
            jitter_ms,
            seed,
            bind,
        )
        self._slot = slot
        self._players = players
        self._tick_rate = tick_rate
        self._arena = arena

    def __repr__(self) -> str:
        who = "spectator" if self._slot is None else f"slot={self._slot}"
        return f"NetClient({who}, state={self.state.name}, current_frame={self.current_frame})"

    def __enter__(self) -> NetClient:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.state.is_active:
            self.disconnect()

    # ----- driving ------------------------------------------------------------------------------

    def poll(self, max_wait: float = 0.0) -> None:
        """One driver iteration, without the GIL: waits up to ``max_wait`` seconds for a datagram
        or the connection's next deadline, takes every datagram that arrived, sends what is due."""
        self._native.poll(max_wait)

    def tick(self, input: InputLike | None = None) -> Outcome | None:
        """One frame: catches up with frames the relay confirmed, adds ``input`` (``None``: the
        scripted bot input), advances and sends the update. Call it at the tick rate. Returns
        ``None`` (and does nothing) while the connection is not up."""
        raw = self._native.tick(None if input is None else _as_bytes(input))
        return None if raw is None else Outcome._from_native(*raw)

    def play(
        self,
        frames: int,
        inputs: PlayInputs = None,
        *,
        timeout: float | None = None,
        leave: bool = True,
    ) -> int:
        """Plays in real time, a tick every ``1 / tick_rate`` seconds (connecting first if need
        be), until frame ``frames`` is final; returns its checksum, the same on every client of
        the room. Then leaves the room, unless ``leave=False``.

        ``inputs``: ``None`` plays the scripted bot (``framelock bot``'s inputs); a uint8 array of
        shape ``(ticks, 2)`` or ``(ticks, players, 2)`` (``scripted_inputs(...)``; column ``slot``)
        gives row ``t`` to this call's tick ``t``, then the neutral input; a callable is called
        once per tick with the client (read ``arena_state()``, ``current_frame``...) and returns
        the input. The GIL is released except while the callable runs.

        Raises ``ConnectionFailedError`` when the connection fails or is lost, ``NetworkError``
        when ``frames`` is not final within ``timeout`` seconds (default: 20 s plus the frames
        and 600 more at the tick rate). Ctrl-C interrupts it; the client stays connected.

        Meanwhile other threads may read ``state``, ``connected``, ``current_frame``,
        ``confirmed_until``, ``checksummed_until`` and ``input_delay`` (updated every iteration);
        any other call raises ``RuntimeError`` (busy), except from the ``inputs`` callable.
        """
        if frames < 0:
            raise ValueError(f"frames must be at least 0, not {frames}")
        if inputs is None:
            return self._native.play(frames, None, 0, 1, None, timeout, leave)
        if callable(inputs):
            fn = inputs

            def callback() -> bytes:
                return _as_bytes(fn(self))

            return self._native.play(frames, None, 0, 1, callback, timeout, leave)
        arr = _uint8(inputs)
        if arr.ndim == 2:
            arr = arr[:, None, :]
        if arr.ndim != 3 or arr.shape[2] != INPUT_SIZE or arr.shape[1] not in (1, self._players):
            raise ValueError(
                f"inputs must have shape (ticks, {INPUT_SIZE}) or (ticks, {self._players}, {INPUT_SIZE}), "
                f"not {np.shape(inputs)}"
            )
        arr = np.ascontiguousarray(arr)
        return self._native.play(frames, arr, arr.shape[0], arr.shape[1], None, timeout, leave)

    def disconnect(self) -> None:
        """Leaves the room (the relay substitutes this slot's inputs from then on)."""
        self._native.disconnect()

    def raise_if_failed(self) -> None:
        """Raises ``ConnectionFailedError`` if the connection failed, was lost or was closed."""
        self._native.check_alive()

    # ----- observation --------------------------------------------------------------------------

    @property
    def state(self) -> ConnectionState:
        return ConnectionState(self._native.state)

    @property
    def connected(self) -> bool:
        """True once the handshake is done, until the connection ends."""
        return self._native.connected

    def checksum(self, frame: int) -> int | None:
        """The final checksum of the state at the start of ``frame``, while kept."""
        return self._native.checksum(frame)

    @property
    def input_delay(self) -> int:
        return self._native.input_delay

    @property
    def stats(self) -> NetStats:
        return NetStats(**dict(self._native.stats()))

    def arena_state(self) -> ArenaState:
        """The simulation's current (possibly predicted) state as read-only numpy arrays."""
        return ArenaState._from_native(self._native.arena_state())

    @property
    def slot(self) -> int | None:
        """The player slot, or ``None`` for a spectator."""
        return self._slot

    @property
    def players(self) -> int:
        return self._players

    @property
    def tick_rate(self) -> int:
        return self._tick_rate

    @property
    def arena(self) -> ArenaParams:
        return self._arena

    @property
    def local_addr(self) -> str:
        """The client's UDP socket address."""
        return self._native.local_addr

    @property
    def server_addr(self) -> str:
        """The relay's address (from the token)."""
        return self._native.server_addr


#: What ``NetClient.play`` takes as inputs: none (the scripted bot), an array of rows, or a callable.
PlayInputs: TypeAlias = npt.ArrayLike | Callable[[NetClient], InputLike] | None
