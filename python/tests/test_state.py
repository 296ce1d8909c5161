"""Session.save_state / load_state, pickle and deepcopy of arena sessions."""

from __future__ import annotations

import copy
import pickle

import pytest

import framelock as fl


def test_save_and_restore_continue_exactly() -> None:
    params = fl.ArenaParams(players=3, seed=11, max_projectiles=64)
    inputs = fl.scripted_inputs(2, 3, 900)
    s = fl.Session(3, arena=params, checksum_interval=10)
    s.run(inputs[:500])
    saved = s.save_state()
    assert isinstance(saved, bytes) and saved[:4] == b"FLSS"
    state_at_500 = s.state()
    s.run(inputs[500:])
    end = (s.current_frame, s.checksum(890), s.state().positions.tolist())

    for copy_ in (fl.Session.from_state(saved), pickle.loads(pickle.dumps(s_at(saved))), copy.deepcopy(s_at(saved))):
        assert copy_.current_frame == 500 and copy_.arena == params and copy_.slots == 3
        assert copy_.state().positions.tolist() == state_at_500.positions.tolist()
        assert copy_.state().projectiles == state_at_500.projectiles
        copy_.run(inputs[500:])
        assert (copy_.current_frame, copy_.checksum(890), copy_.state().positions.tolist()) == end

    # load_state rewinds a session in place, configuration included
    other = fl.Session(2, arena=fl.ArenaParams(players=2))
    other.load_state(saved)
    assert other.slots == 3 and other.current_frame == 500 and "slots=3" in repr(other)
    other.run(inputs[500:])
    assert other.checksum(890) == end[1]


def s_at(saved: bytes) -> fl.Session:
    return fl.Session.from_state(saved)


def test_bad_saved_states_are_value_errors() -> None:
    s = fl.Session(2, arena=fl.ArenaParams(players=2))
    s.run(fl.scripted_inputs(1, 2, 50))
    good = s.save_state()
    for bad in (b"", b"FLSS", good[:-1], good[:20], b"X" + good[1:]):
        with pytest.raises(ValueError):
            fl.Session.from_state(bad)
    flipped = bytearray(good)
    flipped[len(good) // 2] ^= 1
    with pytest.raises(ValueError, match="checksum"):
        s.load_state(bytes(flipped))
    assert s.current_frame == 50  # unchanged by the failed load


def test_states_that_cannot_be_saved() -> None:
    with pytest.raises(TypeError, match="built-in simulation"):
        fl.Session(2).save_state()
    s = fl.Session(2, arena=fl.ArenaParams(players=2))
    s.add_local_input(0, fl.NEUTRAL_INPUT)
    with pytest.raises(RuntimeError, match="added already"):
        s.save_state()
    r = fl.Session(2, local=[0], mode="rollback", arena=fl.ArenaParams(players=2))
    r.add_local_input(0, fl.NEUTRAL_INPUT)
    r.advance()  # predicts slot 1
    with pytest.raises(RuntimeError, match="predicted"):
        r.save_state()
    with pytest.raises(TypeError):
        pickle.dumps(fl.Session(2))
