"""Reinforcement-learning environments over the reference simulation (``pip install 'framelock[env]'``).

- :class:`ArenaParallelEnv`: a PettingZoo ``ParallelEnv``, one agent per slot.
- :class:`ArenaEnv`: a Gymnasium ``Env``, slot 0 against scripted bots
  (``gymnasium.make("framelock/Arena-v0")``).
- :class:`ArenaVecEnv` (many matches, every agent batched) and :class:`ArenaGymVecEnv`
  (Gymnasium's vector API, slot 0 of every match): all matches step in one native call without
  the GIL (``framelock.vector``).

Every step adds one input per agent and advances one frame of a lockstep session, so episodes are
deterministic given the seed and the actions.

- Action: ``MultiDiscrete([9, 2, 8])``: move (0..7 clockwise from ``+x``: right, down-right,
  down, down-left, left, up-left, up, up-right; 8 stands still), fire (0/1), aim (8 directions,
  same order); or ``Discrete(144)`` with ``discrete_actions=True`` (``move * 16 + fire * 8 +
  aim``). Integer arrays only: a float action is a ``TypeError``, an out-of-range one a
  ``ValueError``, an unknown agent a ``KeyError``.
- Observation: float32 in [-1, 1], ``(rows, features)`` or flattened (``flat=True``, the default).
  Rows: every player, the agent's own first, then the others in slot order after it (wrapping);
  with ``observation="full"`` then the ``projectiles`` nearest projectiles (nearest first, zero
  rows when fewer are in flight). Player columns: ``x / world``, ``y / world``, ``vx / 2``,
  ``vy / 2``, ``health / 100``, ``alive``; ``"full"`` adds ``cos(aim)``, ``sin(aim)`` and
  ``min(score, 100) / 100``. Projectile columns: ``x / world``, ``y / world``, ``vx / 4``,
  ``vy / 4``, ``ttl / 180``, present, fired by this agent, fired by another, 0.
- ``state()``: every player's row in slot order, ``state_space`` its box (flattened likewise).
- Reward: +1 per kill scored, -1 per death, on the step it happens.
- Episodes never terminate; they are truncated after ``max_cycles`` steps.
- ``reset(seed=s)`` seeds the episode-seed generator; ``reset()`` draws the next episode's seed
  from it, so every episode differs (and the sequence is reproducible from the first seed).
- ``render_mode="rgb_array"``: ``render()`` returns a ``(size, size, 3)`` uint8 image drawn with
  numpy; ``"human"`` shows it with matplotlib.
- Environments pickle and ``copy.deepcopy`` (through ``Session.save_state``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, TypeAlias

import numpy as np
import numpy.typing as npt

try:
    import gymnasium
    from gymnasium import spaces
    from pettingzoo import ParallelEnv  # type: ignore[import-untyped,unused-ignore]
except ImportError:  # pragma: no cover - exercised only without the extra
    raise ImportError("framelock.env needs gymnasium and pettingzoo: pip install 'framelock[env]'") from None

from ._arena import BUTTON_DOWN, BUTTON_FIRE, BUTTON_LEFT, BUTTON_RIGHT, BUTTON_UP, ArenaParams
from ._render import draw_arena
from ._session import Session

__all__ = [
    "ArenaEnv",
    "ArenaGymVecEnv",
    "ArenaParallelEnv",
    "ArenaVecEnv",
    "MOVES",
    "ObservationKind",
    "action_to_input",
    "check_action",
    "discrete_to_action",
]

ObservationKind: TypeAlias = Literal["basic"] | Literal["full"]

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
_NVEC = np.array([9, 2, 8])


def check_action(action: npt.ArrayLike, who: str = "action") -> npt.NDArray[np.int64]:
    """``[move, fire, aim]`` as int64, checked: ``TypeError`` for a non-integer dtype,
    ``ValueError`` for another shape or a value out of range."""
    a = np.asarray(action)
    if a.dtype.kind not in "iub":
        raise TypeError(f"{who} must be integers [move, fire, aim], not {a.dtype} ({a.tolist()})")
    a = a.reshape(-1)
    if a.shape != (3,):
        raise ValueError(f"{who} is [move, fire, aim], not {a.tolist()}")
    if (a < 0).any() or (a >= _NVEC).any():
        raise ValueError(f"{who} out of range: {a.tolist()} (move 0..8, fire 0..1, aim 0..7)")
    return a.astype(np.int64)


def discrete_to_action(action: npt.ArrayLike, who: str = "action") -> npt.NDArray[np.int64]:
    """``[move, fire, aim]`` of a ``Discrete(144)`` action ``move * 16 + fire * 8 + aim``."""
    a = np.asarray(action)
    if a.dtype.kind not in "iu" or a.size != 1:
        raise TypeError(f"{who} must be one integer 0..143, not {a.dtype} {a.tolist()}")
    v = int(a.reshape(-1)[0])
    if not 0 <= v < 144:
        raise ValueError(f"{who} out of range: {v} (0..143)")
    return np.array([v // 16, v // 8 % 2, v % 8], dtype=np.int64)


def action_to_input(action: npt.ArrayLike) -> bytes:
    """The arena input of one ``MultiDiscrete([9, 2, 8])`` action."""
    move, fire, aim = (int(v) for v in check_action(action))
    return bytes((MOVES[move] | (BUTTON_FIRE if fire else 0), aim * 32))


def _obs_space(players: int, observation: ObservationKind, projectiles: int, flat: bool) -> spaces.Box:
    rows = players + (projectiles if observation == "full" else 0)
    features = 9 if observation == "full" else 6
    shape = (rows * features,) if flat else (rows, features)
    return spaces.Box(low=-1.0, high=1.0, shape=shape, dtype=np.float32)


class _ArenaBase:
    """What the single-match environments share: params, the session, observations, rendering."""

    metadata: dict[str, Any] = {"render_modes": ["human", "rgb_array"], "render_fps": 30}

    def __init__(
        self,
        players: int = 4,
        *,
        max_cycles: int = 1000,
        world_size: int = 512,
        max_projectiles: int = 256,
        seed: int | None = None,
        render_mode: str | None = None,
        observation: ObservationKind = "basic",
        projectiles: int = 8,
        flat: bool = True,
        render_size: int = 256,
        discrete_actions: bool = False,
    ) -> None:
        self._discrete = discrete_actions
        #: ``MultiDiscrete([9, 2, 8])``, or ``Discrete(144)`` with ``discrete_actions=True``.
        self._action_space: spaces.Space[Any] = (
            spaces.Discrete(144) if discrete_actions else spaces.MultiDiscrete([9, 2, 8])
        )
        if observation not in ("basic", "full"):
            raise ValueError(f'observation must be "basic" or "full", not {observation!r}')
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']} or None, not {render_mode!r}")
        if max_cycles < 1:
            raise ValueError(f"max_cycles must be at least 1, not {max_cycles}")
        self._params = ArenaParams(players=players, max_projectiles=max_projectiles, world_size=world_size, seed=0)
        _ = self._params.snapshot_size  # validates the params (InvalidConfigError)
        self.max_cycles = max_cycles
        self.render_mode = render_mode
        self.render_size = render_size
        self._kind: ObservationKind = observation
        self._projectiles = projectiles if observation == "full" else 0
        self._flat = flat
        self._session: Session | None = None
        self._cycles = 0
        self._seeds = np.random.default_rng(seed)
        self._score = np.zeros(players, dtype=np.int64)
        self._respawn = np.zeros(players, dtype=np.int64)
        self._figure: Any = None
        self._obs_space = _obs_space(players, observation, self._projectiles, flat)
        features = 9 if observation == "full" else 6
        self.state_space = spaces.Box(
            low=-1.0, high=1.0, shape=(players * features,) if flat else (players, features), dtype=np.float32
        )
        self._init_api(players)

    def _init_api(self, players: int) -> None:
        """What each environment API adds at the end of ``__init__`` (agents, or spaces)."""
        raise NotImplementedError

    def _input(self, action: npt.ArrayLike, who: str) -> bytes:
        a = discrete_to_action(action, who) if self._discrete else check_action(action, who)
        return action_to_input(a)

    @property
    def session(self) -> Session:
        """The session of the current episode (``reset`` first)."""
        if self._session is None:
            raise RuntimeError("call reset() first")
        return self._session

    @property
    def episode_seed(self) -> int:
        """The arena seed of the current episode."""
        return self.session.arena.seed if self.session.arena else 0

    def _new_episode(self, seed: int | None) -> None:
        if seed is not None:
            self._seeds = np.random.default_rng(seed)
        episode_seed = int(self._seeds.integers(0, 2**63))
        self._params = ArenaParams(
            players=self._params.players,
            max_projectiles=self._params.max_projectiles,
            world_size=self._params.world_size,
            seed=episode_seed,
        )
        self._session = Session(self._params.players, arena=self._params)
        self._cycles = 0
        s = self._session.state()
        self._score = s.score.astype(np.int64)
        self._respawn = s.respawn.astype(np.int64)

    def _observations(self) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        """Every player's observation (players first axis) and the global state."""
        raw_obs, raw_state = self.session._native.observe(self._kind == "full", self._projectiles)
        p = self._params.players
        obs = np.frombuffer(raw_obs, dtype=np.float32).reshape((p, *self._obs_space.shape)).copy()
        state = np.frombuffer(raw_state, dtype=np.float32).reshape(self.state_space.shape).copy()
        return obs, state

    def _rewards(self) -> npt.NDArray[np.int64]:
        s = self.session.state()
        score, respawn = s.score.astype(np.int64), s.respawn.astype(np.int64)
        died = (respawn > 0) & (self._respawn == 0)
        reward: npt.NDArray[np.int64] = (score - self._score) - died.astype(np.int64)
        self._score, self._respawn = score, respawn
        return reward

    def state(self) -> npt.NDArray[np.float32]:
        """The global state: every player's row in slot order (``state_space``)."""
        return self._observations()[1]

    def render(self) -> npt.NDArray[np.uint8] | None:
        """``rgb_array``: the arena as a ``(render_size, render_size, 3)`` uint8 image;
        ``human``: shows it in a matplotlib window; ``None`` without a render mode."""
        if self.render_mode is None:
            gymnasium.logger.warn("render() without a render_mode: pass render_mode='rgb_array' or 'human'")
            return None
        img = draw_arena(self.session.state(), self._params.world_size, self.render_size)
        if self.render_mode == "rgb_array":
            return img
        try:
            import matplotlib.pyplot as plt
        except ImportError as e:
            raise ImportError("render_mode='human' needs matplotlib: pip install matplotlib") from e
        if self._figure is None:
            self._figure = plt.figure("framelock arena")
            self._image = self._figure.gca().imshow(img)
            self._figure.gca().set_axis_off()
        else:
            self._image.set_data(img)
        plt.pause(1.0 / self.metadata["render_fps"])
        return None

    def close(self) -> None:
        if self._figure is not None:
            import matplotlib.pyplot as plt

            plt.close(self._figure)
            self._figure = None

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_figure"] = None  # a window does not pickle; the copy opens its own
        state.pop("_image", None)
        return state


