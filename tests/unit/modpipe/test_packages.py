"""What holds across every package: one error taxonomy (each error class is transient or terminal, so retrying
code catches TransientError alone), and no test clock in production code."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import subprocess
import sys
from pathlib import Path

from modpipe.errors import ModpipeError, TerminalError, TransientError

PACKAGES = ("modpipe", "pipeline", "classifiers", "retention", "review", "measures", "reports")


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
