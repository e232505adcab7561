"""Shared fixtures: the local stack (started once, on free ports, in a temporary folder) and leak guards."""

from __future__ import annotations

import gc
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from classifiers.lexicon import Lexicons, load_lexicons, shipped_lexicon_dir
from classifiers.recipes import train_folder
from modpipe.clock import SystemClock
from modpipe.settings import Settings, load_settings
from modpipe.stack.health import free_port
from modpipe.stack.manager import LocalStack, StackInfo
from tests.support import COLD_DIR, DATASETS, REPO, stack_overrides

__all__ = ["COLD_DIR", "DATASETS", "REPO", "stack_overrides"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/integration/" in str(item.path):
            item.add_marker(pytest.mark.integration)


def _resource_tracker(proc: Path) -> bool:
    # multiprocessing starts one resource tracker per interpreter with its first spawned process and keeps it
    # for the interpreter's life, by design: not a leak of the test that happened to start it.
    try:
        return b"multiprocessing.resource_tracker" in (proc / "cmdline").read_bytes()
    except OSError:
        return False


def _children() -> set[int]:
    me = str(os.getpid())
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[-1].split()
            if fields[1] == me and fields[0] != "Z" and not _resource_tracker(entry):
                found.add(int(entry.name))
    return found


@pytest.fixture(autouse=True)
def no_leaks(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a test that leaves threads or child processes running after it."""
    threads_before = set(threading.enumerate())
    children_before = _children()
    yield
    if request.node.get_closest_marker("integration") or request.node.get_closest_marker("browser"):
        # Tests with server connections: collect now, so an unclosed socket warns inside the test that left it
        # instead of inside whichever later test the collector happens to run in.
        gc.collect()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        leaked = [t for t in threading.enumerate() if t not in threads_before and t.is_alive()]
        children = _children() - children_before
        if not leaked and not children:
            return
        time.sleep(0.05)
    pytest.fail(f"{request.node.nodeid} leaked threads {[t.name for t in leaked]} / child processes {children}")


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackInfo]:
    home = tmp_path_factory.mktemp("stack")
    local = LocalStack(home, free_port(), free_port(), free_port(), broker_storage="s3", start_timeout_s=90)
    try:
        yield local.up()
    finally:
        local.down()
        leftovers = [s.name for s in local.status() if s.running]
        assert not leftovers, f"stack processes left running: {leftovers}"


@pytest.fixture(scope="session")
def settings(stack: StackInfo) -> Settings:
    """Settings pointing at the session's stack; environment variables ignored so runs are reproducible."""
    return load_settings(environ={}, overrides=stack_overrides(stack))


@pytest.fixture
def unique() -> str:
    """A short unique suffix for topic, bucket and index names, so tests sharing the stack never collide."""
    return f"{os.getpid()}-{time.monotonic_ns() % 10**9}"


# The classifier's inputs without a stack, shared by the classifier and the moderation tests.
@pytest.fixture(scope="session")
def clf_settings() -> Settings:
    return load_settings(environ={}, overrides={"classifier.datasets_dir": str(DATASETS)})


@pytest.fixture(scope="session")
def lexicons(clf_settings: Settings) -> Lexicons:
    return load_lexicons([shipped_lexicon_dir()], clf_settings.categories)


@pytest.fixture(scope="session")
def default_model_dir(tmp_path_factory: pytest.TempPathFactory, clf_settings: Settings) -> Path:
    """The default model (classifier.default_training: the corpus and the permissive public sets), trained once for
    the whole session; the stack's workers get a copy instead of training their own."""
    folder = tmp_path_factory.mktemp("default-model") / "model"
    train_folder(clf_settings, [], folder, SystemClock())
    return folder
