"""What a record is a record *of*, as one string: the same message judged by the same model, or the same moderator
decision, is one record however many times it was stored.

At-least-once delivery stores a record again after a crash, a rebalance or a second consumer group reading the
same topics; the copies sit at other source positions and in other objects (all kept: they are locked), so the
source position cannot tell them apart. The verdict id is derived from the message and the versions that judged
it, and a decision id is chosen once by the review desk, so they can.
"""

from __future__ import annotations

from typing import Any


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
