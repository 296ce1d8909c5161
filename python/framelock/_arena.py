"""The reference simulation (``arena``): params, inputs and its state as numpy arrays."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from . import _framelock
from ._errors import I32, U8, U16, U32, U64, OutOfRangeError, check_range

__all__ = [
    "ArenaParams",
    "ArenaState",
    "BUTTON_DOWN",
    "BUTTON_FIRE",
    "BUTTON_LEFT",
    "BUTTON_RIGHT",
    "BUTTON_UP",
    "INPUT_SIZE",
    "NEUTRAL_INPUT",
    "encode_input",
    "scripted_inputs",
]

#: Bytes of one arena input: ``[buttons, aim]``.
INPUT_SIZE = 2
#: The input of a player who touches nothing (and of a disconnected slot).
NEUTRAL_INPUT = bytes(INPUT_SIZE)
BUTTON_UP = 1 << 0
BUTTON_DOWN = 1 << 1
BUTTON_LEFT = 1 << 2
BUTTON_RIGHT = 1 << 3
BUTTON_FIRE = 1 << 4


@dataclass(frozen=True, slots=True)
class ArenaParams:
    """The arena's configuration; every peer and every replay must use the same.

    ``players`` is 1..64 (one per slot), ``world_size`` 64..2**20 world units.
    """

    players: int = 8
    max_projectiles: int = 1024
    world_size: int = 1024
    seed: int = 1

    def __post_init__(self) -> None:
        check_range(
            players=(self.players, U8),
            max_projectiles=(self.max_projectiles, U16),
            world_size=(self.world_size, I32),
            seed=(self.seed, U64),
        )

    def _tuple(self) -> tuple[int, int, int, int]:
        return (self.players, self.max_projectiles, self.world_size, self.seed)

    @property
    def snapshot_size(self) -> int:
        """The largest snapshot of this arena in bytes (the session's ``max_snapshot_size``)."""
        return _framelock.arena_bounds(self._tuple())[0]

    @property
    def scratch_size(self) -> int:
        """The frame arena one advance needs in bytes (the session's ``frame_arena_size``)."""
        return _framelock.arena_bounds(self._tuple())[1]

    def encode(self) -> bytes:
        """The 16-byte encoding an input log stores as ``sim_params``."""
        return _framelock.encode_arena_params(self._tuple())

    @classmethod
    def decode(cls, data: bytes) -> ArenaParams:
        """Params from :meth:`encode`'s bytes (``LogMismatchError`` if they are not valid)."""
        return cls(*_framelock.decode_arena_params(bytes(data)))


def _ro(a: npt.NDArray[np.generic]) -> npt.NDArray[np.generic]:
    a.flags.writeable = False
    return a


@dataclass(frozen=True, slots=True, eq=False)
class ArenaState:
    """The arena's state at the start of ``frame``, as read-only numpy arrays.

    Positions and velocities are in world units (the simulation's fixed-point values converted
    exactly to ``float64``); ``(0, 0)`` is the top-left corner and ``+y`` points down. Player
    arrays are indexed by slot; projectiles are in the simulation's order. Every array is a view
    of one buffer filled by a single copy out of the simulation: call ``.copy()`` to modify one.
    """

    frame: int
    #: ``(players, 2)`` float64: x, y of each player's centre.
    positions: npt.NDArray[np.float64]
    #: ``(players, 2)`` float64: world units per frame.
    velocities: npt.NDArray[np.float64]
    #: ``(players,)`` float64: aim direction in radians, 0 along ``+x``.
    facing: npt.NDArray[np.float64]
    #: ``(players,)`` int32: 0..100, 0 while waiting to respawn.
    health: npt.NDArray[np.int32]
    #: ``(players,)`` int32: kills scored.
    score: npt.NDArray[np.int32]
    #: ``(players,)`` uint16: frames until the player may fire again.
    cooldown: npt.NDArray[np.uint16]
    #: ``(players,)`` uint16: frames until respawn, 0 while alive.
    respawn: npt.NDArray[np.uint16]
    #: ``(projectiles, 2)`` float64.
    projectile_positions: npt.NDArray[np.float64]
    #: ``(projectiles, 2)`` float64.
    projectile_velocities: npt.NDArray[np.float64]
    #: ``(projectiles,)`` uint16: frames left.
    projectile_ttl: npt.NDArray[np.uint16]
    #: ``(projectiles,)`` uint8: the slot that fired it.
    projectile_owner: npt.NDArray[np.uint8]

    @property
    def alive(self) -> npt.NDArray[np.bool_]:
        """``(players,)`` bool: not waiting to respawn."""
        alive: npt.NDArray[np.bool_] = self.respawn == 0
        return alive

    @property
    def players(self) -> int:
        return int(self.positions.shape[0])

    @property
    def projectiles(self) -> int:
        return int(self.projectile_positions.shape[0])

    @classmethod
    def _from_native(cls, raw: tuple[int, int, int, bytes]) -> ArenaState:
        frame, p, m, buf = raw
        at = 0

        def take(dtype: str, count: int, shape: tuple[int, ...]) -> npt.NDArray[np.generic]:
            nonlocal at
            a = np.frombuffer(buf, dtype=dtype, count=count, offset=at).reshape(shape)
            at += a.nbytes
            return a

        f8 = "<f8"
        positions = take(f8, 2 * p, (p, 2))
        velocities = take(f8, 2 * p, (p, 2))
        facing = take(f8, p, (p,))
        ppos = take(f8, 2 * m, (m, 2))
        pvel = take(f8, 2 * m, (m, 2))
        health = take("<i4", p, (p,))
        score = take("<i4", p, (p,))
        cooldown = take("<u2", p, (p,))
        respawn = take("<u2", p, (p,))
        ttl = take("<u2", m, (m,))
        owner = take("u1", m, (m,))
        return cls(frame, positions, velocities, facing, health, score, cooldown, respawn, ppos, pvel, ttl, owner)  # type: ignore[arg-type]


def encode_input(
    up: bool = False,
    down: bool = False,
    left: bool = False,
    right: bool = False,
    fire: bool = False,
    aim: int = 0,
) -> bytes:
    """One player's controls as the arena's two-byte input.

    ``aim`` is a direction in 256ths of a turn: 0 along ``+x``, 64 along ``+y`` (down).
    """
    if isinstance(aim, int) and not 0 <= aim <= 255:
        raise OutOfRangeError("aim", aim, 0, 255)
    return bytes(_framelock.encode_input(up, down, left, right, fire, aim))


def scripted_inputs(seed: int, slots: int, frames: int, start: int = 0) -> npt.NDArray[np.uint8]:
    """The core's deterministic, human-looking bot inputs as a ``(frames, slots, 2)`` uint8 array.

    The same script drives the Rust demo, tests and benchmarks; it is what ``Session.run`` takes.
    """
    if slots < 1 or frames < 0:
        raise ValueError(f"slots must be at least 1 and frames at least 0 (got {slots}, {frames})")
    try:
        raw = _framelock.scripted_inputs(seed, slots, frames, start)
    except OverflowError:
        check_range(seed=(seed, U64), slots=(slots, (1, 2**63 - 1)), frames=(frames, (0, 2**63 - 1)), start=(start, U32))
        raise
    return np.frombuffer(raw, dtype=np.uint8).reshape(frames, slots, INPUT_SIZE).copy()
