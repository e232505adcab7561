"""Issue 16, item 9: the Elasticsearch-API server stops mid-stream and comes back; documents it had acknowledged
may be lost (their offsets are committed by then). The queue worker's reconciler puts every review and block
verdict back from the records, within its interval."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch
from kafka import KafkaProducer

from modpipe.contracts import DecisionOutcome
from modpipe.settings import Action
from modpipe.stack import binaries
from modpipe.stack.health import elasticsearch_answers, free_port
from modpipe.stack.manager import StackInfo
from tests.fixtures.review import make_records_bucket
from tests.fixtures.workers import PipelineEnv
from tests.support import stack_overrides, topic_overrides
from tests.unit.review.factory import make_decision, make_verdict

INTERVAL_S = 8.0
ACTIONS = (Action.REVIEW, Action.BLOCK, Action.PASS)


class OwnSearchServer:
    """A noida-db of this test's own, so stopping it disturbs no other test."""

    def __init__(self, home: Path) -> None:
        self.port = free_port()
        self.home = home
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        argv = [
            str(binaries.noida_db()), "start", "--only", "elasticsearch", "--host", "127.0.0.1",
            "--elasticsearch-port", str(self.port), "--data-dir", str(self.home / "es"),
        ]  # fmt: skip
        with (self.home / "es.log").open("ab") as log:
            self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while elasticsearch_answers(self.url) is not None:
            assert self.proc.poll() is None, (self.home / "es.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "noida-db did not answer in 60s"
            time.sleep(0.2)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()


@pytest.fixture
def heal_env(stack: StackInfo, unique: str, tmp_path: Path) -> Iterator[tuple[PipelineEnv, OwnSearchServer]]:
    search = OwnSearchServer(tmp_path)
    search.start()
    overrides: dict[str, Any] = stack_overrides(stack, **topic_overrides(f"heal-{{topic}}-{unique}"))
    overrides.update({
        "worker.batch_size": 32, "records.batch_max_age_s": 1.0, "s3.records_bucket": f"heal-{unique}".lower()[:60],
        "elasticsearch.url": search.url, "elasticsearch.index": f"heal-{unique}".lower(),
        "elasticsearch.request_timeout_s": 10, "queue.reconcile_interval_s": INTERVAL_S,
    })  # fmt: skip
    env = PipelineEnv.made(overrides, tmp_path)
    make_records_bucket(env.settings)
    try:
        yield env, search
    finally:
        for worker in env.workers:
            worker.stop(signal.SIGKILL)
        search.kill()


def _queued_ids(es: Elasticsearch, index: str, ids: list[str]) -> set[str]:
    try:
        docs = es.mget(index=index, ids=ids, source_includes=["moderation.status"])["docs"]
    except Exception:  # noqa: BLE001 - the server coming back, or the index not there yet: nothing found
        return set()
    return {d["_id"] for d in docs if d.get("found")}


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_search_server_that_stops_mid_stream_costs_minutes_not_items(
    heal_env: tuple[PipelineEnv, OwnSearchServer],
) -> None:
    env, search = heal_env
    settings = env.settings
    topics = settings.kafka.topics
    worker = env.start_worker("records,queue", "heal-queue")
    worker.wait_assigned()
    producer = KafkaProducer(bootstrap_servers=settings.kafka.servers, acks="all")
    es = Elasticsearch(search.url, request_timeout=30)
    now = datetime.now(UTC)
    queued: list[str] = []

    def burst(n: int, first: int) -> None:
        for i in range(first, first + n):
            action = ACTIONS[i % 3]
            verdict = make_verdict(f"h{i:04d}", action=action, published_at=now - timedelta(minutes=30, seconds=i))
            producer.send(
                topics.verdicts.name, key=verdict.message_id.encode(), value=verdict.model_dump_json().encode()
            )
            if action is not Action.PASS:
                queued.append(verdict.message_id)
        producer.flush()

    try:
        burst(150, 0)
        decision = make_decision("h0001", DecisionOutcome.CONFIRMED).model_copy(
            update={"decided_at": now - timedelta(minutes=1), "previous_action": Action.BLOCK}
        )
        producer.send(topics.decisions.name, key=b"h0001", value=decision.model_dump_json().encode())
        burst(150, 150)
        time.sleep(2.0)  # the queue agent indexes and commits some of it ...
        search.kill()  # ... and the server stops without warning, mid-stream
        burst(150, 300)
        time.sleep(3.0)
        search.start()
        back = time.monotonic()
        burst(150, 450)
        index = settings.elasticsearch.index
        deadline = back + 4 * INTERVAL_S + 60
        found: set[str] = set()
        while time.monotonic() < deadline:
            found = _queued_ids(es, index, queued)
            if len(found) == len(queued):
                break
            time.sleep(0.5)
        healed_s = time.monotonic() - back
        missing = sorted(set(queued) - found)
        assert not missing, f"{len(missing)} of {len(queued)} not in the queue after {healed_s:.0f}s: {missing[:10]}"
        # Documents lost for another reason (an operator deleting them, a restored snapshot) heal the same way.
        lost = queued[::50]
        for message_id in lost:
            es.delete(index=index, id=message_id, refresh=True)
        t = time.monotonic()
        while _queued_ids(es, index, lost) != set(lost):
            assert time.monotonic() - t < INTERVAL_S + 30, "deleted documents not re-indexed"
            time.sleep(0.5)
        relost_s = time.monotonic() - t
        assert es.get(index=index, id="h0001")["_source"]["moderation"]["status"] == "confirmed"
        metrics = worker.metrics()
        reindexed = _counter(metrics, 'modpipe_queue_reconciled_total{kind="reindexed"}')
        assert reindexed >= len(lost)
        print(
            f"\nqueue healed: all {len(queued)} review/block items in the queue {healed_s:.1f}s after the search "
            f"server came back (reconciler interval {INTERVAL_S:.0f}s); {reindexed:.0f} documents re-indexed in all, "
            f"{len(lost)} deleted ones back in {relost_s:.1f}s"
        )
    finally:
        producer.close()
        es.close()


def _counter(metrics: str, name: str) -> float:
    for line in metrics.splitlines():
        if line.startswith(name):
            return float(line.rsplit(" ", 1)[1])
    return 0.0
