"""A scripted stream of violations against a few authors and groups gives exactly the ladder's measures at the
right moments with an injected clock, and lifts them on time; withdrawals, lifts and the blacklist."""

from __future__ import annotations

from datetime import timedelta

import pytest

from measures import (
    BlacklistAdd,
    BlacklistRemove,
    CommandAction,
    GateReason,
    Lift,
    MeasureCommand,
    MeasureKind,
    Tick,
    Withdraw,
    gate,
    strikes_for_decision,
    strikes_for_verdict,
)
from modpipe.clock import FixedClock
from modpipe.contracts import DecisionOutcome
from tests.unit.measures.factory import MEASURES, T0, Desk, account, admin, day, group, make_decision, make_verdict


def summary(commands: list[MeasureCommand]) -> list[tuple[str, str, str]]:
    return [(c.subject.key, c.action.value, c.measure.value) for c in commands]


def strike(
    desk: Desk, message_id: str, author: str, codes: tuple[str, ...] = ("C8",), **extra: object
) -> list[tuple[str, str, str]]:
    verdict = make_verdict(message_id, author, desk.clock.now(), codes, **extra)  # type: ignore[arg-type]
    return summary(desk.send(*strikes_for_verdict(verdict, MEASURES)))


@pytest.mark.obligation("L6")
def test_an_authors_ladder_step_by_step() -> None:
    desk = Desk(FixedClock(T0))
    u1 = account("u1")
    assert strike(desk, "m1", "u1") == [("account:u1", "apply", "warning")]
    warning = desk.commands[-1]
    assert warning.starts_at == warning.ends_at == T0  # a notice: nothing to lift later
    desk.clock.set(day(1))
    assert strike(desk, "m2", "u1") == []  # 2 points: no step crossed
    desk.clock.set(day(2))
    assert strike(desk, "m3", "u1") == [("account:u1", "apply", "suspend_posting")]
    suspension = desk.commands[-1]
    assert suspension.ends_at == day(9)
    assert suspension.key == f"account:u1:{suspension.measure_id}"
    assert gate(desk.state(u1), day(2)) is GateReason.ACCOUNT_SUSPENDED
    desk.clock.set(day(5))
    assert desk.send(Tick()) == []
    assert gate(desk.state(u1), day(8)) is GateReason.ACCOUNT_SUSPENDED
    assert gate(desk.state(u1), day(9)) is None  # ends on time even before the tick runs
    desk.clock.set(day(9) + timedelta(minutes=1))
    lifted = desk.send(Tick())
    assert summary(lifted) == [("account:u1", "lift", "suspend_posting")]
    assert lifted[0].key == suspension.key
    assert lifted[0].ends_at == day(9)  # recorded at its scheduled end, not at the tick
    assert desk.send(Tick()) == []  # lifted once
    desk.clock.set(day(10))
    # C7 terror weighs 5: 3 + 5 = 8 points crosses 6 -> the 30-day suspension
    assert strike(desk, "m4", "u1", ("C7",), sub_labels={"C7": "terror"}) == [
        ("account:u1", "apply", "suspend_posting")
    ]
    assert desk.commands[-1].ends_at == day(40)
    desk.clock.set(day(11))
    # C1 weighs 5: 13 points crosses 10 -> closed and blacklisted
    assert strike(desk, "m5", "u1", ("C1",)) == [("account:u1", "apply", "close"), ("account:u1", "apply", "blacklist")]
    state = desk.state(u1)
    assert state.blacklisted
    assert gate(state, day(11)) is GateReason.BLACKLISTED
    desk.clock.set(day(12))
    assert strike(desk, "m6", "u1", ("C1",)) == []  # nothing above a closure
    assert [m.kind for m in state.in_force(day(12))] == [MeasureKind.SUSPEND_POSTING, MeasureKind.CLOSE]


def test_one_jump_across_steps_issues_only_the_highest() -> None:
    desk = Desk()
    assert strike(desk, "m1", "u2", ("C1",)) == [("account:u2", "apply", "suspend_posting")]  # 0 -> 5 points
    assert desk.commands[-1].ends_at == T0 + timedelta(days=7)


