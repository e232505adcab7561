"""Retention dates and object keys: pure functions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modpipe.settings.models import Retention
from retention.dates import add_months, ceil_day, parse_time, retain_until, shortest_days
from retention.layout import hour_of, hours, manifest_key, parse_object_name, record_key

CST = timezone(timedelta(hours=8))
SIXTY = Retention(days=60)
SIX_MONTHS = Retention(months=6, min_days=180)


def test_days_are_rounded_up_to_the_end_of_the_utc_day() -> None:
    assert retain_until(SIXTY, datetime(2026, 1, 1, 10, 0, tzinfo=UTC)) == datetime(2026, 3, 3, tzinfo=UTC)
    # already at midnight: that instant is the end of the previous day, nothing is added
    assert retain_until(SIXTY, datetime(2026, 1, 1, tzinfo=UTC)) == datetime(2026, 3, 2, tzinfo=UTC)
    # a time with an offset counts in UTC: 2 Jan 07:00 +08:00 is 1 Jan 23:00 UTC
    assert retain_until(SIXTY, datetime(2026, 1, 2, 7, 0, tzinfo=CST)) == datetime(2026, 3, 3, tzinfo=UTC)


@pytest.mark.obligation("L4", "L5")
def test_calendar_months_never_fewer_than_min_days() -> None:
    assert retain_until(SIX_MONTHS, datetime(2026, 3, 15, 8, tzinfo=UTC)) == datetime(2026, 9, 16, tzinfo=UTC)
    # 31 Aug + 6 months = 28 Feb (181 days): above 180, the month rule stands
    assert add_months(datetime(2026, 8, 31, tzinfo=UTC), 6) == datetime(2027, 2, 28, tzinfo=UTC)
    # 31 Aug 2025 + 6 months = 28 Feb 2026 (181 days); a 200-day floor wins over the calendar
    floor = Retention(months=6, min_days=200)
    assert retain_until(floor, datetime(2025, 8, 31, 12, tzinfo=UTC)) == datetime(2026, 3, 20, tzinfo=UTC)
    assert add_months(datetime(2024, 2, 29, tzinfo=UTC), 12) == datetime(2025, 2, 28, tzinfo=UTC)


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC)))
def test_never_a_day_early(at: datetime) -> None:
    for rule in (SIXTY, SIX_MONTHS, Retention(days=1), Retention(months=1, min_days=0)):
        until = retain_until(rule, at)
        assert until == ceil_day(until)
        assert until >= at + timedelta(days=shortest_days(rule))
        assert until - at < timedelta(days=(rule.days or 31 * (rule.months or 0)) + 2)


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        retain_until(SIXTY, datetime(2026, 1, 1))
    assert parse_time("2026-01-01T10:00:00") is None
    assert parse_time("not a time") is None
    assert parse_time(5) is None
    assert parse_time("2026-01-01T10:00:00+08:00") == datetime(2026, 1, 1, 2, tzinfo=UTC)


def test_keys_are_deterministic_and_parse_back() -> None:
    at = datetime(2026, 11, 23, 8, 59, 59, tzinfo=UTC)
    key = record_key("group", at, "worker-1", "verdict", 3, 1200)
    assert key == "records/service=group/date=2026-11-23/hour=08/worker-1-v-3-1200.jsonl.zst"
    assert record_key("group", at, "worker-1", "decision", 3, 1200).endswith("/worker-1-d-3-1200.jsonl.zst")
    name = parse_object_name(key)
    assert name is not None
    assert (name.worker, name.tag, name.partition, name.first_offset) == ("worker-1", "v", 3, 1200)
    assert manifest_key("group", at, "worker-1") == "manifests/service=group/date=2026-11-23/hour=08/worker-1.json"
    assert hour_of(key) == ("group", datetime(2026, 11, 23, 8, tzinfo=UTC))
    assert parse_object_name("records/x/odd.jsonl.zst") is None


def test_hours_cover_the_window() -> None:
    start = datetime(2026, 1, 1, 10, 30, tzinfo=UTC)
    assert hours(start, start + timedelta(minutes=30)) == [datetime(2026, 1, 1, 10, tzinfo=UTC)]
    assert len(hours(start, datetime(2026, 1, 1, 12, 0, 1, tzinfo=UTC))) == 3
