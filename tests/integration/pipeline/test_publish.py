"""Batch publishing against the real broker: every record lands once, in the partition `send` would choose."""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaProducer
from kafka import KafkaConsumer, TopicPartition
from kafka.partitioner.default import murmur2

from modpipe.settings import Settings
from modpipe.topics import admin_client
from pipeline.moderation import Outgoing, Routed
from pipeline.publish import BatchPublisher, partition_counts


def create(settings: Settings, names: list[str], partitions: int) -> None:
    from kafka.admin import NewTopic

    admin = admin_client(settings)
    try:
        admin.create_topics([NewTopic(n, partitions, 1) for n in names])
    finally:
        admin.close()


def read(settings: Settings, name: str, want: int) -> list[tuple[int, bytes | None, bytes]]:
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka.servers, enable_auto_commit=False)
    try:
        consumer.assign([TopicPartition(name, p) for p in consumer.partitions_for_topic(name) or ()])
        consumer.seek_to_beginning()
        got: list[tuple[int, bytes | None, bytes]] = []
        for _ in range(50):
            for records in consumer.poll(timeout_ms=200).values():
                got.extend((r.partition, r.key, r.value) for r in records)
            if len(got) >= want:
                break
        return got
    finally:
        consumer.close()


def test_records_land_once_each_in_the_key_partition_across_several_batches(settings: Settings, unique: str) -> None:
    keyed, unkeyed = f"pub-keyed-{unique}", f"pub-unkeyed-{unique}"
    create(settings, [keyed, unkeyed], 4)
    # ~600 bytes each against a 16 KB batch: each partition needs several batches.
    outgoing: list[Outgoing] = [(keyed, f"m-{i:05d}".encode(), f"v{i:05d}".encode() * 100) for i in range(400)]
    outgoing += [(unkeyed, None, f"dead letter {i}".encode()) for i in range(30)]

    async def publish() -> int:
        producer = AIOKafkaProducer(bootstrap_servers=settings.kafka.servers, acks="all", max_batch_size=16384)
        await producer.start()
        try:
            acks = await BatchPublisher(lambda: producer).send(outgoing)
            await asyncio.gather(*acks)
            return len(acks)
        finally:
            await producer.stop()

    batches = asyncio.run(publish())
    assert batches > 8  # at least two per partition of the keyed topic, plus the unkeyed one
    got = read(settings, keyed, 400)
    assert sorted((k, v) for _, k, v in got) == sorted((k, v) for _, k, v in outgoing[:400])
    for partition, key, _ in got:
        assert key is not None
        assert partition == (murmur2(key) & 0x7FFFFFFF) % 4
    assert sorted(v for _, _, v in read(settings, unkeyed, 30)) == sorted(v for _, _, v in outgoing[400:])


def test_records_partitioned_in_advance_land_where_send_would_put_them_unless_the_topic_changed(
    settings: Settings, unique: str
) -> None:
    name = f"pub-routed-{unique}"
    create(settings, [name], 4)
    keys = [f"r-{i:04d}".encode() for i in range(200)]
    right, stale = Routed({name: 4}), Routed({name: 3})  # stale: counts read before the topic had 4 partitions
    for i, key in enumerate(keys):
        right.add(name, key, f"right {i}".encode())
        stale.add(name, key, f"stale {i}".encode())

    async def publish() -> tuple[dict[str, int] | None, int]:
        producer = AIOKafkaProducer(bootstrap_servers=settings.kafka.servers, acks="all")
        await producer.start()
        try:
            counts = await partition_counts(producer, [name])
            acks = [*await BatchPublisher(lambda: producer).send(right)]
            acks += await BatchPublisher(lambda: producer).send(stale)
            await asyncio.gather(*acks)
            return counts, len(acks)
        finally:
            await producer.stop()

    counts, _ = asyncio.run(publish())
    assert counts == {name: 4}
    got = read(settings, name, 2 * len(keys))
    assert len(got) == 2 * len(keys)
    for partition, key, _ in got:
        assert key is not None
        assert partition == (murmur2(key) & 0x7FFFFFFF) % 4
