"""Many arena matches stepped in one native call without the GIL (``pip install 'framelock[env]'``).

- :class:`ArenaVecEnv`: the batched multi-agent view (PettingZoo-style, every controlled agent of
  every match at once): ``step(actions)`` with ``actions`` int ``(num_envs, agents, 3)``.
- :class:`ArenaGymVecEnv`: Gymnasium's ``VectorEnv`` for the single-agent view: slot 0 of every
  match learns, the other slots play the core's scripted bots
  (``gymnasium.make_vec("framelock/Arena-v0", num_envs=64)``).

Shapes and dtypes (``E`` matches, ``A`` controlled agents, ``R × F`` one observation, flattened to
``R * F`` with ``flat=True``; see :mod:`framelock.env` for what rows and columns hold):

==================  ==========================  ==============================
value               ArenaVecEnv                 ArenaGymVecEnv
==================  ==========================  ==============================
actions             int ``(E, A, 3)``           int ``(E, 3)``
observations        float32 ``(E, A, R, F)``    float32 ``(E, R, F)``
rewards             float32 ``(E, A)``          float32 ``(E,)``
terminations        bool ``(E, A)`` (never)     bool ``(E,)``
truncations         bool ``(E, A)``             bool ``(E,)``
infos["frame"]      uint32 ``(E,)``             uint32 ``(E,)``
infos["episode_seed"] uint64 ``(E,)``           uint64 ``(E,)``
infos["score"]      int32 ``(E, players)``      int32 ``(E, players)``
==================  ==========================  ==============================

The matches are split over ``threads`` native threads (default: one per 16 matches, at most the
number of CPUs), all inside the one call that releases the GIL.

Autoreset is Gymnasium's "next step" mode: the step after a truncation resets that match (its
actions are ignored, its reward is 0) and returns the new episode's first observation. Each
episode's arena seed is drawn from the vector seed (``reset(seed=s)``; ``reset()`` draws a new
vector seed), the match index and the episode number, so matches and episodes all differ and the
whole sequence is reproducible.
"""

from __future__ import annotations

import os
import secrets
from typing import Any

import numpy as np
import numpy.typing as npt

try:
    import gymnasium
    from gymnasium import spaces
    from gymnasium.vector import AutoresetMode, VectorEnv
    from gymnasium.vector.utils import batch_space
except ImportError:  # pragma: no cover - exercised only without the extra
    raise ImportError("framelock.vector needs gymnasium: pip install 'framelock[env]'") from None

from . import _framelock
from ._arena import ArenaParams, ArenaState
from ._render import draw_arena

__all__ = ["ArenaGymVecEnv", "ArenaVecEnv"]


class _Batch:
    """The native vector env and its output buffers."""

    def __init__(
        self,
        num_envs: int,
        players: int,
        agents: list[int],
        max_cycles: int,
        world_size: int,
        max_projectiles: int,
        observation: str,
        projectiles: int,
        flat: bool,
        threads: int | None,
    ) -> None:
        if threads is None:
            threads = min(os.cpu_count() or 1, max(1, num_envs // 16))
        if observation not in ("basic", "full"):
            raise ValueError(f'observation must be "basic" or "full", not {observation!r}')
        self.params = ArenaParams(players=players, max_projectiles=max_projectiles, world_size=world_size, seed=0)
        full = observation == "full"
        self.projectiles = projectiles if full else 0
        self.native = _framelock.NativeVecEnv(
            num_envs, self.params._tuple(), max_cycles, agents, full, self.projectiles, threads
        )
        self.num_envs, self.agents, self.players = num_envs, agents, players
        rows, features = players + self.projectiles, 9 if full else 6
        self.obs_shape: tuple[int, ...] = (rows * features,) if flat else (rows, features)

    def read(self) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.bool_], dict[str, Any]]:
        e, a = self.num_envs, len(self.agents)
        obs = np.empty((e, a, *self.obs_shape), dtype=np.float32)
        rewards = np.empty((e, a), dtype=np.float32)
        truncated = np.empty((e, a), dtype=np.uint8)
        frames = np.empty(e, dtype=np.uint32)
        seeds = np.empty(e, dtype=np.uint64)
        scores = np.empty((e, self.players), dtype=np.int32)
        self.native.read(obs, rewards, truncated, frames, seeds, scores)
        return obs, rewards, truncated.view(np.bool_), {"frame": frames, "episode_seed": seeds, "score": scores}

    def reset(self, seed: int | None) -> None:
        self.native.reset(secrets.randbits(63) if seed is None else int(seed))

    def step(self, actions: npt.ArrayLike, shape: tuple[int, ...]) -> None:
        a = np.asarray(actions)
        if a.dtype.kind not in "iub":
            raise TypeError(f"actions must be integers [move, fire, aim], not {a.dtype}")
        if a.shape != shape:
            raise ValueError(f"actions must have shape {shape}, not {a.shape}")
        self.native.step(np.ascontiguousarray(a, dtype=np.int64))

    def state(self, env: int) -> ArenaState:
        return ArenaState._from_native(self.native.arena_state(env))


