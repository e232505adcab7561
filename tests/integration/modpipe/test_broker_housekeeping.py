"""The broker housekeeping (modpipe.stack.housekeeping) against a real Tansu on a real SeaweedFS: what it deletes,
what it keeps, and that consumers, new groups and a restarted broker still read every message exactly once from
their committed positions. Each test has a stack of its own: the session's housekeeper is never involved."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.structs import OffsetAndMetadata

from modpipe.clock import FixedClock, SystemClock
from modpipe.stack import binaries, process
from modpipe.stack.housekeeping import Housekeeper, admin_client, parse_batch
from modpipe.stack.manager import BROKER_BUCKET, LocalStack, StackInfo, start_on_free_ports

pytestmark = pytest.mark.slow
TOPIC = "hk-in"
PER_BATCH = 10


@pytest.fixture
def own_stack(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[LocalStack, StackInfo]]:
    retention, interval = getattr(request, "param", (3600.0, 3600.0))
    local, info = start_on_free_ports(
        tmp_path / "stack", start_timeout_s=90, broker_retention_s=retention, housekeeping_interval_s=interval
    )
    try:
        yield local, info
    finally:
        local.down()
        assert not [s.name for s in local.status() if s.running]


def create_topic(bootstrap: str, partitions: int = 2) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics([NewTopic(TOPIC, partitions, 1)])
    finally:
        admin.close()


def produce_batches(bootstrap: str, batches: int, partitions: int = 2) -> None:
    """`batches` record batches of PER_BATCH messages on each partition (one flush per batch)."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=50)
    try:
        for _ in range(batches):
            for p in range(partitions):
                for i in range(PER_BATCH):
                    producer.send(TOPIC, value=f"p{p}-{i}".encode(), partition=p)
            producer.flush()
    finally:
        producer.close()


def commit(bootstrap: str, group: str, offsets: dict[int, int]) -> None:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    try:
        consumer.assign([TopicPartition(TOPIC, p) for p in offsets])
        consumer.commit({TopicPartition(TOPIC, p): OffsetAndMetadata(o, "", -1) for p, o in offsets.items()})
    finally:
        consumer.close()


def read_group(bootstrap: str, group: str, want: int) -> list[tuple[int, int]]:
    """(partition, offset) of everything a subscribed group member reads from its committed or earliest position,
    committed at the end."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, auto_offset_reset="earliest", enable_auto_commit=False,
        session_timeout_ms=6000, consumer_timeout_ms=8000,
    )  # fmt: skip
    try:
        consumer.subscribe([TOPIC])
        got: list[tuple[int, int]] = []
        deadline = time.monotonic() + 60
        while len(got) < want and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500).values():
                got.extend((r.partition, r.offset) for r in records)
        # Anything more than `want` would be a duplicate or a message from nowhere: give it a moment to show.
        for records in consumer.poll(timeout_ms=2000).values():
            got.extend((r.partition, r.offset) for r in records)
        consumer.commit()
        return got
    finally:
        consumer.close()


def objects(info: StackInfo) -> tuple[dict[int, list[int]], set[str]]:
    """The record batches' base offsets per partition of TOPIC, and the keys of every other object."""
    bases: dict[int, list[int]] = {}
    others = set()
    with admin_client(info.s3_endpoint, info.credentials) as client:
        for obj in client.list_objects(BROKER_BUCKET, prefix="clusters/", recursive=True):
            name = obj.object_name or ""
            batch = parse_batch(name, obj.last_modified) if obj.last_modified else None
            if batch is None:
                others.add(name)
            elif batch.topic == TOPIC:
                bases.setdefault(batch.partition, []).append(batch.base_offset)
    return {p: sorted(b) for p, b in bases.items()}, others


def earliest(bootstrap: str) -> dict[int, int]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        found = consumer.beginning_offsets([TopicPartition(TOPIC, p) for p in (0, 1)])
        return {tp.partition: offset for tp, offset in found.items()}
    finally:
        consumer.close()


def restart_broker(local: LocalStack) -> None:
    pid = process.read_pid(local.home / "run" / "kafka.pid")
    assert pid is not None
    assert process.stop(pid, local.home, binaries.tansu())
    local.up()  # starts only what is not running: the broker


def by_partition(got: list[tuple[int, int]]) -> dict[int, list[int]]:
    found: dict[int, list[int]] = {}
    for partition, offset in got:
        found.setdefault(partition, []).append(offset)
    return found


def test_deletes_only_old_batches_every_group_is_past_and_nothing_is_lost(
    own_stack: tuple[LocalStack, StackInfo],
) -> None:
    local, info = own_stack
    bootstrap = info.kafka_bootstrap
    create_topic(bootstrap)
    produce_batches(bootstrap, 5)  # offsets 0-49 on each partition, batches at 0, 10, 20, 30, 40
    commit(bootstrap, "slow", {0: 30, 1: 15})  # mid-batch on partition 1: [10, 20) is not all below 15
    commit(bootstrap, "fast", {0: 50, 1: 50})
    clock = FixedClock(SystemClock().now())
    with admin_client(info.s3_endpoint, info.credentials) as client:
        check_pruning(local, bootstrap, Housekeeper(client, BROKER_BUCKET, retention_s=600, clock=clock), clock)


