"""Credit levels in verdicts on the real local servers (issue 14 item 5, L6): the measures agent publishes an
author's level spans after its strikes, the moderation agent's follower folds them into its gate view, and the
moderation step stamps every verdict with the author's level, judging a level-E author by stricter thresholds."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from measures.gateview import level_at
from measures.levels import CreditLevels
from modpipe.settings import Action, load_settings
from modpipe.stack.manager import StackInfo
from modpipe.topics import ensure_topics
from tests.fixtures.workers import PipelineEnv
from tests.integration.measures.test_measures_agent import block, publish
from tests.integration.pipeline.test_end_to_end import modpipe
from tests.support import stack_overrides, topic_overrides
from tests.unit.measures.test_levels import ScoreTagger, _raw

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.obligation("L6")]
# Old enough that the 7-day suspension the block brings is over: the author posts again, at level E.
STRUCK = datetime.now(UTC).replace(microsecond=0) - timedelta(days=10)


@pytest.fixture
def levels_env(stack: StackInfo, unique: str, tmp_path: Path) -> Iterator[PipelineEnv]:
    overrides: dict[str, Any] = stack_overrides(stack, **topic_overrides(f"{{topic}}-{unique}"))
    overrides["s3.records_bucket"] = f"records-{unique}".lower()[:60]
    overrides["elasticsearch.index"] = f"queue-{unique}".lower()
    # 40 a point: an unconfirmed C1 block (2.5 of its 5 points) takes the score to about 6, level E, ten days on.
    overrides["measures.credit.points_penalty"] = 40
    settings = load_settings(environ={}, overrides=overrides)
    ensure_topics(settings)
    env = PipelineEnv(settings, overrides, tmp_path)
    result = modpipe(env, "storage", "init")
    assert result.returncode == 0, result.stdout + result.stderr
    try:
        yield env
    finally:
        for worker in env.workers:
            worker.stop(signal.SIGKILL)


def test_an_author_with_strikes_gets_a_lower_level_and_stricter_thresholds(levels_env: PipelineEnv) -> None:
    from pipeline.gatefeed import GateFeed
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

    async def follow() -> dict[str, Any]:
        feed = GateFeed(env.settings, "test-levels")
        task = asyncio.create_task(feed.run())
        try:
            await asyncio.wait_for(feed.ready.wait(), 60)
            return dict(feed.gate())
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    gate = asyncio.run(follow())
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
