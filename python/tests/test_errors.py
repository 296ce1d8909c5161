"""Every error kind: its class, its message (as in Rust), its attributes, and a real call that
raises it where the Python API can reach it."""

from __future__ import annotations

import errno

import numpy as np
import pytest

import framelock as fl
from framelock import _framelock

KINDS = {
    "InvalidConfig": (fl.InvalidConfigError, "invalid configuration: `slots` must be 1..=64", {"setting": "slots"}),
    "UnknownSlot": (fl.UnknownSlotError, "slot 9 does not exist (the session has 2 slots)", {"slot": 9, "slots": 2}),
    "WrongSlotKind": (fl.WrongSlotKindError, "slot 1 is a remote slot", {"slot": 1, "is_": "remote"}),
    "InputTooLong": (fl.InputTooLongError, "is 9 bytes, more than max_input_size 8", {"len": 9, "max": 8}),
    "AlreadyConfirmed": (fl.AlreadyConfirmedError, "at frame 3 is already confirmed", {"frame": 3}),
    "FrameTooOld": (fl.FrameTooOldError, "the oldest frame still accepted is 10", {"oldest": 10}),
    "BeyondWindow": (fl.BeyondWindowError, "the newest frame accepted now is 130", {"newest": 130}),
    "MissingLocalInput": (fl.MissingLocalInputError, "local slot 0 for frame 5", {"slot": 0, "frame": 5}),
    "InvalidDisconnect": (fl.InvalidDisconnectError, "the earliest possible frame is 4", {"earliest": 4}),
    "ChecksumUnavailable": (fl.ChecksumUnavailableError, "for frame 1 cannot be compared", {"frame": 1}),
    "ChecksumQueueFull": (fl.ChecksumQueueFullError, "is full (4 entries)", {"capacity": 4}),
    "ArenaExhausted": (fl.ArenaExhaustedError, "the scratch frame arena exceeded its cap of 64", {"cap": 64}),
    "SnapshotTooLarge": (fl.SnapshotTooLargeError, "frame 7 exceeds max_snapshot_size (16 bytes)", {"capacity": 16}),
    "NoSuchSnapshot": (fl.NoSuchSnapshotError, "no snapshot of frame 7 is held", {"frame": 7}),
    "NoOpenStep": (fl.NoOpenStepError, "no step is open", {}),
    "FrameOverflow": (fl.FrameOverflowError, "would overflow u32", {}),
    "LogCorrupt": (fl.LogCorruptError, "input log is corrupt: bad magic at byte 0", {"byte": 0, "chunk": None}),
    "LogChunkCrc": (fl.LogChunkCrcError, "chunk 2 (at byte 400) fails its CRC", {"chunk": 2, "byte": 400}),
    "LogTruncated": (fl.LogTruncatedError, "truncated at byte 90 in chunk 1", {"byte": 90, "chunk": 1}),
    "LogUnsupportedVersion": (fl.LogUnsupportedVersionError, "this one reads version 1", {"supported": 1}),
    "LogFramesOutOfOrder": (fl.LogFramesOutOfOrderError, "expected frame 4, found 6", {"expected": 4}),
    "LogMismatch": (fl.LogMismatchError, "input log does not fit: slots differ", {"what": "slots differ"}),
    "Io": (fl.FramelockIOError, "I/O error: entity not found", {"kind": "NotFound", "errno": 2}),
    "ReplayDiverged": (fl.ReplayDivergedError, "recorded checksum 0x0000000000000001", {"expected": 1, "actual": 2}),
    "Simulation": (fl.SimulationError, "failed at frame 3: snapshot truncated", {"reason": "snapshot truncated"}),
}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_core_error_kind_has_its_class(kind: str) -> None:
    cls, message, attrs = KINDS[kind]
    with pytest.raises(cls) as e:
        _framelock._raise_core_error(kind)
    assert type(e.value) is cls
    assert isinstance(e.value, fl.FramelockError) and issubclass(cls, Exception)
    assert message in str(e.value)
    for name, value in attrs.items():
        assert getattr(e.value, name) == value


def test_the_hierarchy() -> None:
    classes = {c for c, _, _ in KINDS.values()}
    assert len(classes) == len(KINDS), "one class per kind"
    exported = {getattr(fl, n) for n in fl.__all__ if n.endswith("Error")}
    network = {fl.NetworkError, fl.ConnectTokenError, fl.ConnectionFailedError, fl.PeerConfigMismatchError}
    assert exported == classes | {fl.FramelockError, fl.OutOfRangeError} | network
    assert issubclass(fl.FramelockIOError, OSError) and issubclass(fl.OutOfRangeError, ValueError)
    assert all(issubclass(c, fl.NetworkError) and issubclass(c, fl.FramelockError) for c in network)
    assert all(c.__module__ == "framelock" for c in exported)
    with pytest.raises(ValueError):
        _framelock._raise_core_error("NoSuchKind")


# ----- the same kinds, raised by real calls -------------------------------------------------------


def two_slots(**kw: object) -> fl.Session:
    return fl.Session(2, local=0, input_size=2, **kw)  # type: ignore[arg-type]