class ArenaParallelEnv(_ArenaBase, ParallelEnv):  # type: ignore[misc]
    """The arena as a PettingZoo parallel environment (see the module docs)."""

    metadata = {
        "name": "framelock_arena_v0",
        "render_modes": ["human", "rgb_array"],
        "render_fps": 30,
        "is_parallelizable": True,
    }

    def _init_api(self, players: int) -> None:
        self.possible_agents = [f"player_{i}" for i in range(players)]
        self._index = {a: i for i, a in enumerate(self.possible_agents)}
        self.agents: list[str] = []

    def observation_space(self, agent: str) -> spaces.Box:
        """The observation box (see the module docs), the same object for every agent."""
        return self._obs_space

    def action_space(self, agent: str) -> spaces.Space[Any]:
        """``MultiDiscrete([9, 2, 8])`` (move, fire, aim), or ``Discrete(144)`` (``move * 16 +
        fire * 8 + aim``) with ``discrete_actions=True``; the same object for every call."""
        return self._action_space

    def _observe(self) -> dict[str, npt.NDArray[np.float32]]:
        obs, _ = self._observations()
        return {a: obs[self._index[a]] for a in self.agents}

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, npt.NDArray[np.float32]], dict[str, dict[str, Any]]]:
        self._new_episode(seed)
        self.agents = list(self.possible_agents)
        return self._observe(), {a: {"episode_seed": self.episode_seed} for a in self.agents}

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
        unknown = [a for a in actions if a not in self._index]
        if unknown:
            raise KeyError(f"unknown agents {unknown}: the agents are {self.possible_agents}")
        inputs = [bytes(2)] * len(self.possible_agents)
        for agent, action in actions.items():
            if action is not None:
                inputs[self._index[agent]] = self._input(action, f"the action of {agent}")
        for i, data in enumerate(inputs):
            session.add_local_input(i, data)
        session.advance()
        self._cycles += 1
        reward = self._rewards()
        obs = self._observe()
        rewards = {a: float(reward[self._index[a]]) for a in self.agents}
        truncated = self._cycles >= self.max_cycles
        terminations = {a: False for a in self.agents}
        truncations = {a: truncated for a in self.agents}
        frame = session.current_frame
        infos: dict[str, dict[str, Any]] = {a: {"frame": frame} for a in self.agents}
        if truncated:
            self.agents = []
        return obs, rewards, terminations, truncations, infos


