"""The reports agent's work in-process against the real Elasticsearch API server, with an injected clock: due
times and overdue counts, a report that waits for its verdict, and replays that change nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from modpipe.clock import FixedClock
from modpipe.contracts import Decision, DecisionOutcome
from modpipe.contracts.intake import RawMessage
from modpipe.settings import Action, Settings, load_settings
from modpipe.stack.manager import StackInfo
from pipeline.report_store import ReportStore
from pipeline.reports import ReportProcessor
from reports import Overdue
from review.queue.reported import ReportedItems
from tests.support import stack_overrides
from tests.unit.review.factory import make_verdict

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


@pytest.fixture
def settings(stack: StackInfo, unique: str) -> Settings:
    overrides: dict[str, Any] = stack_overrides(stack)
    overrides["elasticsearch.index"] = f"rs-{unique}".lower()
    overrides["kafka.topics.reports.name"] = f"reports-{unique}"
    return load_settings(environ={}, overrides=overrides)


@pytest.fixture
def processor(settings: Settings) -> Iterator[tuple[ReportProcessor, FixedClock]]:
    clock = FixedClock(T0)
    store, queue = ReportStore(settings), ReportedItems(settings)
    try:
        yield ReportProcessor(settings, clock, store, queue, None), clock
    finally:
        store.close()
        queue.close()


def raw(settings: Settings, topic_key: str, value: dict[str, Any], offset: int = 0) -> RawMessage:
    topic = getattr(settings.kafka.topics, topic_key).name
    return RawMessage(topic, 0, offset, None, json.dumps(value, ensure_ascii=False).encode())


def report(report_id: str, message_id: str, reason: str, at: datetime = T0, **extra: Any) -> dict[str, Any]:
    return {
        "report_id": report_id, "message_id": message_id, "reporter_id": f"u-{report_id}", "reason": reason,
        "reported_at": at.isoformat(), "service_type": "bbs", "platform": "forum-a", **extra,
    }  # fmt: skip


def run(processor: ReportProcessor, batch: list[RawMessage]) -> list[dict[str, Any]]:
    events, letters = processor.parse(batch)
    assert letters == []
    result = processor.process(events)
    assert result.letters == []
    return [json.loads(value) for _, _, value in result.published]


@pytest.mark.obligation("L7")
def test_overdue_counts_follow_the_injected_clock_and_the_decisions(
    settings: Settings, processor: tuple[ReportProcessor, FixedClock]
) -> None:
    work, clock = processor
    batch = [
        raw(settings, "reports", report("r-terror", "m-1", "C7", sub_label="terror")),  # due in 2 hours
        raw(settings, "reports", report("r-abuse", "m-1", "C2"), 1),  # 24 hours
        raw(settings, "reports", report("r-other", "m-2", "other"), 2),  # 24 hours
    ]
    received = run(work, batch)
    assert [(o["report_id"], o["status"]) for o in received] == [
        ("r-terror", "received"), ("r-abuse", "received"), ("r-other", "received"),
    ]  # fmt: skip
    assert {o["report_id"]: o["due_at"] for o in received}["r-terror"] == (T0 + timedelta(hours=2)).isoformat()
    store = work.store
    assert store.overdue(T0 + timedelta(hours=1)) == Overdue(0, 0)
    assert store.overdue(T0 + timedelta(hours=2)) == Overdue(0, 0)  # due exactly now is not late
    assert store.overdue(T0 + timedelta(hours=3)) == Overdue(1, 1)
    assert store.overdue(T0 + timedelta(hours=25)) == Overdue(3, 2)

    # The same batch again (a re-delivery after a crash): the same outcomes, nothing new in the state.
    clock.advance(timedelta(minutes=5))
    assert run(work, batch) == received
    assert store.overdue(T0 + timedelta(hours=25)) == Overdue(3, 2)

    # A moderator rules on m-1 an hour in: both its reports are final, in time; only m-2's report stays open.
    decision = Decision(
        decision_id="d-1", message_id="m-1", outcome=DecisionOutcome.CONFIRMED, moderator="mod-li",
        decided_at=T0 + timedelta(hours=1), previous_action=Action.PASS, verdict_id="v-m-1", service_type="bbs",
        categories=("C7",),
    )  # fmt: skip
    finals = run(work, [raw(settings, "decisions", decision.model_dump(mode="json"), 3)])
    assert sorted((o["report_id"], o["status"], o["category"], o["in_time"]) for o in finals) == [
        ("r-abuse", "actioned", "C7", True), ("r-terror", "actioned", "C7", True),
    ]  # fmt: skip
    assert store.overdue(T0 + timedelta(hours=25)) == Overdue(1, 1)
    assert run(work, [raw(settings, "decisions", decision.model_dump(mode="json"), 3)]) == finals


@pytest.mark.obligation("L7")
def test_a_report_before_its_verdict_waits_for_it_then_the_item_enters_the_queue_as_reported(
    settings: Settings, processor: tuple[ReportProcessor, FixedClock]
) -> None:
    work, _ = processor
    run(work, [raw(settings, "reports", report("r-1", "m-early", "C9", detail="卖枪"))])
    es = Elasticsearch(settings.elasticsearch.url)
    try:
        assert not es.exists(index=settings.elasticsearch.index, id="m-early")
        verdict = make_verdict("m-early", "今天天气很好", action=Action.PASS, flagged=(), scores={"C9": 0.01})
        run(work, [raw(settings, "verdicts", verdict.model_dump(mode="json"), 1)])
        doc = es.get(index=settings.elasticsearch.index, id="m-early")["_source"]
    finally:
        es.close()
    m = doc["moderation"]
    assert m["status"] == "reported"
    assert m["reports"]["count"] == 1
    assert m["reports"]["reasons"] == ["C9"]
    assert doc["rule"]["category"] == ["C9"]
    assert m["reports"]["due_at"] == (T0 + timedelta(hours=24)).isoformat()
    assert doc["message"] == "今天天气很好"


@pytest.mark.obligation("L7")
def test_a_bad_report_is_a_dead_letter_with_its_reason_and_a_reused_id_is_refused(
    settings: Settings, processor: tuple[ReportProcessor, FixedClock]
) -> None:
    work, _ = processor
    bad = raw(settings, "reports", report("r-bad", "m-3", "C42"))
    events, letters = work.parse([bad])
    assert events == []
    assert [(r.offset, reason) for r, reason, _ in letters] == [(0, "bad_value")]
    assert "reason 'C42'" in letters[0][2]
    run(work, [raw(settings, "reports", report("r-same", "m-3", "C2"), 1)])
    events, _ = work.parse([raw(settings, "reports", report("r-same", "m-3", "C8"), 2)])
    result = work.process(events)
    assert [reason for _, reason, _ in result.letters] == ["bad_value"]
    assert result.added == {"conflict": 1}
