"""The QA queue in Elasticsearch: an index of its own beside the moderation queue (`<elasticsearch.index>_qa`), the
sink the queue agent feeds with the verdicts it draws, the first-wins answers of the desk, and the counts behind
the estimates (review.queue.qa)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from elasticsearch import ApiError, ConflictError, Elasticsearch

from modpipe.contracts import Verdict
from modpipe.errors import TerminalError
from modpipe.settings import Settings
from review.queue.client import SearchStore, Versioned, is_transient_status, read_versioned, translated
from review.queue.exceptions import SearchError, SearchUnavailable
from review.queue.mapping import DATE, KEYWORD
from review.queue.qa import NO_VIOLATION, WRONG, Stratum, is_sampled, judged, qa_document, strata

log = logging.getLogger("modpipe.search")
OPEN, ANSWERED = "open", "answered"
ANSWER_ATTEMPTS = 3


class QaAlreadyAnswered(SearchError, TerminalError):
    def __init__(self, qa_id: str, by: str, at: str) -> None:
        super().__init__(f"QA item {qa_id} was already answered by {by} at {at}")
        self.qa_id, self.by, self.at = qa_id, by, at


class QaNotFound(SearchError, TerminalError):
    """No QA document has this id."""


def qa_index(settings: Settings) -> str:
    # Not `<index>-qa`: the queue's template claims every `<index>-*` name.
    return f"{settings.elasticsearch.index}_qa"


def qa_mapping(settings: Settings) -> dict[str, Any]:
    scores = {code: {"type": "float"} for code in sorted(settings.categories)}
    keywords = ("message_id", "verdict_id", "action", "category", "flagged", "service_type", "model_version",
                "lexicon_version", "policy_version", "status")  # fmt: skip
    return {
        "dynamic": "strict",
        "properties": {
            **{name: KEYWORD for name in keywords},
            "scores": {"type": "object", "dynamic": True, "properties": scores},
            "share": {"type": "float"},
            "draw": {"type": "double"},
            "text": {"type": "text", "analyzer": "standard"},
            "published_at": DATE,
            "decided_at": DATE,
            "answer": {"properties": {"label": KEYWORD, "judged": KEYWORD, "by": KEYWORD, "at": DATE}},
        },
    }


def ensure_qa_index(settings: Settings, es: Elasticsearch) -> str:
    """Create the QA index on first use; idempotent (a new category's score is added to a live index)."""
    name = qa_index(settings)
    with translated("qa init"):
        if es.indices.exists(index=name):
            es.indices.put_mapping(index=name, properties=qa_mapping(settings)["properties"])
            return name
        try:
            es.indices.create(index=name, mappings=qa_mapping(settings), settings={"number_of_shards": 1})
        except ApiError as exc:
            if exc.meta.status != 400 or "already_exists" not in str(exc):
                raise
    return name


class QaSink(SearchStore):
    """Buffers the verdicts the QA queue draws and bulk-writes them on flush. A re-delivered verdict rewrites its
    own fields and leaves a moderator's answer alone."""

    def __init__(
        self,
        settings: Settings,
        client: Elasticsearch | None = None,
        *,
        refresh: bool = False,
        drawn: Callable[[str, str], None] | None = None,
    ) -> None:
        super().__init__(settings, client)
        self._sampling = settings.review.qa_sample
        self._index = qa_index(settings)
        self._refresh: Literal["wait_for", False] = "wait_for" if refresh else False
        self._ready = False
        self._pending: dict[str, dict[str, Any]] = {}
        self._drawn = drawn  # told (action, category) of each verdict drawn: the worker counts them

    def add(self, verdict: Verdict) -> bool:
        if not is_sampled(verdict, self._sampling):
            return False
        doc = qa_document(verdict, self._sampling)
        self._pending[verdict.verdict_id] = doc
        if self._drawn is not None:
            self._drawn(doc["action"], doc["category"])
        return True

    def __len__(self) -> int:
        return len(self._pending)

    def flush(self) -> int:
        """Write the buffer; raises SearchUnavailable (the unwritten ones kept, call again) when the server is
        down or throttles. A document refused for good is logged and dropped: a QA sample, not a record."""
        if not self._pending:
            return 0
        if not self._ready:
            ensure_qa_index(self._settings, self._es)
            self._ready = True
        ops: list[dict[str, Any]] = []
        for qa_id, doc in self._pending.items():
            ops.append({"update": {"_index": self._index, "_id": qa_id, "retry_on_conflict": 3}})
            ops.append({"doc": doc, "upsert": {**doc, "status": OPEN}})
        try:
            with translated("qa flush"):
                response = self._es.bulk(operations=ops, refresh=self._refresh)
        except SearchUnavailable:
            # A server that comes back may have lost the index, and a write would auto-create it with guessed
            # mappings (a text `status` the dashboard cannot count by): set it up again first.
            self._ready = False
            raise
        retry: dict[str, dict[str, Any]] = {}
        written = 0
        for (qa_id, doc), item in zip(self._pending.items(), response["items"], strict=True):
            result = item.get("update", {})
            status = int(result.get("status", 500))
            if status < 300:
                written += 1
            elif is_transient_status(status):
                retry[qa_id] = doc
            else:
                log.error("QA queue refused %s for good: %s", qa_id, str(result.get("error"))[:500])
        self._pending = retry
        if retry:
            raise SearchUnavailable(f"qa flush: {len(retry)} QA items throttled; retry")
        return written


@dataclass(frozen=True)
class QaItem(Versioned):
    @property
    def answer(self) -> dict[str, Any]:
        return self.part("answer")


class QaStore(SearchStore):
    def __init__(self, settings: Settings, client: Elasticsearch | None = None) -> None:
        super().__init__(settings, client)
        self._index = qa_index(settings)

    def _exists(self) -> bool:
        with translated("qa exists"):
            return bool(self._es.indices.exists(index=self._index))

    def open_items(self, size: int = 20) -> list[QaItem]:
        """Open QA items in the order of their draw (random-looking, fixed): the same next item for everyone,
        which the desk spreads by account."""
        if not self._exists():
            return []
        with translated("qa open items"):
            res = self._es.search(
                index=self._index, query={"term": {"status": OPEN}}, size=size, sort=[{"draw": "asc"}]
            )
        return [QaItem(h["_id"], h["_source"]) for h in res["hits"]["hits"]]

    def open_count(self) -> int:
        if not self._exists():
            return 0
        with translated("qa open count"):
            return int(self._es.count(index=self._index, query={"term": {"status": OPEN}})["count"])

    def get(self, qa_id: str) -> QaItem:
        return read_versioned(self._es, self._index, qa_id, "qa get", QaItem, QaNotFound)

    def answer(self, qa_id: str, label: str, by: str, at: datetime) -> QaItem:
        """Record a moderator's label (a category code, or `none`); the first answer wins (a conditional write),
        a later one raises QaAlreadyAnswered naming the first. Raises QaNotFound."""
        for _ in range(ANSWER_ATTEMPTS):
            item = self.get(qa_id)
            if item.source.get("status") == ANSWERED:
                raise QaAlreadyAnswered(qa_id, str(item.answer.get("by")), str(item.answer.get("at")))
            answer = {"label": label, "judged": judged(str(item.source["action"]), label), "by": by,
                      "at": at.isoformat()}  # fmt: skip
            with translated("qa answer"):
                try:
                    self._es.update(
                        index=self._index, id=qa_id, doc={"status": ANSWERED, "answer": answer},
                        if_seq_no=item.seq_no, if_primary_term=item.primary_term, refresh="wait_for",
                    )  # fmt: skip
                except ConflictError:
                    continue  # answered meanwhile, or its verdict re-delivered: read again
            return self.get(qa_id)
        item = self.get(qa_id)
        raise QaAlreadyAnswered(qa_id, str(item.answer.get("by")), str(item.answer.get("at")))

    def strata(self, now: datetime, window_days: int | None = None, model_version: str = "") -> list[Stratum]:
        """Counts per (action, category) of the verdicts of the last `window_days` days (setting
        review.qa_sample.window_days): drawn, answered, judged wrong, and the labels of the wrong ones."""
        days = window_days or self._settings.review.qa_sample.window_days
        filters: list[dict[str, Any]] = [{"range": {"decided_at": {"gte": (now - timedelta(days=days)).isoformat()}}}]
        if model_version:
            filters.append({"term": {"model_version": model_version}})
        aggs = {
            "action": {
                "terms": {"field": "action", "size": 10},
                "aggs": {
                    "category": {
                        "terms": {"field": "category", "size": 500},
                        "aggs": {
                            "status": {"terms": {"field": "status", "size": 5}},
                            "wrong": {
                                "filter": {"term": {"answer.judged": WRONG}},
                                "aggs": {"labels": {"terms": {"field": "answer.label", "size": 500}}},
                            },
                        },
                    }
                },
            }
        }
        if not self._exists():
            return []
        with translated("qa counts"):
            res = self._es.search(index=self._index, query={"bool": {"filter": filters}}, size=0, aggs=aggs)
        counts: dict[tuple[str, str], dict[str, Any]] = {}
        for a in res["aggregations"]["action"]["buckets"]:
            for c in a["category"]["buckets"]:
                status = {b["key"]: int(b["doc_count"]) for b in c["status"]["buckets"]}
                labels = {str(b["key"]): int(b["doc_count"]) for b in c["wrong"]["labels"]["buckets"]}
                counts[(str(a["key"]), str(c["key"]))] = {
                    "sampled": int(c["doc_count"]), "answered": status.get(ANSWERED, 0),
                    "wrong": int(c["wrong"]["doc_count"]), "labels": labels,
                }  # fmt: skip
        return strata(counts, self._settings.review.qa_sample)

    def model_versions(self) -> list[str]:
        if not self._exists():
            return []
        with translated("qa models"):
            res = self._es.search(
                index=self._index, size=0, aggs={"m": {"terms": {"field": "model_version", "size": 50}}}
            )
        return sorted(str(b["key"]) for b in res["aggregations"]["m"]["buckets"])


__all__ = ["NO_VIOLATION", "QaAlreadyAnswered", "QaItem", "QaNotFound", "QaSink", "QaStore", "ensure_qa_index"]