class ArenaEnv(_ArenaBase, gymnasium.Env):  # type: ignore[misc,unused-ignore]
    """Slot 0 of the arena against scripted bots, as a Gymnasium ``Env``
    (``gymnasium.make("framelock/Arena-v0")``). Observation, action and reward as in the module
    docs, for slot 0; the other slots play the core's scripted bots (``scripted_inputs``)."""

    metadata = {"render_modes": ["human", "rgb_array"], "render_fps": 30}

    def _init_api(self, players: int) -> None:
        self.observation_space = self._obs_space
        self.action_space = self._action_space

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[npt.NDArray[np.float32], dict[str, Any]]:
        super().reset(seed=seed)  # gymnasium's np_random, for users of self.np_random
        self._new_episode(seed)
        return self._observations()[0][0], {"episode_seed": self.episode_seed}

    def step(
        self, action: npt.ArrayLike
    ) -> tuple[npt.NDArray[np.float32], float, bool, bool, dict[str, Any]]:
        from ._arena import scripted_inputs

        session = self.session
        data = self._input(action, "the action")
        if self._cycles >= self.max_cycles:
            raise RuntimeError("the episode is over: call reset()")
        frame = session.current_frame
        row = scripted_inputs(self.episode_seed, self._params.players, 1, start=frame)[0]
        session.add_local_input(0, data)
        for slot in range(1, self._params.players):
            session.add_local_input(slot, row[slot])
        session.advance()
        self._cycles += 1
        reward = float(self._rewards()[0])
        truncated = self._cycles >= self.max_cycles
        return self._observations()[0][0], reward, False, truncated, {"frame": session.current_frame}


from .vector import ArenaGymVecEnv, ArenaVecEnv  # noqa: E402  (needs the classes above)
