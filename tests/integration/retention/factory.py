"""Verdicts and decisions as the records agent receives them (JSON of the contracts), for retention tests."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from minio import Minio
from minio.error import S3Error

from modpipe.clock import Clock, SystemClock
from modpipe.contracts.verdict import Decision, DecisionOutcome, SourcePosition, Verdict, verdict_id
from modpipe.settings import Action
from retention.store import Store, Stored

KIND = {"bbs": "post", "comment": "comment", "group": "group_message", "public_account": "post"}


def verdict(
    message_id: str,
    service: str,
    published_at: datetime,
    *,
    author: str = "u1",
    group: str | None = None,
    action: Action = Action.PASS,
    flagged: tuple[str, ...] = (),
    offset: int = 0,
) -> dict[str, Any]:
    message: dict[str, Any] = {
        "message_id": message_id, "service_type": service, "kind": KIND[service], "text": f"内容 {message_id}",
        "published_at": published_at.isoformat(), "author_id": author, "source_ip": "203.0.113.7",
    }  # fmt: skip
    if group is not None:
        message["group_id"] = group
    v = Verdict(
        verdict_id=verdict_id(message_id, "m1", "l1", "p1"), message_id=message_id, action=action,
        categories={code: 0.9 for code in flagged}, flagged=flagged, model_version="m1", lexicon_version="l1",
        policy_version="p1", decided_by="machine", decided_at=published_at + timedelta(seconds=2),
        service_type=service, source=SourcePosition(topic="posts", partition=0, offset=offset), message=message,
    )  # fmt: skip
    return v.model_dump(mode="json")


def decision(
    message_id: str, service: str, decided_at: datetime, outcome: DecisionOutcome, previous: Action, *,
    categories: tuple[str, ...] = (),
) -> dict[str, Any]:  # fmt: skip
    d = Decision(
        decision_id=f"d-{message_id}-{outcome.value}", message_id=message_id, outcome=outcome, moderator="mod-7",
        decided_at=decided_at, previous_action=previous, verdict_id=verdict_id(message_id, "m1", "l1", "p1"),
        service_type=service, categories=categories,
    )  # fmt: skip
    return d.model_dump(mode="json")


class ServerTimeLocks(Store):
    """Locks decided by the server's time, not the sink's clock: as if the records had been written in 2020 and
    their locks had run out since (the server refuses a lock date in its past)."""

    def put(self, key: str, data: bytes, until: datetime | None, clock: Clock, content_type: str) -> Stored:
        return super().put(key, data, until, SystemClock(), content_type)


def legal_hold_on(client: Minio, bucket: str, key: str, version_id: str | None = None) -> bool:
    """Whether a version carries the S3 legal hold; one that never had any answers NoSuchObjectLegalHold."""
    try:
        return bool(client.is_object_legal_hold_enabled(bucket, key, version_id=version_id))
    except S3Error as exc:
        if exc.code == "NoSuchObjectLegalHold":
            return False
        raise
