"""Issue 16 item 8, end to end on the real servers: machine verdicts on the verdicts topic -> the queue worker draws
its share into the QA queue -> moderators answer on the desk -> the dashboard and the worker's metrics give the
precision and miss-rate estimates with their Wilson intervals."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from elasticsearch import Elasticsearch

from modpipe.contracts import Verdict
from modpipe.settings import Action
from modpipe.stack.manager import StackInfo
from review.desk import users
from review.desk.roles import Role
from review.queue.qa import NO_VIOLATION, is_sampled, stratum_category, wilson
from review.queue.qa_store import qa_index
from tests.fixtures.review import PASSWORD, drop_queue, review_overrides
from tests.fixtures.workers import PipelineEnv
from tests.integration.review.test_review_app import csrf_of, run, sign_in
from tests.support import send_verdicts
from tests.unit.review.factory import make_verdict

STAFF = {"mod": Role.MODERATOR, "mod2": Role.MODERATOR, "sen": Role.SENIOR, "aud": Role.AUDITOR, "adm": Role.ADMIN}
N = 240


@pytest.fixture
def qa_env(stack: StackInfo, unique: str, tmp_path: Path) -> Iterator[PipelineEnv]:
    path = tmp_path / "users"
    for name, role in STAFF.items():
        users.set_password(path, name, PASSWORD, role)
    overrides: dict[str, Any] = review_overrides(stack, unique, path)
    overrides.update({
        "review.audit_file": str(tmp_path / "audit.jsonl"),
        "review.qa_sample.pass": 0.25, "review.qa_sample.block": 0.25, "review.qa_sample.categories.C7.block": 1.0,
        "review.qa_sample.metrics_interval_s": 1.0, "queue.reconcile_interval_s": 3600,
        "worker.batch_size": 64, "worker.batch_timeout_s": 0.5,
    })  # fmt: skip
    env = PipelineEnv.made(overrides, tmp_path)
    try:
        yield env
    finally:
        env.close()
        drop_queue(env.settings)  # the QA index too


def _verdicts(now: datetime) -> list[Verdict]:
    out = []
    for i in range(N):
        category = ("C7", "C9")[i // 2 % 2]
        at = now - timedelta(hours=1, seconds=i)
        if i % 2:
            out.append(make_verdict(f"qa{i:03d}", action=Action.BLOCK, flagged=(category,), published_at=at))
        else:
            scores = {"C7": 0.1, "C9": 0.05, category: 0.3}
            out.append(make_verdict(f"qa{i:03d}", action=Action.PASS, flagged=(), scores=scores, published_at=at))
    # The tagger's own verdicts only: a gate block (a barred author) and a review are never drawn.
    barred = make_verdict("qa-gate", action=Action.BLOCK, flagged=("C7",), published_at=now)
    out.append(barred.model_copy(update={"gate": "author_blacklisted"}))
    out.append(make_verdict("qa-review", action=Action.REVIEW, flagged=("C7",), published_at=now))
    return out


def _truth(verdict: Verdict) -> str:
    """The label the test's moderators give: some blocks are wrong, some passes missed a violation."""
    i = int(verdict.message_id[2:])
    if verdict.action is Action.BLOCK:
        return NO_VIOLATION if i % 3 == 0 else stratum_category(verdict)
    return "C7" if i % 5 == 0 else NO_VIOLATION


def _qa_ids(es: Elasticsearch, index: str) -> set[str]:
    if not es.indices.exists(index=index):
        return set()
    es.indices.refresh(index=index)
    res = es.search(index=index, size=1000, source=False, query={"match_all": {}})
    return {h["_id"] for h in res["hits"]["hits"]}


def _metric(text: str, name: str, **labels: str) -> float | None:
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith(f"{name}{{{wanted}}} "):
            return float(line.rsplit(" ", 1)[1])
    return None


