"""The PEP 517 build backend of `framelock`: maturin's, with three differences.

- No silent toolchain download: without `cargo` on PATH the build stops at once and says what to
  install (maturin's backend would fetch a Rust toolchain of about 870 MB into a temporary
  directory).
- A wheel an index accepts: maturin's PEP 517 entry point passes `--compatibility off` (a plain
  `linux_x86_64` tag) unless told otherwise; this backend asks for `manylinux2014`, which maturin
  checks with its built-in auditwheel (a wheel that is not compliant fails to build).
- A stripped native module (`[tool.maturin] strip = true`): the workspace's release profile keeps
  line tables (`debug = 1`) for profiling; the wheel carries none.

`build-args` / `maturin.build-args` in `config_settings` still work (e.g. another
`--compatibility`); `MATURIN_NO_INSTALL_RUST=0` is not honoured on purpose.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from typing import Any

os.environ["MATURIN_NO_INSTALL_RUST"] = "1"

import maturin  # noqa: E402
from maturin import build_sdist, get_requires_for_build_sdist  # noqa: E402,F401

NO_RUST = """
framelock is a Rust extension and this build needs the Rust toolchain: `cargo` is not on PATH.
Install Rust 1.95 or newer (https://rustup.rs, or your system's package manager: e.g.
`apt install cargo` if it is new enough), make sure `cargo --version` works, then run pip again.
Nothing was downloaded.
"""


def _require_rust() -> None:
    if shutil.which("cargo") is None:
        raise SystemExit(NO_RUST)


def _wheel_settings(config_settings: Mapping[str, Any] | None) -> dict[str, Any]:
    settings = dict(config_settings or {})
    args = maturin.get_maturin_pep517_args(settings)
    if "--compatibility" not in args and "--manylinux" not in args:
        args = ["--compatibility", "pypi", *args]
    settings["maturin.build-args"] = args
    settings.pop("build-args", None)
    return settings


def get_requires_for_build_wheel(config_settings: Mapping[str, Any] | None = None) -> list[str]:
    _require_rust()
    return list(maturin.get_requires_for_build_wheel(config_settings))


def get_requires_for_build_editable(config_settings: Mapping[str, Any] | None = None) -> list[str]:
    return get_requires_for_build_wheel(config_settings)


def prepare_metadata_for_build_wheel(metadata_directory: str, config_settings: Mapping[str, Any] | None = None) -> str:
    _require_rust()
    return str(maturin.prepare_metadata_for_build_wheel(metadata_directory, config_settings))


def build_wheel(
    wheel_directory: str, config_settings: Mapping[str, Any] | None = None, metadata_directory: str | None = None
) -> str:
    _require_rust()
    return str(maturin.build_wheel(wheel_directory, _wheel_settings(config_settings), metadata_directory))


def build_editable(
    wheel_directory: str, config_settings: Mapping[str, Any] | None = None, metadata_directory: str | None = None
) -> str:
    _require_rust()
    return str(maturin.build_editable(wheel_directory, config_settings, metadata_directory))
