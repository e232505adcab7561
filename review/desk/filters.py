"""Query-string parameters of the queue page and the API as a QueueFilter (pure, unit-tested)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, tzinfo

from modpipe.errors import TerminalError
from review.desk.i18n import t
from review.queue import QueueFilter
from review.queue.paging import SORTS

STATUSES = ("pending", "reported", "claimed", "confirmed", "overturned", "all")
PERIODS = {"1h": timedelta(hours=1), "24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}
PAGE_SIZE = 50
ORDERS = {"": "", "oldest": "oldest", "newest": "newest", "due": "reports_due", "priority": "priority"}
MAX_PAGE = 1000  # an API client walking a large queue reads fewer, larger pages


class BadFilter(TerminalError, ValueError):
    """A queue filter from the page or the API that does not parse: the request is answered 400."""


def parse_time(value: str, name: str, zone: tzinfo = UTC) -> datetime | None:
    """ISO 8601; a time without an offset (an HTML datetime-local field) is read in `zone`, the zone the page
    shows its times in (setting review.time_zone)."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise BadFilter(
            t(
                "{name}: an ISO 8601 time such as 2026-11-23T16:00 ({zone}) or 2026-11-23T16:00+08:00",
                name=name,
                zone=zone,
            )
        ) from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)


def parse_filter(query: Mapping[str, str], now: datetime, zone: tzinfo = UTC) -> QueueFilter:
    status = query.get("status", "pending") or "pending"
    if status not in STATUSES:
        raise BadFilter(t("status: one of {values}", values=", ".join(STATUSES)))
    since = parse_time(query.get("since", ""), "since", zone)
    until = parse_time(query.get("until", ""), "until", zone)
    period = query.get("period", "")
    if period:
        if period not in PERIODS:
            raise BadFilter(t("period: one of {values}", values=", ".join(PERIODS)))
        since = max(since, now - PERIODS[period]) if since else now - PERIODS[period]
    try:
        offset = max(0, int(query.get("offset", "0") or 0))
        size = min(MAX_PAGE, max(1, int(query.get("size", str(PAGE_SIZE)) or PAGE_SIZE)))
    except ValueError as exc:
        raise BadFilter(t("offset and size: whole numbers")) from exc
    # `order` is the parameter of the first version of the page: kept, as a sort by age or by the user reports.
    order = query.get("order", "")
    if order not in ORDERS:
        raise BadFilter(t("order: oldest, newest, due (reported items by due time) or priority (by report priority)"))
    sort = query.get("sort", "") or ORDERS[order] or "default"
    if sort not in SORTS:
        raise BadFilter(t("sort: one of {values}", values=", ".join(SORTS)))
    action = query.get("action", "")
    if action not in ("", "review", "block"):
        raise BadFilter(t("action: review or block"))
    return QueueFilter(
        status=status,
        category=query.get("category", "").strip(),
        service_type=query.get("service_type", "").strip(),
        action=action,
        author=query.get("author", "").strip(),
        since=since,
        until=until,
        text=query.get("q", "").strip()[:200],
        sort=sort,
        offset=offset,
        size=size,
    )
