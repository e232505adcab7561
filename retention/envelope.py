"""Turning a verdict or a decision (the JSON value from its topic) into the record that is stored.

A value that lacks a usable service type or time is still stored, never dropped: it goes under the
`unclassified` service folder and is kept for the longest period any service has, or it is stored under its
receipt time (the sink's clock) with a note, so a malformed record can never be deleted early. Whatever its own
time, a record's period counts from its receipt at the earliest (dates.retention_start).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from modpipe.settings import Settings
from retention.codec import canonical
from retention.dates import iso, longest, parse_time, retain_until, retention_start, unusable
from retention.dead_letters import DEAD_LETTER, subject
from retention.layout import UNCLASSIFIED, service_folder

RECORD_VERSION = 1
# The time a record is filed under: a verdict's message's, a decision's, a user report's, a report outcome's.
_TIME_FIELDS = {
    "verdict": "published_at", "decision": "decided_at", "report": "reported_at", "report_outcome": "at",
    DEAD_LETTER: "received_at",
}  # fmt: skip
_RECEIPT_FIELDS = {"report_outcome": "at", DEAD_LETTER: "received_at"}


@dataclass(frozen=True)
class Pending:
    kind: str  # verdict | decision | report | report_outcome | dead_letter | other
    service: str  # the key's service folder
    event_at: datetime  # published_at of a verdict's message, decided_at of a decision
    retain_until: datetime
    message_id: str | None
    topic: str
    partition: int
    offset: int
    raw_bytes: int
    record: dict[str, Any]  # the stored record's fields except `data`
    data_json: bytes  # canonical JSON of the value: the `data` field, and its size is the raw size


def kind_of(value: dict[str, Any], topic: str, settings: Settings) -> str:
    topics = settings.kafka.topics
    if topic == topics.reports.name:
        return "report"
    if topic == topics.report_outcomes.name:
        return "report_outcome"
    if topic == topics.dead_letters.name:
        return DEAD_LETTER
    if topic == topics.decisions.name or "decision_id" in value:
        return "decision"
    if topic == topics.verdicts.name or isinstance(value.get("message"), dict):
        return "verdict"
    return "other"


def receipt(value: dict[str, Any], kind: str, clock_now: datetime, max_ahead: timedelta) -> datetime:
    """When modpipe received what a record records. For a verdict or a decision, its own `decided_at`: modpipe's
    clock when the message was judged or the moderator decided. A record stored again later (a re-delivery, a
    replay by a new consumer group) then gets the same bytes and the same period as its first copy, instead of a
    new version that differs in content. A dead letter's is its `received_at`, for the same reason. Without a
    usable one, the sink's clock."""
    if kind in ("verdict", "decision", "report_outcome", DEAD_LETTER):
        # A report outcome's `at` is modpipe's clock too: when it took the report in, or the moderator ruled.
        decided = parse_time(value.get(_RECEIPT_FIELDS.get(kind, "decided_at")))
        if decided is not None and unusable(decided, clock_now, max_ahead) is None:
            return decided.astimezone(UTC)
    return clock_now


def build(
    value: dict[str, Any], *, topic: str, partition: int, offset: int, settings: Settings, now: datetime
) -> Pending:
    """`now` is the sink's clock. Raises on nothing a JSON value can hold, except text no UTF-8 can encode (lone
    surrogates): the sink quarantines what this refuses."""
    kind = kind_of(value, topic, settings)
    now = receipt(value, kind, now.astimezone(UTC), timedelta(seconds=settings.message.max_future_s))
    message = value.get("message") if isinstance(value.get("message"), dict) else {}
    assert isinstance(message, dict)
    field = _TIME_FIELDS.get(kind, "decided_at")
    given = message.get(field) if kind == "verdict" else value.get(field)
    event_at = parse_time(given)
    declared = value.get("service_type")
    service = declared if isinstance(declared, str) and declared in settings.services else UNCLASSIFIED
    if kind == DEAD_LETTER:
        service = UNCLASSIFIED
    service = service_folder(service)
    notes = []
    limits = settings.message
    if event_at is None:
        problem: str | None = "missing, or not RFC 3339 with an offset"
    else:
        problem = unusable(event_at, now, timedelta(seconds=limits.max_future_s))
    if problem is not None or event_at is None:
        event_at = now
        notes.append(f"{field} {repr(given)[:80]} cannot be used ({problem}): stored under its receipt time")
    elif event_at < now - timedelta(days=limits.max_age_days):
        notes.append(f"{field} is more than {limits.max_age_days} days before its receipt: kept from the receipt")
    start = retention_start(event_at, now)
    if service == UNCLASSIFIED:
        if kind != DEAD_LETTER:  # a dead letter is kept longest whatever it claims to be
            notes.append(f"service type {declared!r} unknown: kept for the longest period")
        until = longest([s.retention for s in settings.services.values()], start)
    else:
        until = retain_until(settings.services[service].retention, start)
    message_id = value.get("message_id")
    message_id = message_id if isinstance(message_id, str) else None
    author, group = message.get("author_id"), message.get("group_id")
    if kind == DEAD_LETTER:
        message_id, author, group = subject(value)
    record: dict[str, Any] = {
        "v": RECORD_VERSION,
        "kind": kind,
        "service_type": service,
        "message_id": message_id,
        "event_at": iso(event_at),
        "author_id": author,
        "group_id": group,
        "source": {"topic": topic, "partition": partition, "offset": offset},
        "retain_until": iso(until),
    }
    if notes:
        record["notes"] = notes
    data_json = canonical(value)
    return Pending(
        kind, service, event_at, until, message_id, topic, partition, offset, len(data_json), record, data_json
    )
