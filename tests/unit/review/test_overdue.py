"""Reported items past their due time are marked overdue in the queue and on the item page (L7: handled in time)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from modpipe.settings import load_settings
from review.desk.render import item_page, overdue, queue_page
from review.queue import Item, Page, QueueFilter

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)

pytestmark = pytest.mark.obligation("L7")


def _item(due_at: str, open_reports: int) -> Item:
    source = {
        "@timestamp": "2026-12-01T09:00:00Z",
        "message": "一条被举报的帖子",
        "event": {"action": "pass"},
        "service": {"type": "bbs"},
        "user": {"id": "u1"},
        "moderation": {
            "status": "reported",
            "reports": {"count": 2, "open": open_reports, "reporters": 2, "due_at": due_at, "priority": 1.6},
        },
    }
    return Item("m1", source)


def test_an_item_is_overdue_once_its_open_reports_are_due() -> None:
    assert overdue(_item("2026-12-01T11:59:00Z", 2).moderation, NOW)
    assert not overdue(_item("2026-12-01T12:01:00+00:00", 2).moderation, NOW)
    assert not overdue(_item("2026-12-01T11:00:00Z", 0).moderation, NOW)  # every report handled
    assert not overdue(_item("not a time", 2).moderation, NOW)
    assert not overdue(_item("2026-12-01T11:00:00Z", 2).moderation, None)


def test_the_queue_and_the_item_page_say_overdue() -> None:
    settings = load_settings(environ={})
    late, early = _item("2026-12-01T10:00:00Z", 1), _item("2026-12-01T18:00:00Z", 1)
    page = Page([late], 1, {"reported": 1}, 0, None)
    assert "overdue" in queue_page(settings, page, QueueFilter(status="reported"), {}, "alice", "t", NOW)
    assert 'id="overdue"' in item_page(settings, late, None, [], "alice", "t", now=NOW)
    assert 'id="overdue"' not in item_page(settings, early, None, [], "alice", "t", now=NOW)
