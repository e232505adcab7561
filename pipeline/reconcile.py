"""The queue heals itself: the records are the source of truth, the moderation queue a derived index.

The Elasticsearch-API server may lose documents it had acknowledged (noida-db when it stops, design.md §6); their
offsets are committed by then, so the queue agent will not see those verdicts again. Every
`queue.reconcile_interval_s` the reconciler reads the records of the last `queue.reconcile_window_h` hours (by the
message's published time, as they are partitioned), keeps a ledger of the latest review or block verdict and the
latest decision per message, and checks the ledger against the queue: a missing document, or one with an older
verdict, is indexed again from its record; a decision the queue does not show is applied again. Both writes are
the queue agent's own idempotent ones, so a reconciler that races the agent changes nothing.

Each records object is read once per version (its ETag); the ledger holds only ids and times, and the objects of
the few items to repair are read again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from elasticsearch import Elasticsearch

from modpipe.clock import Clock
from modpipe.contracts import Decision, Verdict
from modpipe.settings import Settings
from retention.audit import services_in
from retention.codec import decode
from retention.dates import parse_time
from retention.identity import record_order
from retention.layout import RECORDS, hour_of, hour_path, hours, parse_object_name
from retention.store import Store
from review.queue import QueueSink, ensure_index
from review.queue.client import OwnedClient, translated
from review.queue.mapping import alias_name

log = logging.getLogger("modpipe.reconcile")
QUEUED_ACTIONS = ("review", "block")
MGET_CHUNK = 1000
_TAGS = ("v", "d")  # verdict and decision objects (retention.layout.KIND_TAGS)


@dataclass(frozen=True)
class Ref:
    """Where the latest verdict or decision about a message is recorded, and what the queue should show of it."""

    own_id: str  # verdict_id or decision_id
    at: datetime  # its decided_at
    event_at: datetime  # the record's time (published_at of a verdict's message): the ledger's window
    key: str
    queued: bool = True  # for a verdict: review or block (a later pass verdict takes the item out of the ledger)
    order: tuple[datetime, int, int] = (datetime.min.replace(tzinfo=UTC), -1, -1)


@dataclass
class Outcome:
    checked: int = 0
    reindexed: list[str] = field(default_factory=list)
    reapplied: list[str] = field(default_factory=list)
    objects_read: int = 0


class Reconciler:
    def __init__(self, settings: Settings, clock: Clock, client: Elasticsearch | None = None) -> None:
        self._settings = settings
        self._clock = clock
        self._window = timedelta(hours=settings.queue.reconcile_window_h)
        self._alias = alias_name(settings)
        self._client = OwnedClient(settings, client)
        self._es = self._client.es
        self._sink = QueueSink(settings, self._es)
        # Records objects already in the ledger, with their ETag: a batch retried with other boundaries rewrites
        # its key with more records, and is read again.
        self._read: dict[str, str] = {}
        self.verdicts: dict[str, Ref] = {}
        self.decisions: dict[str, Ref] = {}

    def close(self) -> None:
        self._sink.close()
        self._client.close()

    def run_once(self) -> Outcome:
        """One pass; raises SearchUnavailable or a records-store error (the next interval tries again)."""
        outcome = Outcome()
        now = self._clock.now()
        start = now - self._window
        # Every run: a search server that lost the index itself gets it back before anything is written to it.
        ensure_index(self._settings, self._es)
        with Store(self._settings) as store:
            outcome.objects_read = self._scan(store, start, now)
            self._forget_before(start)
            missing, stale = self._compare(outcome)
            verdicts = self._load(store, missing, self.verdicts)
            decisions = self._load(store, stale, self.decisions)
        for message_id, record in verdicts.items():
            self._sink.add(Verdict.model_validate(record["data"]))
            outcome.reindexed.append(message_id)
        self._sink.flush()
        for message_id, record in decisions.items():
            self._sink.apply_decision(Decision.model_validate(record["data"]))
            outcome.reapplied.append(message_id)
        if outcome.reindexed or outcome.reapplied:
            log.warning(
                "queue reconciled: %d verdicts indexed again, %d decisions applied again (of %d checked)",
                len(outcome.reindexed), len(outcome.reapplied), outcome.checked,
            )  # fmt: skip
        return outcome

    # ---- the ledger, from the records ------------------------------------------------------------------------

    def _scan(self, store: Store, start: datetime, now: datetime) -> int:
        # A message's clock may run a little ahead of ours: look one hour further.
        ahead = now + timedelta(hours=1)
        read = 0
        for service in services_in(store):
            for hour in hours(start, ahead):
                for key, etag in _listed(store, RECORDS + hour_path(service, hour)):
                    name = parse_object_name(key)
                    if self._read.get(key) == etag or name is None or name.tag not in _TAGS:
                        continue
                    data, _version = store.get(key)
                    for record in decode(key, data):
                        self._note(record, key)
                    self._read[key] = etag
                    read += 1
        return read

    def _note(self, record: dict[str, Any], key: str) -> None:
        data = record.get("data")
        message_id = record.get("message_id")
        kind = record.get("kind")
        if not isinstance(data, dict) or not isinstance(message_id, str) or kind not in ("verdict", "decision"):
            return
        own_id = data.get("verdict_id" if kind == "verdict" else "decision_id")
        at = parse_time(data.get("decided_at"))
        event_at = parse_time(record.get("event_at")) or at
        if not isinstance(own_id, str) or at is None or event_at is None:
            return
        ref = Ref(own_id, at, event_at, key, data.get("action") in QUEUED_ACTIONS, record_order(record))
        ledger = self.verdicts if kind == "verdict" else self.decisions
        known = ledger.get(message_id)
        if known is None or ref.order >= known.order:
            ledger[message_id] = ref

    def _forget_before(self, start: datetime) -> None:
        for ledger in (self.verdicts, self.decisions):
            for message_id in [m for m, ref in ledger.items() if ref.event_at < start]:
                del ledger[message_id]
        # Objects of hours that left the window are not listed again: forgetting them keeps the set bounded.
        floor = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        self._read = {k: v for k, v in self._read.items() if (h := hour_of(k)) is not None and h[1] >= floor}

    # ---- the queue, checked against the ledger ---------------------------------------------------------------

    def _compare(self, outcome: Outcome) -> tuple[dict[str, str], dict[str, str]]:
        """The message ids whose verdict must be indexed again and those whose decision must be applied again,
        each with the key of the object that records it."""
        queued = {m: ref for m, ref in self.verdicts.items() if ref.queued}
        missing: dict[str, str] = {}
        stale: dict[str, str] = {}
        ids = sorted(queued)
        for i in range(0, len(ids), MGET_CHUNK):
            chunk = ids[i : i + MGET_CHUNK]
            with translated("reconcile check"):
                res = self._es.mget(
                    index=self._alias, ids=chunk,
                    source_includes=["event.created", "moderation.verdict_id", "moderation.decision_id",
                                     "moderation.status", "moderation.decided_at", "moderation.applied_id"],
                )  # fmt: skip
            for doc in res["docs"]:
                message_id = str(doc["_id"])
                outcome.checked += 1
                source = doc.get("_source") or {}
                if not doc.get("found") or _verdict_older(source, queued[message_id]):
                    missing[message_id] = queued[message_id].key
                decision = self.decisions.get(message_id)
                if decision is not None and _decision_missing(source, decision, message_id in missing):
                    stale[message_id] = decision.key
        return missing, stale

    def _load(self, store: Store, wanted: dict[str, str], ledger: dict[str, Ref]) -> dict[str, dict[str, Any]]:
        """The records the ledger names for `wanted` (message id -> object key), read from their objects."""
        found: dict[str, dict[str, Any]] = {}
        for key in sorted(set(wanted.values())):
            data, _version = store.get(key)
            for record in decode(key, data):
                message_id = record.get("message_id")
                body = record.get("data") or {}
                if not isinstance(message_id, str) or wanted.get(message_id) != key or not isinstance(body, dict):
                    continue
                if ledger[message_id].own_id in (body.get("verdict_id"), body.get("decision_id")):
                    found[message_id] = record
        return found


def _listed(store: Store, prefix: str) -> list[tuple[str, str]]:
    listed = store.call(lambda: list(store.client.list_objects(store.bucket, prefix=prefix, recursive=True)))
    return sorted((str(o.object_name), str(o.etag)) for o in listed if not o.is_dir)


def _verdict_older(source: dict[str, Any], ref: Ref) -> bool:
    m = source.get("moderation") or {}
    if m.get("verdict_id") == ref.own_id:
        return False
    created = parse_time((source.get("event") or {}).get("created"))
    # A stub (a decision applied before its verdict) has no verdict fields; a newer verdict is left alone.
    return created is None or created < ref.at


def _decision_missing(source: dict[str, Any], ref: Ref, reindexing: bool) -> bool:
    if reindexing:
        return True  # the document comes back from its verdict alone, without the decision's fields
    m = source.get("moderation") or {}
    if m.get("applied_id") == ref.own_id:
        return False  # carried out (a reopening leaves the item pending, without a decision id)
    if m.get("decision_id") == ref.own_id and m.get("status") not in (None, "pending"):
        return False
    decided = parse_time(m.get("decided_at"))
    # A later claim (a correction in flight, not yet recorded) is the desk's to carry out, not ours to undo.
    return decided is None or decided <= ref.at
