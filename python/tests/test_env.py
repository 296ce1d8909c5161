"""The PettingZoo ParallelEnv and the Gymnasium Env over the arena."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

pytest.importorskip("pettingzoo")

import gymnasium  # noqa: E402
from gymnasium.utils.env_checker import check_env  # noqa: E402
from pettingzoo.test import api_test, parallel_api_test, parallel_seed_test  # noqa: E402
from pettingzoo.utils.conversions import parallel_to_aec  # noqa: E402

import framelock as fl  # noqa: E402
from framelock.env import ArenaEnv, ArenaParallelEnv, action_to_input  # noqa: E402


@pytest.mark.parametrize("observation", ["basic", "full"])
def test_pettingzoo_api_and_aec(observation: str) -> None:
    parallel_api_test(ArenaParallelEnv(4, max_cycles=40, observation=observation), num_cycles=50)  # type: ignore[arg-type]
    # PettingZoo's AEC test warns about any action space but Box and Discrete: the discrete option
    aec = parallel_to_aec(ArenaParallelEnv(3, max_cycles=30, observation=observation, discrete_actions=True))  # type: ignore[arg-type]
    api_test(aec, num_cycles=40)


def test_seeded_episodes_are_deterministic_and_unseeded_resets_differ() -> None:
    parallel_seed_test(lambda: ArenaParallelEnv(3, max_cycles=30))

    def episode(env: ArenaParallelEnv, seed: int | None) -> list[float]:
        obs, _ = env.reset(seed=seed)
        rng = np.random.default_rng(0)
        trace = [float(o.sum()) for o in obs.values()]
        while env.agents:
            actions = {a: rng.integers([9, 2, 8]) for a in env.agents}
            obs, rewards, term, trunc, info = env.step(actions)
            trace += [float(o.sum()) for o in obs.values()] + list(rewards.values())
        return trace

    env = ArenaParallelEnv(3, max_cycles=60)
    assert episode(env, 5) == episode(env, 5)
    assert episode(env, 5) != episode(env, 6)
    # reset() without a seed draws a new episode seed each time, reproducibly after a seeded reset
    first = episode(env, 9)
    a, b = episode(env, None), episode(env, None)
    assert len({tuple(first), tuple(a), tuple(b)}) == 3
    assert episode(env, 9) == first and episode(env, None) == a
    seeds = set()
    for _ in range(3):
        env.reset()
        seeds.add(env.episode_seed)
    assert len(seeds) == 3


def test_spaces_observations_and_state() -> None:
    env = ArenaParallelEnv(4, max_cycles=5, flat=False)
    obs, infos = env.reset(seed=1)
    assert env.agents == ["player_0", "player_1", "player_2", "player_3"]
    space = env.observation_space("player_0")
    assert space is env.observation_space("player_3") and space.shape == (4, 6)
    state = env.state()
    assert env.state_space.shape == (4, 6) and env.state_space.contains(state)
    s = env.session.state()
    np.testing.assert_allclose(state[:, 0:2], s.positions / 512, rtol=1e-6)
    np.testing.assert_allclose(state[:, 4], s.health / 100)
    for i, a in enumerate(env.agents):
        o = obs[a]
        assert o.dtype == np.float32 and o.shape == (4, 6) and space.contains(o)
        np.testing.assert_array_equal(o, np.roll(state, -i, axis=0))  # own row first
    assert env.action_space("player_1").nvec.tolist() == [9, 2, 8]
    steps = 0
    while env.agents:
        _, _, term, trunc, info = env.step({a: [0, 1, 0] for a in env.agents})
        steps += 1
    assert steps == 5 and all(trunc.values()) and not any(term.values())
    assert info["player_0"]["frame"] == 5
    with pytest.raises(RuntimeError, match="reset"):
        env.step({})
    flat = ArenaParallelEnv(4)
    fobs, _ = flat.reset(seed=1)
    assert flat.observation_space("player_0").shape == (24,) and flat.state_space.shape == (24,)
    np.testing.assert_array_equal(fobs["player_2"], obs["player_2"].reshape(-1))


def test_full_observation_has_aim_score_and_projectiles() -> None:
    env = ArenaParallelEnv(2, world_size=128, max_projectiles=64, observation="full", projectiles=4, flat=False)
    env.reset(seed=2)
    for _ in range(12):
        obs, *_ = env.step({"player_0": [8, 1, 0], "player_1": [8, 0, 2]})
    o = obs["player_0"]
    assert o.shape == (2 + 4, 9) and env.observation_space("player_0").contains(o)
    s = env.session.state()
    np.testing.assert_allclose(o[0, 6:8], [np.cos(s.facing[0]), np.sin(s.facing[0])], atol=1e-6)
    assert s.projectiles >= 1
    shots = o[2:]
    present = shots[:, 5] == 1
    assert present.sum() == min(4, s.projectiles)
    assert (shots[present, 6] == 1).all() and (shots[present, 7] == 0).all()  # fired by player 0
    me = s.positions[0]
    d = np.hypot(*(shots[present, 0:2] * 128 - me).T)
    assert (np.diff(d) >= -1e-3).all(), "nearest first"
    other = obs["player_1"][2:]
    assert (other[other[:, 5] == 1, 7] == 1).all()  # for player 1 they are another's


def test_render_rgb_array_draws_players_aim_health_and_projectiles() -> None:
    env = ArenaParallelEnv(2, world_size=128, render_mode="rgb_array", render_size=128)
    env.reset(seed=4)
    for _ in range(10):
        env.step({"player_0": [8, 1, 0], "player_1": [8, 1, 4]})
    img = env.render()
    assert img is not None and img.shape == (128, 128, 3) and img.dtype == np.uint8
    s = env.session.state()
    x, y = s.positions[0].astype(int)
    assert tuple(img[y, x]) == (31, 119, 180) or tuple(img[y, x]) == (255, 255, 255)  # player 0's disc / aim
    assert (img == (60, 200, 60)).all(axis=-1).any(), "health bars"
    assert (img == (255, 255, 255)).all(axis=-1).any(), "aim lines"
    px, py = s.projectile_positions[0].astype(int)
    assert tuple(img[py, px]) != (24, 24, 28), "a projectile is drawn"
    with pytest.raises(ValueError, match="render_mode"):
        ArenaParallelEnv(2, render_mode="ascii")
    assert ArenaParallelEnv.metadata["render_modes"] == ["human", "rgb_array"]


def test_pickle_and_deepcopy_mid_episode_continue_identically() -> None:
    env = ArenaParallelEnv(3, max_cycles=200, render_mode="rgb_array")
    env.reset(seed=8)
    rng = np.random.default_rng(1)
    for _ in range(50):
        env.step({a: rng.integers([9, 2, 8]) for a in env.agents})
    clones = [copy.deepcopy(env), pickle.loads(pickle.dumps(env))]
    actions = [{a: rng.integers([9, 2, 8]) for a in env.possible_agents} for _ in range(150)]
    results = []
    for e in [env, *clones]:
        trace = []
        for act in actions:
            obs, rew, _, trunc, _ = e.step(act)
            trace.append((sorted((k, v.tobytes()) for k, v in obs.items()), sorted(rew.items())))
        results.append(trace)
        assert not e.agents and e.session.current_frame == 200
    assert results[0] == results[1] == results[2]


def test_invalid_actions_raise() -> None:
    assert action_to_input([8, 0, 0]) == fl.NEUTRAL_INPUT
    assert action_to_input(np.array([0, 1, 2])) == bytes([fl.BUTTON_RIGHT | fl.BUTTON_FIRE, 64])
    with pytest.raises(ValueError, match="out of range"):
        action_to_input([9, 0, 0])
    with pytest.raises(ValueError, match="move, fire, aim"):
        action_to_input([1, 2])
    env = ArenaParallelEnv(2)
    with pytest.raises(RuntimeError, match="reset"):
        env.session
    env.reset(seed=1)
    with pytest.raises(TypeError, match="float"):
        env.step({"player_0": np.array([1.0, 0.0, 0.0])})
    with pytest.raises(TypeError, match="player_1"):
        env.step({"player_1": [0.5, 0, 0]})
    with pytest.raises(ValueError, match="out of range"):
        env.step({"player_0": [0, 0, 8]})
    with pytest.raises(KeyError, match="player_7"):
        env.step({"player_7": [0, 0, 0]})
    assert env.session.current_frame == 0, "a refused step changes nothing"
    with pytest.raises(fl.InvalidConfigError):
        ArenaParallelEnv(0)


def test_gymnasium_single_agent_env() -> None:
    env = gymnasium.make("framelock/Arena-v0", max_cycles=50)
    check_env(env.unwrapped, skip_render_check=True)
    full = gymnasium.make("framelock/Arena-v0", players=3, observation="full", render_mode="rgb_array", max_cycles=20)
    check_env(full.unwrapped)
    assert isinstance(full.unwrapped, ArenaEnv) and full.unwrapped.render().shape == (256, 256, 3)
    obs, info = env.reset(seed=3)
    assert obs.shape == (24,) and "episode_seed" in info
    total, steps, truncated = 0.0, 0, False
    while not truncated:
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        total += reward
        steps += 1
        assert not terminated
    assert steps == 50 and info["frame"] == 50
    with pytest.raises(TypeError):
        env.step(np.array([0.0, 1.0, 0.0]))
    env.close()


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
