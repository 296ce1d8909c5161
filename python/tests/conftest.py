"""Shared fixtures: the Rust CLI's logs, recorded arena matches."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

import framelock as fl

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session", autouse=True)
def sigint_raises() -> Iterator[None]:
    """Ctrl-C raises KeyboardInterrupt in the tests that send it (test_interrupt.py, test_p2p.py)
    even when the suite was started with SIGINT ignored: a background job of a non-interactive
    shell inherits it so, and Python then keeps it ignored, so those tests failed and one looped."""
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, old)


def cli_binary() -> Path:
    """The `framelock` CLI: $FRAMELOCK_CLI, or target/debug/framelock, built if absent."""
    if env := os.environ.get("FRAMELOCK_CLI"):
        return Path(env)
    path = ROOT / "target" / "debug" / "framelock"
    if not path.exists():
        cargo = shutil.which("cargo")
        if cargo is None:
            pytest.fail("the framelock CLI is not built and cargo is not on PATH")
        subprocess.run([cargo, "build", "-q", "-p", "framelock-cli"], cwd=ROOT, check=True)
    return path


@pytest.fixture(scope="session")
def cli_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 3-player, 300-frame rollback match over a lossy link, recorded by the Rust CLI."""
    path = tmp_path_factory.mktemp("cli") / "demo.flog"
    subprocess.run(
        [str(cli_binary()), "demo", "--in-process", "--players", "3", "--frames", "300", "--record", str(path)],
        check=True,
        capture_output=True,
    )
    return path


@pytest.fixture(scope="session")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 4-player, 400-frame arena match recorded through the Python API, keyframes every 100."""
    path = tmp_path_factory.mktemp("py") / "match.flog"
    params = fl.ArenaParams(players=4, seed=7)
    s = fl.Session(4, arena=params, record=True)
    with s.recording(str(path), checksum_interval=10, keyframe_interval=100):
        s.run(fl.scripted_inputs(3, 4, 400))
    return path
