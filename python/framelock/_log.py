"""``InputLog``: recorded matches, read, iterated, exported, verified and seeked."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from . import _framelock
from ._arena import ArenaParams, ArenaState
from ._errors import U32, check_range
from ._session import InputStatus

__all__ = ["InputLog", "LogHeader", "LoggedFrame", "VerifyReport", "FLAG_DISCONNECTED", "FLAG_SUBSTITUTED"]

#: Flag bit of a logged input: the slot was disconnected.
FLAG_DISCONNECTED = 1
#: Flag bit of a logged input: the relay substituted it for a late one.
FLAG_SUBSTITUTED = 2


def _status(flags: int) -> InputStatus:
    if flags & FLAG_DISCONNECTED:
        return InputStatus.DISCONNECTED
    if flags & FLAG_SUBSTITUTED:
        return InputStatus.SUBSTITUTED
    return InputStatus.CONFIRMED


@dataclass(frozen=True, slots=True)
class LogHeader:
    """What a log says about itself before its first frame."""

    slots: int
    max_input_size: int
    tick_rate: int
    #: ``"lockstep"``, ``"rollback"``, ``"synctest"`` or ``"relay"``.
    mode: str
    #: ``max_prediction`` or ``check_distance`` of the recorded session.
    mode_depth: int
    default_input: bytes
    checksum_interval: int
    keyframe_interval: int
    frames_per_chunk: int
    first_frame: int
    simulation: str
    sim_params: bytes
    created_unix: int
    creator: str


@dataclass(frozen=True, slots=True)
class LoggedFrame:
    """Every slot's recorded input of one frame."""

    frame: int
    inputs: tuple[bytes, ...]
    flags: tuple[int, ...]

    @property
    def statuses(self) -> tuple[InputStatus, ...]:
        return tuple(_status(f) for f in self.flags)


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """What ``InputLog.verify`` found (a divergence is a ``ReplayDivergedError`` instead)."""

    frames: int
    checksums_verified: int
    checksums_unchecked: int
    #: ``(frame, checksum)`` of the last checksum compared, if any.
    last_checksum: tuple[int, int] | None
    #: The frame after the last one replayed (the log's ``end_frame``).
    end_frame: int = 0
    #: For a log opened with ``allow_truncated=True`` that was cut short: where it was cut. The
    #: report then covers only the frames of its whole chunks, up to ``end_frame``.
    truncation: str | None = None

    @property
    def complete(self) -> bool:
        """True when the whole recorded match was replayed (the log was not cut short)."""
        return self.truncation is None

    def __str__(self) -> str:
        head = f"{self.frames} frames replayed, {self.checksums_verified} checksums verified"
        if self.truncation is None:
            return head
        return f"{head}; the log is cut short ({self.truncation}): verified up to frame {self.end_frame}"


