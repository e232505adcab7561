"""Index set-up and the queue sink the stream worker calls (synchronously, from its executor)."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any, Literal

from elasticsearch import ApiError, Elasticsearch

from modpipe.contracts import Decision, Verdict
from modpipe.settings import Action, Settings
from review.queue.client import SearchStore, is_transient_status, make_client, translated
from review.queue.decisions import applied
from review.queue.document import QUEUED, DueAfter, bulk_actions
from review.queue.exceptions import SearchRejected, SearchUnavailable
from review.queue.mapping import alias_name, first_index, properties, template_body, template_name

log = logging.getLogger("modpipe.search")


def ensure_index(settings: Settings, client: Elasticsearch | None = None) -> str:
    """Install the template and, on first use, the first index behind the queue alias. Idempotent: a second run
    updates the template and adds any new field (a new category's score) to the live index. Returns the alias."""
    es = client or make_client(settings)
    alias = alias_name(settings)
    try:
        with translated("search init"):
            body = template_body(settings)
            es.indices.put_index_template(name=template_name(settings), **body)
            if es.indices.exists_alias(name=alias):
                es.indices.put_mapping(index=alias, properties=properties(settings))
            elif es.indices.exists(index=alias):
                raise SearchRejected(
                    f"an index named {alias!r} exists where the queue alias should be (setting elasticsearch.index);"
                    " re-index it or choose another name"
                )
            else:
                try:
                    es.indices.create(index=first_index(settings), aliases={alias: {"is_write_index": True}})
                except ApiError as exc:
                    # Two workers starting together: the other one created it, which is the outcome we want.
                    if exc.meta.status != 400 or "already_exists" not in str(exc):
                        raise
                    es.indices.put_alias(index=first_index(settings), name=alias)
        return alias
    finally:
        if client is None:
            es.close()


def due_after(settings: Settings) -> DueAfter:
    q = settings.queue
    return {Action.REVIEW: timedelta(seconds=q.review_due_s), Action.BLOCK: timedelta(seconds=q.block_due_s)}


class QueueSink(SearchStore):
    """Buffers review and block verdicts, bulk-indexes them on flush, and applies moderators' decisions."""

    def __init__(self, settings: Settings, client: Elasticsearch | None = None, *, refresh: bool = False) -> None:
        super().__init__(settings, client)
        self._ready = False
        self._alias = alias_name(settings)
        self._due: DueAfter = due_after(settings)
        # Waiting for a refresh costs up to a second per batch on Elasticsearch; searches see new items within the
        # refresh interval anyway. Tests that search right after a flush ask for it.
        self._refresh: Literal["wait_for", False] = "wait_for" if refresh else False
        self._pending: dict[str, Verdict] = {}
        self.rejected: list[tuple[str, str]] = []  # (message_id, reason) refused for good by the last flush
        self._carried = 0  # written by earlier attempts of a flush that Elasticsearch partly throttled

    def _ensure_ready(self) -> None:
        # Writing to a missing alias would make Elasticsearch auto-create a plain index by that name, with guessed
        # mappings, which `search init` could then not turn into the alias. So the first write sets the index up.
        if not self._ready:
            ensure_index(self._settings, self._es)
            self._ready = True

    def add(self, verdict: Verdict) -> None:
        if verdict.action in QUEUED:
            # The latest verdict for a message wins within a batch, as it would across batches.
            self._pending[verdict.message_id] = verdict

    def __len__(self) -> int:
        return len(self._pending)

    def flush(self) -> int:
        """Write the buffer; returns how many documents were written. Raises SearchUnavailable (buffer kept, call
        again) when Elasticsearch is down; items it refuses for good are logged, listed in `rejected`, dropped
        from the queue (their record is still kept by the records agent)."""
        self.rejected = []
        if not self._pending:
            return 0
        verdicts = list(self._pending.values())
        self._ensure_ready()
        with translated("queue flush"):
            response = self._es.bulk(operations=bulk_actions(self._alias, verdicts, self._due), refresh=self._refresh)
        retry: dict[str, Verdict] = {}
        written = self._carried
        for verdict, item in zip(verdicts, response["items"], strict=True):
            result = item.get("update", {})
            status = int(result.get("status", 500))
            if status < 300:
                written += 1
            elif is_transient_status(status):
                retry[verdict.message_id] = verdict
            else:
                reason = str(result.get("error", {}).get("reason", result.get("error")))[:500]
                self.rejected.append((verdict.message_id, reason))
                log.error("queue refused %s for good: %s", verdict.message_id, reason)
        self._pending = retry
        if retry:
            self._carried = written  # counted when the retry succeeds: the metric counts every document once
            raise SearchUnavailable(f"queue flush: {len(retry)} of {len(verdicts)} items throttled; retry")
        self._carried = 0
        return written

    def apply_decision(self, decision: Decision) -> None:
        """Set the final status the moderator chose. Idempotent; a decision for an unknown item creates a stub
        (the verdict's own upsert later fills it in without touching the status)."""
        doc: dict[str, Any] = {
            "event": {"id": decision.message_id},
            "moderation": applied(decision),
        }
        self._ensure_ready()
        with translated("apply decision"):
            self._es.update(
                index=self._alias, id=decision.message_id, doc=doc, doc_as_upsert=True, refresh=self._refresh,
                retry_on_conflict=5,
            )  # fmt: skip
