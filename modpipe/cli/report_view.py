"""The console summary of `modpipe report` below its blocked items: user reports (L7), graded measures (L6) and
the dead letters of the day."""

from __future__ import annotations

from typing import Any

from modpipe.cli.common import say


def print_report_tail(summary: dict[str, Any], measures: dict[str, Any]) -> None:
    reports = summary.get("user_reports") or {}
    if reports:
        say(
            f"user reports filed on {summary['day']}: {reports['received']} received, {reports['handled_in_time']} "
            f"handled in time, {reports['handled_late']} handled late, {reports['overdue']} overdue, "
            f"{reports['open']} open, {reports['rejected_as_malicious']} rejected as malicious"
        )
    say(f"measures applied that day: {measures['applied']} (lifted: {measures['lifted']})")
    for title in ("by_measure", "by_subject_type", "by_category"):
        shown = ", ".join(f"{k} {n}" for k, n in measures[title].items()) or "none"
        say(f"  {title.replace('_', ' ')}: {shown}")
    letters = summary.get("dead_letters") or {}
    if letters:
        shown = ", ".join(f"{n} {reason}" for reason, n in letters.items())
        say(f"  dead letters received that day (never judged; in `audit export`, service unclassified): {shown}")
