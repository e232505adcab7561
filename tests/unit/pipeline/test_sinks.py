"""The records and queue sinks share one input contract: each parses what it reads and refuses the same values, as
data (a Rejection the agent turns into a dead letter), instead of one storing what the other dead-letters."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from modpipe.clock import FixedClock
from modpipe.contracts.intake import RawMessage, Rejection, Sink
from modpipe.settings import Settings, load_settings
from retention import RecordSink
from retention.intake import RecordsIntake
from review.queue import QueueSink
from review.queue.intake import QueueIntake
from tests.integration.retention.factory import decision, verdict

NOW = datetime(2026, 12, 1, 8, tzinfo=UTC)


@pytest.fixture(scope="module")
def settings() -> Settings:
    return load_settings(environ={})


@pytest.fixture
def sinks(settings: Settings) -> Iterator[list[Sink]]:
    decisions = settings.kafka.topics.decisions.name
    both: list[Sink] = [
        RecordsIntake(RecordSink(settings, clock=FixedClock(NOW), worker_id="w"), decisions),
        QueueIntake(QueueSink(settings), decisions),
    ]
    yield both
    for sink in both:
        sink.close()


def _raw(settings: Settings, value: bytes, *, decisions: bool = False) -> RawMessage:
    topics = settings.kafka.topics
    return RawMessage((topics.decisions if decisions else topics.verdicts).name, 0, 7, b"k", value)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (b"\xff not json", "not_json"),
        (b"[1, 2]", "not_object"),
        (b'{"message_id": "m1"}', "bad_value"),  # an object, but no verdict
        (json.dumps({**verdict("m1", "bbs", NOW), "action": "delete"}).encode(), "bad_value"),
    ],
)
def test_both_sinks_refuse_what_is_not_a_verdict(
    sinks: list[Sink], settings: Settings, value: bytes, reason: str
) -> None:
    refused = [sink.add(_raw(settings, value)) for sink in sinks]
    assert [r.reason if isinstance(r, Rejection) else r for r in refused] == [reason, reason]


def test_both_sinks_take_a_verdict_and_a_decision(sinks: list[Sink], settings: Settings) -> None:
    good = json.dumps(verdict("m1", "bbs", NOW)).encode()
    from modpipe.contracts.verdict import DecisionOutcome
    from modpipe.settings import Action

    ruling = json.dumps(decision("m1", "bbs", NOW, DecisionOutcome.CONFIRMED, Action.REVIEW)).encode()
    for sink in sinks:
        assert sink.add(_raw(settings, good)) is None
        assert sink.add(_raw(settings, ruling, decisions=True)) is None
        assert sink.add(_raw(settings, good, decisions=True)) is not None  # a verdict on the decisions topic
