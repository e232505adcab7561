"""The auditor's export (L9) and the daily report to the authorities (L2), both as verifiable bundles."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any

from modpipe.clock import Clock
from modpipe.settings import Settings
from retention import bundle
from retention.access_log import read_window
from retention.audit import Collected, collect
from retention.bundle_files import Names, prepare
from retention.dates import iso, parse_time
from retention.dead_letters import DEAD_LETTER
from retention.identity import latest_per_message
from retention.layout import KIND_TAGS, UNCLASSIFIED, parse_object_name
from retention.report_counts import user_reports
from retention.store import Store

REPORT_DECISION_DAYS = 31  # decisions about a day's items are looked for this long after it


def export(
    settings: Settings,
    store: Store,
    start: datetime,
    end: datetime,
    out: Path,
    *,
    services: list[str] | None = None,
    author: str | None = None,
    group: str | None = None,
    with_csv: bool = False,
    progress: bool = False,
    force: bool = False,
) -> dict[str, Any]:
    """Every record in [start, end) (verdicts by published_at, decisions by decided_at), filtered by service,
    author and group; a decision is kept with an author or group filter when it refers to a kept message. `out`
    must be empty or missing unless `force` (OutputNotEmpty, before anything is read)."""
    prepare(out, force=force)
    names = Names.of(settings)
    filtered = author is not None or group is not None

    def keep_verdict(record: dict[str, Any]) -> bool:
        if record.get("kind") == "decision":
            return not filtered
        return (author is None or record.get("author_id") == author) and (
            group is None or record.get("group_id") == group
        )

    query = {
        "command": "audit export",
        "from": iso(start),
        "to": iso(end),
        "services": services,
        "author": author,
        "group": group,
        "bucket": settings.s3.records_bucket,
        "endpoint": settings.s3.endpoint,
    }
    if not filtered:
        # the whole window streams to disk hour by hour
        with bundle.BundleWriter(out, with_csv=with_csv, names=names, force=force) as writer:
            collected = collect(store, start, end, services=services, progress=progress, emit=writer, hand_over=True)
            collected.access = read_window(store, start, end)
            return writer.finish(collected, query)
    collected = collect(store, start, end, services=services, keep=keep_verdict, progress=progress, hand_over=True)
    kept_ids = {r.get("message_id") for r in collected.records}
    decisions = collect(
        store, start, end, services=services, object_filter=_decision_objects,
        keep=lambda r: r.get("kind") == "decision" and r.get("message_id") in kept_ids, hand_over=True,
    )  # fmt: skip
    collected.records.extend(decisions.records)
    collected.records.sort(key=lambda r: (r.get("event_at") or "", r.get("message_id") or ""))
    known = {o.key for o in collected.objects}
    collected.objects.extend(o for o in decisions.objects if o.key not in known)
    _merge_tampers(collected, decisions)
    collected.access = read_window(store, start, end)
    return bundle.write(out, collected, query, with_csv=with_csv, names=names, force=force)


def _merge_tampers(into: Collected, other: Collected) -> None:
    """The tampers and hold records a second read of the window found (the decisions), each object once."""
    read = {str(h["key"]) for h in into.holds}
    into.holds.extend(h for h in other.holds if str(h["key"]) not in read)
    known = {str(t["object"]) for t in into.tampers}
    into.tampers.extend(t for t in other.tampers if str(t["object"]) not in known)
    have = {(k, v) for k, v, _d in into.handed_over}
    into.handed_over.extend(h for h in other.handed_over if (h[0], h[1]) not in have)


def _decision_objects(key: str) -> bool:
    name = parse_object_name(key)
    return name is not None and name.tag == "d"


def _dead_letter_objects(key: str) -> bool:
    name = parse_object_name(key)
    return name is not None and name.tag == KIND_TAGS[DEAD_LETTER]


def dead_letter_counts(store: Store, start: datetime, end: datetime) -> dict[str, int]:
    """The dead letters refused in [start, end), each identity once, by reason: a report says how many messages of
    its day were never judged at all (they are in `audit export` of the window, service `unclassified`)."""
    found = collect(
        store, start, end, services=[UNCLASSIFIED], object_filter=_dead_letter_objects,
        keep=lambda r: r.get("kind") == DEAD_LETTER,
    )  # fmt: skip
    return dict(sorted(Counter(str((r.get("data") or {}).get("reason")) for r in found.records).items()))


def _final_blocked(verdict: dict[str, Any], decisions: list[dict[str, Any]]) -> tuple[bool, str]:
    """Whether an item ends up blocked, and by whom: the machine's block stands unless a moderator overturns it;
    an item sent to review is blocked once a moderator confirms it. The latest decision wins."""
    blocked = verdict.get("action") == "block"
    by = "machine" if blocked else ""
    for d in sorted(decisions, key=lambda d: str(d.get("decided_at"))):
        if d.get("outcome") == "confirmed":
            blocked, by = True, str(d.get("moderator"))
        elif d.get("outcome") == "overturned":
            blocked, by = False, ""
    return blocked, by


def report_day(when: date | datetime, zone: tzinfo) -> date:
    """The calendar day a report is of: a date as given, an instant by its date in the reporting zone
    (2026-12-01T00:00+08:00 is 1 December in Beijing, although it is still 30 November in UTC)."""
    if isinstance(when, datetime):
        if when.tzinfo is None:
            raise ValueError("a timezone-aware datetime")
        return when.astimezone(zone).date()
    return when


def day_bounds(day: date, zone: tzinfo) -> tuple[datetime, datetime]:
    """[start, end) of a calendar day in `zone`, as aware datetimes in that zone: midnight to the next midnight,
    so a day of a zone with daylight saving time lasts 23 or 25 hours."""
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return start, end


def report(
    settings: Settings,
    store: Store,
    clock: Clock,
    day: date | datetime,
    out: Path,
    *,
    progress: bool = False,
    force: bool = False,
) -> dict[str, Any]:
    """The items published on `day` (a calendar day of records.report_timezone; an instant stands for its day
    there) that are blocked, with their records, counted by category and service."""
    prepare(out, force=force)
    zone = settings.records.report_zone
    the_day = report_day(day, zone)
    local_start, local_end = day_bounds(the_day, zone)
    start, end = local_start.astimezone(UTC), local_end.astimezone(UTC)
    as_of = clock.now()
    verdicts = collect(store, start, end, keep=lambda r: r.get("kind") == "verdict", progress=progress, hand_over=True)
    until = min(as_of, start + timedelta(days=REPORT_DECISION_DAYS))
    ids = {r.get("message_id") for r in verdicts.records}
    decisions = collect(
        store, start, max(until, end), object_filter=_decision_objects,
        keep=lambda r: r.get("kind") == "decision" and r.get("message_id") in ids, progress=progress,
        hand_over=True,
    )  # fmt: skip
    by_message: dict[str, list[dict[str, Any]]] = {}
    for d in decisions.records:
        by_message.setdefault(str(d.get("message_id")), []).append(d)
    kept: list[dict[str, Any]] = []
    by_category: Counter[str] = Counter()
    by_service: Counter[str] = Counter()
    by_both: Counter[tuple[str, str]] = Counter()
    items = []
    latest = latest_per_message(verdicts.records, "verdict")
    # One verdict per message, in time order; a verdict with no usable message id cannot be matched, so it counts.
    kept_verdicts = [
        v for v in verdicts.records if not isinstance(v.get("message_id"), str) or latest.get(v["message_id"]) is v
    ]
    for verdict in kept_verdicts:
        data = verdict.get("data") or {}
        mine = by_message.get(str(verdict.get("message_id")), [])
        blocked, by = _final_blocked(data, [d.get("data") or {} for d in mine])
        if not blocked:
            continue
        service = str(verdict.get("service_type"))
        categories = list(data.get("flagged") or []) or ["uncategorised"]
        for code in categories:
            by_category[code] += 1
            by_both[(code, service)] += 1
        by_service[service] += 1
        items.append({"message_id": verdict.get("message_id"), "service_type": service, "categories": categories,
                      "published_at": verdict.get("event_at"), "confirmed_by": by})  # fmt: skip
        kept.append(verdict)
        kept.extend(mine)
    # User reports filed on the day (L7) and their outcomes so far, with their records, so the counts verify.
    reports, filed, outcomes = user_reports(store, start, end, max(until, end), as_of)
    verdicts.records = kept + filed.records + outcomes.records
    known = {o.key for o in verdicts.objects}
    for extra in (decisions, filed, outcomes):
        verdicts.objects.extend(o for o in extra.objects if o.key not in known)
        known.update(o.key for o in extra.objects)
        verdicts.manifests.extend(extra.manifests)
        _merge_tampers(verdicts, extra)
    summary = {
        "day": the_day.isoformat(),
        "timezone": settings.records.report_timezone,
        "from": local_start.isoformat(),
        "to": local_end.isoformat(),
        "as_of": as_of.astimezone(zone).isoformat(timespec="seconds"),
        "blocked_items": len(items),
        "by_category": dict(sorted(by_category.items())),
        "by_service_type": dict(sorted(by_service.items())),
        "by_category_and_service_type": {f"{c}/{s}": n for (c, s), n in sorted(by_both.items())},
        "items": items,
        "decisions_considered_until": iso(max(until, end)),
        "user_reports": reports,
        "dead_letters": dead_letter_counts(store, start, end),
    }
    query = {
        "command": "report",
        "date": the_day.isoformat(),
        "timezone": settings.records.report_timezone,
        "from": iso(start),
        "to": iso(end),
        "bucket": settings.s3.records_bucket,
        "endpoint": settings.s3.endpoint,
        "generated_at": iso(as_of),
    }
    return bundle.write(
        out, verdicts, query, with_csv=True, extra={"report": summary}, names=Names.of(settings), force=force
    )


def parse_bound(text: str) -> datetime:
    """A window bound: RFC 3339 with an offset, or a plain date (midnight UTC)."""
    parsed = parse_time(text)
    if parsed is not None:
        return parsed
    return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
