"""The whole state of user reports, pure and deterministic: aggregates per message, outcomes, reporter
credibility; what a queue item shows (count, reasons, due time, priority, screening); overdue counts.

Every time is passed in (`at`, `now`) and must be timezone-aware. Reports only rank and flag: `decide` takes a
moderator's ruling, and nothing here ever issues a takedown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from modpipe.settings import ReportSettings
from reports.aggregate import Added, MessageReports
from reports.contract import Report
from reports.credibility import CredibilityBook
from reports.deadlines import Overdue, count_overdue, require_aware, severity
from reports.outcomes import Actioned, Outcome, OutcomeLedger, Ruling
from reports.screening import Screening, screen


@dataclass(frozen=True, slots=True)
class Received:
    added: Added
    outcome: Outcome | None  # the `received` outcome to publish; None for a report seen before


@dataclass(frozen=True, slots=True)
class ItemView:
    """What the queue item of a reported message carries."""

    message_id: str
    count: int
    reasons: dict[str, int]
    reporters: list[str]
    earliest_due_at: datetime | None
    open_reports: int
    priority: float
    screening: Screening

    def to_dict(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "count": self.count,
            "reasons": self.reasons,
            "reporters": self.reporters,
            "earliest_due_at": self.earliest_due_at.isoformat() if self.earliest_due_at else None,
            "open_reports": self.open_reports,
            "priority": self.priority,
            "screening": self.screening.to_dict(),
        }


class ReportState:
    def __init__(self, settings: ReportSettings) -> None:
        self.settings = settings
        self.messages: dict[str, MessageReports] = {}
        self.outcomes = OutcomeLedger()
        self.reporters = CredibilityBook(settings.credibility)

    def receive(self, report: Report, at: datetime) -> Received:
        require_aware(at, "at")
        aggregate = self.messages.setdefault(report.message_id, MessageReports(report.message_id))
        added = aggregate.add(report, self.settings)
        entry = aggregate.entry(report.report_id)
        outcome = self.outcomes.receive(entry, at) if added is Added.NEW and entry is not None else None
        return Received(added, outcome)

    def screening(self, message_id: str) -> Screening:
        aggregate = self.messages.get(message_id)
        reports = [e.report for e in aggregate.entries] if aggregate else []
        return screen(reports, self.settings.campaign)

    def priority(self, message_id: str, screening: Screening | None = None) -> float:
        """Sum over distinct reporters of credibility x severity of their gravest reason; in a suspected campaign
        a suspect reporter's part is scaled by `campaign.suspect_weight`."""
        aggregate = self.messages.get(message_id)
        if aggregate is None:
            return 0.0
        screening = self.screening(message_id) if screening is None else screening
        suspects = screening.suspects if screening.suspected_campaign else frozenset()
        gravest: dict[str, float] = {}
        for entry in aggregate.entries:
            rid = entry.report.reporter_id
            gravest[rid] = max(gravest.get(rid, 0.0), severity(entry.report.reason_key, self.settings))
        total = 0.0
        for rid, worst in sorted(gravest.items()):
            weight = self.reporters.credibility(rid)
            if rid in suspects:
                weight *= self.settings.campaign.suspect_weight
            total += weight * worst
        return round(total, 6)  # rounded so that summation order never changes a sort

    def view(self, message_id: str) -> ItemView:
        aggregate = self.messages.get(message_id) or MessageReports(message_id)
        screening = self.screening(message_id)
        return ItemView(
            message_id=message_id,
            count=aggregate.count,
            reasons=aggregate.reasons,
            reporters=aggregate.reporters,
            earliest_due_at=min(
                (e.due_at for e in aggregate.entries if self.outcomes.final(e.report.report_id) is None),
                default=None,
            ),
            open_reports=sum(1 for e in aggregate.entries if self.outcomes.final(e.report.report_id) is None),
            priority=self.priority(message_id, screening),
            screening=screening,
        )

    def decide(self, message_id: str, ruling: Ruling, at: datetime) -> list[Outcome]:
        """The moderator's ruling on a reported message: one final outcome for each of its reports that has none
        yet (in report order), and what each outcome teaches about its reporter."""
        require_aware(at, "at")
        aggregate = self.messages.get(message_id)
        if aggregate is None:
            return []
        suspected = self.screening(message_id).suspected_campaign
        given = []
        for entry in aggregate.entries:
            outcome = self.outcomes.finalize(entry, ruling, at, suspected)
            if outcome is not None:
                self.reporters.learn(outcome.report_id, outcome.reporter_id, isinstance(ruling, Actioned))
                given.append(outcome)
        return given

    def overdue(self, now: datetime) -> Overdue:
        return count_overdue(
            (
                (aggregate.message_id, entry.due_at)
                for aggregate in self.messages.values()
                for entry in aggregate.entries
                if self.outcomes.final(entry.report.report_id) is None
            ),
            now,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "messages": [self.messages[m].to_dict() for m in sorted(self.messages)],
            "outcomes": self.outcomes.to_dict(),
            "reporters": self.reporters.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], settings: ReportSettings) -> ReportState:
        state = cls(settings)
        for item in data.get("messages", ()):
            aggregate = MessageReports.from_dict(item)
            state.messages[aggregate.message_id] = aggregate
        state.outcomes = OutcomeLedger.from_dict(data.get("outcomes", {}))
        state.reporters = CredibilityBook.from_dict(data.get("reporters", {}), settings.credibility)
        return state
