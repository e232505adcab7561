"""Build a worker: one faust app per agent, its web pages (/healthz, /metrics) and its timers.

One consumer group per agent (`modpipe-<agent>`), whatever else a worker runs: every worker running an agent shares
that agent's partitions and its committed offsets, so starting one worker with a different set of agents never
forms a new group that re-reads history. A faust app has exactly one consumer group, hence one app per agent, all
in one process and one event loop; the first one serves the web pages for all of them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import faust
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from modpipe.clock import Clock, SystemClock
from modpipe.settings import Settings
from modpipe.settings.models import AgentName
from modpipe.topics import output_limits
from pipeline.context import WorkerContext
from pipeline.health import broker_problem
from pipeline.registry import REGISTRY
from pipeline.transport import WorkerApp


def group_id(agent: str) -> str:
    """The consumer group of one agent, the same in every worker that runs it."""
    return f"modpipe-{agent}"


def create_apps(
    settings: Settings,
    agents: Sequence[AgentName],
    *,
    worker_id: str | None = None,
    web_port: int | None = None,
    clock: Clock | None = None,
    loghandlers: Sequence[logging.Handler] = (),
) -> tuple[list[faust.App], WorkerContext]:
    """One app per agent, in the order given; the first serves the worker's web pages."""
    ctx = WorkerContext(
        settings=settings,
        worker_id=worker_id or settings.worker.id,
        agents=tuple(dict.fromkeys(agents)),
        clock=clock or SystemClock(),
    )
    if not ctx.agents:
        raise ValueError("a worker needs at least one agent")
    apps: list[faust.App] = []
    for name in ctx.agents:
        port = (web_port or settings.worker.web_port) if not apps else None
        app = build_app(ctx, name, web_port=port, loghandlers=loghandlers)
        REGISTRY[name](app, ctx)
        apps.append(app)
    _add_pages(apps, ctx)
    return apps, ctx


def build_app(
    ctx: WorkerContext, group: str, *, web_port: int | None, loghandlers: Sequence[logging.Handler] = ()
) -> faust.App:
    """A faust app with the worker's Kafka settings in consumer group `modpipe-<group>`; web pages only with a
    port."""
    settings = ctx.settings
    kafka = settings.kafka
    datadir = Path(settings.stack.home) / "faust" / ctx.worker_id / group
    datadir.mkdir(parents=True, exist_ok=True)
    biggest_batch = max(settings.worker.batch_size, settings.records.batch_max_records)
    return WorkerApp(
        group_id(group),
        fetch_max_wait_ms=kafka.fetch_max_wait_ms,
        drain=settings.worker.drain,
        commit=settings.worker.commit,
        broker=[f"kafka://{server}" for server in kafka.servers],
        broker_client_id=f"{kafka.client_id}-{ctx.worker_id}",
        broker_session_timeout=kafka.session_timeout_ms / 1000,
        broker_heartbeat_interval=1.0,
        broker_request_timeout=kafka.request_timeout_ms / 1000,
        broker_commit_interval=1.0,
        # A new consumer group must read every message ever published: nothing may go unmoderated.
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        # A verdict is ~1.5 KB: the default 16 KB batch would send a batch's verdicts in dozens of requests, and
        # each produce request is a storage write on the broker. One request per partition per batch instead.
        producer_max_batch_size=1_048_576,
        # Room for the largest verdict or dead letter the output topics are sized for (modpipe.topics).
        producer_max_request_size=max(8_388_608, *output_limits(settings).values()),
        # Topics are created by `modpipe topics ensure`; the leader topic is not needed without tables.
        topic_allow_declare=False,
        topic_disable_leader=True,
        stream_buffer_maxsize=max(4096, 2 * biggest_batch),
        web_enabled=web_port is not None,
        web_bind=settings.worker.web_host,
        web_host=settings.worker.web_host,
        web_port=web_port or settings.worker.web_port,
        datadir=str(datadir),
        autodiscover=False,
        store="memory://",
        loghandlers=list(loghandlers),
    )


def _add_pages(apps: Sequence[faust.App], ctx: WorkerContext) -> None:
    app = apps[0]
    worker = ctx.settings.worker
    client_id = f"{ctx.settings.kafka.client_id}-{ctx.worker_id}-health"
    # Shorter than the interval, so a broker that accepts and never answers does not make the checks overlap.
    check_timeout_s = 0.75 * worker.health_check_interval_s

    @app.timer(worker.health_check_interval_s)  # type: ignore[untyped-decorator]
    async def check_broker() -> None:
        try:
            problem = await broker_problem(ctx.settings.kafka.servers, check_timeout_s, client_id)
        except Exception as exc:  # noqa: BLE001 - a check that breaks is a failed check, never a dead timer
            problem = f"broker check failed: {exc!r}"
        ctx.broker.record(problem)

    @app.page("/healthz")
    async def healthz(web: Any, request: Any) -> Any:
        # Per agent, its group and the partitions it holds; "assigned" is their union, for a quick look.
        groups = {
            name: {
                "group": group_id(name),
                "assigned": sorted(f"{tp.topic}:{tp.partition}" for tp in agent_app.consumer.assignment()),
            }
            for name, agent_app in zip(ctx.agents, apps, strict=True)
        }
        reason = ctx.broker.unhealthy_reason()
        body = {
            "status": "ok" if reason is None else "unhealthy",
            "worker": ctx.worker_id,
            "agents": list(ctx.agents),
            "groups": groups,
            "assigned": sorted({tp for g in groups.values() for tp in g["assigned"]}),
            "uptime_s": round(time.monotonic() - ctx.started_at, 1),
            "broker": ctx.broker.snapshot(),
        }
        if reason is not None:
            body["reason"] = reason
        return web.json(body, status=200 if reason is None else 503)

    @app.page("/metrics")
    async def metrics(web: Any, request: Any) -> Any:
        for name, agent_app in zip(ctx.agents, apps, strict=True):
            try:
                ctx.lag.export(name, agent_app.consumer)
            except Exception:  # a consumer not started yet has no lag to show; the other agents still do
                logging.getLogger("modpipe.worker").debug("no lag for %s yet", name, exc_info=True)
        return web.bytes(generate_latest(ctx.metrics.registry), content_type=CONTENT_TYPE_LATEST.split(";")[0])
