"""Retention dates: how long a record is kept, from its service type (design.md section 3).

All dates are UTC. "Rounded up to the end of the day" means the next UTC midnight (an instant already at midnight
stays), so a record is kept at least the full period in every timezone.

A period counts from the later of the record's own time and the time modpipe received it (retention_start), so a
client clock that is behind never shortens it; a time that cannot place a record at all (unusable) is replaced by
the receipt time.
"""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta

from modpipe.settings.models import Retention

# No platform message or moderator decision predates the Unix epoch: an earlier time is a default or a bug, and
# before year 1000 a key's date would not even have four digits.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)


def ceil_day(at: datetime) -> datetime:
    """The end of at's UTC day: the next midnight, or at itself when it already is midnight."""
    utc = at.astimezone(UTC)
    start = datetime(utc.year, utc.month, utc.day, tzinfo=UTC)
    return start if utc == start else start + timedelta(days=1)


def add_months(at: datetime, months: int) -> datetime:
    """Calendar months; a day missing in the target month becomes that month's last day (31 Aug + 6 = 28/29 Feb)."""
    index = at.month - 1 + months
    year, month = at.year + index // 12, index % 12 + 1
    day = min(at.day, calendar.monthrange(year, month)[1])
    return at.replace(year=year, month=month, day=day)


def retain_until(rule: Retention, at: datetime) -> datetime:
    """The first instant at which a record of time `at` may be deleted under `rule`."""
    if at.tzinfo is None:
        raise ValueError("a timezone-aware datetime")
    utc = at.astimezone(UTC)
    floor = ceil_day(utc + timedelta(days=rule.min_days))
    if rule.days is not None:
        return max(ceil_day(utc + timedelta(days=rule.days)), floor)
    assert rule.months is not None  # guaranteed by Retention's validator
    return max(ceil_day(add_months(utc, rule.months)), floor)


def shortest_days(rule: Retention) -> int:
    """A lower bound of the period in whole days, for skipping date folders that cannot hold anything expired."""
    if rule.days is not None:
        return max(rule.days, rule.min_days)
    assert rule.months is not None
    return max(28 * rule.months, rule.min_days)


def longest(rules: list[Retention], at: datetime) -> datetime:
    """The latest date among several rules: used for records whose service type is unknown."""
    return max(retain_until(rule, at) for rule in rules)


def parse_time(value: object) -> datetime | None:
    """An RFC 3339 timestamp with an offset, or None (naive or unparsable times are not guessed at)."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
        return parsed.astimezone(UTC) if parsed.tzinfo is not None else None
    except (ValueError, OverflowError):  # OverflowError: 0001-01-01T00:00+08:00 has no UTC form
        return None


def unusable(at: datetime, received: datetime, max_ahead: timedelta) -> str | None:
    """Why `at` cannot be a record's time (its folder and the start of its period), or None when it can: before
    EARLIEST, or more than `max_ahead` after the receipt time (a lock into year 9999 could never be lifted)."""
    if at < EARLIEST:
        return f"before {iso(EARLIEST)}"
    if at > received + max_ahead:
        return f"more than {int(max_ahead.total_seconds())} s after its receipt"
    return None


def retention_start(at: datetime, received: datetime) -> datetime:
    """Where a record's period counts from: its own time, or its receipt when that is later."""
    return max(at, received)


def iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")
