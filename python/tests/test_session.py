"""Sessions over Python-owned state: every mode, the request contract, events, statistics."""

from __future__ import annotations

import pickle
import struct

import pytest

import framelock as fl


class Counters:
    """A tiny game: one int per slot, moved by the first byte of each input."""

    def __init__(self, slots: int) -> None:
        self.values = [0] * slots
        self.saves = 0
        self.loads = 0
        self.advances = 0

    def fulfil(self, step: fl.Step) -> None:
        for req in step:
            match req:
                case fl.SaveState(frame):
                    step.save(frame, struct.pack(f"<{len(self.values)}q", *self.values))
                    self.saves += 1
                case fl.LoadState(frame):
                    self.values = list(struct.unpack(f"<{len(self.values)}q", step.load(frame)))
                    self.loads += 1
                case fl.AdvanceFrame(frame, inputs, statuses):
                    assert len(inputs) == len(statuses) == len(self.values)
                    for slot, b in enumerate(inputs):
                        self.values[slot] += b[0] if b else 0
                    self.advances += 1
        step.finish()


def test_lockstep_waits_for_every_slot() -> None:
    s = fl.Session(2, local=0, input_size=1)
    game = Counters(2)
    s.add_local_input(0, b"\x01")
    step = s.advance()
    assert not step.advanced and step.outcome.waiting_for == (1,) and len(step) == 0
    s.add_remote_input(1, 0, b"\x02")
    step = s.advance()
    assert step.advanced and step.outcome.frame == 0
    assert [type(r) for r in step] == [fl.SaveState, fl.AdvanceFrame]
    game.fulfil(step)
    step.finish()
    assert game.values == [1, 2]
    assert s.current_frame == 1 and s.confirmed_until == 1
    assert s.stats.stalls == 1 and s.stats.frames_advanced == 1
    assert s.checksum(0) is not None and s.checksummed_until == 1


def test_rollback_matches_lockstep() -> None:
    """Late remote inputs: the rollback session predicts, rolls back and ends equal."""
    s = fl.Session(2, local=[0], mode="rollback", max_prediction=8, input_size=1)
    game = Counters(2)
    remote = lambda f: bytes([f % 3])  # noqa: E731 - changes often, so predictions miss
    for tick in range(100):
        s.add_local_input(0, [1])
        if tick >= 4:
            s.add_remote_input(1, tick - 4, remote(tick - 4))
        game.fulfil(s.advance())
    for f in range(96, 100):
        s.add_remote_input(1, f, remote(f))
    s.add_local_input(0, [1])
    game.fulfil(s.advance())  # the rollback to frame 96 is due; frame 100 predicts
    st = s.stats
    assert st.rollbacks > 0 and st.frames_resimulated > 0 and st.max_rollback <= 8
    assert game.loads == st.rollbacks
    # every input of frames 0..99 is confirmed: the state at the start of frame 100 is final
    assert s.checksummed_until == 101
    ref = fl.Session(2, local=[0], input_size=1)
    ref_game = Counters(2)
    for f in range(100):
        ref.add_local_input(0, [1])
        ref.add_remote_input(1, f, remote(f))
        ref_game.fulfil(ref.advance())
    for f in (0, 50, 99):
        assert s.checksum(f) == ref.checksum(f)


def test_rollback_stalls_at_the_prediction_limit() -> None:
    s = fl.Session(2, local=0, mode="rollback", max_prediction=2, input_size=1)
    game = Counters(2)
    outcomes = []
    for _ in range(4):
        s.add_local_input(0, b"\x01")
        step = s.advance()
        game.fulfil(step)
        outcomes.append(step.advanced)
        if not step.advanced:
            break
    assert outcomes == [True, True, False]
    assert s.waiting_for(0) == (1,)


def test_sync_test_passes_a_deterministic_state() -> None:
    s = fl.Session(1, mode="synctest", check_distance=3, input_size=1)
    game = Counters(1)
    for t in range(30):
        s.add_local_input(0, [t % 5])
        game.fulfil(s.advance())
    assert s.events() == []
    assert s.stats.frames_resimulated > 0 and s.sync_test_evidence() is None


def test_sync_test_catches_a_nondeterministic_state() -> None:
    """A state that counts its own saves differs on resimulation: a mismatch event and evidence."""
    s = fl.Session(1, mode="synctest", check_distance=2, input_size=1)
    clock = 0
    for _ in range(10):
        s.add_local_input(0, b"\x00")
        step = s.advance()
        for req in step:
            if isinstance(req, fl.SaveState):
                clock += 1
                step.save(req.frame, pickle.dumps({"clock": clock}))
        step.finish()
    events = s.events()
    assert events and all(isinstance(e, fl.SyncTestMismatch) for e in events)
    ev = s.sync_test_evidence()
    assert ev is not None and ev.frame == events[0].frame and ev.first != ev.second
    assert s.stats.desyncs == len(events)


def test_own_checksums_are_used() -> None:
    s = fl.Session(1, input_size=1)
    s.add_local_input(0, b"\x00")
    step = s.advance()
    step.save(0, b"state", checksum=1234)
    step.finish()
    assert s.checksum(0) == 1234
    assert fl.checksum64(b"state") != 1234


