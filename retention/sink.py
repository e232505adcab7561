"""RecordSink: add() records from the verdicts and decisions topics, flush() them to S3 as locked batch objects.

The records agent calls add() for every value of a Kafka batch, then flush(), and commits the offsets only after
flush() returned. flush() is blocking and all-or-nothing from the caller's view: it raises TransientStorageError
while S3 is unavailable and keeps everything pending, so calling it again later resumes (objects already stored in
the failed attempt are not written twice; anything written again lands on the same key with the same bytes).

No single record stops the sink: a value the envelope cannot build, or a batch object the server refuses for good,
is stored in quarantine (quarantine.py) and the rest goes on. Only what fails for every record (the bucket gone,
credentials refused) still raises, naming the S3 error.
"""

from __future__ import annotations

import json
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import zstandard

from modpipe.clock import Clock
from modpipe.settings import Settings
from retention import manifests
from retention.codec import canonical, decode, encode_lines, seal_lines
from retention.dates import iso, parse_time
from retention.envelope import Pending, build
from retention.exceptions import StorageError, TransientStorageError
from retention.layout import RECORDS, hour_path, hours, manifest_key, parse_object_name, record_key
from retention.manifests import Entry
from retention.quarantine import Quarantined, quarantine
from retention.scan import latest_keys
from retention.store import Store, check_bucket

log = logging.getLogger("modpipe.retention")
_INDEX_LIMIT = 200_000  # message ids remembered for lock extension by later decisions
_MANIFEST_CACHE = 256
_RELIST_S = 60.0  # an hour folder searched for a decision's verdict is not listed again this soon


@dataclass(frozen=True)
class StoredBatch:
    """One object written by a flush."""

    service: str
    hour: str
    entry: Entry
    message_ids: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return self.entry.key


