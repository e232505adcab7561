"""What a record is a record *of*, as one string: the same message judged by the same model, or the same moderator
decision, is one record however many times it was stored.

At-least-once delivery stores a record again after a crash, a rebalance or a second consumer group reading the
same topics; the copies sit at other source positions and in other objects (all kept: they are locked), so the
source position cannot tell them apart. The verdict id is derived from the message and the versions that judged
it, and a decision id is chosen once by the review desk, so they can.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from retention.dates import parse_time


def record_identity(record: dict[str, Any]) -> str:
    """`verdict/<message id>/<verdict id>`, `decision/<message id>/<decision id>`; for a value of neither
    contract its kind and source position; and, for a record with no source either, its own hash."""
    kind = str(record.get("kind"))
    data = record.get("data")
    data = data if isinstance(data, dict) else {}
    own_id = data.get("verdict_id") if kind == "verdict" else data.get("decision_id") if kind == "decision" else None
    if isinstance(own_id, str) and own_id:
        return f"{kind}/{record.get('message_id')}/{own_id}"
    source = record.get("source")
    if isinstance(source, dict) and source.get("topic") is not None:
        return f"{kind}/@{source.get('topic')}/{source.get('partition')}/{source.get('offset')}"
    return f"{kind}/#{record.get('hash')}"


def record_order(record: dict[str, Any]) -> tuple[datetime, int, int]:
    """When a record was decided (`decided_at`, else its time), then its position in its topic: the order in which
    two records about one message were made (a topic keyed by message id holds them in one partition)."""
    data = record.get("data") or {}
    at = parse_time(data.get("decided_at")) or parse_time(record.get("event_at")) or datetime.min.replace(tzinfo=UTC)
    source = record.get("source") or {}
    partition, offset = source.get("partition"), source.get("offset")
    return at, partition if isinstance(partition, int) else -1, offset if isinstance(offset, int) else -1


def latest_per_message(records: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    """The latest record of `kind` per message id, in record_order: a message's latest decision, or its latest
    verdict when it was judged again (a replay under a newer model)."""
    latest: dict[str, dict[str, Any]] = {}
    for record in sorted(records, key=record_order):
        message_id = record.get("message_id")
        if record.get("kind") == kind and isinstance(message_id, str):
            latest[message_id] = record
    return latest
