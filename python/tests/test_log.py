"""Input logs: recorded from sessions and by the Rust CLI; opened, iterated, exported, verified,
seeked; and bad files refused with the right error."""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

import framelock as fl
from conftest import cli_binary


def test_cli_log_opens_and_verifies(cli_log: Path) -> None:
    log = fl.InputLog.open(cli_log)
    h = log.header
    assert (h.slots, h.max_input_size, h.simulation, h.mode) == (3, 2, "arena", "rollback")
    assert h.creator.startswith("framelock-cli") and h.default_input == fl.NEUTRAL_INPUT
    assert len(log) == log.frames == 300 and log.first_frame == 0 and log.end_frame == 300
    assert log.truncation is None and log.size == cli_log.stat().st_size
    assert log.arena_params == fl.ArenaParams(players=3)
    report = log.verify()
    frames, values = log.checksums()
    assert report.frames == 300 and report.checksums_verified == len(frames) > 0
    assert report.last_checksum == (int(frames[-1]), int(values[-1]))
    assert "300 frames" in repr(log)


def test_cli_log_replays_through_run(cli_log: Path) -> None:
    """The recorded inputs through `Session.run` give the recorded checksums."""
    log = fl.InputLog.open(cli_log)
    data = log.to_numpy()
    assert (data["lengths"] == 2).all() and (data["flags"] == 0).all()
    s = fl.Session(3, arena=log.arena_params)
    s.run(data["inputs"])
    for frame, value in zip(*log.checksums()):
        assert s.checksum(int(frame)) == int(value)


