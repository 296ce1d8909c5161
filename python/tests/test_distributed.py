"""framelock.distributed on a local Ray instance (one ray.init for the module): 64 matches and 64
logs give exactly the results of the same work done serially."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")

import framelock as fl  # noqa: E402
from framelock.distributed import (  # noqa: E402
    MatchSpec,
    run_match,
    run_matches,
    verify_log,
    verify_logs,
)


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        yield
    finally:
        ray.shutdown()


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """64 recorded matches; one diverges (a flipped checksum), one is cut short."""
    d = tmp_path_factory.mktemp("logs")
    paths = []
    for i in range(64):
        path = d / f"m{i:02}.flog"
        p = fl.ArenaParams(players=2 + i % 3, max_projectiles=64, seed=i)
        s = fl.Session(p.players, arena=p, record=True)
        with s.recording(path, checksum_interval=20):
            s.run(fl.scripted_inputs(i, p.players, 120 + i))
        paths.append(path)
    data = bytearray(paths[10].read_bytes())
    paths[20].write_bytes(bytes(data[: len(data) - 7]))  # truncated inside its last chunk
    return paths


def test_matches_on_ray_equal_the_serial_run(local_ray: None) -> None:
    specs = [
        MatchSpec(fl.ArenaParams(players=2 + i % 4, max_projectiles=128, world_size=256, seed=i), 200 + 5 * i)
        for i in range(64)
    ]
    serial = [run_match(s) for s in specs]
    distributed = run_matches(specs)
    assert distributed == serial
    assert len({r.checksum for r in serial}) == 64, "different matches, different checksums"
    assert all(len(r.score) == r.spec.params.players for r in serial)
    assert any(sum(r.score) > 0 for r in serial) or any(r.projectiles > 0 for r in serial)


def test_log_checks_on_ray_equal_the_serial_run(local_ray: None, logs: list[Path]) -> None:
    serial = [verify_log(p) for p in logs]
    assert verify_logs(logs) == serial
    assert verify_logs(logs, ship_bytes=True) == serial
    bad = [r for r in serial if not r.ok]
    assert len(bad) == 1 and bad[0].source.endswith("m20.flog") and "LogTruncatedError" in (bad[0].error or "")
    good = [r for r in serial if r.ok]
    assert all(r.frames == 120 + int(Path(r.source).stem[1:]) and r.checksums_verified > 0 for r in good)
