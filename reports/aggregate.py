"""The reports of one message, aggregated and idempotent by report id."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from modpipe.settings import ReportSettings
from reports.contract import Report
from reports.deadlines import due_at


class Added(StrEnum):
    NEW = "new"
    DUPLICATE = "duplicate"  # the same report again (a redelivery): nothing changes
    CONFLICT = "conflict"  # a known report id with other content: the first one is kept


@dataclass(frozen=True, slots=True)
class ReportEntry:
    report: Report
    # Fixed when the report arrives, so a later change of reports.yaml does not move a promise already made.
    due_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {"report": self.report.model_dump(mode="json"), "due_at": self.due_at.isoformat()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ReportEntry:
        return cls(Report.model_validate(data["report"], strict=False), datetime.fromisoformat(data["due_at"]))


class MessageReports:
    """Every report against one message: count, reasons, distinct reporters and the earliest due time."""

    def __init__(self, message_id: str) -> None:
        self.message_id = message_id
        self._entries: dict[str, ReportEntry] = {}

    def add(self, report: Report, settings: ReportSettings) -> Added:
        if report.message_id != self.message_id:
            raise ValueError(f"report {report.report_id} is about {report.message_id}, not {self.message_id}")
        known = self._entries.get(report.report_id)
        if known is not None:
            return Added.DUPLICATE if known.report == report else Added.CONFLICT
        self._entries[report.report_id] = ReportEntry(report, due_at(report.reason_key, report.reported_at, settings))
        return Added.NEW

    @property
    def entries(self) -> list[ReportEntry]:
        """In the order they were reported (report id breaks ties), whatever order they arrived in."""
        return sorted(self._entries.values(), key=lambda e: (e.report.reported_at, e.report.report_id))

    def entry(self, report_id: str) -> ReportEntry | None:
        return self._entries.get(report_id)

    @property
    def count(self) -> int:
        return len(self._entries)

    @property
    def reasons(self) -> dict[str, int]:
        """Reports per reason (most specific key, e.g. C7.terror), most reported first."""
        counts = Counter(e.report.reason_key for e in self._entries.values())
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

    @property
    def reporters(self) -> list[str]:
        return sorted({e.report.reporter_id for e in self._entries.values()})

    @property
    def earliest_due(self) -> datetime | None:
        return min((e.due_at for e in self._entries.values()), default=None)

    def to_dict(self) -> dict[str, Any]:
        earliest = self.earliest_due
        return {
            "message_id": self.message_id,
            "count": self.count,
            "reasons": self.reasons,
            "reporters": self.reporters,
            "earliest_due_at": earliest.isoformat() if earliest else None,
            "reports": [e.to_dict() for e in self.entries],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MessageReports:
        aggregate = cls(str(data["message_id"]))
        for item in data.get("reports", ()):
            entry = ReportEntry.from_dict(item)
            aggregate._entries[entry.report.report_id] = entry
        return aggregate
