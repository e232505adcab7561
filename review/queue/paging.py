"""Sort orders and cursors of the queue (pure, unit-tested).

Elasticsearch (and noida-db) refuse `from + size` beyond 10,000, so a page past that is found with `search_after`:
the sort values of the last item of the page before, in a total order (every sort ends with the unique `event.id`).
Every sort key is a field a verdict sets once (`event.action`, `moderation.due_at`, `moderation.score`,
`@timestamp`), so a cursor stays a valid position while items are decided, arrive or are re-indexed. A cursor also
carries the point in time its pages are read from, so one walk through the queue sees one snapshot.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from review.queue.exceptions import BadCursor

TIEBREAK: dict[str, Any] = {"event.id": "asc"}
SORTS: dict[str, list[dict[str, Any]]] = {
    # Items still online (review) before confirmations of machine blocks ("review" > "block"), each by due time.
    "default": [{"event.action": "desc"}, {"moderation.due_at": {"order": "asc", "missing": "_last"}}, TIEBREAK],
    "due": [{"moderation.due_at": {"order": "asc", "missing": "_last"}}, TIEBREAK],
    "score": [{"moderation.score": {"order": "desc", "missing": "_last"}}, TIEBREAK],
    "oldest": [{"@timestamp": "asc"}, TIEBREAK],
    "newest": [{"@timestamp": "desc"}, TIEBREAK],
    # User reports (L7): by the earliest open report's due time, or by report priority; unreported items last.
    "reports_due": [
        {"moderation.reports.due_at": {"order": "asc", "missing": "_last"}},
        {"@timestamp": "asc"},
        TIEBREAK,
    ],
    "priority": [
        {"moderation.reports.priority": {"order": "desc", "missing": "_last"}},
        {"@timestamp": "asc"},
        TIEBREAK,
    ],
}
_MAX_CURSOR = 4096


def sort_clause(name: str) -> list[dict[str, Any]]:
    return SORTS[name]


def fingerprint(query: dict[str, Any], sort: str) -> str:
    """A short hash of what a cursor was made for: a cursor sent with other filters would page something else."""
    body = json.dumps({"q": query, "s": sort}, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(body.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Cursor:
    after: list[Any]  # the sort values of the last item already shown
    position: int  # how many items come before the next page
    fingerprint: str
    pit: str | None = None

    def encode(self) -> str:
        body = {"a": self.after, "o": self.position, "f": self.fingerprint, "p": self.pit}
        raw = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str, expected: str) -> Cursor:
        """Raises BadCursor for anything this module did not write for the same filters and sort."""
        if len(text) > _MAX_CURSOR:
            raise BadCursor("cursor: too long; use the next_cursor of the previous page as it was given")
        try:
            body = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
            raise BadCursor("cursor: not a cursor of this queue; use the next_cursor of the previous page") from exc
        refused = BadCursor("cursor: not a cursor of this queue; use the next_cursor of the previous page")
        if not isinstance(body, dict):
            raise refused
        after, position, made_for, pit = body.get("a"), body.get("o"), body.get("f"), body.get("p")
        if not isinstance(after, list) or not 0 < len(after) <= 4 or not all(_scalar(v) for v in after):
            raise refused
        if not isinstance(position, int) or isinstance(position, bool) or position < 0:
            raise refused
        if not isinstance(made_for, str) or not (pit is None or isinstance(pit, str)):
            raise refused
        if made_for != expected:
            raise BadCursor("cursor: made for other filters or another sort; start again from the first page")
        return cls(after, position, made_for, pit)


def _scalar(value: object) -> bool:
    return isinstance(value, str | int | float) and not isinstance(value, bool)
