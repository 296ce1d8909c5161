"""The native vector envs: batched shapes and dtypes, equality with the per-match env, autoreset
with fresh per-episode seeds, Gymnasium's vector API."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("gymnasium")

import gymnasium  # noqa: E402

import framelock as fl  # noqa: E402
from framelock.env import ArenaParallelEnv, ArenaVecEnv  # noqa: E402
from framelock.vector import ArenaGymVecEnv  # noqa: E402


def test_shapes_dtypes_and_equality_with_the_parallel_env() -> None:
    vec = ArenaVecEnv(3, players=4, max_cycles=30, observation="full", projectiles=4)
    obs, infos = vec.reset(seed=5)
    assert obs.shape == (3, 4, (4 + 4) * 9) and obs.dtype == np.float32
    assert infos["frame"].dtype == np.uint32 and infos["episode_seed"].dtype == np.uint64
    assert infos["score"].shape == (3, 4) and infos["score"].dtype == np.int32
    assert len(set(infos["episode_seed"].tolist())) == 3
    # each match is exactly a per-match env seeded with its episode seed
    ref = ArenaParallelEnv(4, max_cycles=30, observation="full", projectiles=4)
    rng = np.random.default_rng(0)
    envs = []
    for e in range(3):
        ref_e = ArenaParallelEnv(4, max_cycles=30, observation="full", projectiles=4)
        ref_e.reset(seed=0)
        # the parallel env draws its episode seed; put the vector's in its place
        ref_e._params = fl.ArenaParams(players=4, max_projectiles=256, world_size=512, seed=int(infos["episode_seed"][e]))
        ref_e._session = fl.Session(4, arena=ref_e._params)
        ro, _ = ref_e._observations()
        np.testing.assert_array_equal(obs[e], ro)
        envs.append(ref_e)
    del ref
    for _ in range(30):
        actions = rng.integers([9, 2, 8], size=(3, 4, 3))
        obs, rewards, term, trunc, infos = vec.step(actions)
        assert rewards.shape == (3, 4) and rewards.dtype == np.float32
        assert term.dtype == np.bool_ and trunc.shape == (3, 4) and not term.any()
        for e, env in enumerate(envs):
            o, r, _, t, _ = env.step({f"player_{i}": actions[e, i] for i in range(4)})
            np.testing.assert_array_equal(obs[e], np.stack([o[f"player_{i}"] for i in range(4)]))
            np.testing.assert_array_equal(rewards[e], [r[f"player_{i}"] for i in range(4)])
            assert trunc[e].all() == t["player_0"]
    assert trunc.all() and (infos["frame"] == 30).all()


def test_autoreset_draws_fresh_seeds_reproducibly() -> None:
    def run(seed: int | None) -> list[int]:
        vec = ArenaVecEnv(2, players=2, max_cycles=5)
        _, infos = vec.reset(seed=seed)
        seeds = infos["episode_seed"].tolist()
        zero = np.zeros((2, 2, 3), dtype=np.int64)
        for step in range(1, 13):
            obs, rewards, _, trunc, infos = vec.step(zero)
            if step % 6 == 0:  # the step after a truncation: a new episode, reward 0, frame 0
                assert (infos["frame"] == 0).all() and not trunc.any() and (rewards == 0).all()
                seeds += infos["episode_seed"].tolist()
            else:
                assert trunc.all() == (step % 6 == 5)
        return seeds

    a = run(7)
    assert len(set(a)) == len(a) == 6, "every match and episode has its own seed"
    assert run(7) == a and run(8) != a and run(None) != a


def test_invalid_batches_raise() -> None:
    vec = ArenaVecEnv(2, players=3, agents=[0, 2])
    vec.reset(seed=1)
    assert vec.possible_agents == ["player_0", "player_2"]
    with pytest.raises(TypeError, match="integers"):
        vec.step(np.zeros((2, 2, 3), dtype=np.float32))
    with pytest.raises(ValueError, match="shape"):
        vec.step(np.zeros((2, 3, 3), dtype=np.int64))
    bad = np.zeros((2, 2, 3), dtype=np.int64)
    bad[1, 1, 2] = 8
    with pytest.raises(ValueError, match="env 1, agent 2: action out of range"):
        vec.step(bad)
    with pytest.raises(ValueError, match="controlled"):
        ArenaVecEnv(2, players=3, agents=[3])
    with pytest.raises(ValueError, match="num_envs"):
        ArenaVecEnv(0)
    assert vec.render(1).shape == (256, 256, 3)


def test_gymnasium_vector_api() -> None:
    envs = gymnasium.make_vec("framelock/Arena-v0", num_envs=4, vectorization_mode="vector_entry_point", max_cycles=10)
    assert isinstance(envs.unwrapped, ArenaGymVecEnv)
    assert envs.observation_space.shape == (4, 24) and envs.action_space.shape == (4, 3)
    obs, infos = envs.reset(seed=3)
    assert obs.shape == (4, 24) and envs.single_observation_space.contains(obs[0])
    for _ in range(10):
        obs, rewards, term, trunc, infos = envs.step(envs.action_space.sample())
        assert obs.shape == (4, 24) and rewards.shape == (4,) and term.shape == trunc.shape == (4,)
    assert trunc.all()
    envs.close()
