"""Moderation-queue failures: transient ones (Elasticsearch unreachable, overloaded) are retried by the caller;
terminal ones (a mapping that cannot take the document, a wrong index name) need a person."""

from __future__ import annotations

from modpipe.errors import ModpipeError, TerminalError, TransientError


class SearchError(ModpipeError):
    """Base of the queue's errors."""


class SearchUnavailable(SearchError, TransientError):
    """Elasticsearch did not answer, or answered 429/5xx: retry later, nothing was lost."""


class SearchRejected(SearchError, TerminalError):
    """Elasticsearch refused the request for good (bad mapping, an index where the alias should be)."""


class AlreadyDecided(SearchError, TerminalError):
    """The item has a decision already, carried out or still in flight (claimed, not yet applied by the worker);
    `decided_by` says whose. Nothing was published for the refused request."""

    def __init__(
        self,
        message_id: str,
        decided_by: str,
        outcome: str,
        decided_at: str,
        *,
        in_flight: bool = False,
        decision_id: str = "",
    ) -> None:
        state = "is in flight" if in_flight else "was already made"
        super().__init__(f"a decision on {message_id} {state} ({outcome}) by {decided_by} at {decided_at}")
        self.message_id = message_id
        self.decided_by = decided_by
        self.outcome = outcome
        self.decided_at = decided_at
        self.in_flight = in_flight
        self.decision_id = decision_id


class NothingToCorrect(SearchError, TerminalError):
    """A reopening or reversal of an item that has no carried-out decision (open, or never decided)."""

    def __init__(self, message_id: str, status: str) -> None:
        super().__init__(f"{message_id} has no carried-out decision to correct (status {status})")
        self.message_id = message_id
        self.status = status


class ItemNotFound(SearchError, TerminalError):
    """No queue document has this message id."""


class BadCursor(SearchError, TerminalError, ValueError):
    """A paging cursor that this queue did not hand out for the same filters and sort: the request is refused."""
