"""Shared fixtures of the report tests: the shipped settings and a report factory."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from modpipe.settings import Settings, load_settings
from reports import Report
from tests.support import REPO

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
MakeReport = Callable[..., Report]


@pytest.fixture(scope="session")
def app_settings() -> Settings:
    return load_settings(REPO / "config", environ={})


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


@pytest.fixture
def make_report() -> MakeReport:
    def make(at: datetime = T0, **changes: Any) -> Report:
        fields = report_fields(reported_at=at.isoformat(), **changes)
        for key in ("reporter_created_at",):
            if isinstance(fields.get(key), datetime):
                fields[key] = fields[key].isoformat()
        return Report.model_validate(fields, strict=False)

    return make


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)
