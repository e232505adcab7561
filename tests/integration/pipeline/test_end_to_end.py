"""All four agents on the real stack: verdicts reach the record store (proved through the auditor's export and
verify) and the moderation queue, and a moderator's decision comes back as a command, a record and a status."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch
from kafka import KafkaProducer

from modpipe.contracts import Decision, DecisionOutcome
from modpipe.settings import Action
from pipeline.simulate import simulate
from tests.fixtures.workers import PipelineEnv


def modpipe(env: PipelineEnv, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "modpipe", *args], env=env.env(), capture_output=True, text=True, check=False
    )


def export(env: PipelineEnv, start: datetime, end: datetime, out: Path) -> list[dict[str, object]]:
    result = modpipe(env, "audit", "export", "--from", start.isoformat(), "--to", end.isoformat(), "--out", str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    lines = (out / "records.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


@pytest.mark.obligation("L1", "L2", "L9")
def test_verdicts_reach_records_and_queue_and_decisions_come_back(pipeline_env: PipelineEnv, tmp_path: Path) -> None:
    env = pipeline_env
    for step in (("storage", "init"), ("search", "init")):
        result = modpipe(env, *step)
        assert result.returncode == 0, result.stdout + result.stderr
    workers = [
        env.start_worker("moderation,decisions", "e2e-moderation"),
        env.start_worker("records", "e2e-records"),
        env.start_worker("queue", "e2e-queue"),
    ]
    for worker in workers:
        worker.wait_assigned()
    start = datetime.now(UTC) - timedelta(minutes=1)
    report = simulate(env.settings, rate=0, count=400, seed=77, run="e2e")
    env.watcher.wait(report.sent)
    verdicts = {key: value for key, value in env.read_all("verdicts", idle_s=1.0)}
    flagged = {k for k, v in verdicts.items() if v["action"] in ("review", "block")}
    assert flagged, "the demo stream holds flagged messages"

    # Records: every verdict is in the auditor's export of the window, and the export verifies.
    deadline = time.monotonic() + 90
    while True:
        records = export(
            env, start, datetime.now(UTC) + timedelta(minutes=1), tmp_path / f"export-{time.monotonic_ns()}"
        )
        ids = {r["message_id"] for r in records if r["kind"] == "verdict"}
        if len(ids) >= len(verdicts) or time.monotonic() > deadline:
            break
        time.sleep(2)
    assert ids == {k.decode() for k in verdicts}
    out = tmp_path / "final"
    export(env, start, datetime.now(UTC) + timedelta(minutes=1), out)
    verified = modpipe(env, "audit", "verify", str(out))
    assert verified.returncode == 0, verified.stdout + verified.stderr

    # Queue: one document per flagged message, id = message_id.
    es = Elasticsearch(env.settings.elasticsearch.url)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            es.indices.refresh(index=env.settings.elasticsearch.index)
            if es.count(index=env.settings.elasticsearch.index)["count"] >= len(flagged):
                break
            time.sleep(1)
        assert es.count(index=env.settings.elasticsearch.index)["count"] == len(flagged)

        # A moderator overturns one block: a restore command, a decision record, and the document's status.
        blocked_key = next(k for k in flagged if verdicts[k]["action"] == "block")
        verdict = verdicts[blocked_key]
        decision = Decision(
            decision_id="dec-e2e-1", message_id=verdict["message_id"], outcome=DecisionOutcome.OVERTURNED,
            moderator="mod-wang", comment="news quote", decided_at=datetime.now(UTC), previous_action=Action.BLOCK,
            verdict_id=verdict["verdict_id"], service_type=verdict["service_type"],
            categories=tuple(verdict["flagged"]),
        )  # fmt: skip
        producer = KafkaProducer(bootstrap_servers=env.settings.kafka.servers, acks="all")
        try:
            producer.send(
                env.settings.kafka.topics.decisions.name, key=blocked_key, value=decision.model_dump_json().encode()
            )
            producer.flush()
        finally:
            producer.close()
        deadline = time.monotonic() + 60
        restored = []
        while not restored and time.monotonic() < deadline:
            restored = [
                v for k, v in env.read_all("takedowns", idle_s=1.0) if k == blocked_key and v["command"] == "restore"
            ]
        assert restored
        assert restored[0]["decided_by"] == "mod-wang"
        deadline = time.monotonic() + 60
        status = None
        while status != "overturned" and time.monotonic() < deadline:
            doc = es.get(index=env.settings.elasticsearch.index, id=verdict["message_id"])["_source"]
            status = doc["moderation"]["status"]
            time.sleep(0.5)
        assert status == "overturned"
    finally:
        es.close()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        records = export(env, start, datetime.now(UTC) + timedelta(minutes=1), tmp_path / f"dec-{time.monotonic_ns()}")
        if any(r["kind"] == "decision" for r in records):
            break
        time.sleep(2)
    assert any(r["kind"] == "decision" and r.get("message_id") == verdict["message_id"] for r in records)
