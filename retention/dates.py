"""Retention dates: how long a record is kept, from its service type (design.md section 3).

All dates are UTC. "Rounded up to the end of the day" means the next UTC midnight (an instant already at midnight
stays), so a record is kept at least the full period in every timezone.
"""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta

from modpipe.settings.models import Retention


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
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo is not None else None


def iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")