def _wait(what: str, check: Any, timeout_s: float = 120) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        got = check()
        if got:
            return got
        assert time.monotonic() < deadline, f"{what}: not within {timeout_s:.0f}s"
        time.sleep(0.3)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_verdicts_to_qa_queue_to_answers_to_dashboard_and_metrics(qa_env: PipelineEnv) -> None:
    settings = qa_env.settings
    sampling = settings.review.qa_sample
    now = datetime.now(UTC)
    verdicts = _verdicts(now)
    drawn = [v for v in verdicts if is_sampled(v, sampling)]
    by_id = {v.verdict_id: v for v in drawn}
    c7_blocks = [v for v in verdicts if v.action is Action.BLOCK and v.gate is None and "C7" in v.flagged]
    assert all(v in drawn for v in c7_blocks)  # C7's own block share is 1
    assert 60 < len(drawn) < 130

    worker = qa_env.start_worker("queue", "qa-queue")
    worker.wait_assigned()
    send_verdicts(settings, verdicts)
    es = Elasticsearch(settings.elasticsearch.url, request_timeout=30)
    index = qa_index(settings)
    try:
        _wait("the drawn verdicts in the QA queue", lambda: _qa_ids(es, index) == set(by_id))
        assert es.get(index=index, id=drawn[0].verdict_id)["_source"]["status"] == "open"

        answers: dict[str, str] = {}

        async def scenario(mod: TestClient[Any, Any], other: TestClient[Any, Any]) -> None:
            token = await _token(mod, "mod")
            auth = {"Authorization": f"Bearer {token}"}
            listed = await (await mod.get("/api/qa/items", params={"limit": "100"}, headers=auth)).json()
            assert {i["id"] for i in listed["items"]} == set(by_id)
            assert all("action" not in i and "scores" not in i and "category" not in i for i in listed["items"])
            bad = await mod.post(f"/api/qa/items/{drawn[0].verdict_id}/answer", json={"label": "C99"}, headers=auth)
            assert bad.status == 400
            assert "none" in (await bad.json())["message"]
            # All but one through the API; the last one through the page form.
            for v in drawn[:-1]:
                resp = await mod.post(f"/api/qa/items/{v.verdict_id}/answer", json={"label": _truth(v)}, headers=auth)
                assert resp.status == 200, await resp.text()
                body = await resp.json()
                assert body["judged"] == ("correct" if (_truth(v) != NO_VIOLATION) == (v.action is Action.BLOCK)
                                          else "wrong")  # fmt: skip
                answers[v.verdict_id] = _truth(v)
            again = await mod.post(f"/api/qa/items/{drawn[0].verdict_id}/answer", json={"label": "C7"}, headers=auth)
            assert again.status == 409
            assert (await again.json())["answered_by"] == "mod"

            assert await sign_in(other, "mod2") == 303
            page = await (await other.get("/qa")).text()
            last = drawn[-1]
            assert f'data-id="{last.verdict_id}"' in page
            assert "Open QA items" in page
            form = {"csrf": csrf_of(page), "label": _truth(last)}
            resp = await other.post(f"/qa/items/{last.verdict_id}/answer", data=form, allow_redirects=False)
            assert resp.status == 303, await resp.text()
            answers[last.verdict_id] = _truth(last)
            page = await (await other.get(resp.headers["Location"])).text()
            assert "Recorded." in page
            assert "Nothing to judge" in page
            assert (await other.get("/qa/dashboard")).status == 403  # a moderator judges, does not oversee

            aud = await _token(other, "aud")
            dash = await (await other.get("/api/qa/dashboard", headers={"Authorization": f"Bearer {aud}"})).json()
            got = {(s["action"], s["category"]): s for s in dash["strata"]}
            assert set(got) == {(v.action.value, stratum_category(v)) for v in drawn}
            for (action, category), s in got.items():
                members = [v for v in drawn if v.action.value == action and stratum_category(v) == category]
                wrong = [v for v in members if (answers[v.verdict_id] != NO_VIOLATION) != (v.action is Action.BLOCK)]
                hits = len(members) - len(wrong) if action == "block" else len(wrong)
                expected = wilson(hits, len(members))
                measure = s["precision"] if action == "block" else s["miss_rate"]
                assert (s["sampled"], s["answered"], s["wrong"]) == (len(members), len(members), len(wrong))
                assert (measure["hits"], measure["n"]) == (hits, len(members))
                assert measure["low"] == pytest.approx(expected.low)
                assert measure["high"] == pytest.approx(expected.high)
            for role in ("sen", "adm"):
                token = await _token(other, role)
                assert (
                    await other.get("/api/qa/dashboard", headers={"Authorization": f"Bearer {token}"})
                ).status == 200
            assert (await other.get("/api/qa/items", headers={"Authorization": f"Bearer {aud}"})).status == 403
            assert (await mod.get("/api/qa/dashboard", headers=auth)).status == 403

            assert await sign_in(other, "aud") == 303
            html = await (await other.get("/qa/dashboard")).text()
            c7 = got[("block", "C7")]["precision"]
            assert re.search(r'data-category="C7"', html)
            assert f"{100 * c7['estimate']:.1f}%" in html

        run(settings, scenario)

        # The worker's metrics carry the same figures.
        c7 = [v for v in drawn if v.action is Action.BLOCK and stratum_category(v) == "C7"]
        right = sum(answers[v.verdict_id] != NO_VIOLATION for v in c7)
        expected = wilson(right, len(c7))

        def exported() -> bool:
            text = worker.metrics()
            point = _metric(text, "modpipe_qa_estimate", measure="precision", category="C7", bound="point")
            low = _metric(text, "modpipe_qa_estimate", measure="precision", category="C7", bound="low")
            return point == pytest.approx(expected.point) and low == pytest.approx(expected.low)

        _wait("the estimates in the worker's metrics", exported, timeout_s=60)
        text = worker.metrics()
        sampled = sum(
            _metric(text, "modpipe_qa_sampled_total", action=a, category=c) or 0
            for a in ("pass", "block") for c in ("C7", "C9")
        )  # fmt: skip
        assert sampled == len(drawn)

        # A replay draws the same verdicts again and keeps every answer (an update that changes nothing).
        send_verdicts(settings, drawn[:10])

        def replayed() -> bool:
            text = worker.metrics()
            total = sum(
                _metric(text, "modpipe_qa_sampled_total", action=a, category=c) or 0
                for a in ("pass", "block") for c in ("C7", "C9")
            )  # fmt: skip
            # Done = flushed to the QA index and the queue, the outputs acknowledged.
            done = _metric(text, "modpipe_messages_done_total", agent="queue") or 0
            return total == len(drawn) + 10 and done == len(verdicts) + 10

        _wait("the replay taken in and written", replayed, timeout_s=60)
        assert _qa_ids(es, index) == set(by_id)
        for v in drawn[:10]:
            doc = es.get(index=index, id=v.verdict_id)["_source"]
            assert doc["status"] == "answered"
            assert doc["answer"]["label"] == answers[v.verdict_id]
        print(
            f"\nQA sampling: {len(drawn)} of {len(verdicts)} verdicts drawn, answered, and C7 block precision "
            f"{expected.point:.2f} [{expected.low:.2f}, {expected.high:.2f}] on the dashboard and in the metrics"
        )
    finally:
        es.close()


async def _token(client: TestClient[Any, Any], name: str) -> str:
    resp = await client.post("/api/login", json={"username": name, "password": PASSWORD})
    assert resp.status == 200, await resp.text()
    return str((await resp.json())["token"])
