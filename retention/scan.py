"""Listing and reading what the bucket holds: versions, their dates and holds, and the records inside."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from retention.dates import parse_time
from retention.store import RETAIN_META, Store


@dataclass(frozen=True)
class Version:
    key: str
    version_id: str | None
    is_latest: bool
    is_delete_marker: bool


@dataclass(frozen=True)
class VersionState:
    retain_until: datetime | None  # the later of the S3 lock date and the date the writer recorded
    legal_hold: bool


def folders(store: Store, prefix: str) -> list[str]:
    """The immediate sub-folders of a prefix (S3 common prefixes), sorted."""
    listed = store.call(lambda: list(store.client.list_objects(store.bucket, prefix=prefix, recursive=False)))
    return sorted(o.object_name for o in listed if o.is_dir)


def versions(store: Store, prefix: str) -> list[Version]:
    listed = store.call(
        lambda: list(store.client.list_objects(store.bucket, prefix=prefix, recursive=True, include_version=True))
    )
    return [
        Version(o.object_name, o.version_id, bool(o.is_latest in (True, "true")), bool(o.is_delete_marker))
        for o in listed
    ]


def latest_keys(store: Store, prefix: str) -> list[str]:
    listed = store.call(lambda: list(store.client.list_objects(store.bucket, prefix=prefix, recursive=True)))
    return sorted(o.object_name for o in listed if not o.is_dir)


def state(store: Store, key: str, version_id: str | None) -> VersionState:
    stat = store.call(store.client.stat_object, store.bucket, key, version_id=version_id)
    headers = stat.metadata or {}
    dates = [parse_time(headers.get(h)) for h in ("x-amz-object-lock-retain-until-date", RETAIN_META)]
    known = [d for d in dates if d is not None]
    hold = (headers.get("x-amz-object-lock-legal-hold") or "").upper() == "ON"
    return VersionState(max(known) if known else None, hold)
