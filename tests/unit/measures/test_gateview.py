"""The gate view folded from measure commands, the day's counts for the report, and the measures agent's
applier semantics that make a restart harmless (pure parts; the servers are in tests/integration/measures)."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest

from measures import BlacklistAdd, BlacklistRemove, Lift, StrikeEvent, Tick, strikes_for_verdict
from measures.gate import GateReason
from measures.gateview import GateView, barred, message_subjects
from measures.report import day_counts
from measures.wire import Envelope, command_record, trigger_category
from tests.unit.measures.factory import MEASURES, Desk, account, day, group, make_verdict

pytestmark = pytest.mark.obligation("L6")


def msg(author: str, group_id: str | None = None, account_id: str | None = None) -> SimpleNamespace:
    return SimpleNamespace(author_id=author, group_id=group_id, account_id=account_id)


def strike(message_id: str, author: str, codes: tuple[str, ...], n: float, **message: str) -> list[StrikeEvent]:
    return list(strikes_for_verdict(make_verdict(message_id, author, day(n), codes, **message), MEASURES))


def test_a_suspension_bars_until_its_end_and_a_lift_or_a_blacklisting_is_followed() -> None:
    desk, view = Desk(), GateView()
    for command in desk.send(*strike("m1", "u1", ("C4",), 0)):  # 3 points: posting suspended 7 days
        view.apply(command)
    gate = view.snapshot()
    assert barred(gate, message_subjects(msg("u1")), day(1)) is GateReason.ACCOUNT_SUSPENDED
    assert barred(gate, message_subjects(msg("u1")), day(7)) is None  # over at its end, even before a tick
    assert barred(gate, message_subjects(msg("u2")), day(1)) is None
    measure = next(m for m in desk.state(account("u1")).measures if m.kind.value == "suspend_posting")
    for command in desk.send(Lift(subject=account("u1"), measure_id=measure.measure_id, moderator="m", reason="r")):
        view.apply(command)
    assert barred(view.snapshot(), message_subjects(msg("u1")), day(1)) is None
    assert gate is not view.snapshot(), "a batch keeps the view it started with"
    for command in desk.send(BlacklistAdd(subject=group("g1"), moderator="m", reason="spam ring")):
        view.apply(command)
    assert barred(view.snapshot(), message_subjects(msg("u3", "g1")), day(1)) is GateReason.BLACKLISTED
    for command in desk.send(BlacklistRemove(subject=group("g1"), moderator="m", reason="appeal")):
        view.apply(command)
    assert view.snapshot() == {}


def test_a_closure_outranks_a_suspension_and_restrictions_bar_nothing() -> None:
    desk, view = Desk(), GateView()
    for n, code in enumerate(("C1", "C2")):  # 5 then 10 points: suspended, then closed and blacklisted
        for command in desk.send(*strike(f"m{n}", "u1", (code,), n * 0.01, group_id="g1")):
            view.apply(command)
    reasons = [barred(view.snapshot(), [key], day(1)) for key in message_subjects(msg("u1", "g1"))]
    assert reasons == [GateReason.BLACKLISTED, GateReason.GROUP_SUSPENDED]  # g1: 10 points, suspended 30 days


def test_the_days_counts_by_measure_subject_type_and_category() -> None:
    desk = Desk()
    issued = desk.send(*strike("m1", "u1", ("C1",), 0, group_id="g1"))
    records = [command_record(c, trigger_category(desk.state(c.subject), c.measure_id)) for c in issued]
    desk.clock.advance(timedelta(days=8))
    lifts = desk.send(Tick())
    records += [command_record(c, None) for c in lifts]
    # u1: 5 points, suspended 7 days; g1: 5 points, warned and restricted 7 days (the highest step crossed).
    assert day_counts(records, day(-1), day(1)) == {
        "applied": 2,
        "lifted": 0,
        "by_measure": {"restrict_functions": 1, "suspend_posting": 1},
        "by_subject_type": {"account": 1, "group": 1},
        "by_category": {"C1": 2},
    }
    assert day_counts(records, day(-1), day(9))["lifted"] == len(lifts) >= 1


def test_an_envelope_carries_its_moment_and_its_subject_for_a_tick() -> None:
    envelope = Envelope(subject=account("u1"), at=day(3), event=Tick())
    again = Envelope.model_validate_json(envelope.model_dump_json())
    assert again == envelope
    assert again.key == b"account:u1"
