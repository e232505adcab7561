"""Verdicts and decisions for the review area's tests (importable as tests.unit.review.factory)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from modpipe.contracts import Decision, DecisionOutcome, Hit, SourcePosition, Verdict
from modpipe.settings import Action

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def hits_for(text: str, terms: dict[str, str]) -> tuple[Hit, ...]:
    found = []
    for term, category in terms.items():
        start = text.find(term)
        if start >= 0:
            found.append(Hit(term=term, category=category, start=start, end=start + len(term), matched=term))
    return tuple(sorted(found, key=lambda h: h.start))


def make_verdict(
    message_id: str,
    text: str = "出售枪支弹药，私聊价格",
    *,
    action: Action = Action.REVIEW,
    flagged: tuple[str, ...] = ("C9",),
    scores: dict[str, float] | None = None,
    terms: dict[str, str] | None = None,
    author: str = "author-1",
    service_type: str = "bbs",
    published_at: datetime = T0,
    parent_id: str | None = None,
    **extra: Any,
) -> Verdict:
    message: dict[str, Any] = {
        "message_id": message_id,
        "service_type": service_type,
        "kind": "post",
        "text": text,
        "published_at": published_at.isoformat(),
        "author_id": author,
        "source_ip": "203.0.113.7",
        "platform": "forum-a",
        **extra,
    }
    if parent_id is not None:
        message["parent_id"] = parent_id
    return Verdict(
        verdict_id=f"v-{message_id}",
        message_id=message_id,
        action=action,
        categories=scores if scores is not None else dict.fromkeys(flagged, 0.9),
        flagged=flagged,
        hits=hits_for(text, terms if terms is not None else {"枪支": "C9", "弹药": "C9"}),
        model_version="m1",
        lexicon_version="l1",
        policy_version="p1",
        decided_by="machine",
        decided_at=published_at + timedelta(seconds=1),
        service_type=service_type,
        source=SourcePosition(topic="posts", partition=0, offset=0),
        message=message,
    )


def make_decision(message_id: str, outcome: DecisionOutcome, moderator: str = "alice") -> Decision:
    return Decision(
        decision_id=f"d-{message_id}",
        message_id=message_id,
        outcome=outcome,
        moderator=moderator,
        comment="checked",
        decided_at=T0 + timedelta(hours=1),
        previous_action=Action.REVIEW,
        verdict_id=f"v-{message_id}",
        service_type="bbs",
    )
