"""Many matches and many log checks as Ray tasks (``pip install 'framelock[ray]'``).

When one machine is not enough (thousands of simulated matches for balance testing, a day of
recorded matches to verify) the same work runs on Ray. Every function here has a serial twin
that gives exactly the same results, in the same order:

- :func:`run_match` / :func:`run_matches`: play arena matches (params, frames, scripted inputs)
  and gather their final checksums and scores;
- :func:`verify_log` / :func:`verify_logs`: verify input logs and gather the reports (a divergent
  or damaged log is a result with ``error`` set, not an exception that stops the batch).

``run_matches`` and ``verify_logs`` use the Ray instance of the process: ``ray.init()`` for a
local one, ``ray.init(address="auto")`` on a cluster node or ``ray.init(address="ray://head:10001")``
from outside (without either, Ray starts a local instance on first use). Log paths are read by
the workers, so on a cluster they must be on storage every node sees; ``ship_bytes=True`` reads
them on the driver and sends the bytes instead.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ._arena import ArenaParams, scripted_inputs
from ._framelock import FramelockError
from ._log import InputLog
from ._session import Session

__all__ = ["LogResult", "MatchResult", "MatchSpec", "run_match", "run_matches", "verify_log", "verify_logs"]


@dataclass(frozen=True, slots=True)
class MatchSpec:
    """One match: the arena's params, how many frames, and the seed of the scripted inputs
    (``None``: the params' seed)."""

    params: ArenaParams
    frames: int
    input_seed: int | None = None


@dataclass(frozen=True, slots=True)
class MatchResult:
    """What a match ended with."""

    spec: MatchSpec
    #: The final checksum of the last frame's starting state (``frames - 1``).
    checksum: int
    #: Kills per player.
    score: tuple[int, ...]
    #: Health per player at the end (0 while waiting to respawn).
    health: tuple[int, ...]
    #: Projectiles in flight at the end.
    projectiles: int


@dataclass(frozen=True, slots=True)
class LogResult:
    """What verifying one log found."""

    #: The path verified (or ``"<bytes>"``).
    source: str
    frames: int
    checksums_verified: int
    #: ``(frame, checksum)`` of the last checksum compared, if any.
    last_checksum: tuple[int, int] | None
    #: ``None`` when the log verified; otherwise the error's class and message (a divergence,
    #: a damaged or truncated file, a log of another simulation).
    error: str | None

    @property
    def ok(self) -> bool:
        return self.error is None


def run_match(spec: MatchSpec) -> MatchResult:
    """Plays one match (lockstep, every slot scripted) and returns its result."""
    p = spec.params
    s = Session(p.players, arena=p)
    s.run(scripted_inputs(p.seed if spec.input_seed is None else spec.input_seed, p.players, spec.frames))
    state = s.state()
    checksum = s.checksum(spec.frames - 1) if spec.frames > 0 else None
    return MatchResult(
        spec,
        checksum or 0,
        tuple(int(v) for v in state.score),
        tuple(int(v) for v in state.health),
        state.projectiles,
    )


def verify_log(log: str | os.PathLike[str] | bytes) -> LogResult:
    """Opens and verifies one log (a path, or the file's bytes)."""
    source = "<bytes>" if isinstance(log, bytes) else os.fspath(log)
    try:
        opened = InputLog(log) if isinstance(log, bytes) else InputLog.open(log)
        r = opened.verify()
    except (FramelockError, OSError) as e:
        return LogResult(source, 0, 0, None, f"{type(e).__name__}: {e}")
    return LogResult(source, r.frames, r.checksums_verified, r.last_checksum, None)


def _ray() -> Any:
    # importlib rather than `import ray`: Ray is optional, and type checkers need not read it
    try:
        return importlib.import_module("ray")
    except ImportError as e:
        raise ImportError("framelock.distributed needs Ray: pip install 'framelock[ray]'") from e


def _gather(function: Any, items: Iterable[Any], num_cpus: float) -> list[Any]:
    ray = _ray()
    task = ray.remote(num_cpus=num_cpus)(function)
    return list(ray.get([task.remote(item) for item in items]))


def run_matches(specs: Sequence[MatchSpec], *, num_cpus: float = 1) -> list[MatchResult]:
    """:func:`run_match` of every spec as Ray tasks (``num_cpus`` each); results in order."""
    return _gather(run_match, specs, num_cpus)


def verify_logs(
    logs: Sequence[str | os.PathLike[str]], *, ship_bytes: bool = False, num_cpus: float = 1
) -> list[LogResult]:
    """:func:`verify_log` of every log as Ray tasks; results in order. The workers read the
    paths, unless ``ship_bytes`` (the driver reads the files and sends their bytes)."""
    if ship_bytes:
        items: list[Any] = []
        for path in logs:
            with open(path, "rb") as f:
                items.append(f.read())
        results = _gather(verify_log, items, num_cpus)
        return [
            LogResult(os.fspath(p), r.frames, r.checksums_verified, r.last_checksum, r.error)
            for p, r in zip(logs, results)
        ]
    return _gather(verify_log, [os.fspath(p) for p in logs], num_cpus)
