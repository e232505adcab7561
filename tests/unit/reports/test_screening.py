"""Campaign screening: which bursts are flagged, and the sliding tally agrees with counting each window anew."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modpipe.settings import Settings
from modpipe.settings.reports import Campaign
from reports import Report, screen
from reports.screening import _Tally
from tests.unit.reports.factory import T0, MakeReport, minutes

pytestmark = pytest.mark.obligation("L7")


@pytest.fixture(scope="module")
def campaign(app_settings: Settings) -> Campaign:
    return app_settings.reports.campaign


def crowd(make_report: MakeReport, n: int, step: timedelta, **fields: object) -> list[Report]:
    return [make_report(T0 + step * i, report_id=f"r-{i}", reporter_id=f"u-{i}", **fields) for i in range(n)]


def test_many_honest_reporters_spread_over_hours_are_not_a_campaign(
    make_report: MakeReport, campaign: Campaign
) -> None:
    # A genuinely bad post draws many reports, but from established, unrelated accounts.
    reports = crowd(make_report, 40, minutes(2), reporter_created_at=T0 - timedelta(days=400))
    result = screen(reports, campaign)
    assert not result.suspected_campaign
    assert result.burst_reports == 16  # 30 minutes of reports every 2 minutes
    assert "(0%) are fresh or related, below the 60%" in result.reasons[-1]


def test_a_small_burst_is_below_the_minimum(make_report: MakeReport, campaign: Campaign) -> None:
    reports = crowd(make_report, 9, timedelta(seconds=5), reporter_group_id="g", reporter_created_at=T0)
    assert not screen(reports, campaign).suspected_campaign
    # One account filing many reports is one reporter.
    spam = [make_report(T0, report_id=f"s-{i}", reporter_id="same", reporter_created_at=T0) for i in range(50)]
    assert not screen(spam, campaign).suspected_campaign


def test_related_old_accounts_of_one_group_are_flagged(make_report: MakeReport, campaign: Campaign) -> None:
    reports = crowd(make_report, 12, minutes(1), reporter_group_id="g-7", reporter_created_at=T0 - timedelta(days=900))
    result = screen(reports, campaign)
    assert result.suspected_campaign
    assert result.fresh == frozenset()
    assert len(result.related) == 12
    assert "12 of 12 reporters belong to the same group g-7" in result.reasons


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from([None, "a", "b", "c"]), st.booleans(), st.integers(0, 3)), min_size=1, max_size=30
    ),
    st.integers(min_value=2, max_value=4),
)
def test_the_sliding_tally_counts_like_a_recount(steps: list[tuple[str | None, bool, int]], min_group: int) -> None:
    tally = _Tally(min_group)
    window: list[tuple[str | None, bool]] = []
    for group, fresh, drop in steps:
        tally.add(group, fresh)
        window.append((group, fresh))
        for _ in range(min(drop, len(window))):
            tally.remove(*window.pop(0))
        groups = Counter(g for g, _ in window if g is not None)
        expected = sum(1 for g, f in window if f or (g is not None and groups[g] >= min_group))
        assert tally.suspects == expected
