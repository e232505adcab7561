"""The one mapper between a moderator's decision and the queue document's `moderation.*` fields: what a claim
writes, what an applied decision writes, what a released claim clears, and the Decision a claimed document stands
for. The review page, the queue store and the queue agent all go through here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from modpipe.contracts import Decision, DecisionOutcome
from modpipe.settings import Action


@dataclass(frozen=True)
class Claim:
    decision_id: str
    moderator: str
    outcome: str
    comment: str
    decided_at: datetime


# Fields a moderator's decision owns: a re-delivered or re-computed verdict never resets them.
CLAIM_FIELDS = ("decision_id", "decided_by", "outcome", "comment", "decided_at", "assignee")


def claimed(claim: Claim) -> dict[str, Any]:
    """What claiming an item writes (first wins; the status stays pending until the worker applies it)."""
    return {
        "decision_id": claim.decision_id,
        "decided_by": claim.moderator,
        "outcome": claim.outcome,
        "comment": claim.comment,
        "decided_at": claim.decided_at.isoformat(),
        "assignee": claim.moderator,
    }


def released() -> dict[str, Any]:
    """What undoing a claim clears: every field a claim wrote."""
    return dict.fromkeys(CLAIM_FIELDS)


def applied(decision: Decision) -> dict[str, Any]:
    """The final status a decision from the decisions topic sets."""
    return {
        "status": decision.outcome.value,
        "outcome": decision.outcome.value,
        "decided_by": decision.moderator,
        "decided_at": decision.decided_at.isoformat(),
        "decision_id": decision.decision_id,
        "comment": decision.comment,
    }


def decision_of(message_id: str, source: dict[str, Any]) -> Decision:
    """The Decision a claimed document (its `_source`) stands for: the claim holds everything the worker needs."""
    m = source.get("moderation") or {}
    src = source
    return Decision(
        decision_id=str(m["decision_id"]),
        message_id=message_id,
        outcome=DecisionOutcome(m["outcome"]),
        moderator=str(m["decided_by"]),
        comment=str(m.get("comment") or ""),
        decided_at=m["decided_at"],
        previous_action=Action(src.get("event", {}).get("action", "review")),
        verdict_id=str(m.get("verdict_id") or ""),
        service_type=str(src.get("service", {}).get("type", "")),
        platform=src.get("labels", {}).get("platform"),
        categories=tuple(src.get("rule", {}).get("category") or ()),
    )
