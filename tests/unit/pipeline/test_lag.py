"""Consumer lag arithmetic: a broker that reports end offsets too low never shows a negative lag or a backlog as
none, and partitions that leave the assignment leave the metrics."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

import faust.transport.consumer
from prometheus_client import generate_latest

from pipeline.lag import LagTracker, consumer_lag, read_offsets
from pipeline.metrics import Metrics
from pipeline.moderation import RawMessage


class TP(NamedTuple):
    topic: str
    partition: int


def test_lag_is_the_reported_end_minus_the_position() -> None:
    assert consumer_lag(position=100, reported_end=250, highest_seen=None) == 150
    assert consumer_lag(position=250, reported_end=250, highest_seen=249) == 0


def test_an_end_reported_too_low_is_raised_to_what_was_read() -> None:
    # Tansu's ListOffsets said 1 for a partition of 1,007 records: the reader had seen offset 1,006.
    assert consumer_lag(position=500, reported_end=1, highest_seen=1006) == 507


def test_the_lag_is_never_negative() -> None:
    assert consumer_lag(position=500, reported_end=1, highest_seen=None) == 0
    assert consumer_lag(position=500, reported_end=None, highest_seen=100) == 0
    assert consumer_lag(position=0, reported_end=None, highest_seen=None) == 0


class FakeConsumer:
    def __init__(self, highwaters: dict[TP, int | None], read: dict[TP, int | None]) -> None:
        self.highwaters = highwaters
        self._read_offset = read

    def assignment(self) -> Iterable[Any]:
        return set(self.highwaters)

    def highwater(self, tp: Any) -> int | None:
        return self.highwaters[tp]


def raw(topic: str, partition: int, offset: int) -> RawMessage:
    return RawMessage(topic, partition, offset, b"k", b"{}")


def test_the_tracker_exports_a_lag_per_agent_for_partitions_taken_from() -> None:
    metrics = Metrics()
    tracker = LagTracker(metrics)
    a0, a1, a2 = TP("posts", 0), TP("posts", 1), TP("posts", 2)
    tracker.taken("moderation", [raw("posts", 0, 9), raw("posts", 0, 4), raw("posts", 1, 0)])
    consumer = FakeConsumer({a0: 30, a1: 1, a2: 12}, {a0: 29, a1: 40, a2: None})
    assert tracker.lags("moderation", consumer) == {("posts", 0): 20, ("posts", 1): 40}
    tracker.export("moderation", consumer)
    text = generate_latest(metrics.registry).decode()
    assert 'modpipe_consumer_lag{agent="moderation",partition="0",topic="posts"} 20.0' in text
    assert 'modpipe_consumer_position{agent="moderation",partition="0",topic="posts"} 10.0' in text
    # posts:2 was never taken from: its position is unknown, so no lag is made up for it.
    assert 'partition="2"' not in text

    consumer.highwaters.pop(a1)  # revoked
    tracker.export("moderation", consumer)
    text = generate_latest(metrics.registry).decode()
    assert 'partition="1"' not in text
    assert 'modpipe_consumer_lag{agent="moderation",partition="0",topic="posts"} 20.0' in text


def test_two_agents_on_one_topic_keep_their_own_positions() -> None:
    metrics = Metrics()
    tracker = LagTracker(metrics)
    tracker.taken("records", [raw("verdicts", 0, 99)])
    tracker.taken("queue", [raw("verdicts", 0, 9)])
    consumer = FakeConsumer({TP("verdicts", 0): 100}, {})
    assert tracker.lags("records", consumer) == {("verdicts", 0): 0}
    assert tracker.lags("queue", consumer) == {("verdicts", 0): 90}


def test_faust_still_keeps_the_read_offsets_the_lag_reads() -> None:
    # pipeline.lag reads faust's private Consumer._read_offset (offset of the last message read per partition);
    # if an upgrade renames it, this fails instead of the lag quietly losing its floor.
    assert "_read_offset" in faust.transport.consumer.Consumer.__annotations__
    assert read_offsets(object()) == {}
