"""Claims on open items: who has an item in hand, and until when (`moderation.claim`: holder, until, at).

A claim is not a decision. It says "alice is looking at this until 10:05" so that work mode hands the item to nobody
else and the list and the item page show who has it; a decision still goes through the first-wins decision claim of
review.queue.queue. Taking a claim is a conditional write on the document version (if_seq_no/if_primary_term, which
noida-db honours): of two moderators who read the same version, one write wins and the other sees the winner's name.
A claim ends when its holder skips or decides the item, or expires at `until` (setting review.claim_ttl_s); nothing
has to clean up an abandoned one.
"""

from __future__ import annotations

import copy
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from elasticsearch import ConflictError, Elasticsearch, NotFoundError

from modpipe.errors import TerminalError
from modpipe.settings import Settings
from review.queue.client import SearchStore, read_versioned, translated
from review.queue.exceptions import ItemNotFound, SearchError
from review.queue.mapping import alias_name
from review.queue.paging import sort_clause
from review.queue.queue import OPEN, Item, QueueFilter
from review.queue.sink import ensure_index

ATTEMPTS = 3
CANDIDATES = 20  # items read per search while looking for the next unclaimed one
ROUNDS = 5


@dataclass(frozen=True)
class Hold:
    holder: str
    until: datetime


class Held(SearchError, TerminalError):
    """Someone else has a live claim on the item (or it is no longer open); nothing was written."""

    def __init__(self, message_id: str, holder: str, until: str) -> None:
        super().__init__(f"{message_id} is claimed by {holder} until {until}")
        self.message_id = message_id
        self.holder = holder
        self.until = until


def _time(value: Any) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


def is_open(item: Item) -> bool:
    return item.moderation.get("status", "pending") in OPEN and not item.claimed


def live_hold(item: Item, now: datetime) -> Hold | None:
    """The item's claim while it lasts and the item is open; None when there is none, it expired, or it was decided."""
    claim = item.moderation.get("claim") or {}
    until = _time(claim.get("until"))
    if not claim.get("holder") or until is None or until <= now or not is_open(item):
        return None
    return Hold(str(claim["holder"]), until)


class Claims(SearchStore):
    def __init__(self, settings: Settings, client: Elasticsearch | None = None) -> None:
        super().__init__(settings, client)
        self._alias = alias_name(settings)
        self._ttl = timedelta(seconds=settings.review.claim_ttl_s)
        self._ready = False

    def _get(self, message_id: str) -> Item:
        return read_versioned(self._es, self._alias, message_id, "claim read", Item, ItemNotFound)

    def _write(self, item: Item, claim: dict[str, Any] | None) -> bool:
        """False when the document changed since `item` was read."""
        if not self._ready:
            ensure_index(self._settings, self._es)  # the mapping has the claim field (an older index gets it now)
            self._ready = True
        with translated("claim write"):
            try:
                self._es.update(
                    index=self._alias, id=item.id, doc={"moderation": {"claim": claim}}, if_seq_no=item.seq_no,
                    if_primary_term=item.primary_term, refresh="wait_for",
                )  # fmt: skip
            except ConflictError:
                return False
            except NotFoundError as exc:
                raise ItemNotFound(item.id) from exc
        return True

    def take(self, message_id: str, who: str, now: datetime) -> tuple[Hold, bool]:
        """Claim the item for `who` until now + ttl, or renew `who`'s own claim. Returns the claim and whether it is
        new (renewals are not news for the audit trail). Raises Held (someone else's live claim, or the item is no
        longer open), ItemNotFound, SearchUnavailable."""
        for _ in range(ATTEMPTS):
            item = self._get(message_id)
            if not is_open(item):
                m = item.moderation
                raise Held(
                    message_id, str(m.get("decided_by") or "?"), f"decided ({m.get('outcome') or m.get('status')})"
                )
            current = live_hold(item, now)
            if current is not None and current.holder != who:
                raise Held(message_id, current.holder, current.until.isoformat())
            if current is not None and current.until - now > self._ttl / 2:
                return current, False  # fresh enough: a write per page view would only slow the desk down
            hold = Hold(who, now + self._ttl)
            claim = {"holder": who, "until": hold.until.isoformat(), "at": now.isoformat()}
            if self._write(item, claim):
                return hold, current is None
        item = self._get(message_id)
        current = live_hold(item, now)
        raise Held(message_id, current.holder if current else "?", current.until.isoformat() if current else "?")

    def release(self, message_id: str, who: str, now: datetime) -> bool:
        """End `who`'s claim on the item (a skip); someone else's, or none, is left alone."""
        for _ in range(ATTEMPTS):
            try:
                item = self._get(message_id)
            except ItemNotFound:
                return False
            current = live_hold(item, now)
            if current is None or current.holder != who:
                return False
            if self._write(item, None):
                return True
        return False

    def next_item(
        self, flt: QueueFilter, who: str, now: datetime, exclude: Collection[str] = ()
    ) -> tuple[str, Hold] | None:
        """The id of the first open item of `flt` in its sort that nobody else holds, now claimed by `who`; `who`'s
        own live claim comes back first (a reload or a second tab resumes it). None when the queue is worked out."""
        tried: set[str] = set(exclude)
        for _ in range(ROUNDS):
            candidates = self._candidates(flt, who, now, tried)
            if not candidates:
                return None
            for message_id in candidates:
                tried.add(message_id)
                try:
                    hold, _new = self.take(message_id, who, now)
                except (Held, ItemNotFound):
                    continue  # another moderator was quicker, or the item was decided meanwhile
                return message_id, hold
        return None

    def _candidates(self, flt: QueueFilter, who: str, now: datetime, exclude: Collection[str]) -> list[str]:
        query = copy.deepcopy(flt.query())
        query["bool"]["filter"].append({"terms": {"moderation.status": list(OPEN)}})
        query["bool"]["must_not"].append({"exists": {"field": "moderation.decision_id"}})
        free = [
            {"bool": {"must_not": [{"exists": {"field": "moderation.claim.until"}}]}},
            {"range": {"moderation.claim.until": {"lte": now.isoformat()}}},
            {"term": {"moderation.claim.holder": who}},
        ]
        query["bool"]["filter"].append({"bool": {"should": free, "minimum_should_match": 1}})
        if exclude:
            query["bool"]["must_not"].append({"terms": {"event.id": sorted(exclude)}})
        with translated("next item"):
            res = self._es.search(
                index=self._alias, query=query, size=CANDIDATES, source=False, sort=sort_clause(flt.sort)
            )
        return [h["_id"] for h in res["hits"]["hits"]]
