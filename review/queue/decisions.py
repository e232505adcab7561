"""The one mapper between a moderator's decision and the queue document's `moderation.*` fields: what a claim
writes, what an applied decision writes, what a released claim clears, and the Decision a claimed document stands
for. The review page, the queue store and the queue agent all go through here.

Corrections (issue 16): a senior may reopen or reverse a decided item. Every change is a decision of its own, with
the id of the decision it corrects (`corrects`) and the outcome in effect before it (`prior_outcome`). The document
keeps `applied_id`, the last decision the worker carried out, and `in_effect`, the outcome the platform shows
(kept through a reopening); a decision is in flight while `decision_id` is set and differs from `applied_id`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from modpipe.contracts import Decision, DecisionOutcome
from modpipe.settings import Action

DECIDED = ("confirmed", "overturned")


@dataclass(frozen=True)
class Claim:
    decision_id: str
    moderator: str
    outcome: str
    comment: str
    decided_at: datetime
    tags: tuple[str, ...] = ()
    corrects: str | None = None  # the last decision carried out, when there is one
    prior_outcome: str | None = None  # the outcome in effect when the claim was made


# Fields a moderator's decision owns: a re-delivered or re-computed verdict never resets them.
CLAIM_FIELDS = (
    "decision_id", "decided_by", "outcome", "comment", "decided_at", "assignee", "tags", "corrects", "prior_outcome",
)  # fmt: skip


def in_effect(moderation: dict[str, Any]) -> str | None:
    """The outcome the platform shows for the item (confirmed = down, overturned = up), None while only the
    machine's action counts. Documents older than `in_effect` show it in their final status."""
    value = moderation.get("in_effect")
    if isinstance(value, str):
        return value
    status = moderation.get("status")
    return status if status in DECIDED and not moderation.get("applied_id") else None


def in_flight(moderation: dict[str, Any], open_statuses: tuple[str, ...]) -> bool:
    decision_id = moderation.get("decision_id")
    if not decision_id:
        return False
    applied_id = moderation.get("applied_id")
    if applied_id:
        return bool(decision_id != applied_id)
    return moderation.get("status", "pending") in open_statuses


def claimed(claim: Claim) -> dict[str, Any]:
    """What claiming an item writes (first wins; the status stays pending until the worker applies it)."""
    return {
        "decision_id": claim.decision_id,
        "decided_by": claim.moderator,
        "outcome": claim.outcome,
        "comment": claim.comment,
        "decided_at": claim.decided_at.isoformat(),
        "assignee": claim.moderator,
        "tags": list(claim.tags),
        "corrects": claim.corrects,
        "prior_outcome": claim.prior_outcome,
    }


def released(previous: dict[str, Any] | None = None) -> dict[str, Any]:
    """What undoing a claim writes: every field a claim wrote, back as it was before (`previous`, the document's
    `moderation` when it was read; nothing for a first decision, the carried-out decision for a correction)."""
    before = previous or {}
    return {name: before.get(name) for name in CLAIM_FIELDS}


def applied(decision: Decision) -> dict[str, Any]:
    """What a decision from the decisions topic sets once the worker carries it out. A reopening puts the item
    back in the open queue (no claim) while `in_effect` keeps what the platform shows."""
    fields: dict[str, Any] = {
        "decided_by": decision.moderator,
        "decided_at": decision.decided_at.isoformat(),
        "comment": decision.comment,
        "tags": list(decision.tags),
        "corrects": decision.corrects,
        "prior_outcome": decision.prior_outcome.value if decision.prior_outcome else None,
        "applied_id": decision.decision_id,
    }
    if decision.outcome is DecisionOutcome.REOPENED:
        status = "reported" if decision.previous_action is Action.PASS else "pending"
        return fields | {"status": status, "outcome": None, "decision_id": None, "assignee": None}
    value = decision.outcome.value
    return fields | {"status": value, "outcome": value, "decision_id": decision.decision_id, "in_effect": value}


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
        tags=tuple(m.get("tags") or ()),
        corrects=m.get("corrects") or None,
        prior_outcome=DecisionOutcome(m["prior_outcome"]) if m.get("prior_outcome") else None,
    )
