"""faust's Kafka transport, with the consumer's fetch wait taken from the settings.

faust builds its aiokafka consumer with `fetch_max_wait_ms=1500` and offers no setting for it. A broker may hold an
empty fetch that long, and the local broker (Tansu) holds it that long even when data arrives meanwhile: with the
hard-coded value, every verdict waited about a second before the agent saw its message (measured p50 517 ms from
publish to verdict, 168 ms at 50 ms).
"""

from __future__ import annotations

from typing import Any, ClassVar

import aiokafka
import faust
from faust.transport.drivers import aiokafka as driver
from faust.types import TransportT


class _ConsumerThread(driver.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: driver.Transport) -> aiokafka.AIOKafkaConsumer:
        consumer = super()._create_worker_consumer(transport)
        # aiokafka keeps the value until start(), where it hands it to its fetcher: set before the thread starts.
        consumer._fetch_max_wait_ms = self.app.fetch_max_wait_ms  # type: ignore[attr-defined]
        return consumer


class _Consumer(driver.Consumer):
    def _new_consumer_thread(self) -> driver.AIOKafkaConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class _Transport(driver.Transport):
    Consumer: ClassVar[Any] = _Consumer


class WorkerApp(faust.App):
    """A faust app whose consumer waits at most `fetch_max_wait_ms` for a fetch (kafka.fetch_max_wait_ms)."""

    def __init__(self, *args: Any, fetch_max_wait_ms: int, **kwargs: Any) -> None:
        self.fetch_max_wait_ms = fetch_max_wait_ms
        super().__init__(*args, **kwargs)

    def _new_transport(self) -> TransportT:
        return _Transport(self.conf.broker_consumer, self)
