"""Ctrl-C inside native loops: a SIGINT sent from another thread stops run(), verify(), seek()
and to_numpy() within about 100 ms with KeyboardInterrupt, and the session stays usable."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import framelock as fl


def interrupt_after(seconds: float) -> threading.Thread:
    """Sends SIGINT to the main thread (where Python runs signal handlers) after `seconds`."""
    main = threading.main_thread().ident
    assert main is not None

    def fire() -> None:
        time.sleep(seconds)
        signal.pthread_kill(main, signal.SIGINT)

    t = threading.Thread(target=fire)
    t.start()
    return t


def interrupted(call: Callable[[], object], after: float = 0.15) -> float:
    """Runs `call`, interrupted after `after` s; returns the seconds from the signal to the raise."""
    t = interrupt_after(after)
    start = time.perf_counter()
    with pytest.raises(KeyboardInterrupt):
        call()
    elapsed = time.perf_counter() - start
    t.join()
    return elapsed - after


def test_ctrl_c_stops_a_long_run_and_the_session_stays_usable() -> None:
    params = fl.ArenaParams(players=4, seed=3)
    frames = 3_000_000  # about 15 s at 200 k frames/s: far longer than the signal's delay
    inputs = np.zeros((frames, 4, 2), dtype=np.uint8)
    inputs[:, :, 0] = fl.BUTTON_RIGHT | fl.BUTTON_FIRE
    s = fl.Session(4, arena=params)
    t = interrupt_after(0.2)
    start = time.perf_counter()
    with pytest.raises(KeyboardInterrupt) as e:
        s.run(inputs)
    late = time.perf_counter() - start - 0.2
    t.join()
    reached = s.current_frame
    assert 0 < reached < frames, "stopped early, after some frames"
    assert e.value.tick == reached  # type: ignore[attr-defined]
    # Reacted quickly: the loop looks at signals every 2,048 ticks (a few ms); allow a loaded machine.
    assert late < 1.0, f"KeyboardInterrupt came {late:.2f} s after the signal"
    # Usable at the frame reached: continuing gives the same state as an uninterrupted run.
    s.run(inputs[reached : reached + 100])
    ref = fl.Session(4, arena=params)
    ref.run(inputs[: reached + 100])
    assert s.current_frame == ref.current_frame == reached + 100
    assert s.checksum(reached + 99) == ref.checksum(reached + 99)
    assert "Session(slots=4" in repr(s)


def test_repr_never_raises_while_another_thread_runs() -> None:
    s = fl.Session(4, arena=fl.ArenaParams(players=4))
    inputs = np.zeros((400_000, 4, 2), dtype=np.uint8)
    t = threading.Thread(target=s.run, args=(inputs,))
    t.start()
    seen = set()
    while t.is_alive():
        seen.add(repr(s))
        time.sleep(0.005)
    t.join()
    assert any("<running>" in r for r in seen)
    assert repr(s).endswith("current_frame=400000)") or "current_frame=400000" in repr(s)


@pytest.fixture(scope="module")
def long_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 4-player match of 400,000 frames without keyframes (a seek replays from frame 0)."""
    path = tmp_path_factory.mktemp("long") / "long.flog"
    s = fl.Session(4, arena=fl.ArenaParams(players=4, max_projectiles=64), record=True)
    with s.recording(path, checksum_interval=1000):
        s.run(fl.scripted_inputs(1, 4, FRAMES))
    return path


FRAMES = 400_000


def test_ctrl_c_stops_verify_seek_and_to_numpy(long_log: Path) -> None:
    log = fl.InputLog.open(long_log)
    start = time.perf_counter()
    log.verify()
    full = time.perf_counter() - start
    # 400,000 frames of 4 players take about a second on an idle machine, far more under load
    assert full > 0.25, f"verify took only {full:.2f} s: the log is too short to show an interruption"
    assert interrupted(log.verify, after=0.05) < full / 2
    assert interrupted(lambda: log.seek(FRAMES - 1), after=0.05) < full / 2
    # the log is unharmed
    assert log.verify().frames == FRAMES
    assert log.seek(1000).frame == 1000
    assert fl.InputLog.open(long_log).to_numpy()["inputs"].shape == (FRAMES, 4, 2)


def test_ctrl_c_stops_a_vector_env_between_matches() -> None:
    pytest.importorskip("gymnasium")
    from framelock.env import ArenaVecEnv

    vec = ArenaVecEnv(1024, players=8, threads=1)
    vec.reset(seed=1)
    actions = np.zeros((1024, 8, 3), dtype=np.int64)

    def forever() -> None:
        # Each step releases the GIL for the whole batch; Ctrl-C lands inside one. Bounded, so a
        # lost signal fails the test instead of hanging the suite.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            vec.step(actions)

    assert interrupted(forever, after=0.2) < 1.0
    # every match is whole, stepped or not: the batch's frames differ by at most one
    _, _, _, _, infos = vec.step(actions)
    frames = infos["frame"]
    assert frames.max() - frames.min() <= 1 and frames.min() > 0
