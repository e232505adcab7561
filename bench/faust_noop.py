"""A faust worker that only takes batches and lets them be acknowledged: what faust itself costs per message.

Run by pipeline_bench.py with the real worker's app (`build_app`, no agent of its own), batch size and timeout, so
the gap between this and a bare kafka-python consumer is the framework's, and the gap between this and the
moderation worker is ours. Writes {"messages": n, "seconds": s} to OUT once `count` messages were taken,
timed from the first batch.

    python bench/faust_noop.py OUT COUNT WEB_PORT   (settings from MODPIPE__ environment variables)
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import faust

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from modpipe.clock import SystemClock
from modpipe.settings import load_settings
from pipeline.app import build_app
from pipeline.context import WorkerContext
from pipeline.runner import install_event_loop


def main() -> None:
    out, count, port = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    settings = load_settings()
    kafka, worker = settings.kafka, settings.worker
    install_event_loop(worker)  # the worker's levers (worker.drain, worker.event_loop, worker.take) apply here too
    # The worker's own app, with no agents of its own: every faust and Kafka setting is the real worker's.
    ctx = WorkerContext(settings, "faust-noop", (), SystemClock())
    app = build_app(ctx, "bench-noop", web_port=port)
    source = app.topic(*(t.name for t in kafka.topics.inputs()), key_serializer="raw", value_serializer="raw")
    seen = {"n": 0, "first": 0.0}

    @app.agent(source)
    async def noop(stream: Any) -> None:
        noack = worker.take == "noack"
        take = stream.noack_take if noack else stream.take_events
        async for events in take(worker.batch_size, within=worker.batch_timeout_s):
            if noack:
                for event in events:
                    await stream.ack(event)
            if not seen["n"]:
                seen["first"] = time.monotonic()
            seen["n"] += len(events)
            if seen["n"] >= count and not seen.get("written"):
                seen["written"] = 1
                result = {"messages": seen["n"], "seconds": time.monotonic() - seen["first"]}
                out.write_text(json.dumps(result))  # noqa: ASYNC240 - once, a few bytes, at the end of the run

    try:
        faust.Worker(app, loglevel="WARNING", quiet=True, redirect_stdouts=False).execute_from_commandline()
    finally:
        ctx.close()


if __name__ == "__main__":
    main()
