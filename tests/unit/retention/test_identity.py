"""Record identity: what a record records, not where it was stored."""

from __future__ import annotations

from typing import Any

from retention.identity import record_identity


def _record(kind: str, data: dict[str, Any], offset: int) -> dict[str, Any]:
    return {"kind": kind, "message_id": "m-1", "data": data, "source": {"topic": "t", "partition": 2, "offset": offset}}


def test_copies_of_a_verdict_at_other_positions_share_an_identity() -> None:
    a = _record("verdict", {"verdict_id": "v-9"}, 10)
    b = _record("verdict", {"verdict_id": "v-9"}, 5000)
    assert record_identity(a) == record_identity(b) == "verdict/m-1/v-9"


def test_a_new_judgement_or_another_decision_is_another_record() -> None:
    assert record_identity(_record("verdict", {"verdict_id": "v-1"}, 1)) != record_identity(
        _record("verdict", {"verdict_id": "v-2"}, 1)
    )
    assert record_identity(_record("decision", {"decision_id": "d-1"}, 1)) == "decision/m-1/d-1"
    # a verdict and a decision never collide, even with equal ids
    assert record_identity(_record("decision", {"decision_id": "x"}, 1)) != record_identity(
        _record("verdict", {"verdict_id": "x"}, 1)
    )


def test_a_value_of_neither_contract_is_identified_by_its_position() -> None:
    assert record_identity(_record("other", {"something": 1}, 7)) == "other/@t/2/7"
    assert record_identity(_record("verdict", {}, 8)) == "verdict/@t/2/8"
    assert record_identity({"kind": "other", "data": "not a dict", "source": None, "hash": "ab12"}) == "other/#ab12"
