"""Start a worker: check the broker and the topics first, so a wrong setting fails fast and says which."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

import faust

from modpipe.net import kafka_answers, port_is_free
from modpipe.settings import Settings
from modpipe.settings.models import AgentName, WorkerSettings
from pipeline.exceptions import StartupError
from pipeline.logs import RepeatFilter, json_handler


def preflight(settings: Settings, agents: Sequence[AgentName], web_port: int) -> None:
    for server in settings.kafka.servers:
        host, _, port = server.rpartition(":")
        problem = kafka_answers(host, int(port))
        if problem is None:
            break
    else:
        raise StartupError(
            f"no Kafka broker answers at {settings.kafka.bootstrap} (setting kafka.bootstrap, "
            f"env MODPIPE__KAFKA__BOOTSTRAP): {problem}"
        )
    from modpipe.topics import admin_client

    admin = admin_client(settings)
    try:
        existing = set(admin.list_topics())
    finally:
        admin.close()
    needed = [t.name for t in settings.kafka.topics.all()]
    missing = [name for name in needed if name not in existing]
    if missing:
        raise StartupError(f"topics missing on {settings.kafka.bootstrap}: {missing}; run `modpipe topics ensure`")
    if not port_is_free(web_port):
        raise StartupError(
            f"web port {web_port} is in use (setting worker.web_port or --web-port): give each worker its own"
        )


def install_event_loop(worker: WorkerSettings) -> None:
    """Before any app or loop exists: the event loop of worker.event_loop for everything the process runs."""
    if worker.event_loop == "uvloop":
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


class JsonLogWorker(faust.Worker):
    """A faust worker whose every log line, its own and the libraries', is one JSON object, with repeating
    warnings and errors summed up (pipeline.logs.RepeatFilter)."""

    def __init__(self, *args: Any, repeats: RepeatFilter | None = None, **kwargs: Any) -> None:
        self.repeats = repeats
        super().__init__(*args, **kwargs)

    def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
        # mode installs a plain-text handler first; replace it so log shippers get one format only.
        logger.handlers[:] = [json_handler(level, self.repeats)]


def run_worker(settings: Settings, agents: Sequence[AgentName], worker_id: str, web_port: int) -> None:
    """Run until SIGTERM/SIGINT; faust commits what was acknowledged on the way out."""
    from pipeline.app import create_apps

    preflight(settings, agents, web_port)
    install_event_loop(settings.worker)
    apps, ctx = create_apps(settings, agents, worker_id=worker_id, web_port=web_port)
    repeats = RepeatFilter(settings.worker.log_repeat_interval_s, ctx.clock)

    @apps[0].timer(1.0)  # type: ignore[untyped-decorator]
    async def sum_up_repeats() -> None:
        repeats.flush()

    # The other agents' apps start and stop with the first, as services of the same worker.
    worker = JsonLogWorker(apps[0], *apps[1:], loglevel="INFO", quiet=True, redirect_stdouts=False, repeats=repeats)
    logging.getLogger("modpipe").info("worker %s starting agents %s", worker_id, list(ctx.agents))
    try:
        worker.execute_from_commandline()
    finally:
        ctx.close()
