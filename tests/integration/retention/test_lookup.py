"""The verdict of a passed message, found in the record store for a user report that came after it (L7)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from modpipe.clock import FixedClock
from modpipe.settings import Settings
from retention.lookup import VerdictFinder
from retention.sink import RecordSink
from retention.store import Store
from tests.integration.retention.factory import verdict


@pytest.mark.obligation("L7")
def test_a_stored_verdict_is_found_within_the_lookback_and_a_missing_one_is_none(
    records_settings: Settings, store: Store
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    published = now - timedelta(hours=30)  # the day before, most likely: the search crosses days
    with RecordSink(records_settings, clock=FixedClock(now), worker_id="w-lookup", store=store) as sink:
        for i, mid in enumerate(("lk-1", "lk-2")):
            sink.add(verdict(mid, "public_account", published, offset=i), topic="verdicts", partition=0, offset=i)
        sink.flush()
    finder = VerdictFinder(store, timedelta(hours=48))
    found = finder.find("public_account", "lk-2", now)
    assert found is not None
    assert found["message_id"] == "lk-2"
    assert found["message"]["text"] == "内容 lk-2"
    assert finder.find("public_account", "lk-3", now) is None
    assert finder.find("bbs", "lk-1", now) is None  # another service's folder
    assert VerdictFinder(store, timedelta(hours=2)).find("public_account", "lk-1", now) is None  # out of reach
