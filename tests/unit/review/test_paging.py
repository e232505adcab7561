"""Queue cursors and sort orders."""

from __future__ import annotations

import base64
import json

import pytest

from review.queue.exceptions import BadCursor
from review.queue.paging import SORTS, Cursor, fingerprint


def test_a_cursor_round_trips_for_the_same_filters() -> None:
    made_for = fingerprint({"bool": {"filter": []}}, "default")
    cursor = Cursor(["review", 1795393800000, "m-1", 42], 10_050, made_for, "pit-id")
    assert Cursor.decode(cursor.encode(), made_for) == cursor


def test_a_cursor_for_other_filters_or_sort_is_refused() -> None:
    made_for = fingerprint({"bool": {"filter": []}}, "default")
    text = Cursor(["review", 1, "m-1"], 50, made_for).encode()
    with pytest.raises(BadCursor, match="other filters"):
        Cursor.decode(text, fingerprint({"bool": {"filter": []}}, "score"))
    with pytest.raises(BadCursor, match="other filters"):
        Cursor.decode(text, fingerprint({"bool": {"filter": [{"term": {"rule.category": "C7"}}]}}, "default"))


def _raw(body: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(body).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "text",
    [
        "not base64 at all!",
        _raw([1, 2]),
        _raw({"a": [], "o": 1, "f": "x"}),
        _raw({"a": [{"script": 1}], "o": 1, "f": "x"}),
        _raw({"a": ["x"], "o": -1, "f": "x"}),
        _raw({"a": ["x"], "o": True, "f": "x"}),
        _raw({"a": ["x"], "o": 1, "f": "x", "p": 7}),
        "A" * 5000,
    ],
)
def test_anything_else_is_refused_as_a_cursor(text: str) -> None:
    with pytest.raises(BadCursor, match="cursor"):
        Cursor.decode(text, "x")


def test_every_sort_ends_with_the_unique_event_id_and_review_comes_first() -> None:
    for clauses in SORTS.values():
        assert clauses[-1] == {"event.id": "asc"}
    # "review" > "block": descending on the action puts items still online before machine blocks
    assert SORTS["default"][0] == {"event.action": "desc"}
