"""Publishing a batch's outputs with one record batch per partition.

`producer.send` per record gives each record its own future, its own append and its own completion callback:
about a quarter of the worker's event-loop time went there (py-spy). aiokafka's batch API appends the records of
one partition to one batch and resolves one future when the broker acknowledges it (acks=all). Partitions are
chosen by aiokafka's default partitioner (murmur2 of the key, as the Java client), exactly as `send` would: here,
or already in a classifying process (pipeline.moderation.Routed) for the partition counts `partition_counts` read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from aiokafka.partitioner import DefaultPartitioner

from pipeline.moderation import Outgoing, Routed


async def partition_counts(producer: Any, topics: Sequence[str]) -> dict[str, int] | None:
    """Each topic's partition count as the producer knows it; None when some topic's partitions are not numbered
    0..n-1 (then only the producer's own partitioner can choose)."""
    counts: dict[str, int] = {}
    for topic in topics:
        known = sorted(await producer.partitions_for(topic))
        if known != list(range(len(known))):
            return None
        counts[topic] = len(known)
    return counts


class BatchPublisher:
    def __init__(self, producer: Callable[[], Any]) -> None:
        """`producer` returns the started aiokafka producer (faust creates its own only when the worker starts)."""
        self._producer = producer
        self._partitioner = DefaultPartitioner()

    async def send(self, outgoing: Iterable[Outgoing] | Routed) -> list[asyncio.Future[Any]]:
        """Queue everything for sending; returns the futures of the broker's acknowledgements."""
        producer = self._producer()
        if isinstance(outgoing, Routed):
            # Partitions chosen for counts read before the batch was classified: a topic grown meanwhile would put
            # keys where the producer's partitioner no longer would, so those are chosen again here.
            current = await partition_counts(producer, sorted(outgoing.counts))
            if current == outgoing.counts:
                return await self._send_routed(producer, outgoing.records)
            outgoing = outgoing.flat()
        by_partition: dict[tuple[str, int], list[tuple[bytes | None, bytes]]] = {}
        partitions: dict[str, list[int]] = {}
        for topic, key, value in outgoing:
            if topic not in partitions:
                partitions[topic] = sorted(await producer.partitions_for(topic))
            known = partitions[topic]
            by_partition.setdefault((topic, self._partitioner(key, known, known)), []).append((key, value))
        return await self._send_routed(producer, by_partition)

    @staticmethod
    async def _send_routed(
        producer: Any, by_partition: dict[tuple[str, int], list[tuple[bytes | None, bytes]]]
    ) -> list[asyncio.Future[Any]]:
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
