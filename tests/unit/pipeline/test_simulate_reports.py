"""The simulated user reports (L7): valid reports, and a campaign the screening flags."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from modpipe.clock import FixedClock
from modpipe.settings import load_settings
from pipeline.simulate_reports import Reported, campaign_post, campaign_reports, honest_reports
from reports import ReportState, ReportValidator, ValidReport
from tests.support import REPO

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


@pytest.mark.obligation("L7")
def test_the_campaign_is_thirty_valid_reports_from_fresh_accounts_the_screening_flags() -> None:
    settings = load_settings(REPO / "config", environ={})
    clock = FixedClock(NOW)
    _, _, target = campaign_post("sim-1", clock)
    validator = ReportValidator.for_settings(settings)
    parsed = [validator.parse(value) for _, value in campaign_reports(target, clock, "sim-1")]
    assert len(parsed) == 30
    assert all(isinstance(p, ValidReport) for p in parsed)
    state = ReportState(settings.reports)
    for p in parsed:
        assert isinstance(p, ValidReport)
        state.receive(p.report, NOW)
    assert state.screening(target.message_id).suspected_campaign


def test_honest_reporters_report_violations_with_their_category() -> None:
    settings = load_settings(REPO / "config", environ={})
    messages = [Reported(f"m-{i}", "C2" if i % 2 else "benign", "bbs", "forum.example") for i in range(200)]
    reports = honest_reports(messages, 0.5, random.Random(3), FixedClock(NOW), "sim-1")
    validator = ReportValidator.for_settings(settings)
    parsed = [validator.parse(value) for _, value in reports]
    assert parsed
    assert all(isinstance(p, ValidReport) for p in parsed)
    reasons = {p.report.reason for p in parsed if isinstance(p, ValidReport)}
    assert "C2" in reasons
    keys = {key for key, _ in reports}
    assert keys <= {m.message_id.encode() for m in messages}
