"""Reading records back for an auditor: every object of a window, verified as it is read.

For each service and each UTC hour that overlaps the window, every version of every manifest is read (each must
be an append-only extension of the one before), then every records object under the hour: its versions must all
hold the same bytes, the version the latest manifest names must match its SHA-256, hold a hash chain that
recomputes from its key's genesis, and match the manifest's count and first and last hashes. Anything else is a
tamper, named with the object, its versions and what differs (retention.history): it raises IntegrityError, or,
for an export, is reported in the bundle with every stored version of what was tampered with.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from operator import itemgetter
from typing import Any, Protocol

from rich.console import Console
from rich.progress import Progress

from retention.access_log import LoggedObject
from retention.codec import decode_lines, sha256_b64, verify_lines
from retention.dates import parse_time
from retention.exceptions import IntegrityError
from retention.history import History, ManifestHistory, Tamper, histories, manifest_history, object_tamper
from retention.hold_copies import COPIES, is_copy
from retention.hold_history import hold_history, hold_of_copy
from retention.identity import record_identity
from retention.layout import HOLDS, MANIFESTS, RECORDS, hour_path, hours
from retention.manifests import Entry
from retention.scan import folders
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
    holds: list[dict[str, Any]] = field(default_factory=list)  # hold record versions read (the copies' manifests)
    unlisted: list[str] = field(default_factory=list)
    duplicates: list[dict[str, Any]] = field(default_factory=list)  # copies of a record already read, not kept
    tampers: list[dict[str, Any]] = field(default_factory=list)  # retention.history.Tamper, as JSON
    handed_over: list[tuple[str, str | None, bytes]] = field(default_factory=list)  # every version of a tampered key
    access: list[LoggedObject] | None = None  # an export's window of the access log (None: not part of the bundle)
    held_copies: list[str] = field(default_factory=list)  # hold copies read (retention.hold_copies)
    held_copies_skipped: int = 0  # hold copies whose every record was already read from its original
    read_records: int = 0  # every record in the objects read, in the window or not
    stored_bytes: int = 0

    @property
    def duplicates_skipped(self) -> int:
        return len(self.duplicates)

    def objects_json(self) -> list[dict[str, Any]]:
        return [asdict(o) for o in self.objects]


Keep = Callable[[dict[str, Any]], bool]


def _keep_all(_record: dict[str, Any]) -> bool:
    return True


def services_in(store: Store) -> list[str]:
    return [f.removeprefix(RECORDS).removeprefix("service=").rstrip("/") for f in folders(store, RECORDS)]


def verify_object(
    key: str, data: bytes, version_id: str | None, entry: Entry | None, manifest: str | None
) -> tuple[ObjectRead, list[dict[str, Any]], list[bytes]]:
    if entry is not None and entry.version_id is not None and version_id != entry.version_id:
        raise IntegrityError(
            key,
            f"latest version {version_id} is not the version {entry.version_id} that manifest {manifest} lists "
            "(the object was rewritten around the pipeline)",
        )
    digest = sha256_b64(data)
    if entry is not None and digest != entry.sha256:
        raise IntegrityError(key, f"stored bytes do not match the SHA-256 in manifest {manifest}")
    records, lines = decode_lines(key, data)
    verify_lines(key, records, lines)
    first = records[0]["hash"] if records else None
    last = records[-1]["hash"] if records else None
    if entry is not None and (len(records), first, last) != (entry.records, entry.first_hash, entry.last_hash):
        raise IntegrityError(key, f"record count or first/last hash differ from manifest {manifest}")
    return ObjectRead(key, version_id, digest, len(records), first, last, manifest), records, lines


Line = tuple[dict[str, Any], bytes]  # a record and its line as stored


class Emit(Protocol):
    """Where an export streams its records. `hold` gets each object's records in the window as they are read and
    gives what is kept of each until its hour is written, so the parsed records need not be (an hour of them took
    8-11 KB per record); `write` gets an hour of what `hold` gave, in time order."""

    def hold(self, items: list[Line], stored_in: dict[str, Any]) -> list[Any]: ...

    def write(self, held: list[Any]) -> None: ...


def collect(
    store: Store,
    start: datetime,
    end: datetime,
    *,
    services: list[str] | None = None,
    keep: Keep = _keep_all,
    object_filter: Callable[[str], bool] = lambda _k: True,
    progress: bool = False,
    emit: Emit | None = None,
    hand_over: bool = False,
) -> Collected:
    """Verified records whose event time is in [start, end) and that `keep` accepts, each identity
    (retention.identity) once, in time order; the copies are listed in `duplicates`. With `emit`, each hour's
    records go to it as soon as the hour is read (memory stays bounded by one hour); without, they are gathered in
    the result.

    The version history of every manifest and records object read is checked (retention.history). A tamper raises
    IntegrityError naming it, unless `hand_over`: then it is listed in `tampers`, every stored version of the
    tampered object or manifest is kept in `handed_over`, and a tampered object's records come from its original
    version (the one its manifest first listed), so the window can still be handed over."""
    result = Collected()
    # hold copies keep a held subject's records once their originals are gone, and their hold records list them:
    # one listing of holds/ for the whole window
    in_holds = histories(store, HOLDS)
    held: dict[str, dict[str, History]] = {}
    for key, history in in_holds.items():
        if is_copy(key):
            held.setdefault("/".join(key.removeprefix(COPIES).split("/")[:3]) + "/", {})[key] = history
    hold_records = _HoldListing(store, in_holds, result, hand_over)
    held_services = {path.split("/", 1)[0].removeprefix("service=") for path in held}
    wanted = services if services is not None else sorted(set(services_in(store)) | held_services)
    plan: list[Planned] = []
    for hour in hours(start, end):
        for service in wanted:
            path = hour_path(service, hour)
            listed: dict[str, tuple[Entry, str]] = {}
            originals: dict[str, Entry] = {}
            for mkey, mhist in sorted(histories(store, MANIFESTS + path).items()):
                found = manifest_history(store, mhist)
                if found.tamper is not None:
                    _tampered(result, found.tamper, [(mkey, v, d) for v, d, _e in found.versions], hand_over)
                if not found.versions:
                    continue
                version_id, data, entries = found.versions[-1]
                result.manifests.append({"key": mkey, "version_id": version_id, "sha256": sha256_b64(data)})
                listed.update({k: (e, mkey) for k, e in entries.items()})
                for k in entries:
                    original = found.original_entry(k)
                    if original is not None:
                        originals.setdefault(k, original)
            objects = histories(store, RECORDS + path)
            present = {k for k, h in objects.items() if h.stored and not h.hidden}
            for key, (entry, listing) in sorted(listed.items()):
                if object_filter(key):
                    plan.append(Planned(hour, key, entry, originals.get(key), listing, objects.get(key)))
            for key in sorted(present - listed.keys()):
                result.unlisted.append(key)
                if object_filter(key):
                    plan.append(Planned(hour, key, None, None, None, objects[key]))
            # after the originals of the hour, so a record found in both is taken from its original
            for key, history in sorted(held.get(path, {}).items()):
                if object_filter(key) and history.stored and not history.hidden:
                    listed_as, first_listed_as, hold_key = hold_records.of(key)
                    if hold_key is None:
                        result.unlisted.append(key)  # a copy its hold record does not list (or no hold record)
                    plan.append(Planned(hour, key, listed_as, first_listed_as, hold_key, history, held_copy=True))
    # A record always lands in the hour of its own time (published_at, decided_at: the same in every copy), so
    # its copies can only be found within one hour.
    seen: dict[str, str] = {}  # identity -> the key of the object its first copy was read from
    current: datetime | None = None
    batch: list[tuple[datetime, Any]] = []  # each record's time, and the record or what `emit` holds of it

    def hour_done() -> None:
        # stable: records of the same time stay in the order they were read
        batch.sort(key=itemgetter(0))
        taken = [item[1] for item in batch]
        if emit is not None:
            emit.write(taken)
        else:
            result.records.extend(taken)
        batch.clear()
        seen.clear()

    with (
        Progress(console=Console(stderr=True), disable=not progress, transient=True) as bar,
        _prefetched(store, plan) as fetch,
        _no_cyclic_gc(),
    ):
        task = bar.add_task("reading objects", total=len(plan))
        for index, item in enumerate(plan):
            if item.hour != current:
                hour_done()
                current = item.hour
            got = _read(store, item, result, hand_over, fetch(index))
            bar.advance(task)
            if got is None:
                continue
            read, records, lines, stored_bytes = got
            if item.held_copy:
                if not any(_wanted(r, start, end, keep) and record_identity(r) not in seen for r in records):
                    result.held_copies_skipped += 1  # its original was read: nothing of it is new
                    continue
                result.held_copies.append(read.key)
            result.objects.append(read)
            result.stored_bytes += stored_bytes
            result.read_records += len(records)
            key, version_id = read.key, read.version_id
            stored_in = {"key": key, "version_id": version_id}  # one per object: every record of it shares it
            times: list[datetime] = []
            kept: list[Line] = []
            for record, line in zip(records, lines, strict=True):
                at = parse_time(record.get("event_at"))
                if at is None or not start <= at < end or (keep is not _keep_all and not keep(record)):
                    continue
                identity = record_identity(record)
                if identity in seen:
                    copy = {"identity": identity, "key": key, "source": record.get("source"), "first": seen[identity]}
                    result.duplicates.append(copy)
                    continue
                seen[identity] = key
                record["stored_in"] = stored_in
                times.append(at)
                kept.append((record, line))
            taken = emit.hold(kept, stored_in) if emit is not None else [record for record, _line in kept]
            batch.extend(zip(times, taken, strict=True))
    hour_done()
    return result


PREFETCH = 6  # objects read ahead: enough to hide a GET behind the parsing of the one before, memory stays small


def _version_wanted(item: Planned) -> str | None:
    """The version to read of an object whose versions all hold the same bytes: the one its manifest names, when
    stored (a re-delivered batch may have written the same bytes again after its manifest); else the latest."""
    stored = [v.version_id for v in item.history.stored] if item.history is not None else []
    return item.entry.version_id if item.entry is not None and item.entry.version_id in stored else None


Fetched = Callable[[str, str | None], tuple[bytes, str | None]]


@contextmanager
def _prefetched(store: Store, plan: list[Planned]) -> Iterator[Callable[[int], Fetched]]:
    """The GETs of the objects to come, a few ahead on threads: waiting for S3 overlaps the checks of the object
    before, which is most of an export's time. `fetch(i)` gives plan[i]'s reader: its prefetched bytes when asked
    for the version prefetched, else a GET now."""
    futures: dict[int, tuple[str, str | None, Future[tuple[bytes, str | None]]]] = {}
    submitted = [0]  # plan[:submitted[0]] had its GET started
    with ThreadPoolExecutor(max_workers=3, thread_name_prefix="export-get") as pool:

        def ahead(upto: int) -> None:
            for i in range(submitted[0], min(upto, len(plan))):
                item = plan[i]
                if item.history is not None and item.history.stored:
                    wanted = _version_wanted(item)
                    futures[i] = (item.key, wanted, pool.submit(store.get, item.key, wanted))
            submitted[0] = max(submitted[0], min(upto, len(plan)))

        def fetch(index: int) -> Fetched:
            ahead(index + 1 + PREFETCH)
            found = futures.pop(index, None)

            def get(key: str, version_id: str | None) -> tuple[bytes, str | None]:
                if found is not None and found[:2] == (key, version_id):
                    return found[2].result()
                return store.get(key, version_id)

            return get

        try:
            yield fetch
        finally:
            for _key, _vid, future in futures.values():
                future.cancel()


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Records are JSON trees (no reference cycles), and an hour of them is kept until the hour is written: the
    cyclic collector would walk them again and again for nothing (measured: bench/records_bench.py)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _wanted(record: dict[str, Any], start: datetime, end: datetime, keep: Keep) -> bool:
    at = parse_time(record.get("event_at"))
    return at is not None and start <= at < end and keep(record)


@dataclass(frozen=True)
class Planned:
    hour: datetime
    key: str
    entry: Entry | None  # in the latest manifest version
    original: Entry | None  # in the oldest manifest version that lists it
    listing: str | None
    history: History | None
    held_copy: bool = False


class _HoldListing:
    """The hold records of the copies an export reads, each read once with its version history (retention.
    hold_history): the entry the latest version lists for a copy, the entry of the oldest version listing it."""

    def __init__(self, store: Store, listed: dict[str, History], result: Collected, hand: bool) -> None:
        self.store, self.listed, self.result, self.hand = store, listed, result, hand
        self.read: dict[str, ManifestHistory] = {}

    def of(self, copy: str) -> tuple[Entry | None, Entry | None, str | None]:
        key = hold_of_copy(copy)
        if key is None or key not in self.listed:
            return None, None, None
        found = self.read.get(key)
        if found is None:
            found = self.read[key] = hold_history(self.store, self.listed[key])
            if found.tamper is not None:
                _tampered(self.result, found.tamper, [(key, v, d) for v, d, _e in found.versions], self.hand)
            if found.versions:
                version_id, data, _entries = found.versions[-1]
                self.result.holds.append({"key": key, "version_id": version_id, "sha256": sha256_b64(data)})
        entry = found.versions[-1][2].get(copy) if found.versions else None
        return (entry, found.original_entry(copy), key) if entry is not None else (None, None, None)


def _tampered(result: Collected, tamper: Tamper, versions: list[tuple[str, str | None, bytes]], hand: bool) -> None:
    if not hand:
        raise IntegrityError(tamper.object, "; ".join([tamper.problem, *tamper.differs]))
    result.tampers.append(tamper.json())
    result.handed_over.extend(versions)


def _read(
    store: Store, item: Planned, result: Collected, hand: bool, fetch: Fetched | None = None
) -> tuple[ObjectRead, list[dict[str, Any]], list[bytes], int] | None:
    """One object, verified; for a tampered one, its original version (None: nothing of it can be vouched for)."""
    key, history = item.key, item.history
    if history is None or not history.stored:
        _tampered(result, Tamper(key, [], f"listed in manifest {item.listing} but missing (deleted)"), [], hand)
        return None
    tamper, contents = object_tamper(store, history)
    if tamper is None and history.hidden:
        tamper = Tamper(key, [v.version_id for v in history.stored], f"listed in manifest {item.listing} but "
                        "hidden behind a delete marker")  # fmt: skip
    stored_ids = [v.version_id for v in history.stored]
    if tamper is None:
        data, version_id = (fetch or store.get)(key, _version_wanted(item))
        try:
            return (*verify_object(key, data, version_id, item.entry, item.listing), len(data))
        except IntegrityError as exc:
            tamper = Tamper(key, [version_id], exc.problem)
    versions = [(key, vid, contents.get(vid) or store.get(key, vid)[0]) for vid in stored_ids]
    _tampered(result, tamper, versions, hand)
    entry = item.original or item.entry
    original = entry.version_id if entry is not None and entry.version_id in stored_ids else stored_ids[0]
    data = next(d for _k, vid, d in versions if vid == original)
    try:
        got = (*verify_object(key, data, original, entry, item.listing), len(data))
    except IntegrityError as exc:
        tamper.differs.append(f"its original version {original} does not verify either: {exc.problem}")
        return None
    result.tampers[-1]["records_from_version"] = original
    return got
