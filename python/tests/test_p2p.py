"""``P2PSession``: peer-to-peer matches on loopback sockets, each process a Python thread. Players
and a spectator agree on the checksum (arena and Python-owned state), a wrong key never
synchronizes, a configuration mismatch names the setting, Ctrl-C stops ``play()``."""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import struct
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import framelock as fl

TICK_RATE = 200  # fast tests: 200 frames take one second
FRAMES = 200


def free_addrs(n: int) -> list[str]:
    """`n` loopback addresses whose ports were free a moment ago (every peer must know them all
    before any socket exists)."""
    socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [f"127.0.0.1:{s.getsockname()[1]}" for s in socks]
    finally:
        for s in socks:
            s.close()


def in_threads(calls: dict[str, Callable[[], object]]) -> dict[str, object]:
    """Runs every call in its own thread; returns each one's result or the exception it raised."""
    out: dict[str, object] = {}

    def run(name: str, call: Callable[[], object]) -> None:
        try:
            out[name] = call()
        except BaseException as e:  # noqa: BLE001 - handed to the test
            out[name] = e

    threads = [threading.Thread(target=run, args=item) for item in calls.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a play() hung"
    return out


def test_two_players_and_a_spectator_agree(tmp_path: Path) -> None:
    a, b, c = free_addrs(3)
    key = os.urandom(32)
    key_file = tmp_path / "match.key"
    key_file.write_text(key.hex() + "\n")
    with (
        fl.P2PSession(a, key=key, local=0, peers={1: b}, spectators=[c], tick_rate=TICK_RATE) as p0,
        fl.P2PSession(b, key_file=key_file, local=1, peers={0: a}, tick_rate=TICK_RATE) as p1,
        fl.P2PSession(c, key=key, spectate=a, players=2, tick_rate=TICK_RATE) as spec,
    ):
        assert not p0.running and p0.peers[1].role == "spectator" and spec.peers[0].role == "host"
        got = in_threads({"p0": lambda: p0.play(FRAMES), "p1": lambda: p1.play(FRAMES), "spec": lambda: spec.play(FRAMES)})
        assert isinstance(got["p0"], int), got
        assert got["p0"] == got["p1"] == got["spec"], got
        for s in (p0, p1, spec):
            assert s.running and s.checksum(FRAMES) == got["p0"]
            assert s.checksummed_until > FRAMES
            assert s.stats.desyncs == 0
            assert s.drops.total == 0, s.drops
        events = p0.events()
        kinds = [type(e) for e in events]
        assert kinds.index(fl.Synchronized) < kinds.index(fl.Running)
        assert not any(isinstance(e, (fl.Desync, fl.ConfigMismatch)) for e in events)
        # events are match-able dataclasses
        synced = []
        for e in events:
            match e:
                case fl.Synchronized(peer=fl.PeerId(addr=addr, role="player")):
                    synced.append(addr)
                case fl.Synchronizing(done=done, total=total):
                    assert 1 <= done <= total == 5
        assert synced == [b]
        stats = p0.network_stats()
        assert set(stats) == set(p0.peers)
        to_p1 = p0.peer_stats(0)
        assert to_p1.packets_sent > 0 and to_p1.packets_received > 0 and to_p1.bytes_sent > 0
        assert to_p1.acknowledged >= FRAMES and not to_p1.disconnected
        assert p0.peer_stats(p0.peers[1]).acknowledged >= FRAMES  # the spectator got every frame
        assert p0.arena_state().frame == p0.current_frame
    for s in (p0, p1, spec):
        assert s.closed
        with pytest.raises(RuntimeError, match="closed"):
            s.tick()
    # closing freed the port
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as again:
        again.bind(("127.0.0.1", int(a.rsplit(":", 1)[1])))


class Counter:
    """Python-owned state: a running hash of every input, rolled back by the session."""

    def __init__(self) -> None:
        self.frame = 0
        self.digest = b"\0" * 8
        self.loads = 0

    def save_state(self, frame: int) -> bytes:
        assert frame == self.frame
        return struct.pack("<I", frame) + self.digest

    def load_state(self, frame: int, data: bytes) -> None:
        self.loads += 1
        self.frame = struct.unpack_from("<I", data)[0]
        assert self.frame == frame
        self.digest = data[4:]

    def advance_frame(self, frame: int, inputs: tuple[bytes, ...], statuses: tuple[fl.InputStatus, ...]) -> None:
        assert frame == self.frame and len(inputs) == 2 and all(isinstance(s, fl.InputStatus) for s in statuses)
        self.digest = hashlib.blake2b(self.digest + b"".join(inputs), digest_size=8).digest()
        self.frame += 1


def test_python_owned_state_agrees_through_rollbacks() -> None:
    a, b = free_addrs(2)
    key = os.urandom(32)
    games = [Counter(), Counter()]
    # 15 ms each way at 200 Hz is 3 frames late with no input delay: the peers predict and roll back
    common = dict(key=key, input_size=4, simulation_id=7, tick_rate=TICK_RATE, input_delay=0, latency_ms=15)
    with (
        fl.P2PSession(a, local=0, peers={1: b}, game=games[0], **common) as p0,  # type: ignore[arg-type]
        fl.P2PSession(b, local=1, peers={0: a}, game=games[1], **common) as p1,  # type: ignore[arg-type]
    ):
        rows = np.arange(FRAMES * 2 * 4, dtype=np.uint64).astype(np.uint8).reshape(FRAMES * 2, 4)
        got = in_threads(
            {
                "p0": lambda: p0.play(FRAMES, lambda s: struct.pack("<I", s.current_frame * 7)),
                "p1": lambda: p1.play(FRAMES, rows),
            }
        )
        assert isinstance(got["p0"], int) and got["p0"] == got["p1"], got
        assert p0.stats.rollbacks > 0 and p1.stats.rollbacks > 0
        assert games[0].loads > 0 and games[1].loads > 0
        assert p0.peer_stats(0).rtt_ms >= 25


def test_a_wrong_key_never_synchronizes() -> None:
    a, b = free_addrs(2)
    with (
        fl.P2PSession(a, key=os.urandom(32), local=0, peers={1: b}, tick_rate=TICK_RATE) as p0,
        fl.P2PSession(b, key=os.urandom(32), local=1, peers={0: a}, tick_rate=TICK_RATE) as p1,
    ):
        start = time.monotonic()
        got = in_threads({"p0": lambda: p0.play(50, sync_timeout=1.0), "p1": lambda: p1.play(50, sync_timeout=1.0)})
        assert time.monotonic() - start < 10
        for name, s in (("p0", p0), ("p1", p1)):
            e = got[name]
            assert isinstance(e, fl.NetworkError) and not isinstance(e, fl.PeerConfigMismatchError), e
            assert "did not synchronize" in str(e) and "wrong key" in str(e)
            assert not s.running and s.current_frame == 0
            assert s.drops.unauthenticated > 0  # every datagram of the other failed its tag
            assert s.peer_stats(0).packets_received == 0
            assert not any(isinstance(e, fl.Running) for e in s.events())


def test_a_config_mismatch_names_the_setting() -> None:
    a, b = free_addrs(2)
    key = os.urandom(32)
    with (
        fl.P2PSession(a, key=key, local=0, peers={1: b}, tick_rate=TICK_RATE) as p0,
        fl.P2PSession(b, key=key, local=1, peers={0: a}, tick_rate=TICK_RATE // 2) as p1,
    ):
        got = in_threads({"p0": lambda: p0.play(50, sync_timeout=5.0), "p1": lambda: p1.play(50, sync_timeout=5.0)})
        for name, s, local, remote in (("p0", p0, TICK_RATE, TICK_RATE // 2), ("p1", p1, TICK_RATE // 2, TICK_RATE)):
            e = got[name]
            assert isinstance(e, fl.PeerConfigMismatchError), e
            assert isinstance(e, fl.NetworkError)
            assert (e.setting, e.local, e.remote, e.peer) == ("tick_rate", local, remote, 0)
            assert "tick_rate" in str(e)
            assert fl.ConfigMismatch(s.peers[0], "tick_rate", local, remote) in s.events()
            assert not s.running and s.drops.config_mismatch > 0


def test_settings_are_checked() -> None:
    (a,) = free_addrs(1)
    key = os.urandom(32)
    with pytest.raises(fl.InvalidConfigError) as e:
        fl.P2PSession(a, key=key, local=0, peers={}, players=2)
    assert e.value.setting == "remote_slot"
    with pytest.raises(fl.InvalidConfigError) as e:
        fl.P2PSession(a, key=key, local=0, peers={1: "127.0.0.1:1"}, tick_rate=5000)
    assert e.value.setting == "tick_rate"
    with pytest.raises(ValueError, match="32 bytes"):
        fl.P2PSession(a, key=b"short", local=0, peers={1: "127.0.0.1:1"})
    with pytest.raises(ValueError, match="key="):
        fl.P2PSession(a, local=0, peers={1: "127.0.0.1:1"})
    with pytest.raises(ValueError, match="not an address"):
        fl.P2PSession(a, key=key, local=0, peers={1: "nowhere"})
    with pytest.raises(ValueError, match="players="):
        fl.P2PSession(a, key=key, spectate="127.0.0.1:1")


def test_ctrl_c_stops_play_and_the_session_stays_usable() -> None:
    a, b = free_addrs(2)
    main = threading.main_thread().ident
    assert main is not None
    with fl.P2PSession(a, key=os.urandom(32), local=0, peers={1: b}, tick_rate=TICK_RATE) as p0:

        def fire() -> None:
            time.sleep(0.2)
            signal.pthread_kill(main, signal.SIGINT)

        t = threading.Thread(target=fire)
        t.start()
        start = time.monotonic()
        with pytest.raises(KeyboardInterrupt):
            p0.play(100, sync_timeout=30.0)  # the peer never comes: only Ctrl-C ends it early
        t.join()
        assert time.monotonic() - start < 1.5
        p0.poll(0.01)
        assert not p0.running and p0.tick() is None  # nothing is played before synchronization
        assert p0.peer_stats(0).packets_sent > 0  # synchronization requests kept going out


class Drifting(Counter):
    """A state that is not a function of the inputs alone: the peers' checksums differ."""

    def __init__(self, salt: bytes) -> None:
        super().__init__()
        self.salt = salt

    def advance_frame(self, frame: int, inputs: tuple[bytes, ...], statuses: tuple[fl.InputStatus, ...]) -> None:
        super().advance_frame(frame, (inputs[0] + self.salt, inputs[1]), statuses)


def test_a_desync_is_an_event_with_both_checksums() -> None:
    a, b = free_addrs(2)
    common = dict(key=os.urandom(32), input_size=4, tick_rate=TICK_RATE, checksum_interval=10)
    with (
        fl.P2PSession(a, local=0, peers={1: b}, game=Drifting(b"x"), **common) as p0,  # type: ignore[arg-type]
        fl.P2PSession(b, local=1, peers={0: a}, game=Drifting(b"y"), **common) as p1,  # type: ignore[arg-type]
    ):
        zeros = np.zeros((100, 4), dtype=np.uint8)
        got = in_threads({"p0": lambda: p0.play(60, zeros), "p1": lambda: p1.play(60, zeros)})
        assert isinstance(got["p0"], int) and isinstance(got["p1"], int) and got["p0"] != got["p1"]
        for s, other in ((p0, p1), (p1, p0)):
            desyncs = [e for e in s.events() if isinstance(e, fl.Desync)]
            assert desyncs, "the checksums exchanged every 10 frames differ"
            d = desyncs[0]
            assert d.frame % 10 == 0 and d.slot == other.local_slots[0]
            assert d.local == s.checksum(d.frame) and d.remote == other.checksum(d.frame) and d.local != d.remote


class Failing(Counter):
    def advance_frame(self, frame: int, inputs: tuple[bytes, ...], statuses: tuple[fl.InputStatus, ...]) -> None:
        if frame == 20:
            raise ZeroDivisionError("the game's own bug")
        super().advance_frame(frame, inputs, statuses)


def test_an_exception_in_a_callback_is_raised_by_play() -> None:
    a, b = free_addrs(2)
    common = dict(key=os.urandom(32), input_size=4, tick_rate=TICK_RATE)
    with (
        fl.P2PSession(a, local=0, peers={1: b}, game=Failing(), **common) as p0,  # type: ignore[arg-type]
        fl.P2PSession(b, local=1, peers={0: a}, game=Counter(), **common) as p1,  # type: ignore[arg-type]
    ):
        zeros = np.zeros((100, 4), dtype=np.uint8)
        got = in_threads({"p0": lambda: p0.play(60, zeros), "p1": lambda: p1.play(60, zeros, timeout=3.0)})
        assert isinstance(got["p0"], ZeroDivisionError) and "own bug" in str(got["p0"])
        assert isinstance(got["p1"], fl.NetworkError)  # its peer stopped playing: frame 60 never final


class CallsBack(Counter):
    """A game whose callback calls into its own session (a bug the session must report, not hang on)."""

    session: fl.P2PSession | None = None

    def advance_frame(self, frame: int, inputs: tuple[bytes, ...], statuses: tuple[fl.InputStatus, ...]) -> None:
        if frame == 20 and self.session is not None:
            self.session.checksum(0)
        super().advance_frame(frame, inputs, statuses)


def test_a_callback_calling_its_own_session_gets_busy_not_a_deadlock() -> None:
    a, b = free_addrs(2)
    common = dict(key=os.urandom(32), input_size=4, tick_rate=TICK_RATE)
    game = CallsBack()
    with (
        fl.P2PSession(a, local=0, peers={1: b}, game=game, **common) as p0,  # type: ignore[arg-type]
        fl.P2PSession(b, local=1, peers={0: a}, game=Counter(), **common) as p1,  # type: ignore[arg-type]
    ):
        game.session = p0
        zeros = np.zeros((100, 4), dtype=np.uint8)
        got = in_threads({"p0": lambda: p0.play(60, zeros), "p1": lambda: p1.play(60, zeros, timeout=3.0)})
        assert isinstance(got["p0"], RuntimeError) and "busy" in str(got["p0"]), got
        assert isinstance(got["p1"], fl.NetworkError)
        assert p0.checksum(0) is not None  # the lock was released: the session answers again


def test_a_python_peer_plays_against_the_cli(tmp_path: Path) -> None:
    """Wire compatibility: `framelock p2p` (Rust) in another process and a Python P2PSession on
    the same key file agree on the arena's checksum."""
    import subprocess

    from conftest import cli_binary

    a, b = free_addrs(2)
    key_file = tmp_path / "match.key"
    subprocess.run([str(cli_binary()), "key", "--out", str(key_file)], check=True, capture_output=True, timeout=30)
    cli = subprocess.Popen(
        [str(cli_binary()), "p2p", "--listen", b, "--key-file", str(key_file), "--local-slot", "1"]
        + ["--peer", f"0={a}", "--frames", str(FRAMES), "--tick-rate", str(TICK_RATE)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        with fl.P2PSession(a, key_file=key_file, local=0, peers={1: b}, tick_rate=TICK_RATE) as p0:
            mine = p0.play(FRAMES, sync_timeout=20.0)
        out, err = cli.communicate(timeout=60)
    finally:
        cli.kill()
    assert cli.returncode == 0, err
    assert f"p2p 1: frame {FRAMES} checksum {mine:#018x}" in out, out


def test_a_loop_of_your_own_with_poll_and_tick() -> None:
    """One peer plays with play(); the other with poll()/until_next_tick()/tick() from Python."""
    a, b = free_addrs(2)
    key = os.urandom(32)
    with (
        fl.P2PSession(a, key=key, local=0, peers={1: b}, tick_rate=TICK_RATE) as p0,
        fl.P2PSession(b, key=key, local=1, peers={0: a}, tick_rate=TICK_RATE) as p1,
    ):
        assert p1.until_next_tick() is None and p1.tick(b"\0\0") is None  # not synchronized yet

        def by_hand() -> int:
            outcomes = []
            deadline = time.monotonic() + 30
            while p1.checksummed_until <= FRAMES or p1.peer_stats(0).acknowledged < FRAMES:
                assert time.monotonic() < deadline
                wait = p1.until_next_tick()
                p1.poll(0.005 if wait is None else min(wait, 0.005))
                if p1.until_next_tick() == 0:
                    outcomes.append(p1.tick([fl.encode_input(right=True)]))  # one input per local slot
            assert any(o is not None and o.advanced for o in outcomes)
            c = p1.checksum(FRAMES)
            assert c is not None
            return c

        got = in_threads({"p0": lambda: p0.play(FRAMES), "p1": by_hand})
        assert isinstance(got["p0"], int) and got["p0"] == got["p1"], got
        with pytest.raises(ValueError, match="shape"):
            p0.play(FRAMES + 10, np.zeros((10, 3), dtype=np.uint8))
