"""What every agent of a worker shares: its settings, clock, metrics and the one thread for blocking work."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from modpipe.clock import Clock
from modpipe.settings import Settings
from modpipe.settings.models import AgentName
from pipeline.health import BrokerHealth
from pipeline.lag import LagTracker
from pipeline.metrics import Metrics


@dataclass
class WorkerContext:
    settings: Settings
    worker_id: str
    agents: tuple[AgentName, ...]
    clock: Clock
    metrics: Metrics = field(default_factory=Metrics)
    # One thread for blocking work (classifier, S3, Elasticsearch) keeps the event loop free and the work ordered.
    executor: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="modpipe"))
    started_at: float = field(default_factory=time.monotonic)
    closers: list[Callable[[], None]] = field(default_factory=list)
    lag: LagTracker = field(init=False)
    broker: BrokerHealth = field(init=False)

    def __post_init__(self) -> None:
        self.lag = LagTracker(self.metrics)
        self.broker = BrokerHealth(self.settings.worker.health_grace_s, self.clock)

    def close(self) -> None:
        for close in reversed(self.closers):
            close()
        self.executor.shutdown(wait=True)

    async def blocking(self, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)
