"""Due times and severities per reason, and overdue counting against an injected `now`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import NamedTuple

from modpipe.settings import ReportSettings


def most_specific(key: str, table: Mapping[str, float]) -> float | None:
    """The value for `C7.terror`, else for `C7`, else None: a sub-label can be stricter than its category."""
    if key in table:
        return table[key]
    code = key.partition(".")[0]
    return table.get(code)


def due_at(reason_key: str, reported_at: datetime, settings: ReportSettings) -> datetime:
    require_aware(reported_at, "reported_at")
    hours = most_specific(reason_key, settings.deadlines.by_reason)
    return reported_at + timedelta(hours=settings.deadlines.default_hours if hours is None else hours)


def severity(reason_key: str, settings: ReportSettings) -> float:
    value = most_specific(reason_key, settings.priority.severity)
    return settings.priority.default_severity if value is None else value


class Overdue(NamedTuple):
    """Open reports past their due time, and the messages (queue items) they belong to."""

    reports: int
    items: int


def count_overdue(open_reports: Iterable[tuple[str, datetime]], now: datetime) -> Overdue:
    """`open_reports`: (message id, due time) of each report without a final outcome yet."""
    require_aware(now, "now")
    late = [message_id for message_id, due in open_reports if due < now]
    return Overdue(reports=len(late), items=len(set(late)))


def require_aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got {moment!r}")
