"""User reports (举报, L7): the report contract, aggregation per message, due times, reporter credibility,
report-campaign screening and outcomes. A stage: pure and deterministic, with every time passed in."""

from reports.aggregate import Added, MessageReports, ReportEntry
from reports.contract import OTHER, ParsedReport, Report, ReportValidator, ValidReport
from reports.credibility import CredibilityBook, ReporterRecord
from reports.deadlines import Overdue, count_overdue, due_at, severity
from reports.outcomes import Actioned, Outcome, OutcomeLedger, OutcomeStatus, Rejected, Ruling
from reports.screening import Screening, screen
from reports.state import ItemView, Received, ReportState

__all__ = [
    "OTHER",
    "Actioned",
    "Added",
    "CredibilityBook",
    "ItemView",
    "MessageReports",
    "Outcome",
    "OutcomeLedger",
    "OutcomeStatus",
    "Overdue",
    "ParsedReport",
    "Received",
    "Rejected",
    "Report",
    "ReportEntry",
    "ReportState",
    "ReportValidator",
    "ReporterRecord",
    "Ruling",
    "Screening",
    "ValidReport",
    "count_overdue",
    "due_at",
    "screen",
    "severity",
]
