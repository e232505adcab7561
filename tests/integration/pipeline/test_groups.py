"""One consumer group per agent: a worker started with a different set of agents shares each agent's work with the
workers already running it instead of re-reading history (issue 13's replay: 4,849 records stored twice)."""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pipeline.simulate import simulate
from tests.fixtures.workers import PipelineEnv
from tests.integration.pipeline.test_end_to_end import export, modpipe


def test_a_worker_with_all_agents_joining_one_with_a_single_agent_repeats_no_work(
    pipeline_env: PipelineEnv, tmp_path: Path
) -> None:
    env = pipeline_env
    result = modpipe(env, "storage", "init")
    assert result.returncode == 0, result.stdout + result.stderr
    first = [env.start_worker("moderation", "groups-moderation"), env.start_worker("records", "groups-records")]
    for worker in first:
        worker.wait_assigned()
    start = datetime.now(UTC) - timedelta(minutes=1)
    before = simulate(env.settings, rate=0, count=300, seed=5, run="grp1")
    env.watcher.wait(before.sent)
    # Let the first workers commit what they did (commit interval 1 s) before the newcomer joins their groups.
    time.sleep(4)

    everything = env.start_worker("moderation,decisions,records,queue", "groups-all")
    everything.wait_assigned()
    for worker in first:
        # The newcomer took its share of the moderation and records partitions; the first workers kept theirs.
        assert worker.wait_assigned(timeout_s=60)
    health = everything.health()
    assert health is not None
    assert {name: g["group"] for name, g in health["groups"].items()} == {
        "moderation": "modpipe-moderation",
        "decisions": "modpipe-decisions",
        "records": "modpipe-records",
        "queue": "modpipe-queue",
    }
    after = simulate(env.settings, rate=0, count=300, seed=6, run="grp2")
    env.watcher.wait(before.sent + after.sent)

    verdicts = Counter(key for key, _ in env.read_all("verdicts", idle_s=3.0))
    assert len(verdicts) == before.valid + after.valid
    assert [k for k, n in verdicts.items() if n > 1] == [], "a message was moderated twice"

    deadline = time.monotonic() + 90
    while True:
        out = tmp_path / f"export-{time.monotonic_ns()}"
        records = export(env, start, datetime.now(UTC) + timedelta(minutes=1), out)
        stored = Counter(str(r["message_id"]) for r in records if r["kind"] == "verdict")
        if len(stored) >= len(verdicts) or time.monotonic() > deadline:
            break
        time.sleep(2)
    assert set(stored) == {k.decode() for k in verdicts}
    assert [m for m, n in stored.items() if n > 1] == [], "a verdict was stored twice"