class InputLog:
    """A validated input log in memory: ``InputLog.open(path)`` or ``InputLog(data)``.

    The whole file is checked when it is opened (every chunk's CRC and every frame's encoding):
    ``LogCorruptError``, ``LogChunkCrcError``, ``LogTruncatedError`` or
    ``LogUnsupportedVersionError`` say what is wrong and where. A file cut short inside a chunk
    (a recorder that crashed) is a ``LogTruncatedError`` too, unless opened with
    ``allow_truncated=True``: it then opens up to its last whole chunk, with ``truncation`` saying
    where it was cut.
    """

    __slots__ = ("_native", "header", "end_frame", "size", "truncation", "_dense")

    def __init__(self, data: bytes | bytearray | memoryview, *, allow_truncated: bool = False) -> None:
        self._native = _framelock.NativeLog(bytes(data), allow_truncated)
        h: dict[str, Any] = self._native.header()
        self.end_frame: int = h.pop("end_frame")
        self.size: int = h.pop("size")
        #: Where the file was cut short (a message), or ``None``.
        self.truncation: str | None = h.pop("truncation")
        self.header = LogHeader(**h)
        self._dense: tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint16], npt.NDArray[np.uint8]] | None = None

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, allow_truncated: bool = False) -> InputLog:
        """Reads and validates the log at ``path`` (``OSError`` if it cannot be read)."""
        with open(path, "rb") as f:
            return cls(f.read(), allow_truncated=allow_truncated)

    def __repr__(self) -> str:
        h = self.header
        return f"InputLog({len(self)} frames from {self.first_frame}, {h.slots} slots, simulation={h.simulation!r})"

    # ----- what it holds ------------------------------------------------------------------------

    @property
    def first_frame(self) -> int:
        return self.header.first_frame

    @property
    def frames(self) -> int:
        """The number of frames in the log."""
        return self.end_frame - self.first_frame

    def __len__(self) -> int:
        return self.frames

    def checksums(self) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.uint64]]:
        """Recorded checksums as ``(frames, checksums)`` arrays, by frame."""
        frames, values = self._native.checksums()
        return np.array(frames, dtype=np.uint32), np.array(values, dtype=np.uint64)

    @property
    def keyframes(self) -> tuple[int, ...]:
        """The frames that have a keyframe snapshot."""
        return tuple(k[0] for k in self._native.keyframes())

    def keyframe(self, frame: int) -> bytes | None:
        """The keyframe snapshot of ``frame``, if the log holds one."""
        return self._native.keyframe(frame)

    @property
    def arena_params(self) -> ArenaParams | None:
        """The arena params the match was recorded with, or ``None`` for another simulation."""
        if self.header.simulation != "arena":
            return None
        return ArenaParams(*self._native.arena_params())

    # ----- frames -------------------------------------------------------------------------------

    def _arrays(self) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint16], npt.NDArray[np.uint8]]:
        if self._dense is None:
            h = self.header
            n, s, k = self.frames, h.slots, h.max_input_size
            raw_inputs, raw_lens, raw_flags = self._native.decode(self.first_frame, self.end_frame)
            inputs = np.frombuffer(raw_inputs, dtype=np.uint8).reshape(n, s, k)
            lens = np.frombuffer(raw_lens, dtype="<u2").reshape(n, s)
            flags = np.frombuffer(raw_flags, dtype=np.uint8).reshape(n, s)
            self._dense = (inputs, lens.astype(np.uint16, copy=False), flags)
        return self._dense

    def frame(self, frame: int) -> LoggedFrame:
        """The inputs of one frame (``IndexError`` outside ``[first_frame, end_frame)``)."""
        if not self.first_frame <= frame < self.end_frame:
            raise IndexError(f"frame {frame} is not in the log (frames {self.first_frame}..{self.end_frame - 1})")
        inputs, lens, flags = self._arrays()
        i = frame - self.first_frame
        return LoggedFrame(
            frame,
            tuple(inputs[i, s, : lens[i, s]].tobytes() for s in range(self.header.slots)),
            tuple(int(f) for f in flags[i]),
        )

    def iter_frames(self, start: int | None = None, stop: int | None = None) -> Iterator[LoggedFrame]:
        """The frames in ``[start, stop)`` in order (default: all)."""
        lo = self.first_frame if start is None else max(start, self.first_frame)
        hi = self.end_frame if stop is None else min(stop, self.end_frame)
        for f in range(lo, hi):
            yield self.frame(f)

    def __iter__(self) -> Iterator[LoggedFrame]:
        return self.iter_frames()

    # ----- export -------------------------------------------------------------------------------

    def to_numpy(self) -> dict[str, npt.NDArray[Any]]:
        """Dense read-only arrays: ``frame`` ``(n,)`` uint32, ``inputs`` ``(n, slots,
        max_input_size)`` uint8 (zero-padded), ``lengths`` ``(n, slots)`` uint16 and ``flags``
        ``(n, slots)`` uint8."""
        inputs, lens, flags = self._arrays()
        frame = np.arange(self.first_frame, self.end_frame, dtype=np.uint32)
        frame.flags.writeable = False
        return {"frame": frame, "inputs": inputs, "lengths": lens, "flags": flags}

    def to_records(self) -> list[dict[str, Any]]:
        """One record per frame and slot (long format, ready for ``pandas.DataFrame``):
        ``frame``, ``slot``, ``input`` (bytes), ``length``, ``flags``, ``status``; arena logs add
        the decoded controls ``buttons``, ``aim``, ``up``, ``down``, ``left``, ``right``, ``fire``."""
        inputs, lens, flags = self._arrays()
        arena = self.header.simulation == "arena"
        out: list[dict[str, Any]] = []
        for i in range(self.frames):
            for s in range(self.header.slots):
                n = int(lens[i, s])
                b = inputs[i, s, :n].tobytes()
                rec: dict[str, Any] = {
                    "frame": self.first_frame + i,
                    "slot": s,
                    "input": b,
                    "length": n,
                    "flags": int(flags[i, s]),
                    "status": _status(int(flags[i, s])).name.lower(),
                }
                if arena:
                    buttons = b[0] if n > 0 else 0
                    rec.update(
                        buttons=buttons,
                        aim=b[1] if n > 1 else 0,
                        up=bool(buttons & 1),
                        down=bool(buttons & 2),
                        left=bool(buttons & 4),
                        right=bool(buttons & 8),
                        fire=bool(buttons & 16),
                    )
                out.append(rec)
        return out

    def to_pandas(self) -> Any:
        """``to_records()`` as a DataFrame (needs pandas: ``pip install framelock[pandas]``)."""
        try:
            import pandas  # type: ignore[import-untyped,unused-ignore]
        except ImportError as e:
            raise ImportError("InputLog.to_pandas() needs pandas: pip install 'framelock[pandas]'") from e
        return pandas.DataFrame.from_records(self.to_records())

    # ----- replay -------------------------------------------------------------------------------

    def verify(self) -> VerifyReport:
        """Replays the whole match through the arena (without the GIL) and compares every recorded
        checksum. ``ReplayDivergedError`` names the first divergent frame; ``LogMismatchError``
        when the log is not of the built-in simulation."""
        frames, verified, unchecked, last_frame, last = self._native.verify()
        last_checksum = None if last_frame is None else (last_frame, last or 0)
        return VerifyReport(frames, verified, unchecked, last_checksum, self.end_frame, self.truncation)

    @staticmethod
    def verify_file(path: str | os.PathLike[str], *, allow_truncated: bool = False) -> VerifyReport:
        """Verifies the log file at ``path`` like ``InputLog.open(path).verify()``, reading it
        streaming instead of into memory: memory stays bounded whatever the file's size (without
        the GIL; Ctrl-C stops it). The same errors (``OSError`` if it cannot be read); a log that
        starts after frame 0 replays from the keyframe of its first frame, as ``verify`` does."""
        frames, verified, unchecked, last_frame, last, end_frame, truncation = _framelock.verify_log_file(
            os.fspath(path), allow_truncated
        )
        last_checksum = None if last_frame is None else (last_frame, last or 0)
        return VerifyReport(frames, verified, unchecked, last_checksum, end_frame, truncation)

    @staticmethod
    def frames_of_file(path: str | os.PathLike[str], *, allow_truncated: bool = False) -> Iterator[LoggedFrame]:
        """The frames of the log file at ``path`` in order, read streaming: one chunk of the file
        (a few hundred frames) is held at a time, whatever its size. The file is opened and its
        header checked when the first frame is asked for (``OSError`` if it cannot be read). Each
        chunk is checked (CRC, encoding) before any of its frames is yielded, so an error of the
        file (``LogCorruptError``, ``LogChunkCrcError``, ...) is raised when the iteration reaches
        the bad chunk, after the frames before it; a file cut short inside a chunk raises
        ``LogTruncatedError`` at the cut unless ``allow_truncated``. The errors that need the
        whole file (``LogInconsistentError``) are raised at the end."""
        native = _framelock.NativeLogFrames(os.fspath(path), allow_truncated)
        while (f := native.next()) is not None:
            frame, inputs, flags = f
            yield LoggedFrame(frame, tuple(inputs), tuple(flags))

    def seek(self, frame: int) -> ArenaState:
        """The arena's state at the start of ``frame`` (replayed from the nearest keyframe)."""
        try:
            return ArenaState._from_native(self._native.seek(frame))
        except OverflowError:
            check_range(frame=(frame, U32))
            raise