def test_points_leave_the_rolling_window() -> None:
    desk = Desk()
    for n, message in enumerate(("a", "b")):
        desk.clock.set(day(n * 20))
        strike(desk, message, "u3")
    desk.clock.set(day(40))
    # a (day 0) left the 30-day window: b + c = 2 points, no suspension
    assert strike(desk, "c", "u3") == []
    desk.clock.set(day(41))
    assert strike(desk, "d", "u3") == [("account:u3", "apply", "suspend_posting")]


@pytest.mark.obligation("L6")
def test_a_group_message_strikes_author_group_and_admins() -> None:
    desk = Desk()
    extra = {"group_id": "g1", "author_role": "admin", "group_owner_id": "boss"}
    first = strike(desk, "m1", "u4", ("C4",), **extra)  # C4 weighs 3
    assert first == [
        ("account:u4", "apply", "suspend_posting"),
        ("group:g1", "apply", "warning"),
        ("group_admin:u4", "apply", "warning"),
        ("group_admin:boss", "apply", "warning"),
    ]
    desk.clock.set(day(1))
    second = strike(desk, "m2", "u5", ("C4",), **extra)
    assert ("group:g1", "apply", "restrict_functions") in second  # 6 points >= 5
    assert ("group_admin:boss", "apply", "lower_credit") in second  # 6 points >= 6
    assert ("group_admin:u5", "apply", "warning") in second
    assert gate(desk.state(group("g1")), day(1)) is None  # restricted functions do not stop messages
    boss = desk.state(admin("boss"))
    # 6 unconfirmed points count half: 100 - 5 * 3 = 85 (B), one level lower while the measure is in force
    assert (boss.credit.score, boss.credit.level) == (85, "C")
    assert gate(boss, day(1)) is None  # a group admin's measures do not stop their messages
    desk.clock.set(day(2))
    assert strike(desk, "m3", "u5", ("C8",), group_id="g1", group_owner_id="boss") == []  # no step crossed


def test_group_suspension_gates_the_group() -> None:
    desk = Desk()
    strike(desk, "m1", "u6", ("C1",), group_id="g2")
    desk.clock.set(day(1))
    strike(desk, "m2", "u7", ("C1",), group_id="g2")  # the group reaches 10 points
    assert gate(desk.state(group("g2")), day(1)) is GateReason.GROUP_SUSPENDED
    assert gate(desk.state(group("g2")), day(31)) is None


def test_withdraw_lifts_what_no_longer_stands() -> None:
    desk = Desk()
    verdicts = []
    for n, message in enumerate(("m1", "m2", "m3")):
        desk.clock.set(day(n))
        verdicts.append(make_verdict(message, "u8", day(n)))
        desk.send(*strikes_for_verdict(verdicts[-1], MEASURES))
    suspension = desk.commands[-1]
    assert suspension.measure is MeasureKind.SUSPEND_POSTING
    desk.clock.set(day(3))
    overturn = make_decision(verdicts[0], DecisionOutcome.OVERTURNED, day(3))
    lifted = desk.send(*strikes_for_decision(overturn, verdicts[0], MEASURES))
    assert summary(lifted) == [("account:u8", "lift", "suspend_posting")]
    assert lifted[0].key == suspension.key
    assert lifted[0].decided_by == overturn.decision_id
    state = desk.state(account("u8"))
    withdrawn = state.strike("m1")
    assert withdrawn is not None
    assert not withdrawn.active
    assert gate(state, day(3)) is None
    # the machine's verdict re-delivered after the overturn does not bring the strike back
    assert desk.send(*strikes_for_verdict(verdicts[0], MEASURES)) == []
    assert desk.send(Withdraw(subject=account("u8"), source_id="m1", by=overturn.decision_id)) == []


def test_a_confirmation_of_a_block_is_the_same_strike() -> None:
    desk = Desk()
    verdict = make_verdict("m1", "u9", T0)
    desk.send(*strikes_for_verdict(verdict, MEASURES))
    desk.clock.set(day(1))
    confirm = make_decision(verdict, DecisionOutcome.CONFIRMED, day(1))
    assert desk.send(*strikes_for_decision(confirm, verdict, MEASURES)) == []
    (only,) = desk.state(account("u9")).strikes
    assert only.confirmed
    assert only.at == T0


