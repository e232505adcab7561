"""User reports (L7) end to end on the real servers: intake, the review queue, the moderator's decision through the
review desk's decision path, one final outcome per report, and a report campaign that takes nothing down."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest
from elasticsearch import Elasticsearch
from kafka import KafkaProducer

from modpipe.clock import SystemClock
from modpipe.contracts import DecisionOutcome
from pipeline.report_store import ReporterDoc, ReportStore
from review.desk.decide import Decider, KafkaPublisher
from review.queue import QueueStore
from tests.fixtures.workers import PipelineEnv

T = TypeVar("T")
LAWFUL = "周末和家人去公园散步，天气很好，孩子们玩得很开心。"
MODERATION = "moderation,decisions,records,queue"


def modpipe(env: PipelineEnv, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "modpipe", *args], env=env.env(), capture_output=True, text=True, check=False
    )


def eventually(what: str, probe: Callable[[], T | None], timeout_s: float = 120, every_s: float = 1.0) -> T:
    deadline = time.monotonic() + timeout_s
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout_s}s")
        time.sleep(every_s)


def publish(env: PipelineEnv, items: list[tuple[str, str, dict[str, Any]]]) -> None:
    producer = KafkaProducer(bootstrap_servers=env.settings.kafka.servers, acks="all")
    try:
        for topic_key, key, value in items:
            name = getattr(env.settings.kafka.topics, topic_key).name
            producer.send(name, key=key.encode(), value=json.dumps(value, ensure_ascii=False).encode())
        producer.flush()
    finally:
        producer.close()


def post(message_id: str, text: str = LAWFUL) -> tuple[str, str, dict[str, Any]]:
    body = {
        "message_id": message_id, "service_type": "public_account", "kind": "post", "text": text,
        "published_at": datetime.now(UTC).isoformat(), "author_id": "author-1", "source_ip": "203.0.113.9",
        "account_id": "account-7",
        "platform": "wx.example",
    }  # fmt: skip
    return "posts", message_id, body


def report(
    report_id: str, message_id: str, reporter: str, reason: str, **extra: Any
) -> tuple[str, str, dict[str, Any]]:
    body = {
        "report_id": report_id, "message_id": message_id, "reporter_id": reporter, "reason": reason,
        "reported_at": extra.pop("reported_at", datetime.now(UTC)).isoformat(), "service_type": "public_account",
        "platform": "wx.example", **extra,
    }  # fmt: skip
    return "reports", message_id, body


def outcomes(env: PipelineEnv) -> dict[str, list[dict[str, Any]]]:
    by_report: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for _, value in env.read_all("report_outcomes", idle_s=1.0):
        by_report[value["report_id"]].append(value)
    return by_report


def outcomes_when(
    env: PipelineEnv, what: str, done: Callable[[dict[str, list[dict[str, Any]]]], bool], timeout_s: float = 120
) -> dict[str, list[dict[str, Any]]]:
    deadline = time.monotonic() + timeout_s
    while True:
        found = outcomes(env)
        if done(found):
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout_s}s ({len(found)} reports with outcomes)")


def finals(by_report: dict[str, list[dict[str, Any]]], report_id: str) -> list[dict[str, Any]]:
    return [o for o in by_report.get(report_id, []) if o["status"] != "received"]


def queue_doc(es: Elasticsearch, env: PipelineEnv, message_id: str) -> dict[str, Any] | None:
    try:
        source: dict[str, Any] = es.get(index=env.settings.elasticsearch.index, id=message_id)["_source"]
    except Exception:  # noqa: BLE001 - not there (yet)
        return None
    return source


def takedowns_of(env: PipelineEnv, message_id: str) -> list[dict[str, Any]]:
    return [v for k, v in env.read_all("takedowns", idle_s=1.0) if k == message_id.encode()]


def decide(env: PipelineEnv, message_id: str, outcome: DecisionOutcome, moderator: str, comment: str = "") -> None:
    """Through the review desk's decision path: claim the queue document, publish the decision."""
    store = QueueStore(env.settings)
    publisher = KafkaPublisher(env.settings)
    try:
        Decider(store, publisher, SystemClock()).decide(message_id, outcome, moderator, comment)
    finally:
        publisher.close()
        store.close()


def start(env: PipelineEnv) -> None:
    for step in (("storage", "init"), ("search", "init")):
        result = modpipe(env, *step)
        assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.obligation("L7")
