"""Credit levels in verdicts on the real local servers (issue 14 item 5, L6): the measures agent publishes an
author's level spans after its strikes, the moderation agent's follower folds them into its gate view, and the
moderation step stamps every verdict with the author's level, judging a level-E author by stricter thresholds."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from measures.gateview import level_at
from measures.levels import CreditLevels
from modpipe.settings import Action
from modpipe.stack.manager import StackInfo
from tests.fixtures.workers import PipelineEnv, own_overrides, storage_env
from tests.integration.measures.test_measures_agent import block, followed_gate, publish
from tests.unit.measures.test_levels import ScoreTagger, _raw

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.obligation("L6")]
# Old enough that the 7-day suspension the block brings is over: the author posts again, at level E.
STRUCK = datetime.now(UTC).replace(microsecond=0) - timedelta(days=10)


@pytest.fixture
def levels_env(stack: StackInfo, unique: str, tmp_path: Path) -> Iterator[PipelineEnv]:
    # 40 a point: an unconfirmed C1 block (2.5 of its 5 points) takes the score to about 6, level E, ten days on.
    yield from storage_env(own_overrides(stack, unique, {"measures.credit.points_penalty": 40}), tmp_path)


def test_an_author_with_strikes_gets_a_lower_level_and_stricter_thresholds(levels_env: PipelineEnv) -> None:
    from pipeline.moderation import ModerationProcessor

    env = levels_env
    env.start_worker("measures", "measures-lv").wait_assigned()
    publish(env, [block(1, "lv1", "C1", STRUCK)])
    deadline = time.monotonic() + 120
    while True:
        records = [CreditLevels.model_validate(v) for _, v in env.read_all("credit_levels", idle_s=2.0)]
        if any(r.spans[0].level == "E" for r in records) or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert records
    assert {r.subject.key for r in records} == {"account:lv1"}
    assert records[-1].spans[0].level == "E"
    assert records[-1].spans[-1].level == "A"

    gate = followed_gate(env.settings, "test-levels")
    now = datetime.now(UTC)
    assert level_at(gate, "lv1", now) == "E"

    class Now:
        def now(self) -> datetime:
            return now

    # A C8 score of 0.42 passes at the categories' thresholds (review 0.5) and reaches level E's (0.4).
    processor = ModerationProcessor(env.settings, ScoreTagger(0.42), Now())  # type: ignore[arg-type]
    out = processor.process([_raw(1, "lv1", now), _raw(2, "clean", now)], gate)
    got = {v.message["author_id"]: (v.credit_level, v.action, v.gate) for v in out.verdicts}
    assert got == {"lv1": ("E", Action.REVIEW, None), "clean": ("A", Action.PASS, None)}
