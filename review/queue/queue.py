"""Reading the queue and claiming items: what the review page needs from Elasticsearch.

The first-wins rule: a decision first claims the document with a conditional write (if_seq_no/if_primary_term,
which noida-db honours like Elasticsearch): of two moderators who read the same version, only one write succeeds;
the other gets AlreadyDecided naming the winner. The claim stays `pending` in status until the stream worker has
carried the decision out and QueueSink.apply_decision sets the final status.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from elasticsearch import ApiError, ConflictError, Elasticsearch, NotFoundError

from modpipe.settings import Settings
from review.queue import decisions
from review.queue.client import SearchStore, Versioned, read_versioned, translated
from review.queue.decisions import Claim
from review.queue.exceptions import AlreadyDecided, ItemNotFound, NothingToCorrect
from review.queue.mapping import alias_name
from review.queue.paging import Cursor, fingerprint, sort_clause

log = logging.getLogger("modpipe.search")
STATUSES = ("pending", "reported", "confirmed", "overturned")
# Waiting for a moderator: flagged by the machine (pending), or reported by users (reported, L7).
OPEN = ("pending", "reported")
WINDOW = 10_000  # Elasticsearch's index.max_result_window: from + size beyond it is refused
CLAIM_ATTEMPTS = 3
STEP = 5_000  # sort values read per request while walking to a deep offset or collecting a selection


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
    sort: str = "default"  # a key of paging.SORTS
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
class Item(Versioned):
    @property
    def moderation(self) -> dict[str, Any]:
        return self.part("moderation")

    @property
    def claimed(self) -> bool:
        """A decision is in flight: claimed, not yet carried out by the worker."""
        return decisions.in_flight(self.moderation, OPEN)


@dataclass(frozen=True)
class Page:
    items: list[Item]
    total: int
    counts: dict[str, int] = field(default_factory=dict)
    position: int = 0  # how many matching items come before this page
    next_cursor: str | None = None  # where the next page starts; None on the last page


class QueueStore(SearchStore):
    def __init__(self, settings: Settings, client: Elasticsearch | None = None) -> None:
        super().__init__(settings, client)
        self._alias = alias_name(settings)
        self._pit_keep_alive_s = settings.queue.pit_keep_alive_s

    def search(self, flt: QueueFilter, cursor: str | None = None) -> Page:
        """One page of the queue in `flt.sort` order: at `cursor` (a Page.next_cursor for the same filter), else
        at `flt.offset`. Every walk reads one point in time, opened by its first page; a deep offset is reached
        with search_after in steps, since from + size stops at 10,000. Raises BadCursor, SearchUnavailable."""
        query = flt.query()
        made_for = fingerprint(query, flt.sort)
        start = Cursor.decode(cursor, made_for) if cursor else None
        body: dict[str, Any] = {
            "query": query, "size": flt.size, "sort": sort_clause(flt.sort), "track_total_hits": True,
            "aggs": {"status": {"terms": {"field": "moderation.status", "size": 10}}},
        }  # fmt: skip
        with translated("queue search"):
            if start is not None:
                position, after, pit = start.position, start.after, start.pit or self._open_pit()
                res, pit = self._read(body, pit, after=after)
            else:
                pit = self._open_pit()
                position = flt.offset
                if flt.offset + flt.size <= WINDOW:
                    res, pit = self._read(body, pit, offset=flt.offset)
                else:
                    before, pit = self._skip(query, body["sort"], pit, flt.offset)
                    # Past the end: no items, but still the total and counts of the queue.
                    res, pit = self._read(body if before is not None else {**body, "size": 0}, pit, after=before)
            hits = res["hits"]["hits"]
            total = int(res["hits"]["total"]["value"])
            next_cursor = None
            if hits and position + len(hits) < total:
                next_cursor = Cursor(hits[-1]["sort"], position + len(hits), made_for, pit).encode()
            elif start is None:
                self._close_pit(pit)  # nothing more to page through: do not keep the snapshot alive
        buckets = res.get("aggregations", {}).get("status", {}).get("buckets", [])
        counts = {b["key"]: int(b["doc_count"]) for b in buckets}
        items = [Item(h["_id"], h["_source"]) for h in hits]
        return Page(items, total, counts, position, next_cursor)

    def select_ids(self, flt: QueueFilter, limit: int) -> list[str]:
        """The ids of every item matching `flt` (at most `limit`), from one point in time: a bulk selection over a
        queue of any size is the set the moderator saw counted."""
        sort = sort_clause(flt.sort)
        ids: list[str] = []
        with translated("queue selection"):
            pit = self._open_pit()
            after: list[Any] | None = None
            try:
                while len(ids) < limit:
                    size = min(STEP, limit - len(ids))
                    step = {"query": flt.query(), "size": size, "sort": sort, "source": False}
                    res, pit = self._read(step, pit, after=after)
                    hits = res["hits"]["hits"]
                    ids.extend(h["_id"] for h in hits)
                    if len(hits) < size:
                        break
                    after = hits[-1]["sort"]
            finally:
                self._close_pit(pit)
        return ids

    def _keep_alive(self) -> str:
        return f"{self._pit_keep_alive_s}s"

    def _open_pit(self) -> str:
        return str(self._es.open_point_in_time(index=self._alias, keep_alive=self._keep_alive())["id"])

    def _close_pit(self, pit: str) -> None:
        try:
            self._es.close_point_in_time(id=pit)
        except (NotFoundError, ApiError):
            log.debug("point in time already gone", exc_info=True)

    def _read(
        self, body: dict[str, Any], pit: str, *, after: list[Any] | None = None, offset: int = 0
    ) -> tuple[dict[str, Any], str]:
        """One search in the point in time `pit`; one that expired is replaced by a new one at the same position
        (the sort keys never change, so the cursor still points between the same two items)."""
        kwargs = dict(body)
        if after is not None:
            kwargs["search_after"] = after
        elif offset:
            kwargs["from_"] = offset
        for attempt in (1, 2):
            try:
                res = self._es.search(pit={"id": pit, "keep_alive": self._keep_alive()}, **kwargs)
            except NotFoundError:
                if attempt == 2:
                    raise
                log.info("queue point in time expired; opening a new one at the same position")
                pit = self._open_pit()
                continue
            return dict(res), str(res.get("pit_id") or pit)
        raise AssertionError("unreachable")

    def _skip(
        self, query: dict[str, Any], sort: list[dict[str, Any]], pit: str, offset: int
    ) -> tuple[list[Any] | None, str]:
        """The sort values of the item just before `offset`, walked to in steps of sort values only."""
        after: list[Any] | None = None
        seen = 0
        while seen < offset:
            step = {"query": query, "size": min(STEP, offset - seen), "sort": sort, "source": False}
            res, pit = self._read(step, pit, after=after)
            hits = res["hits"]["hits"]
            if not hits:
                return None, pit
            seen += len(hits)
            after = hits[-1]["sort"]
        return after, pit

    def get(self, message_id: str) -> Item:
        return read_versioned(self._es, self._alias, message_id, "queue get", Item, ItemNotFound)

    def find(self, message_id: str) -> Item | None:
        try:
            return self.get(message_id)
        except ItemNotFound:
            return None

    def many(self, ids: list[str]) -> dict[str, Item]:
        """The queued items among `ids` (one mget); ids not in the queue are left out."""
        if not ids:
            return {}
        with translated("queue mget"):
            res = self._es.mget(index=self._alias, ids=ids)
        return {str(d["_id"]): Item(str(d["_id"]), d["_source"]) for d in res["docs"] if d.get("found")}

    def by_author(self, author_id: str, exclude: str, size: int = 10) -> list[Item]:
        flt = {"bool": {"filter": [{"term": {"user.id": author_id}}], "must_not": [{"term": {"event.id": exclude}}]}}
        with translated("author items"):
            res = self._es.search(index=self._alias, query=flt, size=size, sort=[{"@timestamp": "desc"}])
        return [Item(h["_id"], h["_source"]) for h in res["hits"]["hits"]]

    def claim(self, item: Item, claim: Claim, *, correcting: bool = False) -> Item:
        """Mark `item` as decided by `claim.moderator`, only if nobody changed it since it was read. A write that
        lost the race to a change other than a claim (the worker re-indexing the verdict) reads and tries again.
        `correcting`: a reopening or reversal, which needs a carried-out decision and no other one in flight
        (raises NothingToCorrect on an open item); a decision needs an open item."""
        for _ in range(CLAIM_ATTEMPTS):
            status = item.moderation.get("status", "pending")
            if item.claimed:
                raise _already(item)
            if correcting and status not in decisions.DECIDED:
                raise NothingToCorrect(item.id, str(status))
            if not correcting and status not in OPEN:
                raise _already(item)
            doc = {"moderation": decisions.claimed(claim)}
            if correcting:
                # A document carried out before corrections existed records neither: the claim fills them in.
                m = item.moderation
                doc["moderation"] |= {
                    "applied_id": m.get("applied_id") or m.get("decision_id"),
                    "in_effect": decisions.in_effect(m),
                }
            with translated("claim"):
                try:
                    self._es.update(
                        index=self._alias, id=item.id, doc=doc, if_seq_no=item.seq_no,
                        if_primary_term=item.primary_term, refresh="wait_for",
                    )  # fmt: skip
                except ConflictError:
                    item = self.get(item.id)
                    continue
                except NotFoundError as exc:
                    raise ItemNotFound(item.id) from exc
            return self.get(item.id)
        raise _already(item)

    def release(self, item: Item, decision_id: str, previous: dict[str, Any] | None = None) -> bool:
        """Undo a claim whose decision could not be published: the claim's fields go back to `previous` (the
        `moderation` read before the claim), so the item is as it was. Conditional too: a claim that changed since
        (the worker already applied it) is left alone."""
        if item.moderation.get("decision_id") != decision_id:
            return False
        empty = decisions.released(previous)
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
        item.id, str(m.get("decided_by") or "?"), str(m.get("outcome") or m.get("status")), str(m.get("decided_at")),
        in_flight=item.claimed,
        decision_id=str(m.get("decision_id") or ""),
    )  # fmt: skip
