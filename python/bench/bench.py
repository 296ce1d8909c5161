"""Benchmarks of the Python bindings (figures in docs/BENCHMARKS.md).

1. Per-call overhead from Python: ``add_local_input`` and ``advance`` on a one-slot lockstep
   session over Python-owned state (the simulation costs nothing, so the time is the binding's).
2. ``Session.run`` against the native Rust loop (``Driver`` + ``add_local_input`` per slot, the
   code a Rust user writes) on the same arena, the same frames, in the same process.

    python python/bench/bench.py [--frames 20000] [--players 8] [--repeat 5]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import framelock as fl
from framelock import _framelock


def per_call(n: int) -> dict[str, float]:
    s = fl.Session(1, input_size=2, checksum_interval=1 << 30)
    inp = b"\x01\x02"
    s.add_local_input(0, inp)
    s.advance().finish()
    t0 = time.perf_counter()
    for _ in range(n):
        s.add_local_input(0, inp)
        s.advance()
    both = (time.perf_counter() - t0) / n
    s2 = fl.Session(1, input_size=2, checksum_interval=1 << 30)
    t0 = time.perf_counter()
    for _ in range(n):
        s2.add_local_input(0, inp)
        s2._native.advance()
    raw = (time.perf_counter() - t0) / n
    a = fl.Session(8, arena=fl.ArenaParams())
    inputs = fl.scripted_inputs(1, 8, n // 4)
    rows = [[bytes(x) for x in row] for row in inputs]
    t0 = time.perf_counter()
    for row in rows:
        for slot in range(8):
            a.add_local_input(slot, row[slot])
        a.advance()
    arena_tick = (time.perf_counter() - t0) / len(rows)
    return {"add_input_plus_advance_us": both * 1e6, "native_advance_pair_us": raw * 1e6, "arena_tick_us": arena_tick * 1e6}


def throughput(players: int, frames: int, repeat: int) -> dict[str, float]:
    params = fl.ArenaParams(players=players)
    inputs = fl.scripted_inputs(1, players, frames)
    raw = inputs.tobytes()
    run_times, native_times = [], []
    for _ in range(repeat):
        # interleaved, so both see the same machine state
        s = fl.Session(players, arena=params)
        t0 = time.perf_counter()
        s.run(inputs)
        run_times.append(time.perf_counter() - t0)
        secs, checksum = _framelock._bench_native(params._tuple(), raw, frames)
        native_times.append(secs)
        assert s.checksum(frames - 1) == checksum, "run() and the native loop must agree"
    run_med, native_med = statistics.median(run_times), statistics.median(native_times)
    return {
        "run_fps": frames / run_med,
        "native_fps": frames / native_med,
        "ratio": native_med / run_med,
        "run_best_fps": frames / min(run_times),
        "native_best_fps": frames / min(native_times),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=20_000)
    ap.add_argument("--players", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--calls", type=int, default=50_000)
    args = ap.parse_args()
    pc = per_call(args.calls)
    tp = throughput(args.players, args.frames, args.repeat)
    print(f"machine: {platform.machine()}, {platform.system()} {platform.release()}, Python {platform.python_version()}")
    print(f"per call ({args.calls} ticks, 1 slot, Python-owned state):")
    print(f"  add_local_input + advance (Step with request objects): {pc['add_input_plus_advance_us']:.2f} us")
    print(f"  add_local_input + native advance (tuples only):        {pc['native_advance_pair_us']:.2f} us")
    print(f"  arena tick from Python (8 x add_local_input + advance): {pc['arena_tick_us']:.2f} us")
    print(f"run() vs native Rust ({args.players} players, {args.frames} frames, median of {args.repeat}):")
    print(f"  run():  {tp['run_fps']:,.0f} frames/s (best {tp['run_best_fps']:,.0f})")
    print(f"  native: {tp['native_fps']:,.0f} frames/s (best {tp['native_best_fps']:,.0f})")
    print(f"  run() at {tp['ratio'] * 100:.1f}% of native")


if __name__ == "__main__":
    main()
