"""Issue 4's targets over the real broker: exactly one verdict or dead letter per message, through a SIGKILL and
through a rebalance between two workers."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections import defaultdict
from typing import Any

from pipeline.simulate import SimulationReport, simulate
from tests.fixtures.workers import PipelineEnv, stream_meanwhile


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
    with stream_meanwhile(env.settings, rate=1500, count=4000, seed=41, run="crash") as reports:
        env.watcher.wait(400)
        worker.stop(signal.SIGKILL)
        assert worker.proc.returncode == -signal.SIGKILL
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


def test_a_terminal_store_failure_stops_the_worker_and_commits_nothing(pipeline_env: PipelineEnv) -> None:
    """No records bucket yet: the records worker must stop on its first batch, not skip it. Once the bucket
    exists, a new worker reads the same verdicts again from the start and stores them."""
    from kafka import KafkaAdminClient, TopicPartition

    env = pipeline_env
    moderation = env.start_worker("moderation", "terminal-moderation")
    moderation.wait_assigned()
    report = simulate(env.settings, rate=0, count=200, seed=43, run="terminal", malformed_share=0.0)
    env.watcher.wait(report.sent)

    records = env.start_worker("records", "terminal-records-1")
    deadline = time.monotonic() + 90
    while records.proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.3)
    assert records.proc.returncode not in (None, 0), f"the worker did not stop on the failure:\n{records.tail()}"
    assert "does not exist; run `modpipe storage init`" in records.log.read_text(errors="replace"), records.tail()
    topics = env.settings.kafka.topics
    verdict_parts = [TopicPartition(topics.verdicts.name, p) for p in range(topics.verdicts.partitions)]

    def committed() -> int:
        admin = KafkaAdminClient(bootstrap_servers=env.settings.kafka.servers, request_timeout_ms=15000)
        try:
            found = admin.list_group_offsets({"modpipe-records": verdict_parts}).get("modpipe-records", {})
        finally:
            admin.close()
        return sum(max(meta.offset, 0) for meta in found.values())

    assert committed() == 0

    result = subprocess.run(
        [sys.executable, "-m", "modpipe", "storage", "init"], env=env.env(), capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    again = env.start_worker("records", "terminal-records-2")
    again.wait_assigned()
    deadline = time.monotonic() + 90
    while f"modpipe_records_stored_total {float(report.sent)}" not in again.metrics():
        assert time.monotonic() < deadline, again.metrics()
        time.sleep(0.5)
    # The same reading sees the commits once the records are stored: the check above could have seen them too.
    while committed() < report.sent:
        assert time.monotonic() < deadline, committed()
        time.sleep(0.5)
