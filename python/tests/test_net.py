"""``NetClient`` against a real relay (the CLI's ``framelock serve``) on loopback: bots in Python
threads agree on the checksum, the relay exits once they left, bad tokens fail as documented."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import framelock as fl

from conftest import cli_binary

PLAYERS = 2
TICK_RATE = 120
FRAMES = 240


@dataclass
class Relay:
    proc: subprocess.Popen[str]
    addr: str
    key: Path
    dir: Path

    def token(self, slot: int, client_id: int, *, key: Path | None = None, timeout: int = 5) -> Path:
        out = self.dir / f"token-{slot}-{client_id}.bin"
        subprocess.run(
            [str(cli_binary()), "token", "--key-file", str(key or self.key), "--server", self.addr, "--room", "1"]
            + ["--slot", str(slot), "--client-id", str(client_id), "--timeout", str(timeout), "--out", str(out)],
            check=True,
            capture_output=True,
            timeout=30,
        )
        return out

    def wait_exit(self, seconds: float) -> tuple[int, str]:
        """The relay's exit code and the rest of its stdout, once it exited by itself."""
        code = self.proc.wait(timeout=seconds)
        assert self.proc.stdout is not None
        return code, self.proc.stdout.read()


def new_key(path: Path) -> Path:
    subprocess.run([str(cli_binary()), "key", "--out", str(path)], check=True, capture_output=True, timeout=30)
    return path


@contextmanager
def start_relay(tmp_path: Path, *extra: str) -> Iterator[Relay]:
    """``framelock serve`` for 2-player rooms at 120 fps that exits once its clients left, with
    ``extra`` options; always killed."""
    key = new_key(tmp_path / "key.hex")
    proc = subprocess.Popen(
        [str(cli_binary()), "serve", "--listen", "127.0.0.1:0", "--key-file", str(key), *extra]
        + ["--tick-rate", str(TICK_RATE), "--players", str(PLAYERS), "--exit-when-empty"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("listening on "), line
        yield Relay(proc, line.removeprefix("listening on ").strip(), key, tmp_path)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
        for f in (proc.stdout, proc.stderr):
            if f is not None:
                f.close()


@pytest.fixture
def relay(tmp_path: Path) -> Iterator[Relay]:
    with start_relay(tmp_path) as r:
        yield r


def play_in_threads(clients: list[fl.NetClient], inputs: list[fl._net.PlayInputs]) -> tuple[list[int], list[int]]:
    """Each client plays to FRAMES in its own thread; returns the checksums and the first client's
    frame as the main thread saw it meanwhile (it only runs while the players release the GIL)."""
    results: list[int | BaseException | None] = [None] * len(clients)

    def run(i: int) -> None:
        try:
            results[i] = clients[i].play(FRAMES, inputs[i], timeout=30)
        except BaseException as e:  # handed to the main thread
            results[i] = e

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(clients))]
    for t in threads:
        t.start()
    seen: list[int] = []
    while any(t.is_alive() for t in threads):
        seen.append(clients[0].current_frame)  # published by play(): never "busy"
        time.sleep(0.001)
    for t in threads:
        t.join()
    for r in results:
        if isinstance(r, BaseException):
            raise r
    return [r for r in results if isinstance(r, int)], seen


