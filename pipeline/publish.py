"""Publishing a batch's outputs with one record batch per partition.

`producer.send` per record gives each record its own future, its own append and its own completion callback:
about a quarter of the worker's event-loop time went there (py-spy). aiokafka's batch API appends the records of
one partition to one batch and resolves one future when the broker acknowledges it (acks=all). Partitions are
chosen by aiokafka's default partitioner (murmur2 of the key, as the Java client), exactly as `send` would.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import Any

from aiokafka.partitioner import DefaultPartitioner

from pipeline.moderation import Outgoing


class BatchPublisher:
    def __init__(self, producer: Callable[[], Any]) -> None:
        """`producer` returns the started aiokafka producer (faust creates its own only when the worker starts)."""
        self._producer = producer
        self._partitioner = DefaultPartitioner()

    async def send(self, outgoing: Iterable[Outgoing]) -> list[asyncio.Future[Any]]:
        """Queue everything for sending; returns the futures of the broker's acknowledgements."""
        producer = self._producer()
        by_partition: dict[tuple[str, int], list[tuple[bytes | None, bytes]]] = {}
        partitions: dict[str, list[int]] = {}
        for topic, key, value in outgoing:
            if topic not in partitions:
                partitions[topic] = sorted(await producer.partitions_for(topic))
            known = partitions[topic]
            by_partition.setdefault((topic, self._partitioner(key, known, known)), []).append((key, value))
        futures: list[asyncio.Future[Any]] = []
        for (topic, partition), records in by_partition.items():
            batch = producer.create_batch()
            for key, value in records:
                if batch.append(key=key, value=value, timestamp=None) is None:
                    # Full: send it and start the next one, which always takes its first record, whatever its size.
                    futures.append(await producer.send_batch(batch, topic, partition=partition))
                    batch = producer.create_batch()
                    batch.append(key=key, value=value, timestamp=None)
            futures.append(await producer.send_batch(batch, topic, partition=partition))
        return futures
