"""Records that cannot be stored as usual, stored anyway: one locked object each under `quarantine/`.

A value the envelope refuses (text no UTF-8 can encode, say) or a batch object the S3 server refuses for good
would otherwise stop the records worker on every restart, and everything behind it would go unstored. Instead the
value is written on its own with the reason, its source position and its receipt time, locked for the longest
period of any service (nobody has judged what it is), and the stream goes on. The object is JSON with ASCII
escapes, so even a lone surrogate is kept as it came (`\\udxxx`); a value that is not JSON at all is kept as its
Python repr. Nothing in it is chained or listed in a manifest: its lock and its version history vouch for it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from modpipe.settings import Settings
from retention.dates import iso, longest
from retention.layout import quarantine_key

QUARANTINE_VERSION = 1


@dataclass(frozen=True)
class Quarantined:
    key: str
    retain_until: datetime
    body: bytes


def quarantine(
    value: object, reason: str, *, topic: str, partition: int, offset: int, received: datetime, worker: str,
    settings: Settings,
) -> Quarantined:  # fmt: skip
    until = longest([s.retention for s in settings.services.values()], received)
    doc: dict[str, Any] = {
        "v": QUARANTINE_VERSION,
        "kind": "quarantine",
        "reason": reason[:2000],
        "received_at": iso(received),
        "worker": worker,
        "source": {"topic": topic, "partition": partition, "offset": offset},
        "retain_until": iso(until),
        "data": value,
    }
    try:
        body = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")
    except (TypeError, ValueError):
        doc["data"] = None
        doc["data_repr"] = repr(value)
        body = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")
    return Quarantined(quarantine_key(received, worker, topic, partition, offset), until, body)
