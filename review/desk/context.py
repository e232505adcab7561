"""Read-only context around an item: the post it replies to and the other replies, the messages before and after it
in its group chat, and its author's other recent messages, each with the machine's verdict action.

Where the context comes from, and why: the queue holds only what the machine flagged (review, block), so a
parent the machine passed is not there; the records in S3 hold every message with its verdict. The records are
partitioned by service and hour of the message's time, so the neighbours of an item (the other replies, the chat
around it, the author's messages of the same hours) are in the few hour folders around it: this reads the verdict
objects of the item's service from one hour before to one hour after it (at most three hour folders), keeps a
compact row per message, and caches the rows per object and ETag (an object is rewritten only by a retried batch,
which changes its ETag), so the next item of the same hours reads nothing again. A parent outside those hours is
searched back `review.context_lookback_h` hours with retention's VerdictFinder. A parent in the queue is read from
the queue (one get, and it carries the moderator's status); every neighbour found in the records shows its queue
status too when it is queued (one mget). Lists are bounded (`LIMIT` each). When the records cannot be read, the
page still shows the queue's part and says the records were unavailable.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from modpipe.settings import Settings
from retention.codec import decode
from retention.dates import parse_time
from retention.exceptions import RetentionError
from retention.identity import record_order
from retention.layout import RECORDS, hour_path, hours, parse_object_name, service_folder
from retention.lookup import VerdictFinder
from retention.store import Store
from review.queue import Item, QueueStore

log = logging.getLogger("modpipe.review")
LIMIT = 5  # messages per list: context for a decision, not a second queue
AROUND = timedelta(hours=1)  # the records read on either side of the item
CACHED_ROWS = 200_000  # rows of decoded verdict objects kept (a few hundred bytes each)


@dataclass(frozen=True)
class Neighbour:
    message_id: str
    text: str
    published_at: str
    author_id: str
    action: str  # the machine's verdict: pass, review or block
    kind: str = ""
    status: str = ""  # the queue's status when the message is queued
    queued: bool = False
    hits: tuple[dict[str, Any], ...] = ()  # a queued message's lexicon hits, to highlight


@dataclass
class Context:
    parent_id: str | None = None
    parent: Neighbour | None = None
    siblings: list[Neighbour] = field(default_factory=list)
    group_id: str | None = None
    before: list[Neighbour] = field(default_factory=list)  # the group chat's earlier messages, oldest first
    after: list[Neighbour] = field(default_factory=list)
    author: list[Neighbour] = field(default_factory=list)  # the author's other messages of those hours, newest first
    records_error: str = ""

    def as_json(self) -> dict[str, Any]:
        def rows(found: Iterable[Neighbour]) -> list[dict[str, Any]]:
            return [n.__dict__ for n in found]

        return {
            "parent_id": self.parent_id, "parent": self.parent.__dict__ if self.parent else None,
            "siblings": rows(self.siblings), "group_id": self.group_id, "before": rows(self.before),
            "after": rows(self.after), "author": rows(self.author), "records_error": self.records_error or None,
        }  # fmt: skip


@dataclass(frozen=True)
class _Row:
    neighbour: Neighbour
    at: datetime
    parent_id: str | None
    group_id: str | None
    order: tuple[datetime, int, int]


def from_item(item: Item) -> Neighbour:
    src = item.source
    m = item.moderation
    return Neighbour(
        item.id, str(src.get("message", "")), str(src.get("@timestamp", "")), str((src.get("user") or {}).get("id")),
        str((src.get("event") or {}).get("action", "")), str((src.get("labels") or {}).get("kind", "")),
        str(m.get("status") or "pending"), True, tuple(m.get("hits") or ()),
    )  # fmt: skip


def _row(record: dict[str, Any]) -> _Row | None:
    data = record.get("data")
    if record.get("kind") != "verdict" or not isinstance(data, dict) or not isinstance(data.get("message"), dict):
        return None
    msg = data["message"]
    at = parse_time(msg.get("published_at")) or parse_time(record.get("event_at"))
    message_id = record.get("message_id") or msg.get("message_id")
    if at is None or not isinstance(message_id, str):
        return None
    neighbour = Neighbour(
        message_id, str(msg.get("text", "")), at.isoformat(), str(msg.get("author_id", "")),
        str(data.get("action", "")), str(msg.get("kind", "")),
    )  # fmt: skip
    parent, group = msg.get("parent_id"), msg.get("group_id")
    return _Row(
        neighbour, at, parent if isinstance(parent, str) else None, group if isinstance(group, str) else None,
        record_order(record),
    )  # fmt: skip


class ContextReader:
    def __init__(self, settings: Settings, queue: QueueStore, records: Store | None, *, limit: int = LIMIT) -> None:
        self._queue = queue
        self._records = records
        self._limit = limit
        self._finder = VerdictFinder(records, timedelta(hours=settings.review.context_lookback_h)) if records else None
        self._cache: OrderedDict[tuple[str, str], list[_Row]] = OrderedDict()
        self._cached_rows = 0
        # The desk reads items on several threads; the cache and the finder's own memo are shared.
        self._lock = threading.Lock()

    def around(self, item: Item, parent: Item | None = None) -> Context:
        """The context of `item`; `parent` is its parent as already read from the queue (None: not queued)."""
        src = item.source
        labels = src.get("labels") or {}
        ctx = Context(parent_id=labels.get("parent_id") or None, group_id=labels.get("group_id") or None)
        if ctx.parent_id and parent is not None:
            ctx.parent = from_item(parent)
        published = parse_time(src.get("@timestamp"))
        service = str((src.get("service") or {}).get("type") or "")
        author = str((src.get("user") or {}).get("id") or "")
        if self._records is None or published is None or not service:
            ctx.records_error = "" if self._records is not None else "no records store configured"
            return ctx
        try:
            rows = self._window(service, published)
            if ctx.parent_id and ctx.parent is None:
                ctx.parent = self._parent(service, ctx.parent_id, published, rows)
        except RetentionError as exc:
            log.warning("context of %s: records unavailable: %s", item.id, exc)
            ctx.records_error = str(exc)
            return ctx
        others = [r for r in rows.values() if r.neighbour.message_id != item.id]
        if ctx.parent_id:
            replies = sorted((r for r in others if r.parent_id == ctx.parent_id), key=lambda r: r.at)
            ctx.siblings = [r.neighbour for r in replies[: self._limit]]
        if ctx.group_id:
            chat = sorted((r for r in others if r.group_id == ctx.group_id), key=lambda r: (r.at, r.order))
            ctx.before = [r.neighbour for r in chat if r.at <= published][-self._limit :]
            ctx.after = [r.neighbour for r in chat if r.at > published][: self._limit]
        if author:
            mine = sorted((r for r in others if r.neighbour.author_id == author), key=lambda r: r.at, reverse=True)
            ctx.author = [r.neighbour for r in mine[: self._limit]]
        return self._with_status(ctx)

    def _parent(self, service: str, parent_id: str, published: datetime, rows: dict[str, _Row]) -> Neighbour | None:
        if parent_id in rows:
            return rows[parent_id].neighbour
        if self._finder is None:
            return None
        with self._lock:
            found = self._finder.find(service, parent_id, published)
        row = _row({"kind": "verdict", "message_id": parent_id, "data": found}) if found else None
        return row.neighbour if row else None

    def _with_status(self, ctx: Context) -> Context:
        lists = (ctx.siblings, ctx.before, ctx.after, ctx.author)
        ids = sorted({n.message_id for found in lists for n in found if not n.queued})
        if ctx.parent is not None and not ctx.parent.queued:
            ids.append(ctx.parent.message_id)
        queued = self._queue.many(ids)

        def mark(n: Neighbour) -> Neighbour:
            hit = queued.get(n.message_id)
            return replace(n, status=str(hit.moderation.get("status") or "pending"), queued=True) if hit else n

        ctx.siblings, ctx.before, ctx.after, ctx.author = ([mark(n) for n in found] for found in lists)
        ctx.parent = mark(ctx.parent) if ctx.parent is not None else None
        return ctx

    def _window(self, service: str, published: datetime) -> dict[str, _Row]:
        """The latest verdict row per message of the hour folders around `published`."""
        assert self._records is not None
        store = self._records
        latest: dict[str, _Row] = {}
        for hour in hours(published - AROUND, published + AROUND + timedelta(microseconds=1)):
            prefix = f"{RECORDS}{hour_path(service_folder(service), hour)}"
            listed = store.call(lambda p=prefix: list(store.client.list_objects(store.bucket, p, recursive=True)))
            for obj in sorted(listed, key=lambda o: str(o.object_name)):
                key = str(obj.object_name)
                name = parse_object_name(key)
                if obj.is_dir or name is None or name.tag != "v":
                    continue
                for row in self._rows(key, str(obj.etag)):
                    known = latest.get(row.neighbour.message_id)
                    if known is None or row.order >= known.order:
                        latest[row.neighbour.message_id] = row
        return latest

    def _rows(self, key: str, etag: str) -> list[_Row]:
        with self._lock:
            cached = self._cache.get((key, etag))
            if cached is not None:
                self._cache.move_to_end((key, etag))
                return cached
        assert self._records is not None
        data, _version = self._records.get(key)
        rows = [row for record in decode(key, data) if (row := _row(record)) is not None]
        with self._lock:
            if (key, etag) not in self._cache:
                self._cache[(key, etag)] = rows
                self._cached_rows += len(rows)
            while self._cached_rows > CACHED_ROWS and len(self._cache) > 1:
                self._cached_rows -= len(self._cache.popitem(last=False)[1])
        return rows