def check_pruning(local: LocalStack, bootstrap: str, housekeeper: Housekeeper, clock: FixedClock) -> None:
    """The rest of the test above, with the housekeeper's S3 connections open."""
    before, metadata_before = objects(local.info())
    assert before == {0: [0, 10, 20, 30, 40], 1: [0, 10, 20, 30, 40]}
    assert any("/groups/consumers/slow/offsets/" in key for key in metadata_before)

    # (b) young data is kept whatever the groups committed
    assert all(p.deleted == 0 for p in housekeeper.run_once())
    assert objects(local.info())[0] == before

    # (a) once old, what every group is past goes: the slowest group decides, the last batch always stays
    clock.advance(timedelta(minutes=11))
    pruned = {(p.topic, p.partition): (p.deleted, p.floor) for p in housekeeper.run_once()}
    assert pruned[(TOPIC, 0)] == (3, 30)
    assert pruned[(TOPIC, 1)] == (1, 15)
    after, metadata_after = objects(local.info())
    assert after == {0: [30, 40], 1: [10, 20, 30, 40]}
    assert metadata_after == metadata_before  # watermarks, meta.json, groups and offsets untouched
    assert earliest(bootstrap) == {0: 30, 1: 10}

    # (c) the groups go on from their commits, exactly once; a new group starts at the first batch left
    produce_batches(bootstrap, 1)  # offsets 50-59
    slow = by_partition(read_group(bootstrap, "slow", 30 + 45))
    assert slow == {0: list(range(30, 60)), 1: list(range(15, 60))}
    restart_broker(local)
    assert earliest(bootstrap) == {0: 30, 1: 10}
    fast = by_partition(read_group(bootstrap, "fast", 20))
    assert fast == {0: list(range(50, 60)), 1: list(range(50, 60))}
    fresh = by_partition(read_group(bootstrap, "new-after-restart", 30 + 50))
    assert fresh == {0: list(range(30, 60)), 1: list(range(10, 60))}
    produce_batches(bootstrap, 1)  # the restarted broker appends at 60, right after the log it kept
    assert by_partition(read_group(bootstrap, "slow", 20)) == {0: list(range(60, 70)), 1: list(range(60, 70))}


def test_a_topic_without_groups_keeps_everything(own_stack: tuple[LocalStack, StackInfo]) -> None:
    local, info = own_stack
    create_topic(info.kafka_bootstrap)
    produce_batches(info.kafka_bootstrap, 3)
    clock = FixedClock(SystemClock().now() + timedelta(days=30))
    with admin_client(info.s3_endpoint, info.credentials) as client:
        pruned = Housekeeper(client, BROKER_BUCKET, retention_s=1, clock=clock).run_once()
    assert {(p.partition, p.deleted, p.floor) for p in pruned if p.topic == TOPIC} == {(0, 0, None), (1, 0, None)}
    assert objects(local.info())[0] == {0: [0, 10, 20], 1: [0, 10, 20]}


@pytest.mark.parametrize("own_stack", [(1.0, 1.0)], indirect=True)
def test_the_stacks_housekeeper_prunes_logs_and_outlives_an_s3_outage(own_stack: tuple[LocalStack, StackInfo]) -> None:
    local, info = own_stack
    assert any(s.name == "housekeeper" and s.healthy for s in local.status())
    create_topic(info.kafka_bootstrap)
    produce_batches(info.kafka_bootstrap, 4)
    commit(info.kafka_bootstrap, "reader", {0: 40, 1: 40})
    log = local.home / "logs" / "housekeeper.log"
    deadline = time.monotonic() + 30
    while objects(local.info())[0] != {0: [30], 1: [30]} and time.monotonic() < deadline:
        time.sleep(0.5)
    assert objects(local.info())[0] == {0: [30], 1: [30]}
    assert f"{TOPIC}/0 deleted 3 kept 1" in log.read_text(encoding="utf-8")

    s3_pid = process.read_pid(local.home / "run" / "s3.pid")
    assert s3_pid is not None
    assert process.stop(s3_pid, local.home, binaries.weed())
    deadline = time.monotonic() + 30
    while "broker housekeeping failed" not in log.read_text(encoding="utf-8") and time.monotonic() < deadline:
        time.sleep(0.5)
    assert "broker housekeeping failed, trying again" in log.read_text(encoding="utf-8")
    housekeeper = next(s for s in local.status() if s.name == "housekeeper")
    assert housekeeper.running, "an S3 outage stopped the housekeeper"