class RecordSink:
    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock,
        worker_id: str,
        store: Store | None = None,
        decision_lookback: timedelta = timedelta(days=2),
        compression_level: int = 6,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.worker_id = worker_id
        self._own_store = store is None
        self.store = store or Store(settings)
        self._compressor = zstandard.ZstdCompressor(level=compression_level)
        self._limits = settings.records
        self._lookback = decision_lookback
        self._pending: dict[tuple[str, int, int], Pending] = {}  # (topic, partition, offset) -> record
        self._quarantine: dict[tuple[str, int, int], Quarantined] = {}
        self.quarantined: list[str] = []  # keys of the quarantine objects written by the last flush
        self._refused: Exception | None = None  # why a batch object went to quarantine in this flush
        self._pending_bytes = 0
        self._first_added: float | None = None
        # objects stored by an unfinished flush, with the offsets they hold: a retry skips exactly those
        self._done: dict[str, tuple[tuple[int, ...], StoredBatch]] = {}
        self._manifests: OrderedDict[str, dict[str, Entry]] = OrderedDict()
        self._index: OrderedDict[str, list[tuple[str, str | None, datetime]]] = OrderedDict()
        self._checked = False
        self._scanned: set[str] = set()  # verdict objects already read into the index by a search
        self._listed: dict[str, float] = {}  # hour folders searched, and when

    # -- the agent's interface -----------------------------------------------------------------------------

    def add(self, value: dict[str, Any], *, topic: str, partition: int, offset: int) -> None:
        now = self.clock.now()
        position = (topic, partition, offset)
        previous = self._pending.pop(position, None)
        if previous is not None:  # a re-delivered message replaces itself
            self._pending_bytes -= previous.raw_bytes
        self._quarantine.pop(position, None)
        if self._first_added is None:
            self._first_added = time.monotonic()
        try:
            pending = build(value, topic=topic, partition=partition, offset=offset, settings=self.settings, now=now)
        except Exception as exc:  # noqa: BLE001 - whatever it is, the record is kept in quarantine with the reason
            self._hold_back(value, f"not storable as a record: {type(exc).__name__}: {exc}", position, now)
            return
        self._pending[position] = pending
        self._pending_bytes += pending.raw_bytes

    def keep_unreadable(self, value: object, reason: str, *, topic: str, partition: int, offset: int) -> None:
        """Store what cannot be a record at all (a dead letter that is not JSON) in quarantine with the flush."""
        position = (topic, partition, offset)
        previous = self._pending.pop(position, None)
        if previous is not None:
            self._pending_bytes -= previous.raw_bytes
        if self._first_added is None:
            self._first_added = time.monotonic()
        self._hold_back(value, reason, position, self.clock.now())

    def should_flush(self) -> bool:
        if not self._pending and not self._quarantine:
            return False
        age = time.monotonic() - (self._first_added or time.monotonic())
        return (
            len(self._pending) >= self._limits.batch_max_records
            or self._pending_bytes >= self._limits.batch_max_bytes
            or age >= self._limits.batch_max_age_s
        )

    @property
    def pending(self) -> int:
        return len(self._pending) + len(self._quarantine)

    def flush(self) -> list[StoredBatch]:
        self.quarantined = []
        if not self._pending and not self._quarantine:
            return []
        if not self._checked:
            check_bucket(self.store)
            self._checked = True
        batches = []
        for chunk in self._chunks():
            batch = self._store_or_quarantine(chunk)
            if batch is not None:
                batches.append(batch)
        self._write_quarantine()
        self._write_manifests(batches)
        for batch in batches:
            if batch.entry.kind == "verdict":
                self._remember(batch)
        self._extend_for_decisions()
        self._pending.clear()
        self._pending_bytes = 0
        self._first_added = None
        self._done.clear()
        return batches

    # -- quarantine ----------------------------------------------------------------------------------------

    def _hold_back(self, value: object, reason: str, position: tuple[str, int, int], now: datetime) -> None:
        topic, partition, offset = position
        log.error("record at %s/%d/%d goes to quarantine: %s", topic, partition, offset, reason)
        self._quarantine[position] = quarantine(
            value, reason, topic=topic, partition=partition, offset=offset, received=now, worker=self.worker_id,
            settings=self.settings,
        )  # fmt: skip

    def _store_or_quarantine(self, chunk: list[Pending]) -> StoredBatch | None:
        try:
            return self._store_chunk(chunk)
        except TransientStorageError:
            raise
        except Exception as exc:  # noqa: BLE001 - refused for good: its records are kept in quarantine instead
            reason = f"batch object refused: {type(exc).__name__}: {exc}"
            for p in chunk:
                value: object = json.loads(p.data_json)
                self._hold_back(value, reason, (p.topic, p.partition, p.offset), self.clock.now())
                self._pending_bytes -= p.raw_bytes
                del self._pending[(p.topic, p.partition, p.offset)]
            self._refused = exc
            return None

    def _write_quarantine(self) -> None:
        """Each held-back value on its own object; when even that is refused, the failure is not the record's
        (bucket, credentials): raise it, naming the first refusal."""
        for position, held in list(self._quarantine.items()):
            try:
                self.store.put(held.key, held.body, held.retain_until, self.clock, "application/json")
            except TransientStorageError:
                raise
            except StorageError as exc:
                first = self._refused or exc
                raise StorageError(f"quarantine refused too ({exc}); first refusal: {first}", exc.code) from exc
            del self._quarantine[position]
            self.quarantined.append(held.key)
        self._refused = None

    def close(self) -> None:
        if self._own_store:
            self.store.close()

    def __enter__(self) -> RecordSink:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- batching ------------------------------------------------------------------------------------------

    def _chunks(self) -> list[list[Pending]]:
        """One object per (service, hour, kind, topic, partition), split further only by the size limits."""
        groups: dict[tuple[str, str, str, str, int], list[Pending]] = {}
        for p in self._pending.values():
            groups.setdefault((p.service, hour_path(p.service, p.event_at), p.kind, p.topic, p.partition), []).append(p)
        chunks = []
        for group in groups.values():
            group.sort(key=lambda p: p.offset)
            chunk: list[Pending] = []
            size = 0
            for p in group:
                if chunk and (
                    len(chunk) >= self._limits.batch_max_records or size + p.raw_bytes > self._limits.batch_max_bytes
                ):
                    chunks.append(chunk)
                    chunk, size = [], 0
                chunk.append(p)
                size += p.raw_bytes
            chunks.append(chunk)
        return chunks

    def _store_chunk(self, chunk: list[Pending]) -> StoredBatch:
        first = chunk[0]
        key = record_key(first.service, first.event_at, self.worker_id, first.kind, first.partition, first.offset)
        offsets = tuple(p.offset for p in chunk)
        done = self._done.get(key)
        if done is not None and done[0] == offsets:
            return done[1]
        lines, first_hash, last_hash = seal_lines([(p.record, p.data_json) for p in chunk], key)
        data = encode_lines(lines, self._compressor)
        until = max(p.retain_until for p in chunk)
        stored = self.store.put(key, data, until, self.clock, "application/zstd")
        entry = Entry(
            key=key, version_id=stored.version_id, kind=first.kind, topic=first.topic, partition=first.partition,
            first_offset=first.offset, last_offset=chunk[-1].offset, records=len(chunk), bytes=len(data),
            raw_bytes=sum(p.raw_bytes for p in chunk), sha256=stored.sha256, first_hash=first_hash,
            last_hash=last_hash, retain_until=iso(until),
        )  # fmt: skip
        hour = iso(first.event_at.replace(minute=0, second=0, microsecond=0))
        ids = tuple(p.message_id for p in chunk if p.message_id is not None)
        batch = StoredBatch(first.service, hour, entry, ids)
        self._done[key] = (offsets, batch)
        return batch

    # -- manifests -----------------------------------------------------------------------------------------

    def _write_manifests(self, batches: list[StoredBatch]) -> None:
        by_manifest: dict[str, list[StoredBatch]] = {}
        for b in batches:
            at = parse_time(b.hour)
            assert at is not None
            by_manifest.setdefault(manifest_key(b.service, at, self.worker_id), []).append(b)
        for key, added in by_manifest.items():
            entries = dict(self._load_manifest(key))
            for b in added:
                entries[b.key] = b.entry
            if entries == self._manifests.get(key):
                continue
            doc = manifests.document(added[0].service, added[0].hour, self.worker_id, entries, iso(self.clock.now()))
            until = max(parse_time(e.retain_until) or self.clock.now() for e in entries.values())
            self.store.put(key, canonical(doc), until, self.clock, "application/json")
            self._manifests[key] = entries
            self._manifests.move_to_end(key)
            while len(self._manifests) > _MANIFEST_CACHE:
                self._manifests.popitem(last=False)

    def _load_manifest(self, key: str) -> dict[str, Entry]:
        cached = self._manifests.get(key)
        if cached is not None:
            return cached
        found = self.store.get_if_exists(key)
        return {} if found is None else manifests.parse(key, found[0])

    # -- later decisions extend the lock of what they refer to ---------------------------------------------

    def _remember(self, batch: StoredBatch) -> None:
        until = parse_time(batch.entry.retain_until)
        assert until is not None
        for message_id in batch.message_ids:
            holders = [h for h in self._index.get(message_id, []) if h[0] != batch.key]
            self._index[message_id] = [*holders, (batch.key, batch.entry.version_id, until)]
            self._index.move_to_end(message_id)
        while len(self._index) > _INDEX_LIMIT:
            self._index.popitem(last=False)

    def _extend_for_decisions(self) -> None:
        for p in self._pending.values():
            if p.kind != "decision" or p.message_id is None:
                continue
            holders = self._index.get(p.message_id) or self._search(p)
            updated = []
            for key, version_id, until in holders:
                try:
                    extended = until < p.retain_until and self.store.extend(key, version_id, p.retain_until, self.clock)
                except TransientStorageError:
                    raise
                except StorageError as exc:  # that object's trouble (gone, refused): the decision itself is stored
                    log.warning("lock of %s not extended for the decision on %s: %s", key, p.message_id, exc)
                    continue
                if extended:
                    log.info("lock of %s extended to %s by decision on %s", key, iso(p.retain_until), p.message_id)
                updated.append((key, version_id, max(until, p.retain_until)))
            if p.message_id in self._index:
                self._index[p.message_id] = updated

    def _search(self, decision: Pending) -> list[tuple[str, str | None, datetime]]:
        """Find the verdict objects of a message this worker does not remember (restart, other worker).

        Hours are scanned newest first, within the lookback before the decision; every verdict object read is
        indexed whole, so the other decisions of a batch are found without reading it again, and an hour listed
        in the last minute is not listed again."""
        assert decision.message_id is not None
        for hour in reversed(hours(decision.event_at - self._lookback, decision.event_at + timedelta(hours=1))):
            prefix = f"{RECORDS}{hour_path(decision.service, hour)}"
            listed_at = self._listed.get(prefix)
            if listed_at is not None and time.monotonic() - listed_at < _RELIST_S:
                continue
            for key in latest_keys(self.store, prefix):
                name = parse_object_name(key)
                if name is None or name.tag != "v" or key in self._scanned:
                    continue
                data, version_id = self.store.get(key)
                records = decode(key, data)
                untils = [u for u in (parse_time(r.get("retain_until")) for r in records) if u is not None]
                latest = max(untils, default=decision.event_at)
                for r in records:
                    if isinstance(r.get("message_id"), str):
                        holders = [h for h in self._index.get(r["message_id"], []) if h[0] != key]
                        self._index[r["message_id"]] = [*holders, (key, version_id, latest)]
                self._scanned.add(key)
            self._listed[prefix] = time.monotonic()
            if decision.message_id in self._index:
                break
        while len(self._index) > _INDEX_LIMIT:
            self._index.popitem(last=False)
        if len(self._scanned) > _INDEX_LIMIT:
            self._scanned.clear()
        return self._index.get(decision.message_id, [])
