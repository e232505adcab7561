"""The user report (举报) as the platform sends it, and its validation into a report or a dead-letter reason."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from modpipe.contracts import DeadLetterReason, Invalid
from modpipe.contracts.message import parse_limited
from modpipe.settings import Settings

Id = Annotated[str, Field(min_length=1, max_length=512)]
NonEmpty = Annotated[str, Field(min_length=1)]
OTHER = "other"


class Report(BaseModel):
    # Unknown fields are kept as they came, like messages: a report is a record of what the platform sent.
    model_config = ConfigDict(frozen=True, extra="allow", strict=True)

    report_id: Id
    message_id: Id
    reporter_id: NonEmpty
    reason: NonEmpty  # a category code (C1-C9) or `other`; checked against the settings by the validator
    reported_at: AwareDatetime
    service_type: NonEmpty
    platform: NonEmpty
    detail: str | None = None
    # Optional, beyond the contract: they let the screening see fresh and related accounts.
    sub_label: str | None = None  # e.g. `terror` under C7, which has its own due time
    reporter_created_at: AwareDatetime | None = None
    reporter_group_id: str | None = None

    @property
    def reason_key(self) -> str:
        """The most specific reason: `C7.terror` for C7 with sub-label terror, else the reason itself."""
        return f"{self.reason}.{self.sub_label}" if self.sub_label else self.reason


@dataclass(frozen=True, slots=True)
class ValidReport:
    report: Report
    raw: bytes


ParsedReport = ValidReport | Invalid

_TIMES = ("reported_at", "reporter_created_at")
_MAX_DEPTH = 200  # where pydantic's JSON parser gives up


class ReportValidator:
    """Turns raw values of the reports topic into ValidReport or Invalid; never raises on bad input."""

    def __init__(
        self,
        service_types: frozenset[str],
        sub_labels: Mapping[str, Sequence[str]],
        max_report_bytes: int,
        max_detail_chars: int,
    ) -> None:
        self.service_types = service_types
        self.sub_labels = {code: frozenset(labels) for code, labels in sub_labels.items()}
        self.max_report_bytes = max_report_bytes
        self.max_detail_chars = max_detail_chars

    @classmethod
    def for_settings(cls, settings: Settings) -> ReportValidator:
        return cls(
            frozenset(settings.services),
            {code: category.sub_labels for code, category in settings.categories.items()},
            settings.reports.max_report_bytes,
            settings.reports.max_detail_chars,
        )

    def parse(self, raw: bytes) -> ParsedReport:
        # Reports are flat: pydantic's own recursion limit is the only depth check they need.
        report = parse_limited(
            raw, Report, self.max_report_bytes, what="report", time_fields=_TIMES, max_depth=_MAX_DEPTH
        )
        if isinstance(report, Invalid):
            return report
        problem = self._problem(report)
        if problem is not None:
            return Invalid(*problem, raw)
        return ValidReport(report, raw)

    def _problem(self, report: Report) -> tuple[DeadLetterReason, str] | None:
        if report.service_type not in self.service_types:
            known = ", ".join(sorted(self.service_types))
            return DeadLetterReason.UNKNOWN_SERVICE_TYPE, f"service_type {report.service_type!r} is not one of: {known}"
        if report.reason != OTHER and report.reason not in self.sub_labels:
            known = ", ".join([*sorted(self.sub_labels, key=_code_order), OTHER])
            return DeadLetterReason.BAD_VALUE, f"reason {report.reason!r} is not one of: {known}"
        if report.sub_label is not None and report.sub_label not in self.sub_labels.get(report.reason, ()):
            known = ", ".join(sorted(self.sub_labels.get(report.reason, ()))) or "none"
            return (
                DeadLetterReason.BAD_VALUE,
                f"sub_label {report.sub_label!r} of {report.reason} is not one of: {known}",
            )
        if report.detail is not None and len(report.detail) > self.max_detail_chars:
            detail = f"detail has {len(report.detail)} characters > {self.max_detail_chars}"
            return DeadLetterReason.TEXT_TOO_LONG, detail
        return None


def _code_order(code: str) -> tuple[int, str]:
    return (int(code[1:]) if code[1:].isdigit() else 0, code)
