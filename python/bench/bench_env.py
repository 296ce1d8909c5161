"""Agent-steps per second of the native vector env against the per-match PettingZoo env.

    .venv/bin/python python/bench/bench_env.py --envs 64 --players 8 --steps 2000 --repeat 5

`ArenaVecEnv(envs, players)` steps every match in one native call (random integer actions drawn
beforehand, observations, rewards and infos read back as numpy batches each step);
`ArenaParallelEnv(players)` steps one match per call from Python (a dict of actions in, dicts of
observations out). Both run "basic" flat observations, max_cycles 1000 (so auto-resets happen).
The baseline is the bare simulation: one match's lockstep session driven by a Rust loop
(`_framelock._bench_native`, no snapshot per frame, no observations), in frames × players per
second, fed random actions like the envs: what a vector env on one core cannot exceed.
Prints the median and best of `--repeat` runs of each, and their ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

import framelock as fl
from framelock import _framelock
from framelock.env import MOVES, ArenaParallelEnv, ArenaVecEnv


def vec_rate(envs: int, players: int, steps: int, threads: int | None) -> float:
    vec = ArenaVecEnv(envs, players=players, max_cycles=1000, threads=threads)
    vec.reset(seed=1)
    actions = np.random.default_rng(0).integers([9, 2, 8], size=(16, envs, players, 3))
    start = time.perf_counter()
    for t in range(steps):
        vec.step(actions[t % 16])
    return envs * players * steps / (time.perf_counter() - start)


def native_rate(players: int, frames: int) -> float:
    """The bare simulation: one match's lockstep session driven from Rust (as the vector env
    drives each match: no snapshot per frame), fed the same kind of random actions, in
    agent-steps (frames × players) per second."""
    p = fl.ArenaParams(players=players, max_projectiles=256, world_size=512, seed=1)
    actions = np.random.default_rng(0).integers([9, 2, 8], size=(frames, players, 3))
    moves = np.array(MOVES, dtype=np.uint8)
    inputs = np.empty((frames, players, 2), dtype=np.uint8)
    inputs[..., 0] = moves[actions[..., 0]] | np.where(actions[..., 1] == 1, fl.BUTTON_FIRE, 0)
    inputs[..., 1] = actions[..., 2] * 32
    secs, _ = _framelock._bench_native(p._tuple(), inputs.tobytes(), frames, 1 << 16)
    return players * frames / secs


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
    ap.add_argument("--threads", type=int, default=None, help="ArenaVecEnv threads (default: its own)")
    a = ap.parse_args()
    vec, par, nat = [], [], []
    load_before = os.getloadavg()[0]
    for _ in range(a.repeat):  # alternate, so that all see the same machine load
        vec.append(vec_rate(a.envs, a.players, a.steps, a.threads))
        par.append(parallel_rate(a.players, max(200, a.steps // 4)))
        nat.append(native_rate(a.players, 20_000))
    print(f"load average (1 min) before the runs {load_before:.1f}, after {os.getloadavg()[0]:.1f}")
    vm, pm = statistics.median(vec), statistics.median(par)
    print(f"ArenaVecEnv({a.envs}, players={a.players}): median {vm / 1e6:.3f} M agent-steps/s, best {max(vec) / 1e6:.3f} M")
    print(f"ArenaParallelEnv(players={a.players}):   median {pm / 1e3:.1f} k agent-steps/s, best {max(par) / 1e3:.1f} k")
    nm = statistics.median(nat)
    print(f"one match driven from Rust:   median {nm / 1e6:.3f} M agent-steps/s, best {max(nat) / 1e6:.3f} M")
    print(f"ratio ArenaVecEnv / ArenaParallelEnv (medians): {vm / pm:.1f}x")
    print(f"ArenaVecEnv / one match from Rust (medians): {vm / nm:.2f}")


if __name__ == "__main__":
    main()
