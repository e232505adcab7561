"""The records worker's checkpoint timer writes on the sweep's thread; a failure is logged, never raised."""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import retention.checkpoint
from modpipe.clock import FixedClock
from modpipe.settings import load_settings
from pipeline.agents import run_checkpoint
from pipeline.context import WorkerContext
from retention.checkpoint_keys import generate, load_signing_key

NOW = datetime(2026, 12, 1, 8, tzinfo=UTC)


def test_checkpoints_run_on_the_sweep_thread_and_failures_are_logged(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    generate(tmp_path / "k")
    settings = load_settings(environ={}, overrides={"records.checkpoint_key_file": str(tmp_path / "k")})
    key = load_signing_key(settings)
    ctx = WorkerContext(settings, "w", ("records",), FixedClock(NOW))
    executor = ThreadPoolExecutor(1, thread_name_prefix="modpipe-sweep")
    seen: list[tuple[str, Any]] = []
    outcomes = iter([RuntimeError("S3 down"), None])

    def fake_write(_settings: Any, _store: Any, clock: Any, signing: Any) -> dict[str, Any]:
        seen.append((threading.current_thread().name, signing))
        outcome = next(outcomes)
        if outcome is not None:
            raise outcome
        return {"seq": 1, "tree_size": 3, "root": "ab" * 32, "time": clock.now().isoformat()}

    monkeypatch.setattr(retention.checkpoint, "write_checkpoint", fake_write)
    try:
        with caplog.at_level(logging.INFO, logger="modpipe.worker"):
            asyncio.run(run_checkpoint(ctx, executor, key))
            assert "records checkpoint failed" in caplog.text
            asyncio.run(run_checkpoint(ctx, executor, key))
            assert "checkpoint 1 written: 3 manifest versions" in caplog.text
    finally:
        executor.shutdown(wait=True)
        ctx.close()
    assert [name.startswith("modpipe-sweep") for name, _ in seen] == [True, True]
    assert all(signing is key for _, signing in seen)
    assert (tmp_path / "k").read_text() not in caplog.text
