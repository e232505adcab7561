from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from modpipe.clock import Clock, FixedClock, SystemClock


def test_fixed_clock_rejects_naive() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        FixedClock(datetime(2026, 11, 23, 8, 0))
    clock = FixedClock(datetime(2026, 11, 23, 8, 0, tzinfo=UTC))
    with pytest.raises(ValueError, match="timezone-aware"):
        clock.set(datetime(2026, 11, 24))


def test_fixed_clock_stands_still_and_advances() -> None:
    start = datetime(2026, 11, 23, 8, 0, tzinfo=timezone(timedelta(hours=8)))
    clock: Clock = FixedClock(start)
    assert clock.now() == start
    assert clock.now() == start
    assert isinstance(clock, FixedClock)
    clock.advance(timedelta(days=60, seconds=1))
    assert clock.now() == start + timedelta(days=60, seconds=1)
    later = datetime(2027, 1, 1, tzinfo=UTC)
    clock.set(later)
    assert clock.now() == later


def test_system_clock_is_aware_utc() -> None:
    now = SystemClock().now()
    assert now.tzinfo is not None
    assert now.utcoffset() == timedelta(0)
    assert abs(now - datetime.now(UTC)) < timedelta(seconds=5)