def test_two_bots_in_threads_agree_and_the_relay_exits(relay: Relay) -> None:
    seen: list[int] = []

    def steer(c: fl.NetClient) -> bytes:
        # A bot that reads the simulation every tick: runs towards the centre, fires now and then.
        state = c.arena_state()
        assert c.slot is not None
        seen.append(state.frame)
        x, y = state.positions[c.slot]
        half = c.arena.world_size / 2
        fire = c.current_frame % 20 == 0
        return fl.encode_input(up=y > half, down=y < half, left=x > half, right=x < half, fire=fire, aim=32)

    a = fl.NetClient(relay.token(0, 100), 0, players=PLAYERS, tick_rate=TICK_RATE)
    b = fl.NetClient(str(relay.token(1, 101)), 1, players=PLAYERS, tick_rate=TICK_RATE, latency_ms=10, jitter_ms=5)
    assert a.state == fl.ConnectionState.SENDING_CONNECTION_REQUEST and not a.connected
    assert a.tick() is None, "no tick before the connection is up"
    assert a.server_addr == relay.addr
    # A spectator (a slot-255 token) follows the room in lockstep and reaches the same state.
    watcher = fl.NetClient(relay.token(255, 102), None, players=PLAYERS, tick_rate=TICK_RATE, spectator=True)
    started = time.monotonic()
    checksums, watched = play_in_threads([a, b, watcher], [None, steer, None])
    elapsed = time.monotonic() - started
    assert checksums[0] == checksums[1] == checksums[2]
    assert a.checksum(FRAMES) == b.checksum(FRAMES) == watcher.checksum(FRAMES) == checksums[0]
    assert watcher.slot is None and watcher.stats.rollbacks == 0
    # Real time: 240 frames at 120 fps take 2 s; the main thread ran all along (GIL released).
    assert 1.5 < elapsed < 20, elapsed
    assert len(watched) > 100 and watched == sorted(watched), watched
    assert any(0 < f < FRAMES for f in watched), "the main thread saw the match in progress"
    assert len(seen) > 200 and seen == sorted(seen)
    for c in (a, b):
        assert c.state == fl.ConnectionState.DISCONNECTED and not c.connected
        s = c.stats
        assert s.frames >= FRAMES and s.confirmed >= FRAMES and s.ticks >= FRAMES - 8
        assert s.datagrams_in > 100 and s.datagrams_out > 100 and s.bytes_in > s.datagrams_in
        assert s.desyncs == s.desyncs_reported == 0 and s.bundles_malformed == 0
        assert set(s.as_dict()) == set(fl.NetStats.__dataclass_fields__)
        state = c.arena_state()
        assert state.players == PLAYERS and state.frame == c.current_frame
    with pytest.raises(fl.ConnectionFailedError) as e:
        a.raise_if_failed()
    assert e.value.state == "DISCONNECTED"
    code, report = relay.wait_exit(15)
    assert code == 0
    assert "connects 3, disconnects 3" in report, report


def test_a_hand_written_loop_and_an_input_array_agree(relay: Relay) -> None:
    """One bot plays rows of ``scripted_inputs`` through ``play``; the other is a loop of
    ``poll``/``tick`` in this thread, with a lossy link."""
    rows = fl.scripted_inputs(5, PLAYERS, FRAMES + 50)
    with fl.NetClient(relay.token(0, 200), 0, players=PLAYERS, tick_rate=TICK_RATE, seed=5) as a:
        with fl.NetClient(relay.token(1, 201), 1, players=PLAYERS, tick_rate=TICK_RATE, seed=5, loss=0.05) as b:
            result: list[int] = []
            t = threading.Thread(target=lambda: result.append(a.play(FRAMES, rows, timeout=30)))
            t.start()
            try:
                period = 1 / TICK_RATE
                next_tick = time.monotonic()
                deadline = next_tick + 30
                outcomes: list[fl.Outcome] = []
                while (b.checksummed_until <= FRAMES or t.is_alive()) and time.monotonic() < deadline:
                    b.poll(max(0.0, min(next_tick - time.monotonic(), 0.01)))
                    b.raise_if_failed()
                    if time.monotonic() >= next_tick:
                        next_tick += period
                        o = b.tick(rows[b.stats.ticks % len(rows), 1])
                        if o is not None:
                            outcomes.append(o)
            finally:
                t.join(timeout=40)
            assert result and b.checksum(FRAMES) == result[0]
            assert any(o.advanced for o in outcomes)
            assert b.connected and b.stats.conditioner_dropped > 0
    # Leaving the blocks disconnected both; the relay exits by itself.
    assert b.state == fl.ConnectionState.DISCONNECTED
    code, report = relay.wait_exit(15)
    assert code == 0 and "disconnects 2" in report, report


