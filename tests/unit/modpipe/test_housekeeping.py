"""The broker housekeeping's choice of record batches to delete (modpipe.stack.housekeeping), without a server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from modpipe.stack.errors import HousekeepingFailed
from modpipe.stack.housekeeping import (
    Batch,
    Committed,
    Pruned,
    floors,
    parse_batch,
    parse_offset_key,
    plan,
    run_forever,
    select,
    summary,
)

NOW = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)
OLD = NOW - timedelta(hours=1)
ROOT = "clusters/tansu_cluster"


def batch(base: int, modified: datetime = OLD, topic: str = "in", partition: int = 0) -> Batch:
    return Batch(f"{ROOT}/topics/{topic}/partitions/{partition:010}/records/{base:020}.batch", topic, partition, base,
                 modified)  # fmt: skip


def test_keys_are_parsed_as_the_broker_writes_them() -> None:
    key = f"{ROOT}/topics/mod.in-1/partitions/0000000003/records/00000000000000001500.batch"
    assert parse_batch(key, OLD) == Batch(key, "mod.in-1", 3, 1500, OLD)
    offsets = f"{ROOT}/groups/consumers/a/b-group/offsets/mod.in-1/partitions/0000000011.json"
    assert parse_offset_key(offsets) == ("a/b-group", "mod.in-1", 11)


@pytest.mark.parametrize(
    "key",
    [
        f"{ROOT}/meta.json",
        f"{ROOT}/topics/in/partitions/0000000000/watermark.json",
        f"{ROOT}/groups/consumers/g.json",
        f"{ROOT}/groups/consumers/g/offsets/in/partitions/0000000000.json",
        f"{ROOT}/topics/in/partitions/0000000000/records/00000000000000000005.batch.tmp",
        "elsewhere/topics/in/partitions/0000000000/records/00000000000000000005.batch",
    ],
)
def test_nothing_but_a_record_batch_is_ever_a_batch(key: str) -> None:
    assert parse_batch(key, OLD) is None


def test_only_batches_that_end_at_or_below_the_floor_go() -> None:
    batches = [batch(0), batch(5), batch(10), batch(15)]
    # [0,5) and [5,10) end at or below 10; [10,15) ends above it; the last batch's end is unknown.
    assert [b.base_offset for b in select(batches, 10, NOW)] == [0, 5]
    assert [b.base_offset for b in select(batches, 9, NOW)] == [0]
    assert select(batches, 4, NOW) == []
    assert [b.base_offset for b in select(batches, 10**9, NOW)] == [0, 5, 10]  # never the last


def test_young_batches_stay_and_stop_the_prefix() -> None:
    young = NOW - timedelta(seconds=10)
    batches = [batch(0), batch(5, young), batch(10), batch(15)]
    # [10,15) is old but lies above a young batch: deleting it would leave a hole in the log.
    assert [b.base_offset for b in select(batches, 100, NOW - timedelta(minutes=1))] == [0]


def test_the_order_of_the_listing_does_not_matter_and_no_floor_keeps_all() -> None:
    batches = [batch(10), batch(0), batch(5)]
    assert [b.base_offset for b in select(batches, 10, NOW)] == [0, 5]
    assert select(batches, None, NOW) == []


def test_a_naive_cutoff_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        select([batch(0), batch(5)], 10, datetime(2026, 12, 2))


def test_the_floor_is_the_lowest_group_and_a_missing_partition_pins_it() -> None:
    committed = [
        Committed("g1", "in", 0, 50), Committed("g1", "in", 1, 70),
        Committed("g2", "in", 0, 30),  # g2 has not committed on in/1 yet: it may still read it from the start
        Committed("g3", "other", 0, -1),
    ]  # fmt: skip
    found = floors(committed, [("in", 0), ("in", 1), ("other", 0), ("lonely", 0)])
    assert found == {("in", 0): 30, ("in", 1): 0, ("other", 0): 0}  # "lonely": no group, no floor


def test_plan_per_partition() -> None:
    batches = [batch(0), batch(5), batch(10), batch(0, partition=1), batch(5, partition=1), batch(0, topic="x")]
    committed = [Committed("g", "in", 0, 10), Committed("g", "in", 1, 3)]
    result = plan(batches, committed, NOW)
    assert {tp: ([b.base_offset for b in doomed], total, floor) for tp, (doomed, total, floor) in result.items()} == {
        ("in", 0): ([0, 5], 3, 10),
        ("in", 1): ([], 2, 3),
        ("x", 0): ([], 1, None),
    }


def test_a_kept_topic_loses_nothing_whatever_its_groups_committed() -> None:
    batches = [batch(0, topic="bench-measures"), batch(5, topic="bench-measures"), batch(0), batch(5)]
    committed = [Committed("g", "bench-measures", 0, 10), Committed("g", "in", 0, 10)]
    result = plan(batches, committed, NOW, keep=("*measures", "*credit-levels"))
    assert result[("bench-measures", 0)] == ([], 2, None)
    assert [b.base_offset for b in result[("in", 0)][0]] == [0]


def test_summary_names_each_partition_that_lost_objects() -> None:
    line = summary([Pruned("in", 0, 4, 1, 35), Pruned("in", 1, 0, 3, 2)])
    assert line == "broker housekeeping: in/0 deleted 4 kept 1"
    assert summary([]) == "broker housekeeping: nothing to delete"


class Flaky:
    """A housekeeper whose S3 server fails every other pass."""

    def __init__(self) -> None:
        self.passes = 0

    def run_once(self) -> list[Pruned]:
        self.passes += 1
        if self.passes % 2:
            raise HousekeepingFailed("S3 down")
        return [Pruned("in", 0, 2, 1, 9)]


def test_a_failed_pass_is_logged_and_the_next_one_runs() -> None:
    lines: list[str] = []
    sleeps: list[float] = []
    flaky = Flaky()
    run_forever(flaky, 5, lines.append, sleeps.append, passes=3)  # type: ignore[arg-type]
    assert flaky.passes == 3
    assert sleeps == [5, 5]
    assert lines[0].startswith("broker housekeeping failed, trying again in 5s: S3 down")
    assert lines[1] == "broker housekeeping: in/0 deleted 2 kept 1"
