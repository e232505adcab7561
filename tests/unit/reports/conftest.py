"""Fixtures of the report tests (helpers: tests/unit/reports/factory.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from modpipe.settings import Settings, load_settings
from reports import Report
from tests.support import REPO
from tests.unit.reports.factory import T0, MakeReport, report_fields


@pytest.fixture(scope="session")
def app_settings() -> Settings:
    return load_settings(REPO / "config", environ={})


@pytest.fixture
def make_report() -> MakeReport:
    def make(at: datetime = T0, **changes: Any) -> Report:
        fields = report_fields(reported_at=at.isoformat(), **changes)
        for key in ("reporter_created_at",):
            if isinstance(fields.get(key), datetime):
                fields[key] = fields[key].isoformat()
        return Report.model_validate(fields, strict=False)

    return make
