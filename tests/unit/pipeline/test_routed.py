"""Outputs partitioned in the classifying process (worker.partition: classifier) go where the producer's own
partitioner would put them, and merging the children's shares keeps each partition's records in order."""

from __future__ import annotations

from aiokafka.partitioner import DefaultPartitioner

from pipeline.moderation import Encoded, Routed


def test_keyed_records_get_the_partition_aiokafka_would_choose_and_unkeyed_ones_a_valid_one() -> None:
    routed = Routed({"v": 4, "d": 2})
    for i in range(300):
        routed.add("v", f"m-{i}".encode(), f"{i}".encode())
    for i in range(20):
        routed.add("d", None, f"dead {i}".encode())
    choose = DefaultPartitioner()
    for (topic, partition), records in routed.records.items():
        assert 0 <= partition < routed.counts[topic]
        for key, _ in records:
            if key is not None:
                assert choose(key, [0, 1, 2, 3], [0, 1, 2, 3]) == partition
    assert sum(len(r) for r in routed.records.values()) == 320
    assert {t for t, _ in routed.records} == {"v", "d"}


def test_merged_shares_keep_every_partition_in_batch_order() -> None:
    first, second = Encoded(routed=Routed({"v": 3})), Encoded(routed=Routed({"v": 3}))
    for i in range(50):
        (first if i < 25 else second).routed.add("v", f"k{i % 7}".encode(), f"{i}".encode())  # type: ignore[union-attr]
    merged = Encoded()
    merged.extend(first)
    merged.extend(second)
    assert merged.routed is not None
    for records in merged.routed.records.values():
        values = [int(v) for _, v in records]
        assert values == sorted(values)
    assert sorted(int(v) for _, _, v in merged.routed.flat()) == list(range(50))
    assert merged.outgoing == []
