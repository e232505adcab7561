"""One mapper between a decision and the queue document: a claim written, read back as a Decision, applied by the
worker and released all agree on the same fields."""

from __future__ import annotations

from datetime import UTC, datetime

from modpipe.contracts import DecisionOutcome
from modpipe.settings import Action
from review.queue.decisions import CLAIM_FIELDS, Claim, applied, claimed, decision_of, released

AT = datetime(2026, 12, 1, 8, 30, tzinfo=UTC)


def test_a_claim_reads_back_as_the_decision_the_worker_applies_with_the_same_fields() -> None:
    claim = Claim("dec-1", "mod-li", DecisionOutcome.CONFIRMED.value, "spam ad", AT)
    source = {
        "event": {"action": "review"}, "service": {"type": "bbs"}, "labels": {"platform": "forum"},
        "rule": {"category": ["C9"]}, "moderation": {"status": "pending", **claimed(claim)},
    }  # fmt: skip
    decision = decision_of("m-1", source)
    assert (decision.decision_id, decision.moderator, decision.outcome, decision.comment) == (
        "dec-1", "mod-li", DecisionOutcome.CONFIRMED, "spam ad",
    )  # fmt: skip
    assert decision.decided_at == AT
    assert decision.previous_action is Action.REVIEW
    assert decision.categories == ("C9",)
    final = applied(decision)
    assert final["status"] == "confirmed"
    for name in ("decision_id", "decided_by", "outcome", "comment", "decided_at"):
        assert final[name] == source["moderation"][name], name
    assert set(released()) == set(CLAIM_FIELDS) == set(claimed(claim))
    assert all(v is None for v in released().values())
    assert final["applied_id"] == final["decision_id"] == "dec-1"
    assert final["in_effect"] == "confirmed"


def test_a_correction_carries_tags_and_its_chain_and_a_reopening_reopens_the_item() -> None:
    claim = Claim(
        "dec-2", "sen-wang", DecisionOutcome.REOPENED.value, "ask the lead", AT, ("weapons",), corrects="dec-1",
        prior_outcome="confirmed",
    )  # fmt: skip
    before = {"status": "confirmed", "decision_id": "dec-1", "applied_id": "dec-1", "in_effect": "confirmed"}
    source = {"event": {"action": "block"}, "moderation": {**before, **claimed(claim)}}
    decision = decision_of("m-1", source)
    assert (decision.tags, decision.corrects, decision.prior_outcome) == (
        ("weapons",), "dec-1", DecisionOutcome.CONFIRMED,
    )  # fmt: skip
    final = applied(decision)
    assert (final["status"], final["decision_id"], final["applied_id"]) == ("pending", None, "dec-2")
    assert "in_effect" not in final  # the item stays as the reversed-from decision left it
    # A claim that could not be published is undone back to the carried-out decision, not to nothing.
    assert released(before)["decision_id"] == "dec-1"
