"""ReportState: aggregation and idempotency by report id, priority from credibility and severity, campaign
screening, one final outcome per report, overdue counts with an injected clock, plain-data round trip."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from modpipe.clock import FixedClock
from modpipe.settings import Settings
from reports import Actioned, Added, OutcomeStatus, Rejected, ReportState
from tests.unit.reports.factory import T0, MakeReport, minutes

pytestmark = pytest.mark.obligation("L7")


@pytest.fixture
def state(app_settings: Settings) -> ReportState:
    return ReportState(app_settings.reports)


def earn_credibility(state: ReportState, make_report: MakeReport, reporter: str, confirmed: int) -> None:
    """`confirmed` earlier reports of this reporter on other messages, each confirmed by a moderator."""
    for i in range(confirmed):
        message = f"old-{reporter}-{i}"
        state.receive(make_report(report_id=f"{message}-r", message_id=message, reporter_id=reporter), T0)
        state.decide(message, Actioned("C8"), T0)


def test_two_credible_reporters_raise_the_priority_and_both_reasons_are_kept(
    state: ReportState, make_report: MakeReport
) -> None:
    for reporter in ("alice", "bob"):
        earn_credibility(state, make_report, reporter, confirmed=6)
    assert state.reporters.credibility("alice") == pytest.approx(0.8)  # (6 + 0.5 x 4) / (6 + 4)
    assert state.reporters.credibility("nobody") == 0.5  # a new reporter starts at the prior

    # A machine-passed message (no verdict needed here: reports are aggregated by message id alone).
    first = state.receive(make_report(report_id="r-a", message_id="passed", reporter_id="alice", reason="C8"), T0)
    assert first.added is Added.NEW
    assert first.outcome is not None
    assert first.outcome.status is OutcomeStatus.RECEIVED
    one = state.view("passed").priority
    state.receive(
        make_report(T0 + minutes(5), report_id="r-b", message_id="passed", reporter_id="bob", reason="C6"), T0
    )
    view = state.view("passed")
    assert view.count == 2
    assert view.reasons == {"C6": 1, "C8": 1}
    assert view.reporters == ["alice", "bob"]
    assert view.priority > one
    assert view.priority == pytest.approx(0.8 + 0.8)
    assert not view.screening.suspected_campaign

    # Two unknown reporters count for less than two credible ones.
    for rid, who in (("n-1", "new-1"), ("n-2", "new-2")):
        state.receive(make_report(report_id=rid, message_id="other-post", reporter_id=who), T0)
    assert state.view("other-post").priority == pytest.approx(1.0)
    assert state.view("other-post").priority < view.priority

    outcomes = state.decide("passed", Actioned("C8"), T0 + timedelta(hours=1))
    assert [(o.report_id, o.status, o.category, o.in_time) for o in outcomes] == [
        ("r-a", OutcomeStatus.ACTIONED, "C8", True),
        ("r-b", OutcomeStatus.ACTIONED, "C8", True),
    ]
    assert state.reporters.credibility("bob") > 0.8  # confirmed again


def test_severity_of_the_reason_raises_the_priority(state: ReportState, make_report: MakeReport) -> None:
    state.receive(make_report(report_id="t", message_id="terror", reason="C7", sub_label="terror"), T0)
    state.receive(make_report(report_id="p", message_id="porn", reason="C7", sub_label="porn"), T0)
    state.receive(make_report(report_id="i", message_id="insult", reason="C8"), T0)
    assert state.view("terror").priority == pytest.approx(0.5 * 3.0)
    assert state.view("porn").priority == state.view("insult").priority == pytest.approx(0.5)
    # One reporter filing several reports is one voice: their gravest reason counts, once.
    state.receive(make_report(report_id="i2", message_id="insult", reason="C2"), T0)
    state.receive(make_report(report_id="i3", message_id="insult", reason="C2"), T0)
    assert state.view("insult").priority == pytest.approx(0.5 * 2.0)
    assert state.view("insult").count == 3


def test_a_campaign_of_fresh_accounts_of_one_group_is_flagged_and_rejected(
    state: ReportState, make_report: MakeReport
) -> None:
    # 30 accounts created two days ago, all in one group, report a lawful post within ten minutes.
    for i in range(30):
        state.receive(
            make_report(
                T0 + timedelta(seconds=20 * i),
                report_id=f"c-{i:02d}",
                message_id="lawful",
                reporter_id=f"sock-{i:02d}",
                reason="C8",
                reporter_created_at=T0 - timedelta(days=2),
                reporter_group_id="g-brigade",
            ),
            T0,
        )
    honest = make_report(T0 + minutes(3), report_id="h-1", message_id="lawful", reporter_id="carol", reason="C6")
    state.receive(honest, T0)
    view = state.view("lawful")
    assert view.count == 31
    screening = view.screening
    assert screening.suspected_campaign
    assert screening.burst_reports == 31
    assert "carol" not in screening.suspects
    assert len(screening.suspects) == 30
    text = "\n".join(screening.reasons)
    assert "31 reports from 31 distinct reporters within 10 minutes" in text
    assert "30 of 31 reporters have accounts younger than 7 days" in text
    assert "30 of 31 reporters belong to the same group g-brigade" in text
    assert "(97%) are fresh or related, at or above the 60%" in text
    # The flag only ranks: the 30 suspects weigh 0.1 each, the honest reporter fully.
    assert view.priority == pytest.approx(30 * 0.5 * 0.1 + 0.5)

    outcomes = state.decide("lawful", Rejected("no violation found"), T0 + timedelta(hours=2))
    assert len(outcomes) == 31
    assert {o.status for o in outcomes} == {OutcomeStatus.REJECTED}
    assert {o.reason for o in outcomes} == {"no violation found"}
    assert all(o.suspected_campaign for o in outcomes)
    # Every sock account now has a rejected report on its record and weighs less next time.
    assert state.reporters.credibility("sock-00") == pytest.approx(2 / 5)


def test_idempotent_by_report_id(state: ReportState, make_report: MakeReport) -> None:
    report = make_report(report_id="r-1", message_id="m-1", reporter_id="u-1")
    assert state.receive(report, T0).outcome is not None
    again = state.receive(report, T0 + minutes(1))
    assert again.added is Added.DUPLICATE
    assert again.outcome is None
    changed = make_report(report_id="r-1", message_id="m-1", reporter_id="u-1", reason="C6")
    assert state.receive(changed, T0).added is Added.CONFLICT
    view = state.view("m-1")
    assert (view.count, view.reasons) == (1, {"C8": 1})

    first = state.decide("m-1", Actioned("C8"), T0)
    assert [o.status for o in first] == [OutcomeStatus.ACTIONED]
    # A second ruling (a replayed decision, or a change of mind) gives no second final outcome, nor learns twice.
    assert state.decide("m-1", Rejected("changed my mind"), T0) == []
    assert state.outcomes.final("r-1").status is OutcomeStatus.ACTIONED  # type: ignore[union-attr]
    assert state.reporters.record("u-1").outcomes == 1
    assert state.reporters.learn("r-1", "u-1", confirmed=True) is False
    # A report arriving after the ruling waits for the next one; the earlier report keeps its outcome.
    state.receive(make_report(report_id="r-2", message_id="m-1", reporter_id="u-2"), T0)
    assert [o.report_id for o in state.decide("m-1", Rejected("no violation found"), T0)] == ["r-2"]


def test_overdue_counts_with_an_injected_clock(state: ReportState, make_report: MakeReport) -> None:
    clock = FixedClock(T0)
    terror = make_report(report_id="t-1", message_id="m-terror", reason="C7", sub_label="terror")
    state.receive(terror, clock.now())
    state.receive(make_report(report_id="t-2", message_id="m-terror", reporter_id="u-2", reason="C8"), clock.now())
    state.receive(make_report(report_id="i-1", message_id="m-insult", reason="C8"), clock.now())
    assert state.view("m-terror").earliest_due_at == T0 + timedelta(hours=2)
    assert state.overdue(clock.now()) == (0, 0)

    clock.advance(timedelta(hours=2))
    assert tuple(state.overdue(clock.now())) == (0, 0)  # due at exactly this moment is not yet late
    clock.advance(timedelta(seconds=1))
    overdue = state.overdue(clock.now())
    assert (overdue.reports, overdue.items) == (1, 1)

    clock.advance(timedelta(hours=22))
    assert (state.overdue(clock.now()).reports, state.overdue(clock.now()).items) == (3, 2)

    outcomes = state.decide("m-terror", Actioned("C7"), clock.now())
    assert [o.in_time for o in outcomes] == [False, False]
    assert (state.overdue(clock.now()).reports, state.overdue(clock.now()).items) == (1, 1)
    assert state.view("m-terror").earliest_due_at is None  # nothing open on it


def test_times_must_be_timezone_aware(state: ReportState, make_report: MakeReport) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        state.receive(make_report(), T0.replace(tzinfo=None))
    with pytest.raises(ValueError, match="timezone-aware"):
        state.overdue(T0.replace(tzinfo=None))


def test_the_state_is_plain_data_and_round_trips(
    state: ReportState, make_report: MakeReport, app_settings: Settings
) -> None:
    earn_credibility(state, make_report, "alice", confirmed=2)
    state.receive(make_report(report_id="r-1", message_id="m-1", reporter_id="alice", detail="详情"), T0)
    state.receive(make_report(T0 + minutes(1), report_id="r-2", message_id="m-1", reporter_id="bob"), T0)
    data = state.to_dict()
    text = json.dumps(data, ensure_ascii=False, sort_keys=True)
    (m1,) = [m for m in data["messages"] if m["message_id"] == "m-1"]
    assert m1["count"] == 2
    assert m1["reasons"] == {"C8": 2}
    assert m1["reporters"] == ["alice", "bob"]
    assert m1["earliest_due_at"] == "2026-11-24T08:00:00+00:00"
    assert "详情" in text

    restored = ReportState.from_dict(json.loads(text), app_settings.reports)
    assert json.dumps(restored.to_dict(), ensure_ascii=False, sort_keys=True) == text
    assert restored.view("m-1") == state.view("m-1")
    assert (
        restored.receive(make_report(report_id="r-1", message_id="m-1", reporter_id="alice", detail="详情"), T0).added
        is Added.DUPLICATE
    )
    view = state.view("m-1").to_dict()
    assert view["priority"] == state.view("m-1").priority
    assert json.loads(json.dumps(view)) == view