def test_bad_tokens(relay: Relay, tmp_path: Path) -> None:
    with pytest.raises(fl.ConnectTokenError) as e:
        fl.NetClient(b"not a token", 0, players=PLAYERS)
    assert isinstance(e.value, fl.NetworkError) and isinstance(e.value, fl.FramelockError)
    assert "2048" in e.value.reason or "malformed" in e.value.reason.lower()
    with pytest.raises(fl.ConnectTokenError):
        fl.NetClient(bytes(2048), 0, players=PLAYERS)
    with pytest.raises(FileNotFoundError):
        fl.NetClient(tmp_path / "missing.bin", 0, players=PLAYERS)
    with pytest.raises(TypeError):
        fl.NetClient(12, 0, players=PLAYERS)  # type: ignore[arg-type]
    # A well-formed token signed with another key: the relay ignores its requests, the
    # connection times out after the token's timeout (1 s here).
    other = relay.token(0, 300, key=new_key(tmp_path / "other.hex"), timeout=1)
    c = fl.NetClient(other, 0, players=PLAYERS, tick_rate=TICK_RATE)
    started = time.monotonic()
    with pytest.raises(fl.ConnectionFailedError) as f:
        c.play(10, timeout=10)
    assert time.monotonic() - started < 5
    assert f.value.state == "CONNECTION_REQUEST_TIMED_OUT"
    assert c.state == fl.ConnectionState.CONNECTION_REQUEST_TIMED_OUT and c.state.is_error


def test_configuration_errors(relay: Relay) -> None:
    token = relay.token(0, 400).read_bytes()
    with pytest.raises(ValueError, match="spectator"):
        fl.NetClient(token, 0, players=PLAYERS, spectator=True)
    with pytest.raises(ValueError, match="slot"):
        fl.NetClient(token, None, players=PLAYERS)
    with pytest.raises(fl.UnknownSlotError):
        fl.NetClient(token, 2, players=PLAYERS)
    with pytest.raises(fl.InvalidConfigError):
        fl.NetClient(token, 0, players=PLAYERS, arena=fl.ArenaParams(players=3))
    with pytest.raises(ValueError, match="loss"):
        fl.NetClient(token, 0, players=PLAYERS, loss=1.5)
    c = fl.NetClient(token, 0, players=PLAYERS, tick_rate=TICK_RATE)
    with pytest.raises(ValueError, match="shape"):
        c.play(10, np.zeros((10, 3), dtype=np.uint8))
    with pytest.raises(TypeError):
        c.play(10, np.zeros((10, 2), dtype=np.float32))
    c.poll(0.05)
    assert c.state.is_active and repr(c).startswith("NetClient(slot=0")

    # The inputs callable's exception comes out of play(); the client stays connected.
    def boom(_: fl.NetClient) -> bytes:
        raise LookupError("the policy failed")

    with pytest.raises(LookupError, match="the policy failed"):
        c.play(100, boom, timeout=10)
    assert c.connected
    with pytest.raises(TypeError, match="input must be bytes"):
        c.play(100, lambda _: 3, timeout=10)  # type: ignore[arg-type, return-value]
    # A frame that cannot be final in time: NetworkError, still connected.
    with pytest.raises(fl.NetworkError, match="not final within"):
        c.play(100_000, timeout=0.2)
    assert c.connected and c.stats.ticks > 0
    c.disconnect()
    assert c.state == fl.ConnectionState.DISCONNECTED
    with pytest.raises(fl.ConnectionFailedError, match="disconnected"):
        c.play(100_000)


def test_a_spectator_joining_after_the_history_moved_on_starts_from_a_snapshot(tmp_path: Path) -> None:
    """With a 64-frame history, a spectator that connects at frame 200+ cannot be sent the room's
    past: it must start from a snapshot a player sends through the relay, then agree with the players."""
    frames = 600
    results: list[int | BaseException | None] = [None] * 3

    def run(i: int, client: fl.NetClient) -> None:
        try:
            results[i] = client.play(frames, None, timeout=60)
        except BaseException as e:  # handed to the main thread
            results[i] = e

    with start_relay(tmp_path, "--history", "64") as relay:
        players = [fl.NetClient(relay.token(s, 300 + s), s, players=PLAYERS, tick_rate=TICK_RATE) for s in range(2)]
        threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(players)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 30
        while players[0].current_frame < 200 and time.monotonic() < deadline:
            time.sleep(0.01)
        joined_at = players[0].current_frame
        assert joined_at >= 200, "the players did not get past the history"
        watcher = fl.NetClient(relay.token(255, 310), None, players=PLAYERS, tick_rate=TICK_RATE, spectator=True)
        threads.append(threading.Thread(target=run, args=(2, watcher)))
        threads[-1].start()
        for t in threads:
            t.join()
    for r in results:
        if isinstance(r, BaseException):
            raise r
    assert results[0] == results[1] == results[2], (joined_at, results)
    # It simulated only from the snapshot's frame on (the match's first 200 frames were never sent to it).
    assert watcher.stats.frames_advanced <= frames - 100, watcher.stats
