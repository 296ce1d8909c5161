"""A PettingZoo ``ParallelEnv`` over the reference simulation (``pip install 'framelock[env]'``).

Agents are the arena's slots (``"player_0"``...); every step adds one input per agent and advances
one frame of a lockstep session, so episodes are deterministic given the seed and the actions.

- Action: ``MultiDiscrete([9, 2, 8])``: move (0..7 clockwise from ``+x``: right, down-right,
  down, down-left, left, up-left, up, up-right; 8 stands still), fire (0/1), aim (8 directions,
  same order).
- Observation: ``Box(-1, 1, (players, 6), float32)``: one row per player, the agent's own row
  first, then the others by slot: ``x / world``, ``y / world``, ``vx / 2``, ``vy / 2``,
  ``health / 100``, ``alive``.
- Reward: +1 per kill scored, -1 per death, on the step it happens.
- Episodes never terminate; they are truncated after ``max_cycles`` steps.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

try:
    from gymnasium import spaces
    from pettingzoo import ParallelEnv  # type: ignore[import-untyped,unused-ignore]
except ImportError:  # pragma: no cover - exercised only without the extra
    raise ImportError("framelock.env needs gymnasium and pettingzoo: pip install 'framelock[env]'") from None

from ._arena import BUTTON_DOWN, BUTTON_FIRE, BUTTON_LEFT, BUTTON_RIGHT, BUTTON_UP, ArenaParams, ArenaState
from ._session import Session

__all__ = ["ArenaParallelEnv", "MOVES", "action_to_input"]

#: Button bits of the 9 moves (index 8: stand still).
MOVES = (
    BUTTON_RIGHT,
    BUTTON_RIGHT | BUTTON_DOWN,
    BUTTON_DOWN,
    BUTTON_DOWN | BUTTON_LEFT,
    BUTTON_LEFT,
    BUTTON_LEFT | BUTTON_UP,
    BUTTON_UP,
    BUTTON_UP | BUTTON_RIGHT,
    0,
)


def action_to_input(action: npt.ArrayLike) -> bytes:
    """The arena input of one ``MultiDiscrete([9, 2, 8])`` action."""
    a = np.asarray(action).reshape(-1)
    if a.shape != (3,):
        raise ValueError(f"an action is [move, fire, aim], not {a.tolist()}")
    move, fire, aim = (int(v) for v in a)
    if not (0 <= move < 9 and 0 <= fire < 2 and 0 <= aim < 8):
        raise ValueError(f"action out of range: {[move, fire, aim]} (move 0..8, fire 0..1, aim 0..7)")
    return bytes((MOVES[move] | (BUTTON_FIRE if fire else 0), aim * 32))


class ArenaParallelEnv(ParallelEnv):  # type: ignore[misc]
    """The arena as a PettingZoo parallel environment (see the module docs)."""

    metadata = {"name": "framelock_arena_v0", "render_modes": [], "is_parallelizable": True}

    def __init__(
        self,
        players: int = 4,
        *,
        max_cycles: int = 1000,
        world_size: int = 512,
        max_projectiles: int = 256,
        seed: int = 1,
    ) -> None:
        self._params = ArenaParams(players=players, max_projectiles=max_projectiles, world_size=world_size, seed=seed)
        _ = self._params.snapshot_size  # validates the params (InvalidConfigError)
        self.possible_agents = [f"player_{i}" for i in range(players)]
        self.agents: list[str] = []
        self.max_cycles = max_cycles
        self.render_mode = None
        self._session: Session | None = None
        self._cycles = 0
        self._score = np.zeros(players, dtype=np.int64)
        self._respawn = np.zeros(players, dtype=np.int64)
        self._observation_space = spaces.Box(low=-1.0, high=1.0, shape=(players, 6), dtype=np.float32)
        self._action_space = spaces.MultiDiscrete([9, 2, 8])

    def observation_space(self, agent: str) -> spaces.Box:
        """``Box(-1, 1, (players, 6), float32)``, the same object for every call."""
        return self._observation_space

    def action_space(self, agent: str) -> spaces.MultiDiscrete:
        """``MultiDiscrete([9, 2, 8])``: move, fire, aim; the same object for every call."""
        return self._action_space

    @property
    def session(self) -> Session:
        """The session of the current episode (``reset`` first)."""
        if self._session is None:
            raise RuntimeError("call reset() first")
        return self._session

    def state(self) -> npt.NDArray[np.float32]:
        """The global state: every player's row, by slot."""
        return self._rows(self.session.state())

    def _rows(self, s: ArenaState) -> npt.NDArray[np.float32]:
        w = float(self._params.world_size)
        rows = np.empty((s.players, 6), dtype=np.float32)
        rows[:, 0:2] = s.positions / w
        rows[:, 2:4] = s.velocities / 2.0
        rows[:, 4] = s.health / 100.0
        rows[:, 5] = s.alive
        return rows

    def _observe(self, s: ArenaState) -> dict[str, npt.NDArray[np.float32]]:
        rows = self._rows(s)
        n = rows.shape[0]
        return {a: np.roll(rows, -i, axis=0) if i else rows.copy() for i, a in enumerate(self.agents) if i < n}

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, npt.NDArray[np.float32]], dict[str, dict[str, Any]]]:
        if seed is not None:
            self._params = ArenaParams(
                players=self._params.players,
                max_projectiles=self._params.max_projectiles,
                world_size=self._params.world_size,
                seed=seed,
            )
        self._session = Session(self._params.players, arena=self._params)
        self.agents = list(self.possible_agents)
        self._cycles = 0
        s = self._session.state()
        self._score = s.score.astype(np.int64)
        self._respawn = s.respawn.astype(np.int64)
        return self._observe(s), {a: {} for a in self.agents}

    def step(self, actions: Mapping[str, npt.ArrayLike]) -> tuple[
        dict[str, npt.NDArray[np.float32]],
        dict[str, float],
        dict[str, bool],
        dict[str, bool],
        dict[str, dict[str, Any]],
    ]:
        session = self.session
        if not self.agents:
            raise RuntimeError("the episode is over: call reset()")
        for i, agent in enumerate(self.possible_agents):
            action = actions.get(agent)
            session.add_local_input(i, bytes(2) if action is None else action_to_input(action))
        session.advance()
        self._cycles += 1
        s = session.state()
        score, respawn = s.score.astype(np.int64), s.respawn.astype(np.int64)
        died = (respawn > 0) & (self._respawn == 0)
        reward = (score - self._score) - died.astype(np.int64)
        self._score, self._respawn = score, respawn
        obs = self._observe(s)
        rewards = {a: float(reward[i]) for i, a in enumerate(self.agents)}
        truncated = self._cycles >= self.max_cycles
        terminations = {a: False for a in self.agents}
        truncations = {a: truncated for a in self.agents}
        infos: dict[str, dict[str, Any]] = {a: {"frame": s.frame} for a in self.agents}
        if truncated:
            self.agents = []
        return obs, rewards, terminations, truncations, infos

    def close(self) -> None:
        self._session = None
