"""Reading records back for an auditor: every object of a window, verified as it is read.

For each service and each UTC hour that overlaps the window, the latest version of every manifest is read, then
the latest version of every records object under the hour. An object a manifest lists must be, today, exactly the
version and the bytes the manifest names, hold a hash chain that recomputes from its key's genesis, and match the
manifest's count and first and last hashes. Anything else raises IntegrityError naming the object: a record
rewritten around the pipeline shows up as a new latest version; a deleted one as a missing key.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.progress import Progress

from retention import manifests
from retention.access_log import LoggedObject
from retention.codec import decode_lines, sha256_b64, verify_lines
from retention.dates import parse_time
from retention.exceptions import IntegrityError
from retention.identity import record_identity
from retention.layout import MANIFESTS, RECORDS, hour_path, hours
from retention.manifests import Entry
from retention.scan import folders, latest_keys
from retention.store import Store


@dataclass(frozen=True)
class ObjectRead:
    key: str
    version_id: str | None
    sha256: str
    records: int
    first_hash: str | None
    last_hash: str | None
    manifest: str | None  # the manifest key that lists it; None for an unlisted object


@dataclass
class Collected:
    records: list[dict[str, Any]] = field(default_factory=list)
    objects: list[ObjectRead] = field(default_factory=list)
    manifests: list[dict[str, Any]] = field(default_factory=list)
    unlisted: list[str] = field(default_factory=list)
    duplicates: list[dict[str, Any]] = field(default_factory=list)  # copies of a record already read, not kept
    access: list[LoggedObject] | None = None  # an export's window of the access log (None: not part of the bundle)
    read_records: int = 0  # every record in the objects read, in the window or not
    stored_bytes: int = 0

    @property
    def duplicates_skipped(self) -> int:
        return len(self.duplicates)

    def objects_json(self) -> list[dict[str, Any]]:
        return [asdict(o) for o in self.objects]


Keep = Callable[[dict[str, Any]], bool]


def services_in(store: Store) -> list[str]:
    return [f.removeprefix(RECORDS).removeprefix("service=").rstrip("/") for f in folders(store, RECORDS)]


def verify_object(
    key: str, data: bytes, version_id: str | None, entry: Entry | None, manifest: str | None
) -> tuple[ObjectRead, list[dict[str, Any]], list[bytes]]:
    if entry is not None:
        if entry.version_id is not None and version_id != entry.version_id:
            raise IntegrityError(
                key,
                f"latest version {version_id} is not the version {entry.version_id} that manifest {manifest} lists "
                "(the object was rewritten around the pipeline)",
            )
        if sha256_b64(data) != entry.sha256:
            raise IntegrityError(key, f"stored bytes do not match the SHA-256 in manifest {manifest}")
    records, lines = decode_lines(key, data)
    verify_lines(key, records, lines)
    first = records[0]["hash"] if records else None
    last = records[-1]["hash"] if records else None
    if entry is not None and (len(records), first, last) != (entry.records, entry.first_hash, entry.last_hash):
        raise IntegrityError(key, f"record count or first/last hash differ from manifest {manifest}")
    return ObjectRead(key, version_id, sha256_b64(data), len(records), first, last, manifest), records, lines


Line = tuple[dict[str, Any], bytes]  # a record and its line as stored
Emit = Callable[[list[Line]], None]


def collect(
    store: Store,
    start: datetime,
    end: datetime,
    *,
    services: list[str] | None = None,
    keep: Keep = lambda _r: True,
    object_filter: Callable[[str], bool] = lambda _k: True,
    progress: bool = False,
    emit: Emit | None = None,
) -> Collected:
    """Verified records whose event time is in [start, end) and that `keep` accepts, each identity
    (retention.identity) once, in time order; the copies are listed in `duplicates`. With `emit`, each hour's
    records go to it as soon as the hour is read (memory stays bounded by one hour); without, they are gathered in
    the result."""
    result = Collected()
    wanted = services if services is not None else services_in(store)
    plan: list[tuple[datetime, str, Entry | None, str | None]] = []
    for hour in hours(start, end):
        for service in wanted:
            path = hour_path(service, hour)
            listed: dict[str, tuple[Entry, str]] = {}
            for mkey in latest_keys(store, MANIFESTS + path):
                data, version_id = store.get(mkey)
                entries = manifests.parse(mkey, data)
                result.manifests.append({"key": mkey, "version_id": version_id, "sha256": sha256_b64(data)})
                listed.update({k: (e, mkey) for k, e in entries.items()})
            present = set(latest_keys(store, RECORDS + path))
            for key, (entry, listing) in sorted(listed.items()):
                if key not in present:
                    raise IntegrityError(key, f"listed in manifest {listing} but missing (deleted or hidden)")
                if object_filter(key):
                    plan.append((hour, key, entry, listing))
            for key in sorted(present - listed.keys()):
                result.unlisted.append(key)
                if object_filter(key):
                    plan.append((hour, key, None, None))
    # A record always lands in the hour of its own time (published_at, decided_at: the same in every copy), so
    # its copies can only be found within one hour.
    seen: dict[str, str] = {}  # identity -> the key of the object its first copy was read from
    current: datetime | None = None
    batch: list[tuple[datetime, int, Line]] = []  # time, then the order read, as the sort key

    def hour_done() -> None:
        batch.sort(key=lambda item: (item[0], item[1]))
        lines = [item[2] for item in batch]
        if emit is not None:
            emit(lines)
        else:
            result.records.extend(record for record, _line in lines)
        batch.clear()
        seen.clear()

    with Progress(console=Console(stderr=True), disable=not progress, transient=True) as bar:
        task = bar.add_task("reading objects", total=len(plan))
        for hour, key, listed_entry, listing_key in plan:
            if hour != current:
                hour_done()
                current = hour
            data, version_id = store.get(key)
            read, records, lines = verify_object(key, data, version_id, listed_entry, listing_key)
            result.objects.append(read)
            result.stored_bytes += len(data)
            result.read_records += len(records)
            for record, line in zip(records, lines, strict=True):
                at = parse_time(record.get("event_at"))
                if at is None or not start <= at < end or not keep(record):
                    continue
                identity = record_identity(record)
                if identity in seen:
                    copy = {"identity": identity, "key": key, "source": record.get("source"), "first": seen[identity]}
                    result.duplicates.append(copy)
                    continue
                seen[identity] = key
                record["stored_in"] = {"key": key, "version_id": version_id}
                batch.append((at, len(batch), (record, line)))
            bar.advance(task)
    hour_done()
    return result
