"""The built-in simulation: run() batches, numpy contracts, the GIL, native equality."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

import framelock as fl
from framelock import _framelock

PARAMS = fl.ArenaParams(players=4, seed=5)


def arena_session(**kw: object) -> fl.Session:
    return fl.Session(4, arena=PARAMS, **kw)  # type: ignore[arg-type]


def test_run_equals_a_tick_loop() -> None:
    inputs = fl.scripted_inputs(9, 4, 200)
    a = arena_session()
    assert a.run(inputs) == fl.RunResult(advanced=200, stalled=0)
    b = arena_session()
    for row in inputs:
        step = b.tick(list(row))
        assert step.advanced and len(step) == 0
    assert a.current_frame == b.current_frame == 200
    assert a.checksum(199) == b.checksum(199) is not None
    np.testing.assert_array_equal(a.state().positions, b.state().positions)


def test_run_matches_the_native_rust_loop() -> None:
    """The same frames through `run` and through a plain Rust `Driver` loop: same checksum."""
    inputs = fl.scripted_inputs(2, 4, 300)
    s = arena_session()
    s.run(inputs)
    _, native = _framelock._bench_native(PARAMS._tuple(), inputs.tobytes(), 300)
    assert s.checksum(299) == native


def test_state_dtypes_and_shapes() -> None:
    s = arena_session()
    s.run(fl.scripted_inputs(1, 4, 120))
    st = s.state()
    assert st.frame == 120 and st.players == 4
    expect = {
        "positions": (np.float64, (4, 2)),
        "velocities": (np.float64, (4, 2)),
        "facing": (np.float64, (4,)),
        "health": (np.int32, (4,)),
        "score": (np.int32, (4,)),
        "cooldown": (np.uint16, (4,)),
        "respawn": (np.uint16, (4,)),
        "projectile_positions": (np.float64, (st.projectiles, 2)),
        "projectile_velocities": (np.float64, (st.projectiles, 2)),
        "projectile_ttl": (np.uint16, (st.projectiles,)),
        "projectile_owner": (np.uint8, (st.projectiles,)),
    }
    for name, (dtype, shape) in expect.items():
        a = getattr(st, name)
        assert a.dtype == dtype, name
        assert a.shape == shape, name
        assert not a.flags.writeable, name
    assert st.projectiles > 0, "scripted bots fire"
    assert st.alive.dtype == np.bool_ and st.alive.shape == (4,)
    assert ((st.positions >= 8) & (st.positions <= PARAMS.world_size - 8)).all()
    assert (np.abs(st.velocities) <= 2).all()
    assert ((st.health >= 0) & (st.health <= 100)).all()
    assert (st.projectile_owner < 4).all()
    with pytest.raises(ValueError):
        st.positions[0, 0] = 1.0
    # positions are exact conversions of the 16.16 fixed-point values
    assert (st.positions * 65536 == np.round(st.positions * 65536)).all()


def test_state_at_frame_zero_has_no_projectiles() -> None:
    st = arena_session().state()
    assert st.frame == 0 and st.projectiles == 0
    assert st.projectile_positions.shape == (0, 2)
    assert (st.health == 100).all()


def test_run_accepts_array_likes_and_refuses_bad_arrays() -> None:
    s = arena_session()
    s.run(np.zeros((3, 4, 2), dtype=np.int64))  # ints 0..255 convert without loss
    s.run(np.zeros((3, 4, 1), dtype=np.uint8))  # shorter inputs are allowed
    s.run(np.zeros((0, 4, 2), dtype=np.uint8))
    s.run(fl.scripted_inputs(1, 4, 10)[::2])  # non-contiguous
    s.run(np.zeros((2, 4, 2), dtype=np.uint8).tolist())
    assert s.current_frame == 3 + 3 + 5 + 2
    with pytest.raises(TypeError, match="uint8"):
        s.run(np.zeros((3, 4, 2), dtype=np.float32))
    with pytest.raises(TypeError, match="uint8"):
        s.run(np.full((3, 4, 2), 256))
    with pytest.raises(TypeError, match="uint8"):
        s.run(np.full((3, 4, 2), -1))
    with pytest.raises(ValueError, match=r"shape \(frames, 4, input_bytes\)"):
        s.run(np.zeros((3, 3, 2), dtype=np.uint8))
    with pytest.raises(ValueError, match="shape"):
        s.run(np.zeros((3, 8), dtype=np.uint8))
    with pytest.raises(ValueError, match="1 to 2 bytes"):
        s.run(np.zeros((3, 4, 3), dtype=np.uint8))
    with pytest.raises(ValueError, match="1 to 2 bytes"):
        s.run(np.zeros((3, 4, 0), dtype=np.uint8))
    assert s.current_frame == 13, "refused arrays run nothing"


def test_native_run_checks_its_buffer() -> None:
    """The native layer does not trust the Python layer either."""
    s = arena_session()
    with pytest.raises(ValueError, match="hold 16 bytes"):
        s._native.run(np.zeros(16, dtype=np.uint8), 3, 2)
    with pytest.raises(TypeError, match="buffer of uint8"):
        s._native.run(np.zeros(16, dtype=np.float64), 2, 2)
    with pytest.raises(TypeError):
        s._native.run(object(), 1, 2)
    with pytest.raises(ValueError, match="C-contiguous"):
        s._native.run(np.zeros((4, 4, 2), dtype=np.uint8)[:, ::2], 4, 2)
    with pytest.raises(ValueError, match="1 to 2"):
        s._native.run(np.zeros(16, dtype=np.uint8), 1, 0)


def test_run_needs_the_arena() -> None:
    with pytest.raises(TypeError, match="built-in simulation"):
        fl.Session(1).run(np.zeros((1, 1, 1), dtype=np.uint8))
    with pytest.raises(TypeError, match="no built-in simulation"):
        fl.Session(1).state()


def test_run_errors_name_the_tick() -> None:
    s = fl.Session(4, local=[0], arena=PARAMS)
    inputs = fl.scripted_inputs(1, 4, 20)
    s.run(inputs[:5])
    s.add_remote_input(1, 6, fl.NEUTRAL_INPUT)
    with pytest.raises(fl.AlreadyConfirmedError) as e:
        s.run(inputs[5:10])  # tick 1 gives slot 1's input of frame 6 again
    assert e.value.tick == 1  # type: ignore[attr-defined]
    assert e.value.slot == 1 and e.value.frame == 6
    assert s.current_frame == 6, "tick 0 ran"
    assert "input for slot 1 at frame 6 is already confirmed" in str(e.value)


def test_run_with_remote_slots_and_rollback() -> None:
    """Remote slots get row t as their confirmed input of the same frame: equal to lockstep."""
    inputs = fl.scripted_inputs(4, 4, 150)
    a = fl.Session(4, local=[0, 1], mode="rollback", arena=PARAMS)
    a.run(inputs)
    b = arena_session()
    b.run(inputs)
    assert a.checksum(149) == b.checksum(149)
    r = fl.Session(4, local=[0], relay=True, mode="rollback", arena=PARAMS)
    r.run(inputs)
    assert r.checksum(149) == b.checksum(149)
    d = fl.Session(4, input_delay=2, arena=PARAMS)
    assert d.run(inputs[:10]) == fl.RunResult(10, 0)


def test_sync_test_of_the_arena_is_clean() -> None:
    s = fl.Session(4, mode="synctest", check_distance=4, arena=PARAMS)
    s.run(fl.scripted_inputs(1, 4, 200))
    assert s.events() == [] and s.stats.frames_resimulated > 0


def test_lockstep_arena_advance_stalls_for_remote_input() -> None:
    s = fl.Session(2, local=[0], arena=fl.ArenaParams(players=2))
    s.add_local_input(0, fl.encode_input(right=True))
    step = s.advance()
    assert not step.advanced and step.outcome.waiting_for == (1,)
    s.add_remote_input(1, 0, fl.NEUTRAL_INPUT)
    assert s.advance().advanced
    assert s.state().frame == 1


def test_run_releases_the_gil() -> None:
    """Another Python thread makes progress while run() simulates."""
    s = fl.Session(16, arena=fl.ArenaParams(players=16, seed=3))
    inputs = fl.scripted_inputs(1, 16, 6000)
    counter = 0
    stop = threading.Event()

    def count() -> None:
        nonlocal counter
        while not stop.is_set():
            counter += 1

    t = threading.Thread(target=count)
    t.start()
    time.sleep(0.01)
    before = counter
    start = time.perf_counter()
    s.run(inputs)
    elapsed = time.perf_counter() - start
    during = counter - before
    stop.set()
    t.join()
    assert elapsed > 0.02, "the run must be long enough to measure"
    # With the GIL held, the counter thread could not run at all during run().
    assert during > 1000, f"the other thread counted only {during} in {elapsed:.3f}s"


def test_a_session_busy_in_run_refuses_other_calls() -> None:
    s = fl.Session(16, arena=fl.ArenaParams(players=16, seed=3))
    inputs = fl.scripted_inputs(1, 16, 6000)
    t = threading.Thread(target=s.run, args=(inputs,))
    t.start()
    seen = None
    deadline = time.perf_counter() + 5
    while seen is None and t.is_alive() and time.perf_counter() < deadline:
        try:
            _ = s.current_frame
        except RuntimeError as e:
            seen = e
    t.join()
    assert seen is not None and "busy" in str(seen)
    assert s.current_frame == 6000


def test_scripted_inputs_and_encoding() -> None:
    a = fl.scripted_inputs(1, 3, 50)
    assert a.dtype == np.uint8 and a.shape == (50, 3, 2) and a.flags.writeable
    np.testing.assert_array_equal(fl.scripted_inputs(1, 3, 10, start=40), a[40:])
    assert fl.encode_input(up=True, fire=True, aim=64) == bytes([fl.BUTTON_UP | fl.BUTTON_FIRE, 64])
    assert fl.encode_input() == fl.NEUTRAL_INPUT and fl.INPUT_SIZE == 2
    with pytest.raises(ValueError):
        fl.scripted_inputs(1, 0, 5)
    with pytest.raises(fl.OutOfRangeError, match="aim must be in 0..=255, not 256") as e:
        fl.encode_input(aim=256)
    assert (e.value.argument, e.value.value, e.value.min, e.value.max) == ("aim", 256, 0, 255)
    assert isinstance(e.value, OverflowError) and isinstance(e.value, ValueError)
    with pytest.raises(fl.OutOfRangeError, match="seed"):
        fl.scripted_inputs(-1, 2, 5)


def test_params() -> None:
    p = fl.ArenaParams(players=64, max_projectiles=8192)
    assert p.snapshot_size == 290_081 and p.scratch_size > 0
    assert fl.ArenaParams.decode(p.encode()) == p and len(p.encode()) == 16
    with pytest.raises(fl.LogMismatchError, match="arena params"):
        fl.ArenaParams.decode(b"\x01")
    with pytest.raises(fl.InvalidConfigError, match="players"):
        fl.Session(65, arena=fl.ArenaParams(players=65))
    with pytest.raises(fl.InvalidConfigError, match="one player per slot"):
        fl.Session(3, arena=fl.ArenaParams(players=4))
    with pytest.raises(fl.InvalidConfigError, match="world_size"):
        fl.ArenaParams(world_size=1).snapshot_size
    with pytest.raises(fl.OutOfRangeError, match="players must be in 0..=255, not 300"):
        fl.ArenaParams(players=300)
    with pytest.raises(fl.OutOfRangeError, match="max_projectiles") as e:
        fl.ArenaParams(max_projectiles=10**9)
    assert e.value.argument == "max_projectiles" and isinstance(e.value, fl.FramelockError)