def test_two_credible_reports_of_a_passed_message_reach_the_queue_and_a_confirmation_actions_both(
    pipeline_env: PipelineEnv,
) -> None:
    env = pipeline_env
    start(env)
    workers = [env.start_worker(MODERATION, "rep-moderation"), env.start_worker("reports", "rep-reports")]
    for worker in workers:
        worker.wait_assigned()
    # Two reporters whose past reports moderators confirmed: credibility (6 + 0.5 x 4) / (6 + 4) = 0.8 each.
    store = ReportStore(env.settings)
    try:
        store.save([(f"r:{rid}", ReporterDoc(rid, 6, 0, [f"old-{rid}-{i}" for i in range(6)]).body(), None)
                    for rid in ("rep-a", "rep-b")])  # fmt: skip
    finally:
        store.close()
    publish(env, [post("m-passed")])
    verdicts = eventually("the verdict", lambda: [v for k, v in env.read_all("verdicts") if k == b"m-passed"])
    assert verdicts[0]["action"] == "pass"
    publish(
        env, [report("r-1", "m-passed", "rep-a", "C2", detail="侮辱他人"), report("r-2", "m-passed", "rep-b", "C7")]
    )

    es = Elasticsearch(env.settings.elasticsearch.url)
    try:
        doc = eventually(
            "the reported item in the queue",
            lambda: (
                (d := queue_doc(es, env, "m-passed")) and d["moderation"].get("reports", {}).get("count") == 2 and d
            ),
        )
        m = doc["moderation"]
        assert m["status"] == "reported"
        assert doc["event"]["action"] == "pass"
        assert doc["message"] == LAWFUL
        assert sorted(m["reports"]["reasons"]) == ["C2", "C7"]
        assert sorted(doc["rule"]["category"]) == ["C2", "C7"]
        assert m["reports"]["open"] == 2
        assert m["reports"]["priority"] == pytest.approx(0.8 * 2.0 + 0.8 * 1.0)  # severities: C2 2, C7 1
        assert m["reports"]["suspected_campaign"] is False
        assert datetime.fromisoformat(m["reports"]["due_at"]) > datetime.now(UTC) + timedelta(hours=23)
        got = outcomes_when(env, "two received outcomes", lambda o: len(o) == 2)
        assert {o[0]["status"] for o in got.values()} == {"received"}
        # Reports alone take nothing down.
        assert takedowns_of(env, "m-passed") == []

        decide(env, "m-passed", DecisionOutcome.CONFIRMED, "mod-li")
        takedown = eventually("the takedown", lambda: takedowns_of(env, "m-passed"))
        assert takedown[0]["command"] == "takedown"
        assert takedown[0]["decided_by"] == "mod-li"
        got = outcomes_when(env, "two final outcomes", lambda o: all(finals(o, r) for r in ("r-1", "r-2")))
        for rid in ("r-1", "r-2"):
            (final,) = {json.dumps(f, sort_keys=True) for f in finals(got, rid)}
            value = json.loads(final)
            assert value["status"] == "actioned"
            assert value["category"] in ("C2", "C7")
            assert value["in_time"] is True
        status = eventually(
            "the confirmed status",
            lambda: (d := queue_doc(es, env, "m-passed")) and d["moderation"]["status"] == "confirmed",
        )
        assert status
    finally:
        es.close()


