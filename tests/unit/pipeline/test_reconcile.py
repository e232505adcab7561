"""The reconciler's ledger and its comparison with a queue document (pure parts; the whole loop is tested in
tests/integration/pipeline/test_queue_heals.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from modpipe.clock import FixedClock
from modpipe.settings import load_settings
from pipeline.reconcile import Reconciler, Ref, _decision_missing, _verdict_older

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def record(kind: str, message_id: str, own_id: str, at: datetime, offset: int, **data: Any) -> dict[str, Any]:
    key = "verdict_id" if kind == "verdict" else "decision_id"
    return {
        "kind": kind, "message_id": message_id, "event_at": at.isoformat(),
        "source": {"topic": "t", "partition": 0, "offset": offset},
        "data": {key: own_id, "decided_at": at.isoformat(), **data},
    }  # fmt: skip


def test_the_ledger_keeps_the_latest_verdict_and_decision_per_message() -> None:
    rec = Reconciler(load_settings(environ={}), FixedClock(T0))
    try:
        rec._note(record("verdict", "m1", "v2", T0 + timedelta(minutes=5), 9, action="block"), "k2")
        rec._note(record("verdict", "m1", "v1", T0, 3, action="review"), "k1")  # read later, made earlier
        rec._note(record("verdict", "m2", "v3", T0, 4, action="review"), "k1")
        rec._note(record("verdict", "m2", "v4", T0 + timedelta(minutes=1), 5, action="pass"), "k3")
        rec._note(record("decision", "m1", "d1", T0 + timedelta(minutes=9), 1), "kd")
        rec._note({"kind": "verdict", "message_id": "m3", "data": "not an object"}, "k4")
    finally:
        rec.close()
    assert (rec.verdicts["m1"].own_id, rec.verdicts["m1"].key, rec.verdicts["m1"].queued) == ("v2", "k2", True)
    assert rec.verdicts["m2"].queued is False  # judged again as pass: no longer the queue's
    assert rec.decisions["m1"].own_id == "d1"
    assert "m3" not in rec.verdicts


def ref(own_id: str, at: datetime) -> Ref:
    return Ref(own_id, at, at, "k")


def test_a_document_with_the_same_or_a_newer_verdict_is_left_alone() -> None:
    latest = ref("v2", T0)
    assert not _verdict_older({"moderation": {"verdict_id": "v2"}}, latest)
    newer = {"moderation": {"verdict_id": "v3"}, "event": {"created": (T0 + timedelta(seconds=1)).isoformat()}}
    assert not _verdict_older(newer, latest)  # the records are behind the queue agent, not the other way
    older = {"moderation": {"verdict_id": "v1"}, "event": {"created": (T0 - timedelta(hours=1)).isoformat()}}
    assert _verdict_older(older, latest)
    assert _verdict_older({"moderation": {"status": "confirmed"}}, latest)  # a stub made by an early decision


def test_a_recorded_decision_the_queue_does_not_show_is_applied_again() -> None:
    decision = ref("d1", T0)
    applied = {"moderation": {"decision_id": "d1", "status": "confirmed", "decided_at": T0.isoformat()}}
    assert not _decision_missing(applied, decision, reindexing=False)
    assert _decision_missing(applied, decision, reindexing=True)  # the document comes back from its verdict
    assert _decision_missing({"moderation": {"status": "pending"}}, decision, reindexing=False)
    claimed = {"moderation": {"decision_id": "d1", "status": "pending", "decided_at": T0.isoformat()}}
    assert _decision_missing(claimed, decision, reindexing=False)  # recorded, so carried out: final status
    later = {"moderation": {"decision_id": "d2", "status": "pending", "decided_at": (T0 + timedelta(1)).isoformat()}}
    assert not _decision_missing(later, decision, reindexing=False)  # a newer claim in flight is the desk's


def test_a_carried_out_reopening_is_not_applied_again() -> None:
    """A reopening leaves the item pending without a decision id; `applied_id` says it was carried out."""
    reopening = ref("d3", T0)
    reopened = {"moderation": {"status": "pending", "applied_id": "d3", "decided_at": T0.isoformat()}}
    assert not _decision_missing(reopened, reopening, reindexing=False)
    assert _decision_missing(reopened, reopening, reindexing=True)
    earlier = {"moderation": {"status": "confirmed", "decision_id": "d2", "applied_id": "d2",
                              "decided_at": (T0 - timedelta(minutes=5)).isoformat()}}  # fmt: skip
    assert _decision_missing(earlier, reopening, reindexing=False)  # the reopening was lost: applied again
