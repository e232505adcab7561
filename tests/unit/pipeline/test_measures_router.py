"""The measures agent's routing step: machine blocks and decisions become envelopes keyed by subject; a block the
gate made is no new strike; a decision's subjects come from its queue document."""

from __future__ import annotations

from typing import Any

import pytest

from measures.wire import Envelope
from modpipe.contracts import DecisionOutcome
from modpipe.contracts.intake import RawMessage
from pipeline.measures_worker import Router
from tests.unit.measures.factory import SETTINGS, day, make_decision, make_verdict

pytestmark = pytest.mark.obligation("L6")
TOPICS = SETTINGS.kafka.topics


def raw(topic: str, value: bytes, offset: int = 0) -> RawMessage:
    return RawMessage(topic, 0, offset, None, value)


def routed(router: Router, *items: RawMessage) -> list[tuple[bytes | None, Envelope]]:
    out = router.route(list(items))
    assert {topic for topic, _, _ in out} <= {TOPICS.measure_events.name}
    return [(key, Envelope.model_validate_json(value)) for _, key, value in out]


def test_a_block_strikes_every_subject_and_a_gate_block_strikes_none() -> None:
    router = Router(SETTINGS, lambda _: None)
    verdict = make_verdict("m1", "u1", day(0), ("C1",), group_id="g1", author_role="owner")
    got = routed(router, raw(TOPICS.verdicts.name, verdict.model_dump_json().encode()))
    assert [key for key, _ in got] == [b"account:u1", b"group:g1", b"group_admin:u1"]
    assert {e.at for _, e in got} == {day(0)}
    barred = verdict.model_copy(update={"gate": "blacklisted"})
    assert routed(router, raw(TOPICS.verdicts.name, barred.model_dump_json().encode())) == []
    assert routed(router, raw(TOPICS.verdicts.name, b"not json")) == []


def test_a_decision_finds_its_subjects_in_the_queue_document() -> None:
    verdict = make_verdict("m2", "u2", day(0), ("C4",), group_id="g2")
    doc: dict[str, Any] = {"user": {"id": "u2"}, "labels": {"group_id": "g2"}, "rule": {"category": ["C4"]},
                           "moderation": {"sub_labels": {}}}  # fmt: skip
    router = Router(SETTINGS, lambda message_id: doc if message_id == "m2" else None)
    overturn = make_decision(verdict, DecisionOutcome.OVERTURNED, day(1))
    got = routed(router, raw(TOPICS.decisions.name, overturn.model_dump_json().encode()))
    assert [(key, e.event.kind, e.at) for key, e in got] == [
        (b"account:u2", "withdraw", day(1)),
        (b"group:g2", "withdraw", day(1)),
    ]
    unknown = make_decision(make_verdict("m3", "u3", day(0)), DecisionOutcome.CONFIRMED, day(1))
    assert routed(router, raw(TOPICS.decisions.name, unknown.model_dump_json().encode())) == []
