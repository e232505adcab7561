"""Credit levels in verdicts (issue 14 item 5): an account's level spans, their place in the gate view, and the
moderation step judging an author at a lower level by the stricter thresholds of config/measures.yaml."""

from __future__ import annotations

import itertools
import json
from datetime import datetime, timedelta
from typing import Any

import pytest

from classifiers.tagger import TagResult
from measures import credit_of, strikes_for_verdict
from measures.gateview import GateView, level_at
from measures.levels import credit_levels, level_spans
from modpipe.contracts.intake import RawMessage
from modpipe.settings import Action
from pipeline.moderation import ModerationProcessor, stricter_categories
from tests.unit.measures.factory import MEASURES, SETTINGS, Desk, account, day, make_verdict

pytestmark = pytest.mark.obligation("L6")
# Two unconfirmed C1 blocks are 5 points; at 20 a point the score starts at 0 (level E) and recovers over 180 days.
HARSH = MEASURES.credit.model_copy(update={"points_penalty": 20})


def _struck_state() -> Any:
    desk = Desk()
    for n in (1, 2):
        desk.send(*strikes_for_verdict(make_verdict(f"m{n}", "u1", day(0), ("C1",)), MEASURES))
    return desk.state(account("u1"))


def test_the_level_spans_recover_level_by_level_at_the_second_credit_of_says() -> None:
    state = _struck_state()
    spans = level_spans(state, day(0), HARSH)
    assert [s.level for s in spans] == ["E", "D", "C", "B", "A"]
    assert spans[0].starts_at == day(0)
    assert spans[-1].ends_at is None
    for before, after in itertools.pairwise(spans):
        assert before.ends_at == after.starts_at
        assert credit_of(state.strikes, state.measures, after.starts_at, HARSH).level == after.level
        just_before = after.starts_at - timedelta(seconds=1)
        assert credit_of(state.strikes, state.measures, just_before, HARSH).level == before.level
    assert spans[-1].starts_at <= day(HARSH.recovery_days)  # fully forgiven by then
    # Asked later, the spans start at that moment and agree with the earlier ones.
    later = level_spans(state, day(100), HARSH)
    assert later[0].level == credit_of(state.strikes, state.measures, day(100), HARSH).level
    assert [s.level for s in later] == [s.level for s in spans if s.ends_at is None or s.ends_at > day(100)]


def test_an_account_without_strikes_has_one_span_of_the_best_level() -> None:
    spans = level_spans(Desk().state(account("u9")), day(0), MEASURES.credit)
    assert [(s.level, s.ends_at) for s in spans] == [("A", None)]


def test_the_gate_view_answers_the_level_at_a_moment_and_none_for_an_unrated_author() -> None:
    view = GateView()
    view.apply_levels(credit_levels(_struck_state(), day(0), HARSH))
    version = view.version
    view.apply_levels(credit_levels(_struck_state(), day(0), HARSH))  # a re-published record changes nothing
    assert view.version == version
    gate = view.snapshot()
    assert level_at(gate, "u1", day(0) - timedelta(minutes=5)) == "E"  # a batch stamped before the record
    assert level_at(gate, "u1", day(1)) == "E"
    assert level_at(gate, "u1", day(400)) == "A"
    assert level_at(gate, "u2", day(1)) is None


def test_stricter_categories_lower_both_thresholds_within_bounds() -> None:
    shift = MEASURES.level_thresholds["E"]
    lowered = stricter_categories(SETTINGS.categories, shift)
    for code, cat in SETTINGS.categories.items():
        assert lowered[code].thresholds.review == pytest.approx(max(0.0, cat.thresholds.review + shift.review_delta))
        assert lowered[code].thresholds.block == pytest.approx(cat.thresholds.block + shift.block_delta)
        assert lowered[code].action is cat.action
    extreme = stricter_categories(SETTINGS.categories, shift.model_copy(update={"review_delta": -1.0}))
    assert all(c.thresholds.review == 0.0 <= c.thresholds.block for c in extreme.values())


class ScoreTagger:
    """Gives every text the same C8 score: what the thresholds make of it is the question."""

    model_version, lexicon_version, policy_version = "m", "l", "p"

    def __init__(self, score: float) -> None:
        self.score = score

    def classify_batch(self, texts: list[str], services: list[str]) -> list[TagResult]:
        cats = {code: 0.0 for code in SETTINGS.categories} | {"C8": self.score}
        flagged = ("C8",) if self.score >= SETTINGS.categories["C8"].thresholds.review else ()
        action = Action.REVIEW if flagged else Action.PASS
        return [TagResult(action=action, categories=cats, flagged=flagged, hits=(), sub_labels={}) for _ in texts]


def _raw(i: int, author: str, at: datetime | None = None) -> RawMessage:
    body = {"message_id": f"n-{i}", "service_type": "bbs", "kind": "post", "text": "hello",
            "published_at": (at or day(1)).isoformat(), "author_id": author, "source_ip": "203.0.113.7"}  # fmt: skip
    return RawMessage("posts", 0, i, None, json.dumps(body).encode())


class _At:
    def now(self) -> Any:
        return day(1)


@pytest.mark.parametrize(("score", "at_a", "at_e"), [(0.42, Action.PASS, Action.REVIEW), (0.82, Action.REVIEW,
                                                                                            Action.BLOCK)])  # fmt: skip
def test_a_message_that_passes_for_level_a_is_judged_stricter_for_level_e(
    score: float, at_a: Action, at_e: Action
) -> None:
    assert SETTINGS.categories["C8"].thresholds.review == 0.5  # what the scores above are chosen against
    view = GateView()
    view.apply_levels(credit_levels(_struck_state(), day(0), HARSH))
    processor = ModerationProcessor(SETTINGS, ScoreTagger(score), _At())  # type: ignore[arg-type]
    out = processor.process([_raw(1, "u1"), _raw(2, "clean")], view.snapshot())
    by_author = {v.message["author_id"]: v for v in out.verdicts}
    assert (by_author["u1"].credit_level, by_author["u1"].action) == ("E", at_e)
    assert (by_author["clean"].credit_level, by_author["clean"].action) == ("A", at_a)
    assert by_author["u1"].verdict_id != processor.process([_raw(1, "other")], {}).verdicts[0].verdict_id
    assert {t.message_id for t in out.takedowns} == {v.message_id for v in out.verdicts if v.action is Action.BLOCK}
    # Without the measures view (measures.gate: false) the level is unknown and the categories' thresholds hold.
    plain = processor.process([_raw(1, "u1")], None).verdicts[0]
    assert (plain.credit_level, plain.action) == (None, at_a)
