"""Typed entries of config/reports.yaml: due times, reporter credibility, campaign screening and priority of user
reports (举报, L7). Reason keys are checked against categories.yaml in `Settings`."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, field_validator

from modpipe.settings.base import Frozen, seconds

# A category code (C7), a code and one of its sub-labels (C7.terror), or `other`.
ReasonKey = Annotated[
    str,
    Field(
        pattern=r"^(C[1-9][0-9]*(\.[a-z][a-z0-9_]*)?|other)$",
        description="a category code (C7), a code and sub-label (C7.terror) or `other`",
    ),
]
Hours = Annotated[float, Field(gt=0, le=8760, description="hours > 0 (at most a year)")]


def _upper_codes(value: Any) -> Any:
    # Environment variables reach here lower-cased (c7.terror); category codes are upper case.
    if not isinstance(value, dict):
        return value
    fixed: dict[Any, Any] = {}
    for key, item in value.items():
        if isinstance(key, str) and key[:1] == "c" and key[1:2].isdigit():
            code, dot, sub = key.partition(".")
            fixed[code.upper() + dot + sub] = item
        else:
            fixed[key] = item
    return fixed


class Deadlines(Frozen):
    default_hours: Hours
    by_reason: dict[ReasonKey, Hours] = Field(default_factory=dict)

    @field_validator("by_reason", mode="before")
    @classmethod
    def _codes(cls, value: Any) -> Any:
        return _upper_codes(value)


class Credibility(Frozen):
    prior: Annotated[float, Field(gt=0, lt=1, description="a share strictly between 0 and 1 (e.g. 0.5)")]
    prior_weight: Annotated[float, Field(gt=0, le=1000, description="a pseudo-count of outcomes > 0 (e.g. 4)")]


class Campaign(Frozen):
    window_minutes: Annotated[float, Field(gt=0, le=7 * 24 * 60)]
    min_reports: Annotated[int, Field(ge=2, le=100_000)]
    min_suspect_share: Annotated[float, Field(gt=0, le=1)]
    fresh_account_days: Annotated[float, Field(ge=0, le=3650)]
    min_group_reporters: Annotated[int, Field(ge=2, le=100_000)]
    suspect_weight: Annotated[float, Field(ge=0, le=1)]


class Priority(Frozen):
    default_severity: Annotated[float, Field(gt=0, le=1000)]
    severity: dict[ReasonKey, Annotated[float, Field(gt=0, le=1000)]] = Field(default_factory=dict)

    @field_validator("severity", mode="before")
    @classmethod
    def _codes(cls, value: Any) -> Any:
        return _upper_codes(value)


class ReportSettings(Frozen):
    max_report_bytes: Annotated[int, Field(ge=256, le=100_000_000)]
    max_detail_chars: Annotated[int, Field(ge=0, le=1_000_000)]
    deadlines: Deadlines
    credibility: Credibility
    campaign: Campaign
    priority: Priority
    # A report about a message whose verdict is not at hand: the records are searched this far before it.
    verdict_lookback_hours: Hours = 48
    # How often a reports worker counts the overdue reports for its metrics.
    overdue_interval_s: Annotated[float, seconds(86_400, "(e.g. 30)")] = 30.0

    def reason_keys(self) -> dict[str, str]:
        """Every reason key the file names, with the setting that names it."""
        keys = {k: f"reports.deadlines.by_reason.{k}" for k in self.deadlines.by_reason}
        keys.update({k: f"reports.priority.severity.{k}" for k in self.priority.severity if k not in keys})
        return keys
