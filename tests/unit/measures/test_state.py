"""Credit levels, JSON state, replay determinism and idempotence (hypothesis), and the config's errors."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from measures import (
    BlacklistAdd,
    BlacklistRemove,
    CommandAction,
    Event,
    Lift,
    Policy,
    Strike,
    StrikeEvent,
    StrikeSource,
    SubjectState,
    Tick,
    Withdraw,
    credit_score,
    subjects_of,
)
from modpipe.settings import SettingsError, load_settings
from tests.support import REPO
from tests.unit.measures.factory import MEASURES, T0, account, day

U = account("u1")
POLICY = Policy(MEASURES)


def a_strike(source: str, at_day: float, weight: int = 1, confirmed: bool = False) -> Strike:
    return Strike(
        subject=U,
        category="C8",
        weight=weight,
        source=StrikeSource(
            message_id=source, verdict_id=f"v-{source}", decision_id=f"d-{source}" if confirmed else None
        ),
        at=day(at_day),
    )


# -- credit --------------------------------------------------------------------------------------------------


def test_credit_from_history() -> None:
    credit = MEASURES.credit
    assert credit_score([], T0, credit) == 100
    confirmed = [a_strike("a", 0, weight=2, confirmed=True)]
    assert credit_score(confirmed, day(0), credit) == 90  # 100 - 5 * 2
    assert credit_score([a_strike("a", 0, weight=2)], day(0), credit) == 95  # unconfirmed: half
    assert credit_score(confirmed, day(90), credit) == 95  # half forgiven after 90 of 180 quiet days
    assert credit_score(confirmed, day(180), credit) == 100
    overturned = [confirmed[0].model_copy(update={"withdrawn": {"source_id": "a", "at": day(1), "by": "d"}})]
    assert credit_score(overturned, day(0), credit) == 100
    many = [a_strike(str(n), n, weight=5, confirmed=True) for n in range(5)]
    assert credit_score(many, day(4), credit) == 0  # floored


@pytest.mark.parametrize(
    ("score", "level"), [(100, "A"), (90, "A"), (89, "B"), (75, "B"), (60, "C"), (59, "D"), (40, "D"), (0, "E")]
)
def test_levels_by_score(score: int, level: str) -> None:
    credit = MEASURES.credit
    assert credit.levels[credit.level_of(score)].level == level


def test_state_credit_follows_strikes_and_time() -> None:
    state = POLICY.new_state(U)
    assert (state.credit.score, state.credit.level) == (100, "A")
    state, _ = POLICY.apply(state, StrikeEvent(strike=a_strike("a", 0, weight=5, confirmed=True)), day(0))
    assert (state.credit.score, state.credit.level) == (75, "B")
    state, _ = POLICY.apply(state, Tick(), day(180))
    assert (state.credit.score, state.credit.level) == (100, "A")


# -- state as JSON ---------------------------------------------------------------------------------------------


def test_state_round_trips_through_json() -> None:
    state = POLICY.new_state(U)
    script: list[tuple[Event, datetime]] = [
        (StrikeEvent(strike=a_strike("a", 0, weight=5)), day(0)),
        (StrikeEvent(strike=a_strike("b", 1, weight=5)), day(1)),
        (Withdraw(subject=U, source_id="zz", by="d-zz"), day(2)),
    ]
    state, _ = POLICY.replay(state, script)
    assert state.blacklisted
    assert state.measures
    assert state.pending_withdrawals
    text = json.dumps(state.to_json(), sort_keys=True)
    assert SubjectState.from_json(json.loads(text)) == state


# -- determinism (hypothesis) ----------------------------------------------------------------------------------

_sources = st.sampled_from(["m1", "m2", "m3", "m4", "m5"])
_strikes = st.builds(
    lambda src, d, w, c: StrikeEvent(strike=a_strike(src, d, w, c)),
    _sources,
    st.integers(0, 60),
    st.sampled_from([1, 2, 3, 5]),
    st.booleans(),
)
_events: st.SearchStrategy[Event] = st.one_of(
    _strikes,
    st.builds(lambda src: Withdraw(subject=U, source_id=src, by=f"d-{src}"), _sources),
    st.builds(lambda r: BlacklistAdd(subject=U, moderator="mod", reason=r), st.sampled_from(["x", "y"])),
    st.just(BlacklistRemove(subject=U, moderator="mod", reason="ok")),
    st.just(Tick()),
)
_scripts = st.lists(st.tuples(_events, st.integers(0, 5)), max_size=25)


def _timed(script: list[tuple[Event, int]]) -> list[tuple[Event, datetime]]:
    out: list[tuple[Event, datetime]] = []
    at = T0
    for event, gap in script:
        at += timedelta(days=gap)
        out.append((event, at))
    return out


@settings(max_examples=150, deadline=None)
@given(_scripts)
def test_replay_gives_the_same_state_and_commands(script: list[tuple[Event, int]]) -> None:
    timed = _timed(script)
    first = POLICY.replay(POLICY.new_state(U), timed)
    second = POLICY.replay(SubjectState.from_json(POLICY.new_state(U).to_json()), timed)
    assert first == second
    state, commands = first
    assert SubjectState.from_json(json.loads(json.dumps(state.to_json()))) == state
    applied = [c.key for c in commands if c.action == "apply"]
    assert len(applied) == len(set(applied)), "a measure is applied once"
    lifted = [c.key for c in commands if c.action == "lift"]
    assert len(lifted) == len(set(lifted)), "and lifted at most once"
    assert set(lifted) <= set(applied)


@settings(max_examples=150, deadline=None)
@given(_scripts, _strikes)
def test_a_strike_twice_changes_nothing(script: list[tuple[Event, int]], event: StrikeEvent) -> None:
    state, _ = POLICY.replay(POLICY.new_state(U), _timed(script))
    at = day(70)
    once, _ = POLICY.apply(state, event, at)
    twice, commands = POLICY.apply(once, event, at)
    assert twice == once
    assert commands == ()


@settings(max_examples=100, deadline=None)
@given(_scripts)
def test_a_lift_of_each_measure_in_force_ends_it(script: list[tuple[Event, int]]) -> None:
    state, _ = POLICY.replay(POLICY.new_state(U), _timed(script))
    at = day(70)
    for measure in state.in_force(at):
        due = {m.measure_id for m in state.measures if m.ended_at is None and not m.in_force(at)}
        state, commands = POLICY.apply(
            state, Lift(subject=U, measure_id=measure.measure_id, moderator="m", reason="r"), at
        )
        assert [c.measure_id for c in commands].count(measure.measure_id) == 1
        # Applying any event also ends the measures whose time is up and that no tick has ended yet: those lifts
        # come along (hypothesis found a script where one did), and nothing else does.
        others = [c for c in commands if c.measure_id != measure.measure_id]
        assert all(c.action is CommandAction.LIFT and c.measure_id in due for c in others)
    assert state.in_force(at) == ()


# -- subjects ------------------------------------------------------------------------------------------------


def test_subjects_of_a_message() -> None:
    keys = [s.key for s in subjects_of({"author_id": "u", "account_id": "pa", "group_id": "g"})]
    assert keys == ["account:u", "public_account:pa", "group:g"]
    both = {"author_id": "u", "group_id": "g", "author_role": "owner", "group_owner_id": "u"}
    assert [s.key for s in subjects_of(both)] == ["account:u", "group:g", "group_admin:u"]
    odd = {"author_id": "u", "group_id": "g", "author_role": 7, "group_owner_id": ""}
    assert [s.key for s in subjects_of(odd)] == ["account:u", "group:g"]
    assert [s.key for s in subjects_of({"author_id": "u", "author_role": "admin"})] == ["account:u"]


# -- config -----------------------------------------------------------------------------------------------------


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "config"
    shutil.copytree(REPO / "config", folder, ignore=shutil.ignore_patterns("lexicons", "kibana"))
    return folder


def _problem(folder: Path, old: str, new: str) -> str:
    path = folder / "measures.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(SettingsError) as info:
        load_settings(folder, environ={})
    return str(info.value)


@pytest.mark.parametrize(
    ("old", "new", "setting", "expected"),
    [
        ("{points: 3, measure: suspend_posting, days: 7}", "{points: 3, measure: suspend_posting}",
         "measures.ladders.account.steps.1", "`days` for suspend_posting"),
        ("{points: 10, measure: close, blacklist: true}", "{points: 10, measure: close, days: 3}",
         "measures.ladders.account.steps.3", "no `days` for close"),
        ("{points: 6, measure: suspend_posting, days: 30}", "{points: 2, measure: suspend_posting, days: 30}",
         "measures.ladders.account.steps", "strictly rising"),
        ("{points: 10, measure: suspend_admin, days: 30}", "{points: 10, measure: close}",
         "measures.ladders.group_admin", "measures for a group_admin among"),
        ("{points: 1, measure: warning}", "{points: 1, measure: ban}", "measures.ladders.account.steps.0.measure",
         "warning"),
        ("C8: {points: 1}", "C8: {points: 0}", "measures.weights.C8.points", "greater than or equal to 1"),
        ("C8: {points: 1}", "C99: {points: 1}", "measures.weights", "category codes of categories.yaml"),
        ("terror: 5", "tourism: 5", "measures.weights.C7.sub_labels", "sub-labels of C7"),
        ("{level: E, min_score: 0}", "{level: E, min_score: 10}", "measures.credit", "min_score 0"),
        ("window_days: 30", "window_dayz: 30", "measures.ladders.account.window_dayz", "no such setting"),
        ("E: {review_delta", "F: {review_delta", "measures.level_thresholds", "levels of measures.credit.levels"),
        ("D: {review_delta: -0.05", "D: {review_delta: 0.05", "measures.level_thresholds.D.review_delta",
         "less than or equal to 0"),
    ],
)  # fmt: skip
def test_config_errors_name_the_setting(tmp_path: Path, old: str, new: str, setting: str, expected: str) -> None:
    message = _problem(_folder(tmp_path), old, new)
    assert setting in message
    assert expected in message


def test_a_folder_without_measures_yaml_reads_the_shipped_one(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    (folder / "measures.yaml").unlink()
    assert load_settings(folder, environ={}).measures == MEASURES


def test_env_overrides_a_weight() -> None:
    s = load_settings(REPO / "config", environ={"MODPIPE__MEASURES__WEIGHTS__c8__POINTS": "2"})
    assert s.measures.weight("C8") == 2
    assert s.measures.weight("C7", "terror") == 5
    assert s.measures.weight("C10") == s.measures.default_points
