"""The worker's consumer: its fetch wait from the settings, not faust's fixed 1500 ms; its batch drain, and the
upstream code that drain stands in for."""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import importlib.metadata
import inspect
from collections.abc import AsyncIterator
from typing import Any

import pytest
from faust.types import TP, Message

from pipeline.transport import WorkerApp


def test_the_consumer_is_built_with_the_configured_fetch_wait() -> None:
    async def build() -> int:
        app = WorkerApp("t", broker="kafka://127.0.0.1:1", fetch_max_wait_ms=42, autodiscover=False, store="memory://")
        thread = app.consumer._thread
        consumer = thread._create_worker_consumer(app.transport)
        try:
            wait: int = consumer._fetch_max_wait_ms
            return wait
        finally:
            await consumer.stop()
            thread.thread_loop.close()  # the thread was never started, so it never closes its own loop

    assert asyncio.run(build()) == 42


# sha256 of inspect.getsource of the upstream code the batch drain (pipeline/transport.py) stands in for or relies
# on, in faust-streaming 0.15.3 and mode-streaming 0.7.1 (the versions pyproject.toml and uv.lock pin).
UPSTREAM = {
    # overridden: _Consumer._drain_messages copies its per-message step
    "faust.transport.consumer.Consumer._drain_messages": (
        "44a2500309e83c630493f6828af50166ec8d96a0b3e4fb2bab735f704ae93417"
    ),
    # relied on: the fetch is the generator's first step, later steps only walk records already in memory
    "faust.transport.consumer.Consumer.getmany": "4b168d84882a70d6e3e2f9804430a63b92f8fd117d3187cbb4aeb54305bda34e",
    # relied on: returns (does not raise) when the flow is suspended or the service stops, cancelling the rest
    "mode.services.Service.wait_first": "feade6a31f8a67897cf687c54c66f5f4535288050bbaac07249ce2063d36ae2e",
}


def upstream_hash(path: str) -> str:
    module, cls, name = path.rsplit(".", 2)
    method = getattr(getattr(importlib.import_module(module), cls), name)
    return hashlib.sha256(inspect.getsource(method).encode()).hexdigest()


@pytest.mark.parametrize("path", sorted(UPSTREAM))
def test_the_upstream_code_the_batch_drain_stands_in_for_is_unchanged(path: str) -> None:
    # If this fails after an upgrade: re-read the new code, carry its changes into pipeline/transport.py (or drop
    # the override), then record the new hash and version.
    assert upstream_hash(path) == UPSTREAM[path], f"{path} changed upstream: re-read it against pipeline/transport.py"


def test_faust_is_pinned_to_the_version_the_override_was_written_for() -> None:
    assert importlib.metadata.version("faust-streaming") == "0.15.3"


def message(topic: str, partition: int, offset: int) -> Message:
    return Message(topic, partition, offset, 0.0, 0, None, b"k", b"v", None)


async def drain(batch: list[Message], *, suspend_after: int | None = None) -> tuple[list[int], Any]:
    """Drain one fetched batch through the worker's consumer with a recording callback; returns the offsets the
    callback saw and the consumer (its read offsets)."""
    app = WorkerApp("t", broker="kafka://127.0.0.1:1", fetch_max_wait_ms=42, autodiscover=False, store="memory://")
    consumer = app.consumer
    seen: list[int] = []

    async def callback(msg: Message) -> None:
        seen.append(msg.offset)
        if suspend_after is not None and len(seen) == suspend_after:
            consumer.stop_flow()  # what a rebalance does
            await asyncio.sleep(0.05)  # the callback is still running when the flow is suspended

    async def fetched() -> AsyncIterator[tuple[TP, Message]]:
        for m in batch:
            yield m.tp, m

    consumer.callback = callback
    try:
        await consumer._drain_batch(fetched())
    finally:
        consumer._thread.thread_loop.close()
    return seen, consumer


def test_the_batch_drain_hands_over_every_message_in_order_and_records_read_offsets() -> None:
    batch = [message("a", 0, 5), message("b", 1, 7), message("a", 0, 6), message("a", 0, 4)]
    seen, consumer = asyncio.run(drain(batch))
    # offset 4 of a:0 comes after 6 was read: faust drops it, and so does the batch drain
    assert seen == [5, 7, 6]
    assert consumer._read_offset[TP("a", 0)] == 6
    assert consumer._read_offset[TP("b", 1)] == 7


def test_a_suspended_flow_stops_the_rest_of_the_batch() -> None:
    batch = [message("a", 0, n) for n in range(10)]
    seen, consumer = asyncio.run(drain(batch, suspend_after=3))
    assert seen == [0, 1, 2]
    # as in faust, the message whose callback was cut short counts as read; a rebalance seeks back to the
    # committed offsets before the flow resumes, so the rest is fetched again
    assert consumer._read_offset[TP("a", 0)] == 2


def test_a_due_commit_runs_beside_the_drain_and_the_batch_goes_on() -> None:
    async def run(commit_mode: str) -> list[str]:
        app = WorkerApp(
            "t", broker="kafka://127.0.0.1:1", fetch_max_wait_ms=42, autodiscover=False, store="memory://",
            commit=commit_mode,
        )  # fmt: skip
        consumer: Any = app.consumer
        events: list[str] = []

        async def callback(msg: Message) -> None:
            events.append(f"msg {msg.offset}")

        async def commit(*args: Any, **kwargs: Any) -> bool:
            events.append("commit started")
            await asyncio.sleep(0.05)  # awaiting producer.flush(): the outputs still in flight
            events.append("commit done")
            return True

        async def fetched() -> AsyncIterator[tuple[TP, Message]]:
            for n in range(4):
                yield TP("a", 0), message("a", 0, n)

        consumer.callback = callback
        consumer.commit = commit  # type: ignore[method-assign]
        consumer._commit_every = 2
        consumer._n_acked = 2  # due at the first message
        try:
            await consumer._drain_batch(fetched())
            if consumer._background_commit is not None:
                await consumer._background_commit
        finally:
            consumer._thread.thread_loop.close()
        return events

    # background: the drain hands over the whole batch while the commit waits; inline: it waits with it
    assert asyncio.run(run("background")) == ["msg 0", "msg 1", "msg 2", "msg 3", "commit started", "commit done"]
    assert asyncio.run(run("inline")) == ["commit started", "commit done", "msg 0", "msg 1", "msg 2", "msg 3"]
