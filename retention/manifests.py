"""Hourly manifests: what a worker stored for one service in one hour.

One manifest key per (service, hour, worker): manifests/service=<s>/date=<d>/hour=<h>/<worker>.json. Only that
worker writes it, so no two writers race. Each flush that adds a batch to the hour writes a new version of the
key, locked until the latest retention date of the objects it lists; earlier versions stay locked too, so the
history of the manifest cannot be rewritten either. The auditor reads the latest version and checks that every
object it lists is, today, exactly the version and the bytes the manifest names; an object under the hour that no
manifest lists is reported (it happens when a worker stored a batch and lost its partition before updating the
manifest; its chain is still verified).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any

from retention.codec import canonical

MANIFEST_VERSION = 1


@dataclass(frozen=True)
class Entry:
    key: str
    version_id: str | None
    kind: str
    topic: str
    partition: int
    first_offset: int
    last_offset: int
    records: int
    bytes: int
    raw_bytes: int
    sha256: str  # base64 SHA-256 of the stored bytes, the same value sent as x-amz-checksum-sha256
    first_hash: str
    last_hash: str
    retain_until: str


def entry_from(data: dict[str, Any]) -> Entry:
    return Entry(**{name: data[name] for name in Entry.__dataclass_fields__})


def document(service: str, hour: str, worker: str, entries: dict[str, Entry], updated_at: str) -> dict[str, Any]:
    objects = [asdict(entries[k]) for k in sorted(entries)]
    counts: dict[str, int] = {}
    for e in entries.values():
        counts[e.kind] = counts.get(e.kind, 0) + e.records
    return {
        "v": MANIFEST_VERSION,
        "service_type": service,
        "hour": hour,
        "worker": worker,
        "updated_at": updated_at,
        "objects": objects,
        "object_count": len(objects),
        "records": sum(e.records for e in entries.values()),
        "counts": counts,
        "first_hash": objects[0]["first_hash"] if objects else None,
        "last_hash": objects[-1]["last_hash"] if objects else None,
        "digest": hashlib.sha256(canonical(objects)).hexdigest(),
    }


def parse(key: str, data: bytes) -> dict[str, Entry]:
    from retention.exceptions import IntegrityError

    try:
        doc = json.loads(data)
        entries = {o["key"]: entry_from(o) for o in doc["objects"]}
        digest = hashlib.sha256(canonical(doc["objects"])).hexdigest()
    except (ValueError, KeyError, TypeError) as exc:
        raise IntegrityError(key, f"unreadable manifest ({exc})") from exc
    if digest != doc.get("digest"):
        raise IntegrityError(key, "manifest digest does not match its object list (altered)")
    return entries
