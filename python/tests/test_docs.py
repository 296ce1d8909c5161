"""docs/python.md runs: every ```python block, top to bottom, in one interpreter.

A block right after a line ``<!-- not run: REASON -->`` is skipped (the RLlib recipe). The
network section plays against a relay started by the test, with a second bot in slot 1."""

from __future__ import annotations

import re
import shutil
import threading
from pathlib import Path

import pytest

import framelock as fl

from conftest import ROOT
from test_net import PLAYERS, TICK_RATE, Relay, relay  # noqa: F401  (the fixture)

DOC = ROOT / "docs" / "python.md"
FENCE = re.compile(r"^```python\n(.*?)^```", re.M | re.S)


def blocks(text: str) -> list[tuple[int, str]]:
    """``(line, code)`` of every block to run."""
    out = []
    for m in FENCE.finditer(text):
        before = text[: m.start()].rstrip().splitlines()
        if before and before[-1].startswith("<!-- not run"):
            continue
        out.append((text.count("\n", 0, m.start()) + 2, m.group(1)))
    return out


def test_the_tour_runs_top_to_bottom(relay: Relay, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    pytest.importorskip("gymnasium")
    text = DOC.read_text()
    code = blocks(text)
    assert len(code) >= 10
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    shutil.copy(relay.token(0, 10), tmp_path / "t0.bin")
    assert f"--tick-rate {TICK_RATE}" in text and f"--players {PLAYERS}" in text

    # the other player of the room, a little beyond the tour's bot (frame 960)
    partner = fl.NetClient(relay.token(1, 11), 1, players=PLAYERS, tick_rate=TICK_RATE)
    outcome: list[object] = []

    def play() -> None:
        try:
            outcome.append(partner.play(1_100, timeout=120))
        except fl.NetworkError as e:  # the room closes under it once the tour's bot left
            outcome.append(e)

    thread = threading.Thread(target=play, daemon=True)
    thread.start()
    namespace: dict[str, object] = {"__name__": "docs_python_md"}
    try:
        for line, source in code:
            try:
                exec(compile(source, f"{DOC}:{line}", "exec"), namespace)
            except Exception as e:
                raise AssertionError(f"the block at docs/python.md:{line} failed: {e!r}") from e
    finally:
        thread.join(timeout=60)
    assert namespace["checksum"] == namespace["bot"].checksum(240)  # type: ignore[attr-defined]
