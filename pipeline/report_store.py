"""The reports agent's state in Elasticsearch, so that it survives a SIGKILL: one document per reported message
(its reports, their outcomes, the verdict it waits for or has) and one per reporter (what their reports came to).

The index is `<elasticsearch.index>.reports`: outside the queue template's `<index>-*` pattern and Kibana's data
view. Every write is conditional on the version read (if_seq_no), so two workers that share a message, or a
batch retried after a failure, never overwrite each other: a conflict is transient and the batch is recomputed
from what is stored.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from elasticsearch import ApiError, Elasticsearch

from modpipe.errors import TransientError
from modpipe.settings import Settings
from reports import Overdue, count_overdue
from review.queue.client import SearchStore, translated

_MAPPING: dict[str, Any] = {
    # Only what the overdue count queries is indexed; the state itself is one opaque JSON string.
    "dynamic": False,
    "properties": {
        "kind": {"type": "keyword"},
        "message_id": {"type": "keyword"},
        "open_due": {"type": "date"},
        "state": {"type": "keyword", "index": False, "doc_values": False},
    },
}
_PAGE = 1000


class StateConflict(TransientError):
    """A state document changed between read and write (another worker, or a retried batch): recompute."""


def state_index(settings: Settings) -> str:
    return f"{settings.elasticsearch.index}.reports"


@dataclass
class MessageDoc:
    """One reported message: `reports` and `outcomes` in the pure core's to_dict form, and its verdict if known."""

    message_id: str
    reports: dict[str, Any]
    outcomes: dict[str, Any] = field(default_factory=lambda: {"received": [], "final": []})
    verdict: dict[str, Any] | None = None
    seq: tuple[int, int] | None = None  # (seq_no, primary_term) read; None for a new document
    # Per report id with a final outcome: the decision that gave it and the screening the moderator ruled on.
    rulings: dict[str, Any] = field(default_factory=dict)
    stored: dict[str, Any] | None = None  # the body as read: unchanged documents are not written again

    def body(self, open_due: Sequence[datetime]) -> dict[str, Any]:
        state = {"reports": self.reports, "outcomes": self.outcomes, "verdict": self.verdict, "rulings": self.rulings}
        return {
            "kind": "message",
            "message_id": self.message_id,
            "open_due": [d.isoformat() for d in open_due],
            "state": json.dumps(state, ensure_ascii=False, sort_keys=True),
        }


@dataclass
class ReporterDoc:
    reporter_id: str
    confirmed: int = 0
    rejected: int = 0
    learned: list[str] = field(default_factory=list)  # report ids already counted
    seq: tuple[int, int] | None = None

    def body(self) -> dict[str, Any]:
        state = {"confirmed": self.confirmed, "rejected": self.rejected, "learned": sorted(self.learned)}
        return {"kind": "reporter", "state": json.dumps(state, sort_keys=True)}


class ReportStore(SearchStore):
    def __init__(self, settings: Settings, client: Elasticsearch | None = None) -> None:
        super().__init__(settings, client)
        self.index = state_index(settings)
        self._ready = False

    def ensure(self) -> None:
        if self._ready:
            return
        with translated("reports state init"):
            if not self._es.indices.exists(index=self.index):
                try:
                    self._es.indices.create(index=self.index, mappings=_MAPPING, settings={"number_of_shards": 1})
                except ApiError as exc:  # two workers starting together: the other one created it
                    if exc.meta.status != 400 or "already_exists" not in str(exc):
                        raise
        self._ready = True

    def _mget(self, ids: list[str]) -> list[dict[str, Any]]:
        if not ids:
            return []
        self.ensure()
        with translated("reports state read"):
            docs: list[dict[str, Any]] = self._es.mget(index=self.index, ids=ids, realtime=True)["docs"]
        return docs

    def messages(self, message_ids: Iterable[str]) -> dict[str, MessageDoc]:
        found = {}
        for doc in self._mget([f"m:{m}" for m in sorted(set(message_ids))]):
            if not doc.get("found"):
                continue
            src = doc["_source"]
            state = json.loads(src["state"])
            found[src["message_id"]] = MessageDoc(
                src["message_id"], state["reports"], state["outcomes"], state.get("verdict"),
                (int(doc["_seq_no"]), int(doc["_primary_term"])), state.get("rulings") or {}, src,
            )  # fmt: skip
        return found

    def reporters(self, reporter_ids: Iterable[str]) -> dict[str, ReporterDoc]:
        ids = sorted(set(reporter_ids))
        found = {}
        for rid, doc in zip(ids, self._mget([f"r:{r}" for r in ids]), strict=True):
            if not doc.get("found"):
                continue
            state = json.loads(doc["_source"]["state"])
            found[rid] = ReporterDoc(
                rid, int(state["confirmed"]), int(state["rejected"]), list(state["learned"]),
                (int(doc["_seq_no"]), int(doc["_primary_term"])),
            )  # fmt: skip
        return found

    def save(self, docs: Sequence[tuple[str, dict[str, Any], tuple[int, int] | None]]) -> None:
        """Write (id, body, version read) conditionally; StateConflict if any changed meanwhile. The caller
        writes reporters before messages: a retry after a partial write then never counts an outcome twice."""
        if not docs:
            return
        self.ensure()
        ops: list[dict[str, Any]] = []
        for doc_id, body, seq in docs:
            meta: dict[str, Any] = {"_index": self.index, "_id": doc_id}
            if seq is None:
                ops.append({"create": meta})
            else:
                ops.append({"index": {**meta, "if_seq_no": seq[0], "if_primary_term": seq[1]}})
            ops.append(body)
        with translated("reports state write"):
            response = self._es.bulk(operations=ops, refresh="wait_for")
        failed = []
        for item in response["items"]:
            result = next(iter(item.values()))
            if int(result.get("status", 500)) >= 300:
                failed.append(f"{result.get('_id')}: {result.get('status')} {result.get('error')}")
        if failed:
            raise StateConflict(f"reports state: {len(failed)} documents not written ({failed[0]}); recomputing")

    def overdue(self, now: datetime) -> Overdue:
        """Open reports past their due time at `now`, and the messages they belong to."""
        self.ensure()
        query = {"range": {"open_due": {"lt": now.isoformat()}}}
        late: list[tuple[str, datetime]] = []
        offset = 0
        with translated("reports overdue"):
            self._es.indices.refresh(index=self.index)
            while True:
                res = self._es.search(
                    index=self.index, query=query, from_=offset, size=_PAGE, sort=[{"message_id": "asc"}]
                )
                hits = res["hits"]["hits"]
                for hit in hits:
                    src = hit["_source"]
                    late.extend((src["message_id"], datetime.fromisoformat(d)) for d in src.get("open_due", ()))
                if len(hits) < _PAGE:
                    break
                offset += _PAGE
        return count_overdue(late, now)