def test_desync_and_checksum_events() -> None:
    s = fl.Session(2, local=0, input_size=1)
    game = Counters(2)
    for f in range(5):
        s.add_local_input(0, b"\x01")
        s.add_remote_input(1, f, b"\x01")
        game.fulfil(s.advance())
    good = s.checksum(2)
    assert good is not None
    s.add_remote_checksum(1, 2, good)
    s.add_remote_checksum(1, 3, 99)
    s.add_remote_checksum(1, 40, 7)  # early: waits
    (event,) = s.events()
    assert event == fl.Desync(frame=3, slot=1, local=s.checksum(3), remote=99)
    assert s.stats.checksums_compared == 2 and s.stats.desyncs == 1


def test_disconnect_uses_the_default_input() -> None:
    s = fl.Session(2, local=0, input_size=1, default_input=b"\x07")
    game = Counters(2)
    s.disconnect_slot(1, 0)
    assert s.poll_event() == fl.SlotDisconnected(slot=1, frame=0)
    statuses = []
    for _ in range(3):
        s.add_local_input(0, b"\x01")
        step = s.advance()
        statuses += [r.statuses for r in step if isinstance(r, fl.AdvanceFrame)]
        game.fulfil(step)
    assert game.values == [3, 21]
    assert statuses[0] == (fl.InputStatus.CONFIRMED, fl.InputStatus.DISCONNECTED)
    assert s.default_input == b"\x07"


def test_relay_substitutes_and_disconnects() -> None:
    s = fl.Session(2, local=0, relay=True, mode="rollback", input_size=1)
    game = Counters(2)
    s.add_local_input(0, b"\x01")
    s.add_remote_input(0, 0, b"\x01")
    s.add_substituted_input(1, 0, b"\x02")
    step = s.advance()
    (adv,) = [r for r in step if isinstance(r, fl.AdvanceFrame)]
    assert adv.statuses == (fl.InputStatus.CONFIRMED, fl.InputStatus.SUBSTITUTED)
    game.fulfil(step)
    s.add_local_input(0, b"\x01")
    s.add_remote_input(0, 1, b"\x01")
    s.add_disconnected_input(1, 1, b"")
    step = s.advance()
    (adv,) = [r for r in step if isinstance(r, fl.AdvanceFrame)]
    assert adv.statuses[1] == fl.InputStatus.DISCONNECTED


def test_input_delay() -> None:
    s = fl.Session(1, input_size=1, input_delay=2)
    assert s.input_delay == 2
    assert s.add_local_input(0, b"\x01") == 2
    s.input_delay = 0
    assert s.add_local_input(0, b"\x01") is None  # the frames have not caught up
    with pytest.raises(fl.InvalidConfigError, match="input_delay"):
        s.input_delay = 33


def test_inputs_accept_bytes_like_values() -> None:
    import numpy as np

    s = fl.Session(4, input_size=2)
    s.add_local_input(0, b"ab")
    s.add_local_input(1, bytearray(b"ab"))
    s.add_local_input(2, np.array([1, 2], dtype=np.uint8))
    s.add_local_input(3, [1, 2])
    with pytest.raises(TypeError, match="uint8"):
        s.add_local_input(0, np.array([1, 2], dtype=np.int64))
    with pytest.raises(TypeError, match="not str"):
        s.add_local_input(0, "ab")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="0..255"):
        s.add_local_input(0, [300])
    with pytest.raises(TypeError):
        s.add_local_input(0, 5)  # type: ignore[arg-type]


def test_tick_and_properties() -> None:
    s = fl.Session(3, local=[0, 2], mode="rollback", max_prediction=4, input_size=1, max_snapshot_size=128)
    assert s.local_slots == (0, 2) and s.slots == 3 and s.mode == "rollback"
    assert s.max_input_size == 1 and s.max_snapshot_size == 128 and s.arena is None
    step = s.tick([b"\x01", b"ignored", b"\x02"])
    assert step.advanced
    with pytest.raises(ValueError, match="one input per slot"):
        s.tick([b"\x01"])
    assert "Session(slots=3" in repr(s) and "Step(" in repr(step)
    assert s.stats.as_dict()["frames_advanced"] == 1


def test_a_stale_step_cannot_write() -> None:
    s = fl.Session(1, input_size=1)
    s.add_local_input(0, b"\x00")
    old = s.advance()
    old.save(0, b"x")
    s.add_local_input(0, b"\x00")
    new = s.advance()
    with pytest.raises(fl.NoOpenStepError):
        old.save(1, b"x")
    with pytest.raises(ValueError, match="no SaveState request for frame 7"):
        new.save(7, b"x")
    with new:
        new.save(1, b"y")
    with pytest.raises(fl.NoOpenStepError):
        new.load(1)


def test_final_snapshots_and_checksum_arrays() -> None:
    import numpy as np

    s = fl.Session(1, input_size=1)
    for f in range(5):
        s.add_local_input(0, b"\x00")
        step = s.advance()
        step.save(f, bytes([f]))
        step.finish()
    assert s.final_snapshot(4) == b"\x04"
    assert s.final_snapshot(5) is None
    frames, values = s.checksums()
    assert frames.dtype == np.uint32 and values.dtype == np.uint64
    assert frames.tolist() == [0, 1, 2, 3, 4]
    assert values[2] == fl.checksum64(b"\x02")