def test_config_errors() -> None:
    with pytest.raises(fl.InvalidConfigError, match="`slots` must be 1..=64") as e:
        fl.Session(0)
    assert e.value.setting == "slots"
    with pytest.raises(fl.InvalidConfigError, match="max_prediction"):
        fl.Session(2, mode="rollback", max_prediction=0)
    with pytest.raises(fl.InvalidConfigError, match="check_distance"):
        fl.Session(2, mode="synctest", check_distance=65)
    with pytest.raises(fl.InvalidConfigError, match="mode"):
        fl.Session(2, mode="turbo")  # type: ignore[arg-type]
    with pytest.raises(fl.InvalidConfigError, match="local_slot"):
        fl.Session(2, local=[5])
    with pytest.raises(fl.InvalidConfigError, match="input_window"):
        fl.Session(2, input_window=3)
    with pytest.raises(fl.InvalidConfigError, match="default_input"):
        fl.Session(2, input_size=1, default_input=b"ab")
    with pytest.raises(fl.OutOfRangeError, match="local must be"):
        fl.Session(2, local=[-1])
    with pytest.raises(fl.OutOfRangeError, match="input_window"):
        fl.Session(2, input_window=2**40)
    s = fl.Session(2)
    for call, name in [
        (lambda: s.checksum(-1), "frame"),
        (lambda: s.add_remote_input(2**70, 0, b""), "slot"),
        (lambda: s.add_remote_input(1, -5, b""), "frame"),
        (lambda: s.waiting_for(2**32), "frame"),
        (lambda: s.checksums(-1), "start"),
        (lambda: setattr(s, "input_delay", -1), "input_delay"),
    ]:
        with pytest.raises(fl.OutOfRangeError) as e:
            call()
        assert e.value.argument == name and name in str(e.value)


def test_input_errors() -> None:
    s = two_slots()
    with pytest.raises(fl.UnknownSlotError, match="slot 5 does not exist"):
        s.add_local_input(5, b"")
    with pytest.raises(fl.WrongSlotKindError, match="slot 1 is a remote slot"):
        s.add_local_input(1, b"")
    with pytest.raises(fl.WrongSlotKindError, match="slot 0 is a local slot"):
        s.add_remote_input(0, 0, b"")
    with pytest.raises(fl.InputTooLongError) as e:
        s.add_local_input(0, b"abc")
    assert (e.value.slot, e.value.len, e.value.max) == (0, 3, 2)
    s.add_remote_input(1, 0, b"")
    with pytest.raises(fl.AlreadyConfirmedError):
        s.add_remote_input(1, 0, b"")
    with pytest.raises(fl.BeyondWindowError, match="beyond the input window"):
        s.add_remote_input(1, 10_000, b"")
    with pytest.raises(fl.MissingLocalInputError, match="local slot 0 for frame 0"):
        s.advance()


def test_disconnect_and_checksum_errors() -> None:
    s = two_slots(checksum_history=2, early_checksum_capacity=1)
    s.disconnect_slot(1, 0)
    with pytest.raises(fl.InvalidDisconnectError):
        s.disconnect_slot(1, 3)
    for f in range(6):
        s.add_local_input(0, b"")
        with s.advance() as step:
            for r in step:
                if isinstance(r, fl.SaveState):
                    step.save(r.frame, bytes([r.frame]))
    with pytest.raises(fl.ChecksumUnavailableError, match="frame 0"):
        s.add_remote_checksum(1, 0, 1)
    s.add_remote_checksum(1, 100, 1)
    with pytest.raises(fl.ChecksumQueueFullError, match="1 entries"):
        s.add_remote_checksum(1, 101, 1)


def test_step_errors() -> None:
    s = fl.Session(1, input_size=1, max_snapshot_size=4, mode="rollback")
    s.add_local_input(0, b"\x00")
    step = s.advance()
    with pytest.raises(fl.SnapshotTooLargeError, match="frame 0 exceeds max_snapshot_size \\(4 bytes\\)"):
        step.save(0, b"12345")
    with pytest.raises(fl.NoSuchSnapshotError, match="no snapshot of frame 9"):
        step.load(9)
    step.finish()
    with pytest.raises(fl.NoOpenStepError, match="no step is open"):
        step.save(0, b"")
    s.add_local_input(0, b"\x00")
    with pytest.raises(TypeError):
        s.advance().save(1, "text")  # type: ignore[arg-type]


def test_arena_exhausted() -> None:
    s = fl.Session(2, arena=fl.ArenaParams(players=2), frame_arena_size=16)
    with pytest.raises(fl.ArenaExhaustedError, match="frame arena exceeded its cap"):
        s.run(np.zeros((1, 2, 2), dtype=np.uint8))


def test_io_error(tmp_path: object) -> None:
    s = fl.Session(1, record=True)
    with pytest.raises(fl.FramelockIOError, match="I/O error") as e:
        s.start_recording("/nonexistent-dir/x.flog")
    assert e.value.kind == "NotFound"
    # also an OSError, as open() would raise it: errno and filename
    assert isinstance(e.value, OSError) and isinstance(e.value, fl.FramelockError)
    assert e.value.errno == errno.ENOENT and e.value.filename == "/nonexistent-dir/x.flog"
    assert "/nonexistent-dir/x.flog" in str(e.value)
    with pytest.raises(OSError):
        s.start_recording("/nonexistent-dir/x.flog")
    with pytest.raises(RuntimeError, match="not recording"):
        s.stop_recording()
    with pytest.raises(fl.InvalidConfigError, match="record"):
        fl.Session(1).start_recording("/tmp/never.flog")
