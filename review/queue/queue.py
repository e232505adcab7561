"""Reading the queue and claiming items: what the review page needs from Elasticsearch.

The first-wins rule: a decision first claims the document with a conditional write (if_seq_no/if_primary_term,
which noida-db honours like Elasticsearch): of two moderators who read the same version, only one write succeeds;
the other gets AlreadyDecided naming the winner. The claim stays `pending` in status until the stream worker has
carried the decision out and QueueSink.apply_decision sets the final status.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from elasticsearch import ConflictError, Elasticsearch, NotFoundError

from modpipe.settings import Settings
from review.queue import decisions
from review.queue.client import make_client, translated
from review.queue.decisions import Claim
from review.queue.exceptions import AlreadyDecided, ItemNotFound
from review.queue.mapping import alias_name

STATUSES = ("pending", "reported", "confirmed", "overturned")
# Waiting for a moderator: flagged by the machine (pending), or reported by users (reported, L7).
OPEN = ("pending", "reported")


@dataclass(frozen=True)
class QueueFilter:
    # pending (unclaimed, reported ones included) | reported | claimed | confirmed | overturned | all
    status: str = "pending"
    category: str = ""
    service_type: str = ""
    action: str = ""
    author: str = ""
    since: datetime | None = None
    until: datetime | None = None
    text: str = ""
    oldest_first: bool = False
    # "due": reported items by their earliest open report's due time, first due first; "priority": by report
    # priority, highest first (L7). Items without reports come after them, in time order.
    by_reports: str = ""
    offset: int = 0
    size: int = 50

    def query(self) -> dict[str, Any]:
        must: list[dict[str, Any]] = []
        must_not: list[dict[str, Any]] = []
        filters: list[dict[str, Any]] = []
        if self.status in ("pending", "reported"):
            wanted = list(OPEN) if self.status == "pending" else ["reported"]
            filters.append({"terms": {"moderation.status": wanted}})
            must_not.append({"exists": {"field": "moderation.decision_id"}})
        elif self.status == "claimed":
            filters.append({"terms": {"moderation.status": list(OPEN)}})
            filters.append({"exists": {"field": "moderation.decision_id"}})
        elif self.status in STATUSES:
            filters.append({"term": {"moderation.status": self.status}})
        for fld, value in (
            ("rule.category", self.category),
            ("service.type", self.service_type),
            ("event.action", self.action),
            ("user.id", self.author),
        ):
            if value:
                filters.append({"term": {fld: value}})
        if self.since or self.until:
            bounds: dict[str, str] = {}
            if self.since:
                bounds["gte"] = self.since.isoformat()
            if self.until:
                bounds["lt"] = self.until.isoformat()
            filters.append({"range": {"@timestamp": bounds}})
        if self.text.strip():
            # A phrase of single characters is a substring search; the cjk field adds relevance where it matches.
            phrase = self.text.strip()
            should = [{"match_phrase": {"message.chars": phrase}}, {"match_phrase": {"message": phrase}}]
            must.append({"bool": {"should": should, "minimum_should_match": 1}})
        return {"bool": {"filter": filters, "must": must, "must_not": must_not}}


@dataclass(frozen=True)
class Item:
    id: str
    source: dict[str, Any]
    seq_no: int = -1
    primary_term: int = -1

    @property
    def moderation(self) -> dict[str, Any]:
        value: dict[str, Any] = self.source.get("moderation") or {}
        return value

    @property
    def claimed(self) -> bool:
        return bool(self.moderation.get("decision_id"))


@dataclass(frozen=True)
class Page:
    items: list[Item]
    total: int
    counts: dict[str, int] = field(default_factory=dict)


class QueueStore:
    def __init__(self, settings: Settings, client: Elasticsearch | None = None) -> None:
        self._alias = alias_name(settings)
        self._own_client = client is None
        self._es = client or make_client(settings)

    def close(self) -> None:
        if self._own_client:
            self._es.close()

    def search(self, flt: QueueFilter) -> Page:
        order = "asc" if flt.oldest_first else "desc"
        sort: list[dict[str, Any]] = [{"@timestamp": order}, {"event.id": "asc"}]
        if flt.by_reports == "due":
            sort.insert(0, {"moderation.reports.due_at": {"order": "asc", "missing": "_last"}})
        elif flt.by_reports == "priority":
            sort.insert(0, {"moderation.reports.priority": {"order": "desc", "missing": "_last"}})
        with translated("queue search"):
            res = self._es.search(
                index=self._alias, query=flt.query(), from_=flt.offset, size=flt.size, track_total_hits=True,
                sort=sort,
                aggs={"status": {"terms": {"field": "moderation.status", "size": 10}}},
            )  # fmt: skip
        counts = {b["key"]: int(b["doc_count"]) for b in res["aggregations"]["status"]["buckets"]}
        items = [Item(h["_id"], h["_source"]) for h in res["hits"]["hits"]]
        return Page(items, int(res["hits"]["total"]["value"]), counts)

    def get(self, message_id: str) -> Item:
        with translated("queue get"):
            try:
                res = self._es.get(index=self._alias, id=message_id)
            except NotFoundError as exc:
                raise ItemNotFound(message_id) from exc
        return Item(res["_id"], res["_source"], int(res["_seq_no"]), int(res["_primary_term"]))

    def find(self, message_id: str) -> Item | None:
        try:
            return self.get(message_id)
        except ItemNotFound:
            return None

    def by_author(self, author_id: str, exclude: str, size: int = 10) -> list[Item]:
        flt = {"bool": {"filter": [{"term": {"user.id": author_id}}], "must_not": [{"term": {"event.id": exclude}}]}}
        with translated("author items"):
            res = self._es.search(index=self._alias, query=flt, size=size, sort=[{"@timestamp": "desc"}])
        return [Item(h["_id"], h["_source"]) for h in res["hits"]["hits"]]

    def claim(self, item: Item, claim: Claim) -> Item:
        """Mark `item` as decided by `claim.moderator`, only if nobody changed it since it was read."""
        if item.claimed or item.moderation.get("status", "pending") not in OPEN:
            raise _already(item)
        doc = {"moderation": decisions.claimed(claim)}
        with translated("claim"):
            try:
                self._es.update(
                    index=self._alias, id=item.id, doc=doc, if_seq_no=item.seq_no,
                    if_primary_term=item.primary_term, refresh="wait_for",
                )  # fmt: skip
            except ConflictError:
                raise _already(self.get(item.id)) from None
            except NotFoundError as exc:
                raise ItemNotFound(item.id) from exc
        return self.get(item.id)

    def release(self, item: Item, decision_id: str) -> bool:
        """Undo a claim whose decision could not be published, so the item is open again. Conditional too: a
        claim that changed since (the worker already applied it) is left alone."""
        if item.moderation.get("decision_id") != decision_id:
            return False
        empty = decisions.released()
        with translated("release"):
            try:
                self._es.update(
                    index=self._alias, id=item.id, doc={"moderation": empty}, if_seq_no=item.seq_no,
                    if_primary_term=item.primary_term, refresh="wait_for",
                )  # fmt: skip
            except (ConflictError, NotFoundError):
                return False
        return True


def _already(item: Item) -> AlreadyDecided:
    m = item.moderation
    return AlreadyDecided(
        item.id, str(m.get("decided_by") or "?"), str(m.get("outcome") or m.get("status")), str(m.get("decided_at"))
    )