@pytest.mark.obligation("L7")
def test_a_campaign_of_thirty_fresh_accounts_is_flagged_takes_nothing_down_and_is_rejected(
    pipeline_env: PipelineEnv,
) -> None:
    env = pipeline_env
    start(env)
    workers = [env.start_worker(MODERATION, "camp-moderation"), env.start_worker("reports", "camp-reports")]
    for worker in workers:
        worker.wait_assigned()
    publish(env, [post("m-lawful")])
    eventually("the verdict", lambda: [v for k, v in env.read_all("verdicts") if k == b"m-lawful"])
    now = datetime.now(UTC)
    campaign = [
        report(f"c-{i:02d}", "m-lawful", f"fresh-{i:02d}", "C2",
               reported_at=now - timedelta(minutes=10) + timedelta(seconds=20 * i),
               reporter_created_at=(now - timedelta(days=1)).isoformat(), reporter_group_id="g-brigade")
        for i in range(30)
    ]  # fmt: skip
    publish(env, campaign)
    es = Elasticsearch(env.settings.elasticsearch.url)
    try:
        doc = eventually(
            "the flagged item",
            lambda: (
                (d := queue_doc(es, env, "m-lawful")) and d["moderation"].get("reports", {}).get("count") == 30 and d
            ),
        )
        reports = doc["moderation"]["reports"]
        assert doc["moderation"]["status"] == "reported"
        assert reports["suspected_campaign"] is True
        assert any("30 of 30 reporters have accounts younger than 7 days" in r for r in reports["screening"])
        assert any("suspected report campaign" in r for r in reports["screening"])
        # 30 suspects at 0.5 credibility x 2 (C2) x 0.1 (suspect weight): the queue ranks it low.
        assert reports["priority"] == pytest.approx(30 * 0.5 * 2.0 * 0.1)
        outcomes_when(env, "30 received outcomes", lambda o: len(o) == 30)
        assert takedowns_of(env, "m-lawful") == []

        decide(env, "m-lawful", DecisionOutcome.OVERTURNED, "mod-zhao", "lawful post, coordinated reports")
        got = outcomes_when(env, "30 final outcomes", lambda o: all(finals(o, f"c-{i:02d}") for i in range(30)))
        for i in range(30):
            (final,) = {json.dumps(f, sort_keys=True) for f in finals(got, f"c-{i:02d}")}
            value = json.loads(final)
            assert value["status"] == "rejected"
            assert value["suspected_campaign"] is True
            assert "suspected malicious report campaign" in value["reason"]
            assert value["screening"]["suspected_campaign"] is True
        eventually(
            "the overturned status",
            lambda: (d := queue_doc(es, env, "m-lawful")) and d["moderation"]["status"] == "overturned",
        )
        time.sleep(2)
        assert takedowns_of(env, "m-lawful") == [], "a report campaign never takes content down"
    finally:
        es.close()


@pytest.mark.obligation("L7")
@pytest.mark.slow
def test_each_report_gets_exactly_one_final_outcome_across_sigkill_and_restart(pipeline_env: PipelineEnv) -> None:
    env = pipeline_env
    start(env)
    reports_worker = env.start_worker("reports", "kill-reports-1")
    reports_worker.wait_assigned()
    messages = [f"k-{m:03d}" for m in range(40)]
    items = [report(f"kr-{m}-{i}", m, f"rep-{i}", "C2") for m in messages for i in range(3)]
    publish(env, items[:60])
    outcomes_when(env, "some received outcomes", lambda o: len(o) >= 10)
    reports_worker.stop(signal.SIGKILL)
    publish(env, items[60:])
    reports_worker = env.start_worker("reports", "kill-reports-2")
    reports_worker.wait_assigned()
    outcomes_when(env, "a received outcome per report", lambda o: len(o) == len(items))

    # The decisions, straight onto the decisions topic (the review desk's claim needs the verdict's item; these
    # reports wait for verdicts that never come, which the outcomes do not).
    decisions = []
    for n, m in enumerate(messages):
        outcome = "confirmed" if n % 2 == 0 else "overturned"
        decisions.append(("decisions", m, {
            "decision_id": f"d-{m}", "message_id": m, "outcome": outcome, "moderator": "mod-kill",
            "decided_at": datetime.now(UTC).isoformat(), "previous_action": "pass", "verdict_id": "",
            "service_type": "public_account", "categories": ["C2"] if outcome == "confirmed" else [],
        }))  # fmt: skip
    publish(env, decisions[:20])
    outcomes_when(env, "some final outcomes", lambda o: sum(1 for r in o if finals(o, r)) >= 5)
    reports_worker.stop(signal.SIGKILL)
    publish(env, decisions[20:])
    reports_worker = env.start_worker("reports", "kill-reports-3")
    reports_worker.wait_assigned()
    got = outcomes_when(
        env, "a final outcome per report", lambda o: all(finals(o, b["report_id"]) for _, _, b in items)
    )
    copies = 0
    for n, m in enumerate(messages):
        for i in range(3):
            rid = f"kr-{m}-{i}"
            distinct = {json.dumps(f, sort_keys=True) for f in finals(got, rid)}
            assert len(distinct) == 1, f"{rid}: {distinct}"
            assert json.loads(distinct.pop())["status"] == ("actioned" if n % 2 == 0 else "rejected")
            assert len({json.dumps(o, sort_keys=True) for o in got[rid] if o["status"] == "received"}) == 1
            copies += len(finals(got, rid))
    print(f"{len(items)} reports, {copies} final outcome messages (re-published copies identical)")