class ArenaVecEnv:
    """``num_envs`` matches of ``players`` players, every agent batched (see the module docs).

    ``agents`` are the controlled slots (default: all); the others play scripted bots. Agent
    names are ``player_<slot>`` (``possible_agents``); ``observation_space`` and ``action_space``
    are one agent's.
    """

    metadata = {"render_modes": ["rgb_array"], "autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(
        self,
        num_envs: int,
        players: int = 8,
        *,
        agents: list[int] | None = None,
        max_cycles: int = 1000,
        world_size: int = 512,
        max_projectiles: int = 256,
        observation: str = "basic",
        projectiles: int = 8,
        flat: bool = True,
        render_mode: str | None = None,
        threads: int | None = None,
    ) -> None:
        slots = list(range(players)) if agents is None else sorted(agents)
        self._b = _Batch(
            num_envs, players, slots, max_cycles, world_size, max_projectiles, observation, projectiles, flat, threads
        )
        self.num_envs = num_envs
        self.players = players
        self.possible_agents = [f"player_{s}" for s in slots]
        self.max_cycles = max_cycles
        self.render_mode = render_mode
        self.observation_space = spaces.Box(-1.0, 1.0, self._b.obs_shape, np.float32)
        self.action_space = spaces.MultiDiscrete([9, 2, 8])

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[npt.NDArray[np.float32], dict[str, Any]]:
        """Starts a new episode in every match: observations ``(E, A, ...)`` and infos."""
        self._b.reset(seed)
        obs, _, _, infos = self._b.read()
        return obs, infos

    def step(
        self, actions: npt.ArrayLike
    ) -> tuple[
        npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.bool_], npt.NDArray[np.bool_], dict[str, Any]
    ]:
        """One frame of every match: ``(observations, rewards, terminations, truncations, infos)``."""
        self._b.step(actions, (self.num_envs, len(self.possible_agents), 3))
        obs, rewards, truncated, infos = self._b.read()
        return obs, rewards, np.zeros_like(truncated), truncated, infos

    def state(self, env: int = 0) -> ArenaState:
        """The arena state of match ``env``."""
        return self._b.state(env)

    def render(self, env: int = 0, size: int = 256) -> npt.NDArray[np.uint8]:
        """Match ``env`` as an RGB image (see ``ArenaParallelEnv.render``)."""
        return draw_arena(self.state(env), self._b.params.world_size, size)

    def close(self) -> None:
        pass


class ArenaGymVecEnv(VectorEnv):  # type: ignore[misc,unused-ignore]
    """Gymnasium's vector API over ``num_envs`` matches: slot 0 of each learns, the other slots
    play scripted bots. ``gymnasium.make_vec("framelock/Arena-v0", num_envs=...)`` builds one."""

    metadata = {"render_modes": ["rgb_array"], "autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(
        self,
        num_envs: int,
        players: int = 4,
        *,
        max_cycles: int = 1000,
        world_size: int = 512,
        max_projectiles: int = 256,
        observation: str = "basic",
        projectiles: int = 8,
        flat: bool = True,
        render_mode: str | None = None,
        threads: int | None = None,
    ) -> None:
        self._b = _Batch(
            num_envs, players, [0], max_cycles, world_size, max_projectiles, observation, projectiles, flat, threads
        )
        self.num_envs = num_envs
        self.render_mode = render_mode
        self.single_observation_space = spaces.Box(-1.0, 1.0, self._b.obs_shape, np.float32)
        self.single_action_space = spaces.MultiDiscrete([9, 2, 8])
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)

    def reset(
        self, *, seed: int | list[int] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[npt.NDArray[np.float32], dict[str, Any]]:
        if isinstance(seed, list):
            seed = seed[0]
        super().reset(seed=seed)
        self._b.reset(seed)
        obs, _, _, infos = self._b.read()
        return obs[:, 0], infos

    def step(
        self, actions: npt.ArrayLike
    ) -> tuple[
        npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.bool_], npt.NDArray[np.bool_], dict[str, Any]
    ]:
        a = np.asarray(actions)
        self._b.step(a.reshape(self.num_envs, 1, 3) if a.shape == (self.num_envs, 3) else a, (self.num_envs, 1, 3))
        obs, rewards, truncated, infos = self._b.read()
        return obs[:, 0], rewards[:, 0], np.zeros(self.num_envs, dtype=np.bool_), truncated[:, 0], infos

    def render(self) -> tuple[npt.NDArray[np.uint8], ...] | None:
        if self.render_mode != "rgb_array":
            return None
        return tuple(draw_arena(self._b.state(e), self._b.params.world_size) for e in range(self.num_envs))

    def close_extras(self, **kwargs: Any) -> None:
        pass

