"""User reports (L7) on queue items: the reports agent writes what the reports of a message come to into its
queue document (`moderation.reports`), creating the document from the verdict when the machine passed the
message, and setting the status `reported` while reports are open. Nothing here decides: a moderator does, through
the same claim and decision as for any item, and only that decision's command takes content down."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from elasticsearch import ConflictError, Elasticsearch, NotFoundError

from modpipe.contracts import Verdict
from modpipe.errors import TransientError
from modpipe.settings import Action, Settings
from review.queue.client import SearchStore, translated
from review.queue.decisions import released
from review.queue.document import new_document
from review.queue.mapping import alias_name
from review.queue.queue import OPEN
from review.queue.sink import ensure_index

REPORTED = "reported"


class ItemChanged(TransientError):
    """The queue document changed between read and write (a claim, a decision applied): read it again."""


class ReportedItems(SearchStore):
    def __init__(self, settings: Settings, client: Elasticsearch | None = None) -> None:
        super().__init__(settings, client)
        self._alias = alias_name(settings)
        self._ready = False

    def known(self, message_id: str) -> bool:
        return self._get(message_id) is not None

    def _get(self, message_id: str) -> dict[str, Any] | None:
        if not self._ready:
            ensure_index(self._settings, self._es)
            self._ready = True
        with translated("reported item read"):
            try:
                doc = dict(self._es.get(index=self._alias, id=message_id, realtime=True))
            except NotFoundError:
                return None
        return doc

    def apply(self, message_id: str, reports: dict[str, Any], verdict: Verdict | None, reasons: list[str]) -> bool:
        """Write `reports` (the `moderation.reports` fields) into the item. A message not in the queue enters it
        from `verdict` (False when there is none yet: the reports wait for it); `reasons` (the reported category
        codes) name the queue of an item the machine passed."""
        doc = self._get(message_id)
        if doc is None:
            if verdict is None:
                return False
            self._create(message_id, reports, verdict, reasons)
            return True
        m = doc["_source"].get("moderation") or {}
        update: dict[str, Any] = {"reports": reports}
        if reports["open"] > 0:
            status = m.get("status") or "pending"
            if status in OPEN and not m.get("decision_id"):
                update["status"] = REPORTED
            elif status not in OPEN and _reported_since_decision(reports, m.get("decided_at")):
                # A report that came after the ruling waits for the next one: the item opens again.
                update.update(released())
                update["status"] = REPORTED
        with translated("reported item update"):
            try:
                self._es.update(
                    index=self._alias, id=message_id, doc={"moderation": update}, if_seq_no=int(doc["_seq_no"]),
                    if_primary_term=int(doc["_primary_term"]), refresh="wait_for",
                )  # fmt: skip
            except ConflictError as exc:
                raise ItemChanged(f"queue item {message_id} changed while its reports were written") from exc
        return True

    def _create(self, message_id: str, reports: dict[str, Any], verdict: Verdict, reasons: list[str]) -> None:
        body = new_document(verdict)
        body["moderation"]["reports"] = reports
        body["moderation"]["status"] = REPORTED if reports["open"] > 0 else "pending"
        if verdict.action is Action.PASS and reasons:
            # The machine flagged nothing: the queue of the item, and the categories a confirmation takes it down
            # for, are what the users reported.
            body["rule"]["category"] = reasons
        with translated("reported item create"):
            try:
                self._es.create(index=self._alias, id=message_id, document=body, refresh="wait_for")
            except ConflictError as exc:  # the queue agent indexed the verdict meanwhile
                raise ItemChanged(f"queue item {message_id} appeared while its reports were written") from exc


def _reported_since_decision(reports: dict[str, Any], decided_at: Any) -> bool:
    last = reports.get("last_reported_at")
    if not last or not decided_at:
        return False
    return datetime.fromisoformat(str(last)) > datetime.fromisoformat(str(decided_at))
