"""Object keys (design.md section 5). All partitions are UTC.

records/service=<s>/date=YYYY-MM-DD/hour=HH/<worker>-<kind tag>-<partition>-<first offset>.jsonl.zst
manifests/service=<s>/date=YYYY-MM-DD/hour=HH/<worker>.json
holds/<hold id>.json
quarantine/date=YYYY-MM-DD/<worker>-<topic>-<partition>-<offset>.json (receipt date; see quarantine.py)

The kind tag (v = verdict, d = decision, r = user report, o = report outcome, l = dead letter, x = anything else)
keeps batches of different kinds apart when their source partitions and first offsets happen to be equal. Nothing
in a key depends on when the batch was written, so a retried batch lands on its own key again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

RECORDS = "records/"
MANIFESTS = "manifests/"
HOLDS = "holds/"
QUARANTINE = "quarantine/"
UNCLASSIFIED = "unclassified"  # records whose service type is missing or unknown: kept for the longest period
KIND_TAGS = {"verdict": "v", "decision": "d", "report": "r", "report_outcome": "o", "dead_letter": "l", "other": "x"}
_SERVICE = re.compile(r"^[a-z][a-z0-9_]*$")
_HOUR_PATH = re.compile(r"service=([^/]+)/date=(\d{4}-\d{2}-\d{2})/hour=(\d{2})/")


@dataclass(frozen=True)
class ObjectName:
    worker: str
    tag: str
    partition: int
    first_offset: int


def service_folder(service: str) -> str:
    return service if _SERVICE.match(service) else UNCLASSIFIED


def hour_path(service: str, at: datetime) -> str:
    utc = at.astimezone(UTC)
    return f"service={service}/date={utc:%Y-%m-%d}/hour={utc:%H}/"


def record_key(service: str, at: datetime, worker: str, kind: str, partition: int, first_offset: int) -> str:
    tag = KIND_TAGS.get(kind, "x")
    return f"{RECORDS}{hour_path(service, at)}{worker}-{tag}-{partition}-{first_offset}.jsonl.zst"


def manifest_key(service: str, at: datetime, worker: str) -> str:
    return f"{MANIFESTS}{hour_path(service, at)}{worker}.json"


def quarantine_key(received: datetime, worker: str, topic: str, partition: int, offset: int) -> str:
    return f"{QUARANTINE}date={received.astimezone(UTC):%Y-%m-%d}/{worker}-{topic}-{partition}-{offset}.json"


def parse_object_name(key: str) -> ObjectName | None:
    name = key.rsplit("/", 1)[-1].removesuffix(".jsonl.zst")
    parts = name.rsplit("-", 3)
    if len(parts) != 4 or not parts[2].isdigit() or not parts[3].isdigit():
        return None
    return ObjectName(parts[0], parts[1], int(parts[2]), int(parts[3]))


def hour_of(key: str) -> tuple[str, datetime] | None:
    """The service and the hour a records or manifest key belongs to."""
    found = _HOUR_PATH.search(key)
    if found is None:
        return None
    at = datetime.strptime(f"{found.group(2)} {found.group(3)}", "%Y-%m-%d %H").replace(tzinfo=UTC)
    return found.group(1), at


def hours(start: datetime, end: datetime) -> list[datetime]:
    """Every UTC hour that overlaps [start, end)."""
    at = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    found = []
    while at < end:
        found.append(at)
        at += timedelta(hours=1)
    return found
