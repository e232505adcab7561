"""Where the moderation agent's CPU work runs: validating, classifying and serialising a batch.

The worker's event loop consumes and publishes. In one process it shares a core with the classifier through the
GIL: py-spy showed the loop and the classifying thread taking turns, neither ever running beside the other. With
`worker.processes` >= 1 the work runs in child processes that each load the model once, and a batch is split
across them; 0 keeps it in a thread of the worker (less memory, for small deployments and debugging). Each child
gets a copy of the worker's clock: a clock moved by a test moves only in the worker, so such tests use 0.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import pickle
import shutil
import signal
import tempfile
import threading
import time
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from measures.gateview import Gate
from modpipe.clock import Clock
from modpipe.contracts.intake import RawMessage
from modpipe.settings import Settings
from pipeline.moderation import Encoded, ModerationProcessor

log = logging.getLogger(__name__)
_PARENT_CHECK_S = 0.5
# Fewer messages than this per child and the hand-over costs more than the child saves.
_MIN_CHUNK = 64
# The processor of a classifying child process, loaded once by its initializer.
_child: dict[str, ModerationProcessor] = {}


def _load(settings: Settings, clock: Clock) -> None:
    from classifiers.reload import Reloader
    from pipeline.logs import json_handler

    # Ctrl-C reaches the whole process group: the worker stops its children itself, after a graceful stop. Left
    # to the signal, they would die mid-shutdown and the worker would start new ones.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A worker killed outright (SIGKILL, the OOM killer) cannot stop its children, and a child blocked on its
    # queue never notices: it would live on, holding its model, re-parented to init.
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True, name="parent-watch").start()

    # A spawned child starts with no logging set up: its reload lines go out as JSON like the worker's own.
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(json_handler(logging.INFO))
        root.setLevel(logging.INFO)
    # Each child checks for a new lexicon or model before each share of a batch it is given.
    reloader = Reloader(settings, clock)
    _child["processor"] = ModerationProcessor(settings, reloader.current(), clock, reloader)


def _exit_with_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(_PARENT_CHECK_S)
    os._exit(0)


# The gate view a child loaded last, by version: it is read from a file once per change, not sent with each batch
# (10,000 barred subjects take ~40 ms to pickle and unpickle, several per cent of a batch's time).
_child_gate: dict[str, Any] = {"version": None, "gate": None}


def _work(
    batch: list[RawMessage], gate_file: tuple[int, str] | None, partitions: dict[str, int] | None = None
) -> Encoded:
    gate: Gate | None = None
    if gate_file is not None:
        version, path = gate_file
        if _child_gate["version"] != version:
            _child_gate["gate"] = pickle.loads(Path(path).read_bytes())  # noqa: S301 - written by our parent
            _child_gate["version"] = version
        gate = _child_gate["gate"]
    return _child["processor"].process_encoded(batch, gate, partitions)


def _ready() -> int:
    return os.getpid()


class Moderator:
    def __init__(self, settings: Settings, clock: Clock, processes: int, thread: Executor) -> None:
        from classifiers.loading import prepare as prepare_model

        self.processes = processes
        self._gate_dir: Path | None = None
        self._gate_written: int | None = None
        self._restart = asyncio.Lock()
        self._local: ModerationProcessor | None = None
        self._executor: Executor
        if processes == 0:
            from classifiers.reload import Reloader

            reloader = Reloader(settings, clock)
            self._local = ModerationProcessor(settings, reloader.current(), clock, reloader)
            self._executor = thread
            return
        # Trained here once if missing, so that the children do not all train it at the same time.
        prepare_model(settings)
        self._pool_args = (settings, clock)
        self._executor = self._start_pool()

    def _start_pool(self) -> ProcessPoolExecutor:
        # spawn, not fork: forking a process that already runs threads (faust's consumer, the executor) can copy
        # a lock in its held state into the child.
        context = multiprocessing.get_context("spawn")
        pool = ProcessPoolExecutor(self.processes, mp_context=context, initializer=_load, initargs=self._pool_args)
        # Start the children and load the model now, before the worker joins its group, not on the first batch.
        for future in [pool.submit(_ready) for _ in range(self.processes)]:
            future.result()
        return pool

    def _gate_file(self, gate: Gate | None, version: int) -> tuple[int, str] | None:
        """The view as a file for the children, written once per version; a few older ones stay for children still
        working on an earlier batch."""
        if gate is None:
            return None
        if self._gate_dir is None:
            self._gate_dir = Path(tempfile.mkdtemp(prefix="modpipe-gate-"))
        path = self._gate_dir / f"gate-{version}.pickle"
        if self._gate_written != version:
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(pickle.dumps(dict(gate), protocol=pickle.HIGHEST_PROTOCOL))
            tmp.replace(path)
            self._gate_written = version
            for old in self._gate_dir.glob("gate-*.pickle"):
                if int(old.stem.split("-")[1]) < version - 8:
                    old.unlink(missing_ok=True)
        return version, str(path)

    async def process(
        self,
        batch: list[RawMessage],
        gate: Gate | None = None,
        version: int = 0,
        partitions: dict[str, int] | None = None,
    ) -> Encoded:
        """`gate`: who may not post (measures.gateview), at `version` (it changes whenever the view does);
        `partitions`: the output topics' partition counts, to have the outputs grouped by partition (Routed)."""
        loop = asyncio.get_running_loop()
        if self._local is not None:
            return await loop.run_in_executor(self._executor, self._local.process_encoded, batch, gate, partitions)
        gate_file = self._gate_file(gate, version)
        parts = max(1, min(self.processes, len(batch) // _MIN_CHUNK))
        size = -(-len(batch) // parts)
        chunks = [batch[i : i + size] for i in range(0, len(batch), size)]
        pool = self._executor
        try:
            results = await asyncio.gather(
                *(loop.run_in_executor(pool, _work, c, gate_file, partitions) for c in chunks)
            )
        except BrokenProcessPool:
            # A child died (the kernel's OOM killer, a crash in native code): start fresh ones and try the batch
            # once more. Dying again on the same batch is not a passing accident: let it stop the worker.
            async with self._restart:
                if self._executor is pool:  # not already replaced for another batch that saw the same death
                    log.warning("a classifying process died; starting new ones and retrying the batch")
                    pool.shutdown(wait=False, cancel_futures=True)
                    self._executor = await loop.run_in_executor(None, self._start_pool)
            results = await asyncio.gather(
                *(loop.run_in_executor(self._executor, _work, c, gate_file, partitions) for c in chunks)
            )
        merged = Encoded()
        for result in results:
            merged.extend(result)
        return merged

    def close(self) -> None:
        if self._local is None:
            self._executor.shutdown(wait=True, cancel_futures=True)
        if self._gate_dir is not None:
            shutil.rmtree(self._gate_dir, ignore_errors=True)
