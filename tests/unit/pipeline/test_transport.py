"""The worker's consumer takes its fetch wait from the settings, not faust's fixed 1500 ms."""

from __future__ import annotations

import asyncio

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
