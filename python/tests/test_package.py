"""The package itself: exports, version, typing marker."""

from __future__ import annotations

from pathlib import Path

import framelock as fl


def test_exports() -> None:
    for name in fl.__all__:
        assert hasattr(fl, name), name
    assert fl.__version__ == "0.1.0"
    assert (Path(fl.__file__).parent / "py.typed").exists()
    assert fl.InputStatus.PREDICTED == 1
    assert [s for s, _ in fl._framelock.INPUT_STATUSES] == [m.name for m in fl.InputStatus]
    assert [v for _, v in fl._framelock.INPUT_STATUSES] == [m.value for m in fl.InputStatus]


def test_checksum64_is_the_core_hash() -> None:
    assert fl.checksum64(b"") == fl.checksum64(b"")
    assert fl.checksum64(b"a") != fl.checksum64(b"b")
    assert 0 <= fl.checksum64(bytes(1000)) < 2**64
