"""Feedback to the reporter (举报受理反馈): every report is `received`, then gets exactly one final outcome,
`actioned` (with the category) or `rejected` (with a reason), once a moderator decides. Plain data, ready to
publish on the report-outcomes topic keyed by report id."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from reports.aggregate import ReportEntry


class OutcomeStatus(StrEnum):
    RECEIVED = "received"
    ACTIONED = "actioned"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class Actioned:
    """The moderator confirmed the message breaks the rules (the takedown itself is the decision's command)."""

    category: str


@dataclass(frozen=True, slots=True)
class Rejected:
    reason: str


Ruling = Actioned | Rejected


@dataclass(frozen=True, slots=True)
class Outcome:
    report_id: str
    message_id: str
    reporter_id: str
    status: OutcomeStatus
    at: datetime
    due_at: datetime
    category: str | None = None
    reason: str | None = None
    # Whether screening had flagged the message as the target of a suspected report campaign when it was decided.
    suspected_campaign: bool = False

    @property
    def final(self) -> bool:
        return self.status is not OutcomeStatus.RECEIVED

    @property
    def in_time(self) -> bool | None:
        return self.at <= self.due_at if self.final else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "report_id": self.report_id,
            "message_id": self.message_id,
            "reporter_id": self.reporter_id,
            "status": self.status.value,
            "at": self.at.isoformat(),
            "due_at": self.due_at.isoformat(),
            "in_time": self.in_time,
            "category": self.category,
            "reason": self.reason,
            "suspected_campaign": self.suspected_campaign,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Outcome:
        return cls(
            report_id=data["report_id"],
            message_id=data["message_id"],
            reporter_id=data["reporter_id"],
            status=OutcomeStatus(data["status"]),
            at=datetime.fromisoformat(data["at"]),
            due_at=datetime.fromisoformat(data["due_at"]),
            category=data.get("category"),
            reason=data.get("reason"),
            suspected_campaign=bool(data.get("suspected_campaign", False)),
        )


class OutcomeLedger:
    """The outcomes given so far; asking again for an outcome already given returns nothing new."""

    def __init__(self) -> None:
        self._received: dict[str, Outcome] = {}
        self._final: dict[str, Outcome] = {}

    def receive(self, entry: ReportEntry, at: datetime) -> Outcome | None:
        report = entry.report
        if report.report_id in self._received:
            return None
        outcome = Outcome(
            report.report_id, report.message_id, report.reporter_id, OutcomeStatus.RECEIVED, at, entry.due_at
        )
        self._received[report.report_id] = outcome
        return outcome

    def finalize(self, entry: ReportEntry, ruling: Ruling, at: datetime, suspected_campaign: bool) -> Outcome | None:
        """The one final outcome of a report; None if it has one already (the first ruling stands)."""
        report = entry.report
        if report.report_id in self._final:
            return None
        if isinstance(ruling, Actioned):
            status, category, reason = OutcomeStatus.ACTIONED, ruling.category, None
        else:
            status, category, reason = OutcomeStatus.REJECTED, None, ruling.reason
        outcome = Outcome(
            report.report_id,
            report.message_id,
            report.reporter_id,
            status,
            at,
            entry.due_at,
            category=category,
            reason=reason,
            suspected_campaign=suspected_campaign,
        )
        self._final[report.report_id] = outcome
        return outcome

    def received(self, report_id: str) -> Outcome | None:
        return self._received.get(report_id)

    def final(self, report_id: str) -> Outcome | None:
        return self._final.get(report_id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "received": [o.to_dict() for _, o in sorted(self._received.items())],
            "final": [o.to_dict() for _, o in sorted(self._final.items())],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OutcomeLedger:
        ledger = cls()
        ledger._received = {o.report_id: o for o in map(Outcome.from_dict, data.get("received", ()))}
        ledger._final = {o.report_id: o for o in map(Outcome.from_dict, data.get("final", ()))}
        return ledger
