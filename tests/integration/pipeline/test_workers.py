"""Issue 4's targets over the real broker: exactly one verdict or dead letter per message, through a SIGKILL and
through a rebalance between two workers."""

from __future__ import annotations

import signal
import threading
import time
from collections import defaultdict
from typing import Any

from pipeline.simulate import SimulationReport, simulate
from tests.integration.pipeline.conftest import PipelineEnv


def assert_each_message_once(env: PipelineEnv, reports: list[tuple[SimulationReport, str]]) -> dict[str, Any]:
    """Every valid message has a verdict, every malformed one a dead letter, and copies are identical re-deliveries."""
    expected_total = sum(r.sent for r, _ in reports)
    verdicts = env.read_all("verdicts", idle_s=1.5)
    letters = env.read_all("dead_letters", idle_s=1.5)
    takedowns = env.read_all("takedowns", idle_s=1.5)
    by_key: dict[bytes, list[dict[str, Any]]] = defaultdict(list)
    for key, value in verdicts:
        by_key[key].append(value)
    for key, copies in by_key.items():
        # A re-delivery repeats the key and the verdict (same id, action, scores); only decided_at may differ.
        assert len({(c["verdict_id"], c["action"], str(sorted(c["categories"].items()))) for c in copies}) == 1, key
    letter_positions = {(v["topic"], v["partition"], v["offset"]) for _, v in letters}
    letter_keys = {k for k, _ in letters}
    assert not (set(by_key) & letter_keys), "a message got both a verdict and a dead letter"
    valid = sum(r.valid for r, _ in reports)
    malformed = sum(r.malformed for r, _ in reports)
    assert len(by_key) == valid, f"{len(by_key)} messages with verdicts, {valid} valid sent"
    assert len(letter_positions) == malformed, f"{len(letter_positions)} dead letters, {malformed} malformed sent"
    assert len(by_key) + len(letter_positions) == expected_total
    blocked = {k for k, copies in by_key.items() if copies[0]["action"] == "block"}
    assert blocked == {k for k, _ in takedowns}, "each block verdict has a takedown command with the same key"
    return {"verdicts": len(verdicts), "distinct": len(by_key), "letters": len(letters), "blocked": len(blocked)}


def test_sigkill_mid_stream_loses_nothing(pipeline_env: PipelineEnv) -> None:
    env = pipeline_env
    worker = env.start_worker("moderation,decisions", "crash-1")
    worker.wait_assigned()
    reports: list[SimulationReport] = []
    publisher = threading.Thread(
        target=lambda: reports.append(simulate(env.settings, rate=1500, count=4000, seed=41, run="crash")),
        name="publisher",
    )
    publisher.start()
    try:
        env.watcher.wait(400)
        worker.stop(signal.SIGKILL)
        assert worker.proc.returncode == -signal.SIGKILL
    finally:
        publisher.join()
    restarted = env.start_worker("moderation,decisions", "crash-2")
    restarted.wait_assigned()
    env.watcher.wait(reports[0].sent)
    counts = assert_each_message_once(env, [(reports[0], "crash")])
    print(f"after SIGKILL: {counts}")
    restarted.stop()
    assert restarted.proc.returncode == 0, restarted.tail()


def test_two_workers_split_partitions_and_one_takes_over(pipeline_env: PipelineEnv) -> None:
    env = pipeline_env
    inputs = {f"{t.name}:{p}" for t in env.settings.kafka.topics.inputs() for p in range(t.partitions)}
    a = env.start_worker("moderation", "split-a")
    b = env.start_worker("moderation", "split-b")
    a_parts = set(a.wait_assigned(predicate=lambda parts: 0 < len([p for p in parts if p in inputs]) < len(inputs)))
    b_parts = set(b.wait_assigned(predicate=lambda parts: set(parts) & inputs and not set(parts) & a_parts))
    assert a_parts & inputs
    assert b_parts & inputs
    assert (a_parts | b_parts) & inputs == inputs, "together the two workers hold every input partition"
    first = simulate(env.settings, rate=0, count=1500, seed=5, run="split1")
    env.watcher.wait(first.sent)
    b.stop(signal.SIGTERM)
    a.wait_assigned(predicate=lambda parts: inputs <= set(parts))
    second = simulate(env.settings, rate=0, count=1500, seed=6, run="split2")
    env.watcher.wait(first.sent + second.sent)
    assert_each_message_once(env, [(first, "split1"), (second, "split2")])
    metrics = a.metrics()
    assert 'modpipe_verdicts_total{action="pass"}' in metrics
    assert "modpipe_consumer_position" in metrics


def test_unreachable_broker_fails_fast_and_names_the_setting(pipeline_env: PipelineEnv) -> None:
    env = pipeline_env
    env.overrides["kafka.bootstrap"] = "127.0.0.1:9"
    started = time.monotonic()
    worker = env.start_worker("moderation", "nobroker")
    worker.proc.wait(timeout=60)
    assert worker.proc.returncode == 1
    assert "kafka.bootstrap" in worker.log.read_text()
    assert time.monotonic() - started < 30
