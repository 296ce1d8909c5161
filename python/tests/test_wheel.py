"""`pip wheel ./python` gives a wheel an index accepts: abi3, manylinux (auditwheel agrees), a
stripped native module, a README without relative links; without Rust it stops at once."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from conftest import ROOT

VENV_BIN = Path(sys.executable).parent


def pip_wheel(out: Path, path: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": path}
    return subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", str(ROOT / "python"), "-w", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    r = pip_wheel(out, f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    (whl,) = out.glob("*.whl")
    return whl


def test_the_wheel_is_abi3_manylinux_and_auditwheel_agrees(wheel: Path) -> None:
    name, version, python, abi, platform = wheel.stem.split("-")
    assert (name, python, abi) == ("framelock", "cp311", "abi3")
    assert re.fullmatch(r"manylinux_2_\d+_x86_64|manylinux2014_x86_64", platform), platform
    auditwheel = shutil.which("auditwheel", path=str(VENV_BIN)) or shutil.which("auditwheel")
    if auditwheel is None:
        pytest.fail("auditwheel is not installed (python/requirements-dev.txt pins it)")
    r = subprocess.run([auditwheel, "show", str(wheel)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert f'consistent\nwith the following platform tag: "{platform}"' in r.stdout.replace(" \n", "\n"), r.stdout


def test_the_native_module_is_stripped_and_small(wheel: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(wheel) as z:
        (so,) = [n for n in z.namelist() if n.endswith(".so")]
        data = z.read(so)
        names = z.namelist()
        metadata = z.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert so == "framelock/_framelock.abi3.so" and "framelock/py.typed" in names
    assert len(data) <= 2 * 1024 * 1024, f"{len(data)} bytes"
    lib = tmp_path / "m.so"
    lib.write_bytes(data)
    readelf = shutil.which("readelf")
    if readelf is not None:
        sections = subprocess.run([readelf, "-S", "-W", str(lib)], capture_output=True, text=True, check=True).stdout
        assert ".debug_" not in sections and ".symtab" not in sections
    else:
        assert b".debug_info" not in data and b".debug_line" not in data
    # The README is the index page: no relative links or images.
    body = metadata.split("\n\n", 1)[1]
    assert "framelock" in body and "pip install" in body
    links = re.findall(r"\]\(([^)]+)\)", body)
    assert all(re.match(r"https?://", link) for link in links), links
    assert "Requires-Dist: ray" in metadata and "Provides-Extra: ray" in metadata


def test_building_without_rust_fails_at_once_and_says_what_to_install(tmp_path: Path) -> None:
    # PATH with the venv (maturin, python) and the system, but no cargo
    path = os.pathsep.join(p for p in (str(VENV_BIN), "/usr/bin", "/bin") if p)
    assert shutil.which("cargo", path=path) is None
    start = time.monotonic()
    r = pip_wheel(tmp_path, path)
    assert r.returncode != 0
    assert time.monotonic() - start < 120
    out = r.stdout + r.stderr
    assert "needs the Rust toolchain" in out and "https://rustup.rs" in out, out[-2000:]
    assert "installing into a temporary directory" not in out and not list(tmp_path.glob("*.whl"))
