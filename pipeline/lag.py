"""Consumer lag per agent and partition (`modpipe_consumer_lag{agent,topic,partition}`), robust to a broker that
reports end offsets too low.

lag = end - position, where position is the next offset the agent will take into a batch, and end is the largest
of what the broker last reported in a fetch response (the high watermark), the highest offset the consumer has
read so far plus one, and the position itself. The local broker (Tansu) answers ListOffsets with end offsets far
too low (measured: 1 for a partition of 1,007 records, whose fetch responses reported 1,007); the floor on `end`
keeps such an answer from showing a negative lag or a backlog as none.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from pipeline.metrics import Metrics

if TYPE_CHECKING:
    from modpipe.contracts.intake import RawMessage

TP = tuple[str, int]


def consumer_lag(position: int, reported_end: int | None, highest_seen: int | None) -> int:
    """Messages after `position` that exist: at least the broker's reported end and what was already read."""
    end = position
    if reported_end is not None:
        end = max(end, reported_end)
    if highest_seen is not None:
        end = max(end, highest_seen + 1)
    return end - position


class LagSource(Protocol):
    """What the lag needs of a faust consumer: its partitions and their high watermarks."""

    def assignment(self) -> Iterable[Any]: ...

    def highwater(self, tp: Any) -> int | None: ...


def read_offsets(consumer: object) -> Mapping[Any, int | None]:
    # faust's consumer keeps the offset of the last message it read from each partition, before the agent's
    # buffer; private, so read defensively (tests/unit/pipeline/test_lag.py fails if faust renames it).
    found = getattr(consumer, "_read_offset", None)
    return found if isinstance(found, Mapping) else {}


class LagTracker:
    """Positions per agent, set as batches are taken; the lag is computed when the metrics are read."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics
        self._positions: dict[str, dict[TP, int]] = {}
        self._exported: dict[str, set[TP]] = {}

    def taken(self, agent: str, batch: Sequence[RawMessage]) -> None:
        positions = self._positions.setdefault(agent, {})
        touched = set()
        for m in batch:
            tp = (m.topic, m.partition)
            positions[tp] = max(positions.get(tp, 0), m.offset + 1)
            touched.add(tp)
        for topic, partition in touched:
            self._metrics.position.labels(agent, topic, str(partition)).set(positions[(topic, partition)])

    def lags(self, agent: str, consumer: LagSource) -> dict[TP, int]:
        """The lag of each assigned partition the agent has taken from since it was assigned."""
        positions = self._positions.setdefault(agent, {})
        assigned = {(tp.topic, tp.partition): tp for tp in consumer.assignment()}
        # A partition that left and came back starts over: the next owner may have moved it meanwhile.
        for gone in set(positions) - set(assigned):
            del positions[gone]
            with contextlib.suppress(KeyError):
                self._metrics.position.remove(agent, gone[0], str(gone[1]))
        read = read_offsets(consumer)
        result = {}
        for key, tp in assigned.items():
            if key in positions:
                result[key] = consumer_lag(positions[key], consumer.highwater(tp), read.get(tp))
        return result

    def export(self, agent: str, consumer: LagSource) -> None:
        lags = self.lags(agent, consumer)
        gauge = self._metrics.lag
        for topic, partition in self._exported.get(agent, set()) - set(lags):
            with contextlib.suppress(KeyError):
                gauge.remove(agent, topic, str(partition))
        for (topic, partition), lag in lags.items():
            gauge.labels(agent, topic, str(partition)).set(lag)
        self._exported[agent] = set(lags)
