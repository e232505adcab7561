"""The records worker's retention sweep runs on its own thread, and its failures and successes are metrics."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest

import retention
from modpipe.clock import FixedClock
from modpipe.settings import load_settings
from pipeline.agents import run_sweep
from pipeline.context import WorkerContext

NOW = datetime(2026, 12, 1, 8, tzinfo=UTC)


def test_failures_are_counted_and_success_is_stamped(monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = WorkerContext(load_settings(environ={}), "w", ("records",), FixedClock(NOW))
    sweeper = ThreadPoolExecutor(1, thread_name_prefix="modpipe-sweep")
    seen: list[str] = []
    outcomes = iter([RuntimeError("S3 down"), None])

    def fake_sweep(*_args: Any, **_kwargs: Any) -> None:
        seen.append(threading.current_thread().name)
        outcome = next(outcomes)
        if outcome is not None:
            raise outcome

    monkeypatch.setattr(retention, "sweep", fake_sweep)
    try:
        asyncio.run(run_sweep(ctx, sweeper))
        assert ctx.metrics.sweep_failures._value.get() == 1
        assert ctx.metrics.sweep_last_success._value.get() == 0
        asyncio.run(run_sweep(ctx, sweeper))
        assert ctx.metrics.sweep_last_success._value.get() == NOW.timestamp()
    finally:
        sweeper.shutdown(wait=True)
        ctx.close()
    # not the worker's executor, which stores the records
    assert all(name.startswith("modpipe-sweep") for name in seen)
