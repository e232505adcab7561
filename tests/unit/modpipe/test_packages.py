"""What holds across every package: one error taxonomy (each error class is transient or terminal, so retrying
code catches TransientError alone), no test clock in production code, and no environment read at import."""

from __future__ import annotations

import importlib
import inspect
import json
import os
import pkgutil
import subprocess
import sys
import tomllib
from pathlib import Path

from modpipe.errors import ModpipeError, TerminalError, TransientError
from tests.support import PACKAGES, REPO


def test_the_package_walks_cover_every_package() -> None:
    # PACKAGES is the wheel's list: a package of the source tree left out of it would be neither shipped nor
    # walked by the tests below, nor layered by import-linter, nor type-checked.
    in_tree = {p.parent.name for p in REPO.glob("*/__init__.py")} - {"tests"}
    assert set(PACKAGES) == in_tree
    tool = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]
    assert set(tool["importlinter"]["root_packages"]) == in_tree
    assert set(tool["mypy"]["packages"]) == in_tree


def _error_classes() -> list[type[BaseException]]:
    found: list[type[BaseException]] = []
    for package in PACKAGES:
        root = importlib.import_module(package)
        for info in pkgutil.walk_packages(root.__path__, package + "."):
            if info.name.endswith("__main__"):
                continue
            module = importlib.import_module(info.name)
            for _, cls in inspect.getmembers(module, inspect.isclass):
                if issubclass(cls, BaseException) and cls.__module__ == module.__name__:
                    found.append(cls)
    return found


def test_every_error_of_every_package_is_transient_or_terminal() -> None:
    classes = _error_classes()
    assert len(classes) >= 15, [c.__name__ for c in classes]  # the walk really found the packages' errors
    # A package's family base (RetentionError, SearchError...) only groups its errors for `except`; it is never
    # raised itself, so it needs no side.
    families = {c for c in classes if c.__bases__ == (ModpipeError,) and any(c in o.__mro__[1:] for o in classes)}
    bases = {ModpipeError, TransientError, TerminalError, *families}
    stray = [
        f"{c.__module__}.{c.__qualname__}"
        for c in classes
        if c not in bases and not issubclass(c, (TransientError, TerminalError))
    ]
    assert stray == []
    raised = [
        f"{f.__module__}.{f.__qualname__}"
        for f in families
        for package in PACKAGES
        for path in Path(importlib.import_module(package).__path__[0]).rglob("*.py")
        if f"raise {f.__name__}(" in path.read_text(encoding="utf-8")
    ]
    assert raised == []
    both = [c.__qualname__ for c in classes if issubclass(c, TransientError) and issubclass(c, TerminalError)]
    assert both == []


def test_the_stores_unavailable_errors_are_the_transient_ones() -> None:
    from modpipe.topics import BrokerUnreachable
    from retention.exceptions import IntegrityError, StorageError, TransientStorageError
    from review.queue.exceptions import SearchRejected, SearchUnavailable

    assert all(issubclass(c, TransientError) for c in (TransientStorageError, SearchUnavailable, BrokerUnreachable))
    assert all(issubclass(c, TerminalError) for c in (StorageError, IntegrityError, SearchRejected))


def test_no_package_uses_the_test_clock() -> None:
    # FixedClock can be moved by whoever holds it; production code pins a moment with PinnedClock instead.
    users = [
        str(path)
        for package in PACKAGES
        for path in Path(importlib.import_module(package).__path__[0]).rglob("*.py")
        if path.name != "clock.py" and "FixedClock" in path.read_text(encoding="utf-8")
    ]
    assert users == []


def test_importing_the_review_desk_computes_no_password_hash() -> None:
    # An argon2 hash at import cost every `modpipe` start tens of milliseconds.
    code = (
        "import argon2\n"
        "calls = []\n"
        "original = argon2.PasswordHasher.hash\n"
        "argon2.PasswordHasher.hash = lambda self, *a, **k: calls.append(1) or original(self, *a, **k)\n"
        "import review.desk.users, review.desk.app\n"
        "print(len(calls))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "0"


# A fresh interpreter whose os.environ records every read made while the packages named in argv are imported,
# module by module; prints the keys our own code read and how many modules it imported.
_IMPORT_PROBE = """
import json, os, sys
reads = []
# Where a read is made on behalf of its caller: this spy, os.getenv and the Mapping methods os.environ inherits.
# (os and _collections_abc may be frozen into the interpreter, under names of their own)
ACCESSORS = ("<string>", "<frozen os>", "<frozen _collections_abc>", os.__file__,
             os.path.join(os.path.dirname(os.__file__), "_collections_abc.py"))
def note(key):
    # Only reads our own code makes: the first frame past the accessors is the reader, and libraries (the standard
    # library's zoneinfo and sysconfig, site-packages that copy the whole environment) read for themselves.
    frame = sys._getframe(2)
    while frame is not None and frame.f_code.co_filename in ACCESSORS:
        frame = frame.f_back
    where = "" if frame is None else frame.f_code.co_filename
    if not where.startswith((sys.base_prefix, "<frozen")) and "site-packages" not in where:
        reads.append(key)
class Spy(os._Environ):
    def __getitem__(self, key):
        note(key)
        return super().__getitem__(key)
    def get(self, key, default=None):
        note(key)
        return super().get(key, default)
    def __contains__(self, key):
        note(key)
        return super().__contains__(key)
spy = Spy(os.environ._data, os.environ.encodekey, os.environ.decodekey, os.environ.encodevalue, os.environ.decodevalue)
os.environ = spy
import importlib, pkgutil
modules = 0
for package in sys.argv[1:]:
    root = importlib.import_module(package)
    modules += 1
    for info in pkgutil.walk_packages(root.__path__, package + "."):
        if not info.name.endswith("__main__"):  # running the CLI is not importing it
            importlib.import_module(info.name)
            modules += 1
print(json.dumps({"reads": sorted(set(reads)), "modules": modules}))
"""


def _reads_at_import(packages: tuple[str, ...], path: Path | None = None) -> dict[str, object]:
    env = {**os.environ, "MODPIPE__KAFKA__BOOTSTRAP": "", "MODPIPE_CONFIG_DIR": "/nonexistent"}
    if path is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(path), str(REPO)])
    done = subprocess.run(
        [sys.executable, "-c", _IMPORT_PROBE, *packages], cwd=REPO, env=env, check=False, capture_output=True,
        text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    found: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def test_no_package_reads_the_environment_at_import() -> None:
    # Every module of every package: settings come from load_settings at call time, so tests and tools can build
    # them from any mapping; any variable counts, not only MODPIPE ones.
    found = _reads_at_import(PACKAGES)
    assert found["reads"] == []
    assert isinstance(found["modules"], int)
    assert found["modules"] > 100  # the walk really imported the packages' modules


def test_the_import_probe_sees_reads_in_submodules(tmp_path: Path) -> None:
    deep = tmp_path / "envprobe" / "sub"
    deep.mkdir(parents=True)
    (tmp_path / "envprobe" / "__init__.py").write_text("", encoding="utf-8")
    (deep / "__init__.py").write_text("", encoding="utf-8")
    (deep / "reads.py").write_text(
        "import os\nA = os.environ.get('MODPIPE__PROBE')\nB = os.getenv('PROBE_OTHER')\nC = 'PROBE_IN' in os.environ\n",
        encoding="utf-8",
    )
    assert _reads_at_import(("envprobe",), tmp_path) == {
        "reads": ["MODPIPE__PROBE", "PROBE_IN", "PROBE_OTHER"], "modules": 3,
    }  # fmt: skip
