"""Every access to the records is itself a record (L8): who read, exported, verified, held or released what, when,
and with what result.

An access writes two objects under `access/`, each once and locked like a hold record (the longest retention
period of any service, from its time): a `start` entry before it touches the records (who, when, what: the query)
and an `end` entry when it is done (the counts, or why it failed). The start entry is written first, so an access
whose log cannot be written does not happen, and one that crashed half way still shows as started. Neither is
ever rewritten: an export that includes the log of its own window (it does, as `access.jsonl`) holds immutable
objects whose versions an online verify can check.

The log is read from the version history, as holds are: an entry hidden behind a delete marker (whoever may write
access/ may also place one; the entry's locked version stays) is still listed, marked hidden, and so is an entry
with a second, different version (entries are written once: the original, oldest version is the one read).

Key: access/date=YYYY-MM-DD/<YYYYMMDDTHHMMSSffffffZ>-<access id>-<start|end>.json (UTC; sorted by time).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from modpipe.clock import Clock
from modpipe.settings import Settings
from retention.codec import canonical
from retention.dates import iso, longest, parse_time
from retention.history import histories
from retention.store import Store

ACCESS = "access/"
ACCESS_VERSION = 1
ACTIONS = frozenset({"export", "report", "verify", "hold", "release", "refresh", "decisions-export"})


@dataclass(frozen=True)
class LoggedObject:
    """One access log object as read: its key, the S3 version read and its stored bytes."""

    key: str
    version_id: str | None
    body: bytes
    hidden: bool = False  # the key's latest version is a delete marker: found in the version history
    rewritten: bool = False  # the key has later versions that differ from this, the original one

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()

    @property
    def doc(self) -> dict[str, Any]:
        found: dict[str, Any] = json.loads(self.body)
        return found


@dataclass
class Access:
    """One access, its start and (once done) end entry joined."""

    access_id: str
    start: dict[str, Any]
    end: dict[str, Any] | None = None
    keys: list[str] = field(default_factory=list)
    hidden: list[str] = field(default_factory=list)  # its entries hidden behind a delete marker
    rewritten: list[str] = field(default_factory=list)  # its entries with a later, different version

    @property
    def outcome(self) -> str:
        return "unfinished" if self.end is None else str(self.end.get("outcome"))


def access_key(at: datetime, access_id: str, phase: str) -> str:
    utc = at.astimezone(UTC)
    return f"{ACCESS}date={utc:%Y-%m-%d}/{utc:%Y%m%dT%H%M%S%fZ}-{access_id}-{phase}.json"


def _time_of(key: str) -> datetime | None:
    stamp = key.rsplit("/", 1)[-1].split("-", 1)[0]
    try:
        return datetime.strptime(stamp, "%Y%m%dT%H%M%S%fZ").replace(tzinfo=UTC)
    except ValueError:
        return None


class AccessLog:
    def __init__(self, settings: Settings, store: Store, clock: Clock) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock

    def _write(self, doc: dict[str, Any], at: datetime, phase: str) -> str:
        key = access_key(at, str(doc["access_id"]), phase)
        until = longest([s.retention for s in self.settings.services.values()], at)
        self.store.put(key, canonical(doc), until, self.clock, "application/json")
        return key

    @contextmanager
    def logged(self, actor: str, action: str, query: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """Log an access around its work; the caller fills the yielded dict with its counts. A failure is logged
        with its reason and raised again."""
        if action not in ACTIONS:
            raise ValueError(f"access action {action!r}: expected one of {', '.join(sorted(ACTIONS))}")
        started = self.clock.now()
        base = {"v": ACCESS_VERSION, "kind": "access", "access_id": secrets.token_hex(8), "actor": actor,
                "action": action, "host": socket.gethostname()}  # fmt: skip
        self._write({**base, "phase": "start", "at": iso(started), "query": query}, started, "start")
        counts: dict[str, Any] = {}
        try:
            yield counts
        except BaseException as exc:
            done = self.clock.now()
            failed = {**base, "phase": "end", "at": iso(done), "outcome": "failed", "counts": counts,
                      "detail": f"{type(exc).__name__}: {exc}"[:2000]}  # fmt: skip
            self._write(failed, max(done, started), "end")
            raise
        done = self.clock.now()
        self._write({**base, "phase": "end", "at": iso(done), "outcome": "ok", "counts": counts}, max(done, started),
                    "end")  # fmt: skip


def _days(start: datetime, end: datetime) -> list[date]:
    day, last = start.astimezone(UTC).date(), end.astimezone(UTC).date()
    found = []
    while day <= last:
        found.append(day)
        day += timedelta(days=1)
    return found


def read_window(store: Store, start: datetime, end: datetime) -> list[LoggedObject]:
    """Every access log object whose time is in [start, end), in time order, from the version history: each
    key's original (oldest) version, also when a delete marker hides it."""
    found = []
    for day in _days(start, end):
        for key, history in sorted(histories(store, f"{ACCESS}date={day.isoformat()}/").items()):
            at = _time_of(key)
            stored = history.stored
            if at is None or not start <= at < end or not stored:
                continue
            body, version_id = store.get(key, stored[0].version_id)
            rewritten = len({v.etag for v in stored}) > 1
            found.append(LoggedObject(key, version_id, body, hidden=history.hidden, rewritten=rewritten))
    return found


def accesses(objects: list[LoggedObject], actor: str | None = None) -> list[Access]:
    """The entries joined per access, oldest first; an end entry whose start lies outside the window is kept on
    its own (its start is then shown as unknown)."""
    joined: dict[str, Access] = {}
    for obj in objects:
        doc = obj.doc
        access_id = str(doc.get("access_id"))
        item = joined.setdefault(access_id, Access(access_id, {}))
        item.keys.append(obj.key)
        if obj.hidden:
            item.hidden.append(obj.key)
        if obj.rewritten:
            item.rewritten.append(obj.key)
        if doc.get("phase") == "start":
            item.start = doc
        else:
            item.end = doc
    found = [a for a in joined.values() if actor is None or (a.start or a.end or {}).get("actor") == actor]
    return sorted(
        found, key=lambda a: parse_time((a.start or a.end or {}).get("at")) or datetime.min.replace(tzinfo=UTC)
    )