def test_cli_verify_reads_python_logs(recorded: Path) -> None:
    out = subprocess.run(
        [str(cli_binary()), "replay", "verify", str(recorded)], capture_output=True, text=True, check=False
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_recorded_log_round_trip(recorded: Path) -> None:
    log = fl.InputLog.open(recorded)
    h = log.header
    assert h.slots == 4 and h.checksum_interval == 10 and h.keyframe_interval == 100
    assert h.creator.startswith("framelock-python") and h.created_unix > 0
    assert len(log) == 400
    assert log.keyframes[0] == 0 and set(log.keyframes) <= {0, 100, 200, 300}
    assert log.verify().checksums_verified == len(log.checksums()[0]) >= 39
    inputs = fl.scripted_inputs(3, 4, 400)
    data = log.to_numpy()
    np.testing.assert_array_equal(data["inputs"], inputs)
    assert data["frame"].dtype == np.uint32 and data["frame"].tolist() == list(range(400))


def test_dtype_and_shape_contract(recorded: Path) -> None:
    data = fl.InputLog.open(recorded).to_numpy()
    assert set(data) == {"frame", "inputs", "lengths", "flags"}
    assert (data["inputs"].dtype, data["inputs"].shape) == (np.uint8, (400, 4, 2))
    assert (data["lengths"].dtype, data["lengths"].shape) == (np.uint16, (400, 4))
    assert (data["flags"].dtype, data["flags"].shape) == (np.uint8, (400, 4))
    assert all(not a.flags.writeable for a in data.values())


def test_iterate_and_index(recorded: Path) -> None:
    log = fl.InputLog.open(recorded)
    frames = list(log)
    assert [f.frame for f in frames] == list(range(400))
    f = log.frame(123)
    assert f == frames[123]
    assert f.inputs == tuple(bytes(r) for r in fl.scripted_inputs(3, 4, 1, start=123)[0])
    assert f.statuses == (fl.InputStatus.CONFIRMED,) * 4
    assert [x.frame for x in log.iter_frames(398, 1000)] == [398, 399]
    with pytest.raises(IndexError, match="frame 400 is not in the log"):
        log.frame(400)


def test_seek(recorded: Path) -> None:
    log = fl.InputLog.open(recorded)
    s = fl.Session(4, arena=log.arena_params)
    inputs = fl.scripted_inputs(3, 4, 400)
    for target in (0, 1, 150, 300, 400):
        st = log.seek(target)
        ref = fl.Session(4, arena=log.arena_params)
        ref.run(inputs[:target])
        np.testing.assert_array_equal(st.positions, ref.state().positions)
        np.testing.assert_array_equal(st.health, ref.state().health)
        assert st.frame == target
    with pytest.raises(fl.LogMismatchError, match="does not hold that frame"):
        log.seek(401)
    assert s.current_frame == 0


def test_records_and_pandas(recorded: Path) -> None:
    log = fl.InputLog.open(recorded)
    recs = log.to_records()
    assert len(recs) == 400 * 4
    r = recs[5]
    assert set(r) >= {"frame", "slot", "input", "length", "flags", "status", "buttons", "aim", "fire"}
    assert (r["frame"], r["slot"], r["status"]) == (1, 1, "confirmed")
    pd = pytest.importorskip("pandas")
    df = log.to_pandas()
    assert isinstance(df, pd.DataFrame) and len(df) == 1600
    assert df.groupby("slot")["fire"].mean().between(0, 1).all()


def test_a_python_owned_log(tmp_path: Path) -> None:
    """A session over Python state records too; verify needs the arena and says so."""
    path = tmp_path / "own.flog"
    s = fl.Session(2, local=[0], input_size=1, record=True, default_input=b"\x00")
    s.start_recording(str(path), checksum_interval=1, simulation="counters", sim_params=b"v1")
    assert s.is_recording
    for f in range(20):
        s.add_local_input(0, bytes([f]))
        s.add_remote_input(1, f, b"\x01")
        with s.advance() as step:
            for r in step:
                if isinstance(r, fl.SaveState):
                    step.save(r.frame, struct.pack("<I", r.frame))
    s.disconnect_slot(1, 20)
    s.add_local_input(0, b"\x09")
    s.advance().finish()
    assert s.stop_recording() == 21 and not s.is_recording
    with pytest.raises(RuntimeError, match="not recording"):
        s.stop_recording()
    log = fl.InputLog.open(path)
    assert (log.header.simulation, log.header.sim_params, len(log)) == ("counters", b"v1", 21)
    assert log.frame(20).statuses == (fl.InputStatus.CONFIRMED, fl.InputStatus.DISCONNECTED)
    assert log.frame(20).flags[1] & fl.FLAG_DISCONNECTED
    assert log.to_records()[0].get("buttons") is None
    assert log.arena_params is None
    with pytest.raises(fl.LogMismatchError, match="not recorded with the built-in `arena`"):
        log.verify()
    frames, values = log.checksums()
    assert values[3] == fl.checksum64(struct.pack("<I", 3))


def test_divergence_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "lie.flog"
    s = fl.Session(2, arena=fl.ArenaParams(players=2, seed=1), record=True)
    with s.recording(str(path), sim_params=fl.ArenaParams(players=2, seed=2).encode()):
        s.run(fl.scripted_inputs(1, 2, 120))
    with pytest.raises(fl.ReplayDivergedError) as e:
        fl.InputLog.open(path).verify()
    assert e.value.frame == 0 and e.value.expected == s.checksum(0)
    assert "replay diverged at frame 0" in str(e.value)


def test_a_record_session_that_is_not_recording_keeps_running(tmp_path: Path) -> None:
    s = fl.Session(2, arena=fl.ArenaParams(players=2), record=True)
    s.run(fl.scripted_inputs(1, 2, 1000))  # far past the input window: frames are let go of
    s.start_recording(str(tmp_path / "late.flog"), keyframe_interval=1000)
    s.run(fl.scripted_inputs(1, 2, 100, start=1000))
    assert s.stop_recording() == 100
    log = fl.InputLog.open(tmp_path / "late.flog")
    assert (log.first_frame, log.end_frame, log.keyframes) == (1000, 1100, (1000,))
    assert log.verify().frames == 100


def test_recording_twice_and_from_a_later_frame(tmp_path: Path) -> None:
    s = fl.Session(2, arena=fl.ArenaParams(players=2), record=True)
    s.start_recording(str(tmp_path / "a.flog"))
    with pytest.raises(fl.LogMismatchError, match="already recording"):
        s.start_recording(str(tmp_path / "b.flog"))
    s.run(fl.scripted_inputs(1, 2, 50))
    assert s.stop_recording() == 50
    s.start_recording(str(tmp_path / "b.flog"), checksum_interval=5)
    s.run(fl.scripted_inputs(1, 2, 30, start=50))
    assert s.stop_recording() == 30
    log = fl.InputLog.open(tmp_path / "b.flog")
    assert (log.first_frame, log.end_frame) == (50, 80)
    with pytest.raises(fl.LogMismatchError, match="without a keyframe of its first frame"):
        log.verify()
    # with a keyframe of its first frame, a later log replays from it
    s.start_recording(str(tmp_path / "c.flog"), checksum_interval=5, keyframe_interval=80)
    s.run(fl.scripted_inputs(1, 2, 40, start=80))
    s.stop_recording()
    log = fl.InputLog.open(tmp_path / "c.flog")
    assert log.first_frame == 80 and log.keyframes == (80,)
    assert log.verify().checksums_verified > 0
    np.testing.assert_array_equal(log.seek(100).positions, _state_after(120 - 20).positions)


def _state_after(frames: int) -> fl.ArenaState:
    s = fl.Session(2, arena=fl.ArenaParams(players=2))
    s.run(fl.scripted_inputs(1, 2, frames))
    return s.state()


# ----- bad files ---------------------------------------------------------------------------------


def test_bad_files(recorded: Path, tmp_path: Path) -> None:
    good = recorded.read_bytes()
    with pytest.raises(fl.LogCorruptError, match="at byte 0"):
        fl.InputLog(b"NOTALOG!" + good[8:])
    with pytest.raises(fl.LogTruncatedError, match="in its header") as e:
        fl.InputLog(good[:10])
    assert e.value.chunk is None
    with pytest.raises(fl.LogTruncatedError):
        fl.InputLog(b"")
    newer = bytearray(good)
    newer[8:12] = struct.pack("<HH", 9, 9)
    with pytest.raises(fl.LogUnsupportedVersionError, match="version 9") as e2:
        fl.InputLog(bytes(newer))
    assert e2.value.supported == 3
    flipped = bytearray(good)
    flipped[-6] ^= 0xFF
    with pytest.raises(fl.LogChunkCrcError, match="fails its CRC"):
        fl.InputLog(bytes(flipped))
    with pytest.raises(fl.LogTruncatedError, match="allow_truncated=True") as e3:
        fl.InputLog(good[:-3])
    assert e3.value.chunk is not None and e3.value.byte == len(good) - 3
    # Cut inside the end chunk (format 2): every frame is whole, but the log cannot prove it.
    cut = fl.InputLog(good[:-3], allow_truncated=True)
    assert cut.truncation is not None and "truncated" in cut.truncation
    assert len(cut) == 400 and e3.value.end_frame == cut.end_frame
    # Cut inside the last frames chunk: only the frames of the whole chunks before it remain.
    with pytest.raises(fl.LogTruncatedError) as e4:
        fl.InputLog(good[:-60])
    cut = fl.InputLog(good[:-60], allow_truncated=True)
    assert cut.truncation is not None
    assert 0 < len(cut) < 400 and e4.value.end_frame == cut.end_frame
    with pytest.raises(FileNotFoundError):
        fl.InputLog.open(tmp_path / "missing.flog")
    with pytest.raises(TypeError):
        fl.InputLog("not bytes")  # type: ignore[arg-type]


def test_every_single_byte_flip_is_an_error_or_a_valid_log(recorded: Path) -> None:
    """Never a crash: each flipped byte of the header and first chunk is refused or readable."""
    good = recorded.read_bytes()
    for i in range(min(len(good), 300)):
        bad = bytearray(good)
        bad[i] ^= 0x5A
        try:
            log = fl.InputLog(bytes(bad))
        except fl.FramelockError:
            continue
        log.to_numpy()


# ----- logs of any size: verified streaming ------------------------------------------------------


def test_verify_file_streams_and_agrees_with_verify(recorded: Path, cli_log: Path, tmp_path: Path) -> None:
    for path in (recorded, cli_log):
        assert fl.InputLog.verify_file(path) == fl.InputLog.open(path).verify()
    # The same errors as opening the file whole.
    with pytest.raises(FileNotFoundError):
        fl.InputLog.verify_file(tmp_path / "missing.flog")
    good = recorded.read_bytes()
    flipped = bytearray(good)
    flipped[-6] ^= 0xFF
    (tmp_path / "flipped.flog").write_bytes(bytes(flipped))
    with pytest.raises(fl.LogChunkCrcError, match="fails its CRC"):
        fl.InputLog.verify_file(tmp_path / "flipped.flog")
    (tmp_path / "cut.flog").write_bytes(good[:-60])
    with pytest.raises(fl.LogTruncatedError, match="allow_truncated=True"):
        fl.InputLog.verify_file(tmp_path / "cut.flog")
    cut = fl.InputLog.verify_file(tmp_path / "cut.flog", allow_truncated=True)
    assert cut == fl.InputLog(good[:-60], allow_truncated=True).verify() and not cut.complete


def test_verify_file_replays_a_log_that_starts_later_from_its_keyframe(tmp_path: Path) -> None:
    s = fl.Session(2, arena=fl.ArenaParams(players=2), record=True)
    s.run(fl.scripted_inputs(1, 2, 50))
    s.start_recording(str(tmp_path / "no_keyframe.flog"), checksum_interval=5)
    s.run(fl.scripted_inputs(1, 2, 30, start=50))
    s.stop_recording()
    with pytest.raises(fl.LogMismatchError, match="without a keyframe of its first frame"):
        fl.InputLog.verify_file(tmp_path / "no_keyframe.flog")
    s.start_recording(str(tmp_path / "later.flog"), checksum_interval=5, keyframe_interval=80)
    s.run(fl.scripted_inputs(1, 2, 40, start=80))
    s.stop_recording()
    path = tmp_path / "later.flog"
    report = fl.InputLog.verify_file(path)
    assert report == fl.InputLog.open(path).verify()
    assert report.frames == 40 and report.checksums_verified > 0 and report.last_checksum is not None


def test_frames_of_file_streams_the_frames_of_open(recorded: Path, cli_log: Path, tmp_path: Path) -> None:
    for path in (recorded, cli_log):
        frames = fl.InputLog.frames_of_file(path)
        assert next(frames) == fl.InputLog.open(path).frame(0)
        assert [next(frames)] + list(frames) == list(fl.InputLog.open(path))[1:]
    with pytest.raises(FileNotFoundError):
        next(fl.InputLog.frames_of_file(tmp_path / "missing.flog"))
    good = recorded.read_bytes()
    (tmp_path / "cut.flog").write_bytes(good[:-60])
    whole_chunks = list(fl.InputLog(good[:-60], allow_truncated=True))
    assert list(fl.InputLog.frames_of_file(tmp_path / "cut.flog", allow_truncated=True)) == whole_chunks
    got: list[fl.LoggedFrame] = []
    with pytest.raises(fl.LogTruncatedError, match="allow_truncated=True"):
        got.extend(fl.InputLog.frames_of_file(tmp_path / "cut.flog"))
    assert got == whole_chunks, "the frames before the cut are yielded first"
    flipped = bytearray(good)
    flipped[-6] ^= 0xFF
    (tmp_path / "flipped.flog").write_bytes(bytes(flipped))
    with pytest.raises(fl.LogChunkCrcError, match="fails its CRC"):
        list(fl.InputLog.frames_of_file(tmp_path / "flipped.flog"))


def test_verify_file_catches_a_divergence(tmp_path: Path) -> None:
    path = tmp_path / "lie.flog"
    s = fl.Session(2, arena=fl.ArenaParams(players=2, seed=1), record=True)
    with s.recording(str(path), sim_params=fl.ArenaParams(players=2, seed=2).encode()):
        s.run(fl.scripted_inputs(1, 2, 120))
    with pytest.raises(fl.ReplayDivergedError) as e:
        fl.InputLog.verify_file(path)
    assert e.value.frame == 0 and e.value.expected == s.checksum(0)
