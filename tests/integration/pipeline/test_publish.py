"""Batch publishing against the real broker: every record lands once, in the partition `send` would choose."""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaProducer
from kafka import KafkaConsumer, TopicPartition
from kafka.partitioner.default import murmur2

from modpipe.settings import Settings
from modpipe.topics import admin_client
from pipeline.moderation import Outgoing
from pipeline.publish import BatchPublisher


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
