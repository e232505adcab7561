"""Malicious-report screening (恶意举报甄别): a burst of reports against one message from fresh or related
accounts is flagged as a suspected report campaign, with the reasons a moderator reads.

The result only flags and ranks: nothing here takes content down or rejects a report; a moderator decides.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from modpipe.settings.reports import Campaign
from reports.contract import Report


@dataclass(frozen=True, slots=True)
class Screening:
    """A burst below the flagging share still carries its reasons: the moderator sees why it was not flagged."""

    suspected_campaign: bool
    reasons: tuple[str, ...] = ()
    # The burst the verdict is about: its reports, from distinct reporters, and who of them is suspect.
    window_start: datetime | None = None
    window_end: datetime | None = None
    burst_reports: int = 0
    fresh: frozenset[str] = field(default_factory=frozenset)
    related: frozenset[str] = field(default_factory=frozenset)

    @property
    def suspects(self) -> frozenset[str]:
        return self.fresh | self.related

    def to_dict(self) -> dict[str, Any]:
        return {
            "suspected_campaign": self.suspected_campaign,
            "reasons": list(self.reasons),
            "window_start": self.window_start.isoformat() if self.window_start else None,
            "window_end": self.window_end.isoformat() if self.window_end else None,
            "burst_reports": self.burst_reports,
            "fresh_reporters": sorted(self.fresh),
            "related_reporters": sorted(self.related),
        }


NOT_SUSPECTED = Screening(suspected_campaign=False)


def screen(reports: Sequence[Report], settings: Campaign) -> Screening:
    """Find the window of `settings.window_minutes` with the largest share of suspect reporters among those with
    at least `min_reports` distinct reporters, and flag it when that share reaches `min_suspect_share`."""
    firsts = _first_report_per_reporter(reports)
    if len(firsts) < settings.min_reports:
        return NOT_SUSPECTED
    window = timedelta(minutes=settings.window_minutes)
    fresh_age = timedelta(days=settings.fresh_account_days)
    is_fresh = [r.reporter_created_at is not None and r.reported_at - r.reporter_created_at < fresh_age for r in firsts]
    best: tuple[bool, float, float, int, int, int, float] | None = None
    tally = _Tally(settings.min_group_reporters)
    end = 0
    for start in range(len(firsts)):
        while end < len(firsts) and firsts[end].reported_at - firsts[start].reported_at <= window:
            tally.add(firsts[end].reporter_group_id, is_fresh[end])
            end += 1
        size = end - start
        if size >= settings.min_reports:
            share = tally.suspects / size
            # The largest flagged burst describes the campaign best; failing one, the nearest to being flagged.
            passes = share >= settings.min_suspect_share
            rank = (size, share) if passes else (share, size)
            candidate = (passes, *rank, -start, start, end, share)
            if best is None or candidate > best:
                best = candidate
        tally.remove(firsts[start].reporter_group_id, is_fresh[start])
    if best is None:
        return NOT_SUSPECTED
    first, stop, share = best[4], best[5], best[6]
    return _verdict(firsts[first:stop], is_fresh[first:stop], share, settings)


def _first_report_per_reporter(reports: Sequence[Report]) -> list[Report]:
    # One reporter filing many reports is one voice, not a crowd.
    ordered = sorted(reports, key=lambda r: (r.reported_at, r.report_id))
    seen: set[str] = set()
    firsts = []
    for report in ordered:
        if report.reporter_id not in seen:
            seen.add(report.reporter_id)
            firsts.append(report)
    return firsts


class _Tally:
    """Suspect reporters of a sliding window: the fresh ones, plus the others whose group is large in it."""

    def __init__(self, min_group: int) -> None:
        self.min_group = min_group
        self.fresh = 0
        self.groups: Counter[str] = Counter()
        self.not_fresh_in_group: Counter[str] = Counter()
        self.related_not_fresh = 0

    @property
    def suspects(self) -> int:
        return self.fresh + self.related_not_fresh

    def add(self, group: str | None, fresh: bool) -> None:
        self.fresh += fresh
        if group is None:
            return
        if self.groups[group] + 1 == self.min_group:
            self.related_not_fresh += self.not_fresh_in_group[group]  # the group just became large
        self.groups[group] += 1
        if not fresh:
            self.not_fresh_in_group[group] += 1
            self.related_not_fresh += self.groups[group] >= self.min_group

    def remove(self, group: str | None, fresh: bool) -> None:
        self.fresh -= fresh
        if group is None:
            return
        if not fresh:
            self.related_not_fresh -= self.groups[group] >= self.min_group
            self.not_fresh_in_group[group] -= 1
        if self.groups[group] == self.min_group:
            self.related_not_fresh -= self.not_fresh_in_group[group]  # the group is about to become small
        self.groups[group] -= 1


def _verdict(burst: list[Report], fresh_flags: list[bool], share: float, settings: Campaign) -> Screening:
    groups = Counter(r.reporter_group_id for r in burst if r.reporter_group_id is not None)
    large = {g for g, n in groups.items() if n >= settings.min_group_reporters}
    fresh = frozenset(r.reporter_id for r, f in zip(burst, fresh_flags, strict=True) if f)
    related = frozenset(r.reporter_id for r in burst if r.reporter_group_id in large)
    start, end = burst[0].reported_at, burst[-1].reported_at
    suspected = share >= settings.min_suspect_share
    size = len(burst)
    reasons = [
        f"{size} reports from {size} distinct reporters within {_minutes(end - start)} "
        f"(a burst is {settings.min_reports} or more within {settings.window_minutes:g} minutes)"
    ]
    if fresh:
        reasons.append(
            f"{len(fresh)} of {size} reporters have accounts younger than {settings.fresh_account_days:g} days"
        )
    reasons.extend(
        f"{groups[g]} of {size} reporters belong to the same group {g}"
        for g in sorted(large, key=lambda g: (-groups[g], g))
    )
    comparison = "at or above" if suspected else "below"
    reasons.append(
        f"{len(fresh | related)} of {size} reporters ({share:.0%}) are fresh or related, {comparison} the "
        f"{settings.min_suspect_share:.0%} that flags a suspected report campaign"
    )
    return Screening(suspected, tuple(reasons), start, end, size, fresh, related)


def _minutes(delta: timedelta) -> str:
    minutes = delta.total_seconds() / 60
    return f"{minutes:.0f} minutes" if minutes >= 1 else f"{delta.total_seconds():.0f} seconds"
