"""Agent-steps per second of the native vector env against the per-match PettingZoo env.

    .venv/bin/python python/bench/bench_env.py --envs 64 --players 8 --steps 2000 --repeat 5

`ArenaVecEnv(envs, players)` steps every match in one native call (random integer actions drawn
beforehand, observations, rewards and infos read back as numpy batches each step);
`ArenaParallelEnv(players)` steps one match per call from Python (a dict of actions in, dicts of
observations out). Both run "basic" flat observations, max_cycles 1000 (so auto-resets happen).
Prints the median and best of `--repeat` runs of each, and their ratio.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from framelock.env import ArenaParallelEnv, ArenaVecEnv


def vec_rate(envs: int, players: int, steps: int) -> float:
    vec = ArenaVecEnv(envs, players=players, max_cycles=1000)
    vec.reset(seed=1)
    actions = np.random.default_rng(0).integers([9, 2, 8], size=(16, envs, players, 3))
    start = time.perf_counter()
    for t in range(steps):
        vec.step(actions[t % 16])
    return envs * players * steps / (time.perf_counter() - start)


def parallel_rate(players: int, steps: int) -> float:
    env = ArenaParallelEnv(players, max_cycles=1000)
    env.reset(seed=1)
    rng = np.random.default_rng(0)
    table = [{a: rng.integers([9, 2, 8]) for a in env.possible_agents} for _ in range(16)]
    start = time.perf_counter()
    for t in range(steps):
        if not env.agents:
            env.reset()
        env.step(table[t % 16])
    return players * steps / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--envs", type=int, default=64)
    ap.add_argument("--players", type=int, default=8)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    vec = [vec_rate(a.envs, a.players, a.steps) for _ in range(a.repeat)]
    par = [parallel_rate(a.players, a.steps) for _ in range(a.repeat)]
    vm, pm = statistics.median(vec), statistics.median(par)
    print(f"ArenaVecEnv({a.envs}, players={a.players}): median {vm / 1e6:.3f} M agent-steps/s, best {max(vec) / 1e6:.3f} M")
    print(f"ArenaParallelEnv(players={a.players}):   median {pm / 1e3:.1f} k agent-steps/s, best {max(par) / 1e3:.1f} k")
    print(f"ratio (median): {vm / pm:.1f}x")


if __name__ == "__main__":
    main()
