"""How a confirmed violation becomes strikes: against the author, for group messages the group, for a public
account's article the account, and the group's owner or admin when the message names them; and how an overturn
withdraws them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from measures.model import Strike, StrikeEvent, StrikeSource, SubjectRef, Withdraw
from modpipe.contracts import Decision, DecisionOutcome, Verdict
from modpipe.settings import Action
from modpipe.settings.measures import MeasuresSettings, SubjectType

ADMIN_ROLES = frozenset({"owner", "admin"})
UNKNOWN_CATEGORY = "unknown"


def _text(message: Mapping[str, Any], field: str) -> str | None:
    value = message.get(field)
    return value if isinstance(value, str) and value else None


def subjects_of(message: Mapping[str, Any]) -> tuple[SubjectRef, ...]:
    """Every subject a violation in this message counts against, each once, in a fixed order."""
    found: list[SubjectRef] = []
    author = _text(message, "author_id")
    if author:
        found.append(SubjectRef(type=SubjectType.ACCOUNT, id=author))
    account = _text(message, "account_id")
    if account:
        found.append(SubjectRef(type=SubjectType.PUBLIC_ACCOUNT, id=account))
    group = _text(message, "group_id")
    if group:
        found.append(SubjectRef(type=SubjectType.GROUP, id=group))
        # The group rules hold owners and admins to account for the group they run; unknown roles are members.
        if author and _text(message, "author_role") in ADMIN_ROLES:
            found.append(SubjectRef(type=SubjectType.GROUP_ADMIN, id=author))
        owner = _text(message, "group_owner_id")
        if owner:
            found.append(SubjectRef(type=SubjectType.GROUP_ADMIN, id=owner))
    unique: dict[str, SubjectRef] = {}
    for subject in found:
        unique.setdefault(subject.key, subject)
    return tuple(unique.values())


def _heaviest(
    codes: Iterable[str], sub_labels: Mapping[str, str], settings: MeasuresSettings
) -> tuple[str, str | None, int]:
    # One message is one strike: it counts as its heaviest category, ties broken by code for determinism.
    best: tuple[int, str, str | None] | None = None
    for code in sorted(set(codes)):
        sub = sub_labels.get(code)
        weight = settings.weight(code, sub)
        if best is None or weight > best[0]:
            best = (weight, code, sub)
    if best is None:
        return UNKNOWN_CATEGORY, None, settings.default_points
    return best[1], best[2], best[0]


def _events(
    message: Mapping[str, Any],
    codes: Iterable[str],
    sub_labels: Mapping[str, str],
    source: StrikeSource,
    at: datetime,
    settings: MeasuresSettings,
) -> tuple[StrikeEvent, ...]:
    category, sub_label, weight = _heaviest(codes, sub_labels, settings)
    return tuple(
        StrikeEvent(
            strike=Strike(subject=subject, category=category, sub_label=sub_label, weight=weight, source=source, at=at)
        )
        for subject in subjects_of(message)
    )


def strikes_for_verdict(verdict: Verdict, settings: MeasuresSettings) -> tuple[StrikeEvent, ...]:
    """A machine block is a strike at once; a verdict sent to review waits for the moderator."""
    if verdict.action is not Action.BLOCK:
        return ()
    codes = verdict.flagged or tuple(h.category for h in verdict.hits if h.kind != "signal")
    source = StrikeSource(message_id=verdict.message_id, verdict_id=verdict.verdict_id)
    return _events(verdict.message, codes, verdict.sub_labels, source, verdict.decided_at, settings)


def strikes_for_decision(
    decision: Decision, verdict: Verdict, settings: MeasuresSettings
) -> tuple[StrikeEvent | Withdraw, ...]:
    """A confirmation is a strike (the same one, if the machine had blocked); an overturn withdraws it.

    The decision does not carry the message, so the verdict it ruled on says who the subjects are."""
    if decision.message_id != verdict.message_id:
        raise ValueError(f"decision {decision.decision_id} is on {decision.message_id}, not on {verdict.message_id}")
    if decision.outcome is DecisionOutcome.REOPENED:
        return ()  # sent back for re-review: the strike (or its withdrawal) waits for the next decision
    if decision.outcome is DecisionOutcome.OVERTURNED:
        return tuple(
            Withdraw(subject=subject, source_id=decision.message_id, by=decision.decision_id)
            for subject in subjects_of(verdict.message)
        )
    codes = decision.categories or verdict.flagged
    source = StrikeSource(
        message_id=decision.message_id, verdict_id=decision.verdict_id, decision_id=decision.decision_id
    )
    return _events(verdict.message, codes, verdict.sub_labels, source, decision.decided_at, settings)
