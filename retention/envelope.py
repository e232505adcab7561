"""Turning a verdict or a decision (the JSON value from its topic) into the record that is stored.

A value that lacks a usable service type or time is still stored, never dropped: it goes under the
`unclassified` service folder, or gets the write time as its time, and is kept for the longest period any
service has, so a malformed record can never be deleted early.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from modpipe.settings import Settings
from retention.codec import canonical
from retention.dates import iso, longest, parse_time, retain_until
from retention.layout import UNCLASSIFIED, service_folder

RECORD_VERSION = 1


@dataclass(frozen=True)
class Pending:
    kind: str  # verdict | decision | other
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
    if topic == topics.decisions.name or "decision_id" in value:
        return "decision"
    if topic == topics.verdicts.name or isinstance(value.get("message"), dict):
        return "verdict"
    return "other"


def build(
    value: dict[str, Any], *, topic: str, partition: int, offset: int, settings: Settings, now: datetime
) -> Pending:
    kind = kind_of(value, topic, settings)
    message = value.get("message") if isinstance(value.get("message"), dict) else {}
    assert isinstance(message, dict)
    event_at = parse_time(message.get("published_at") if kind == "verdict" else value.get("decided_at"))
    declared = value.get("service_type")
    service = declared if isinstance(declared, str) and declared in settings.services else UNCLASSIFIED
    service = service_folder(service)
    notes = []
    if event_at is None:
        event_at = now
        notes.append("no usable time in the value: the write time is used")
    if service == UNCLASSIFIED:
        notes.append(f"service type {declared!r} unknown: kept for the longest period")
        until = longest([s.retention for s in settings.services.values()], event_at)
    else:
        until = retain_until(settings.services[service].retention, event_at)
    message_id = value.get("message_id")
    message_id = message_id if isinstance(message_id, str) else None
    record: dict[str, Any] = {
        "v": RECORD_VERSION,
        "kind": kind,
        "service_type": service,
        "message_id": message_id,
        "event_at": iso(event_at),
        "author_id": message.get("author_id"),
        "group_id": message.get("group_id"),
        "source": {"topic": topic, "partition": partition, "offset": offset},
        "retain_until": iso(until),
    }
    if notes:
        record["notes"] = notes
    data_json = canonical(value)
    return Pending(
        kind, service, event_at, until, message_id, topic, partition, offset, len(data_json), record, data_json
    )