def test_withdraw_of_a_closure_removes_the_blacklisting_it_caused() -> None:
    desk = Desk()
    verdicts = [make_verdict(m, "u10", T0, ("C1",)) for m in ("m1", "m2")]
    for v in verdicts:
        desk.send(*strikes_for_verdict(v, MEASURES))
    assert desk.state(account("u10")).blacklisted
    desk.clock.set(day(1))
    overturn = make_decision(verdicts[1], DecisionOutcome.OVERTURNED, day(1))
    lifted = summary(desk.send(*strikes_for_decision(overturn, verdicts[1], MEASURES)))
    assert lifted == [("account:u10", "lift", "close"), ("account:u10", "lift", "blacklist")]
    state = desk.state(account("u10"))
    assert not state.blacklisted
    assert gate(state, day(1)) is GateReason.ACCOUNT_SUSPENDED  # the 7-day suspension of m1 still stands


def test_an_overturn_before_its_strike() -> None:
    desk = Desk()
    assert desk.send(Withdraw(subject=account("u11"), source_id="m1", by="d1")) == []
    assert desk.send(*strikes_for_verdict(make_verdict("m1", "u11", T0, ("C1",)), MEASURES)) == []
    state = desk.state(account("u11"))
    assert state.pending_withdrawals == ()
    assert not state.strikes[0].active


def test_a_moderator_lifts_a_measure() -> None:
    desk = Desk()
    strike(desk, "m1", "u12", ("C1",))
    measure_id = desk.commands[-1].measure_id
    desk.clock.set(day(1))
    lift = Lift(subject=account("u12"), measure_id=measure_id, moderator="mod-wang", reason="appeal upheld")
    (lifted,) = desk.send(lift)
    assert (lifted.action, lifted.decided_by, lifted.reason, lifted.ends_at) == (
        CommandAction.LIFT,
        "mod-wang",
        "appeal upheld",
        day(1),
    )
    assert gate(desk.state(account("u12")), day(1)) is None
    assert desk.send(lift) == []  # lifting twice changes nothing
    desk.clock.set(day(8))
    assert desk.send(Tick()) == []  # no second lift when its time would have been up


def test_blacklist_by_a_moderator() -> None:
    desk = Desk()
    u13 = account("u13")
    (added,) = desk.send(BlacklistAdd(subject=u13, moderator="mod-li", reason="fraud ring"))
    assert (added.measure, added.action, added.reason) == (MeasureKind.BLACKLIST, CommandAction.APPLY, "fraud ring")
    assert desk.state(u13).blacklist.reason == "fraud ring"  # type: ignore[union-attr]
    assert gate(desk.state(u13), day(1000)) is GateReason.BLACKLISTED
    assert desk.send(BlacklistAdd(subject=u13, moderator="mod-li", reason="again")) == []
    desk.clock.set(day(2))
    (removed,) = desk.send(BlacklistRemove(subject=u13, moderator="mod-wang", reason="identity mix-up"))
    assert (removed.key, removed.action) == (added.key, CommandAction.LIFT)
    assert gate(desk.state(u13), day(2)) is None
    assert desk.send(BlacklistRemove(subject=u13, moderator="mod-wang", reason="twice")) == []


def test_a_longer_measure_supersedes_without_a_gap() -> None:
    desk = Desk()
    strike(desk, "m1", "u14", ("C4",))  # 3 points: 7 days
    first = desk.commands[-1]
    desk.clock.set(day(1))
    out = desk.send(*strikes_for_verdict(make_verdict("m2", "u14", day(1), ("C4",)), MEASURES))  # 6: 30 days
    assert [(c.action, c.measure_id) for c in out] == [
        (CommandAction.APPLY, out[0].measure_id),
        (CommandAction.LIFT, first.measure_id),
    ]
    assert out[0].ends_at == day(31)


def test_events_for_another_subject_and_naive_times_are_refused() -> None:
    desk = Desk()
    state = desk.state(account("a"))
    with pytest.raises(ValueError, match="account:b"):
        desk.policy.apply(state, BlacklistAdd(subject=account("b"), moderator="m", reason="r"), T0)
    with pytest.raises(ValueError, match="timezone-aware"):
        desk.policy.apply(state, Tick(), T0.replace(tzinfo=None))


def test_a_reopening_neither_strikes_nor_withdraws() -> None:
    """Issue 16: a senior's reopening sends the item back for re-review; the strike waits for that decision."""
    verdict = make_verdict("m1", "u9", T0)
    reopening = make_decision(verdict, DecisionOutcome.REOPENED, day(1))
    assert strikes_for_decision(reopening, verdict, MEASURES) == ()
