"""Whether a worker can reach its broker, for /healthz: the worker asks the broker itself, on a timer.

faust and aiokafka retry a lost broker forever and log each attempt, and nothing they expose says "the broker is
gone": through a 20 s outage the worker kept answering /healthz with "ok". Traffic is no measure either, since a
quiet topic fetches nothing for hours. So every `worker.health_check_interval_s` the worker opens a connection of
its own and sends a Metadata request (no topics: the answer is the broker list, a few hundred bytes), timing out
after three quarters of the interval; /healthz is unhealthy once no check succeeded for `worker.health_grace_s`,
and healthy again with the first answer.
"""

from __future__ import annotations

import asyncio
import threading
from datetime import datetime, timedelta

from aiokafka.conn import create_conn
from aiokafka.errors import KafkaError
from aiokafka.protocol.metadata import MetadataRequest

from modpipe.clock import Clock


class BrokerHealth:
    """The outcome of the last broker checks; thread-safe, so a check may run anywhere."""

    def __init__(self, grace_s: float, clock: Clock) -> None:
        self.grace = timedelta(seconds=grace_s)
        self._clock = clock
        self._lock = threading.Lock()
        # The worker checked the broker before it started (pipeline.runner.preflight): that is the first answer.
        self._last_ok: datetime = clock.now()
        self._last_check: datetime | None = None
        self._problem: str | None = None

    def record(self, problem: str | None) -> None:
        """Note a check's outcome: None when the broker answered, else what went wrong."""
        now = self._clock.now()
        with self._lock:
            self._last_check = now
            self._problem = problem
            if problem is None:
                self._last_ok = now

    def unhealthy_reason(self) -> str | None:
        """None while the broker answered within the grace period, else why the worker is unhealthy."""
        now = self._clock.now()
        with self._lock:
            silent = now - self._last_ok
            if silent <= self.grace:
                return None
            if self._problem is None:
                # The checks themselves stopped (a blocked event loop would not answer /healthz at all).
                return f"no broker check has succeeded for {silent.total_seconds():.0f}s and none has failed"
            return f"broker unreachable for {silent.total_seconds():.0f}s: {self._problem}"

    def snapshot(self) -> dict[str, float | str | None]:
        """For /healthz: how long ago the broker last answered, and the last problem."""
        now = self._clock.now()
        with self._lock:
            return {
                "last_answer_s_ago": round((now - self._last_ok).total_seconds(), 1),
                "last_check_s_ago": None
                if self._last_check is None
                else round((now - self._last_check).total_seconds(), 1),
                "last_problem": self._problem,
            }


async def broker_problem(servers: list[str], timeout_s: float, client_id: str) -> str | None:
    """Ask each bootstrap server for metadata until one answers: None then, else what each one said."""
    problems = []
    for server in servers:
        host, _, port = server.rpartition(":")
        problem = await _ask(host, int(port), timeout_s, client_id)
        if problem is None:
            return None
        problems.append(f"{server}: {problem}")
    return "; ".join(problems)


async def _ask(host: str, port: int, timeout_s: float, client_id: str) -> str | None:
    conn = None
    try:
        async with asyncio.timeout(timeout_s):
            conn = await create_conn(host, port, client_id=client_id, request_timeout_ms=int(timeout_s * 1000))
            metadata = await conn.send(MetadataRequest([]))
    except TimeoutError:
        return f"no answer within {timeout_s:g}s"
    except (OSError, KafkaError) as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        if conn is not None:
            conn.close()
    if not metadata.brokers:
        return "the broker answered with no brokers"
    return None
