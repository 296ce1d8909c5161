"""The PettingZoo ParallelEnv adapter over the arena."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pettingzoo")

from pettingzoo.test import parallel_api_test, parallel_seed_test  # noqa: E402

import framelock as fl  # noqa: E402
from framelock.env import ArenaParallelEnv, action_to_input  # noqa: E402


def test_pettingzoo_api() -> None:
    parallel_api_test(ArenaParallelEnv(4, max_cycles=40), num_cycles=50)


def test_seeded_episodes_are_deterministic() -> None:
    parallel_seed_test(lambda: ArenaParallelEnv(3, max_cycles=30))

    def episode(seed: int) -> list[float]:
        env = ArenaParallelEnv(3, max_cycles=120)
        obs, _ = env.reset(seed=seed)
        rng = np.random.default_rng(0)
        trace = []
        while env.agents:
            actions = {a: rng.integers([9, 2, 8]) for a in env.agents}
            obs, rewards, term, trunc, info = env.step(actions)
            trace += [float(o.sum()) for o in obs.values()] + list(rewards.values())
        return trace

    assert episode(5) == episode(5)
    assert episode(5) != episode(6)


def test_spaces_and_observations() -> None:
    env = ArenaParallelEnv(4, max_cycles=5)
    obs, infos = env.reset(seed=1)
    assert env.agents == ["player_0", "player_1", "player_2", "player_3"]
    space = env.observation_space("player_0")
    assert space is env.observation_space("player_0") and space.shape == (4, 6)
    for i, a in enumerate(env.agents):
        o = obs[a]
        assert o.dtype == np.float32 and o.shape == (4, 6) and space.contains(o)
        np.testing.assert_array_equal(o[0], env.state()[i])  # own row first
    assert env.action_space("player_1").nvec.tolist() == [9, 2, 8]
    steps = 0
    while env.agents:
        _, _, term, trunc, info = env.step({a: [0, 1, 0] for a in env.agents})
        steps += 1
    assert steps == 5 and all(trunc.values()) and not any(term.values())
    assert info["player_0"]["frame"] == 5
    assert env.session.current_frame == 5
    with pytest.raises(RuntimeError, match="reset"):
        env.step({})


def test_kills_are_rewarded() -> None:
    """Two players facing each other and firing: someone scores, someone dies."""
    env = ArenaParallelEnv(2, max_cycles=3000, world_size=64, max_projectiles=64)
    env.reset(seed=3)
    total = {a: 0.0 for a in env.possible_agents}
    for _ in range(3000):
        s = env.session.state()
        dx, dy = s.positions[1] - s.positions[0]
        aim0 = int(round(np.arctan2(dy, dx) / (2 * np.pi) * 8)) % 8
        _, rewards, _, _, _ = env.step({"player_0": [8, 1, aim0], "player_1": [8, 1, (aim0 + 4) % 8]})
        for a, r in rewards.items():
            total[a] += r
        if env.session.state().score.sum() > 0:
            break
    end = env.session.state()
    assert end.score.sum() > 0
    # +1 per kill, -1 per death (both may die on the same frame)
    for i, a in enumerate(env.possible_agents):
        assert total[a] == end.score[i] - (end.respawn[i] > 0)


def test_action_validation() -> None:
    assert action_to_input([8, 0, 0]) == fl.NEUTRAL_INPUT
    assert action_to_input(np.array([0, 1, 2])) == bytes([fl.BUTTON_RIGHT | fl.BUTTON_FIRE, 64])
    with pytest.raises(ValueError, match="out of range"):
        action_to_input([9, 0, 0])
    with pytest.raises(ValueError, match="move, fire, aim"):
        action_to_input([1, 2])
    env = ArenaParallelEnv(2)
    with pytest.raises(RuntimeError, match="reset"):
        env.session
    with pytest.raises(fl.InvalidConfigError):
        ArenaParallelEnv(0)
