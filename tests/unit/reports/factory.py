"""Reports for the report tests (importable as tests.unit.reports.factory; fixtures in the folder's conftest)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from reports import Report

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
MakeReport = Callable[..., Report]


def report_fields(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "report_id": "r-1",
        "message_id": "m-1",
        "reporter_id": "u-1",
        "reason": "C8",
        "reported_at": T0.isoformat(),
        "service_type": "bbs",
        "platform": "forum.example",
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not ...}


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)
