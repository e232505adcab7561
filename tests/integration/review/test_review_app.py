"""The review application in process, on the real Elasticsearch-API server and the real Kafka-protocol broker."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from modpipe.clock import FixedClock
from modpipe.contracts import Decision, DecisionOutcome
from modpipe.settings import Action, Settings
from review.desk import users
from review.desk.app import create_app
from review.desk.exceptions import PublishFailed
from review.queue import QueueSink, QueueStore, ensure_index
from tests.fixtures.review import PASSWORD
from tests.support import read_topic
from tests.unit.review.factory import T0, make_verdict

Scenario = Callable[[TestClient[Any, Any], TestClient[Any, Any]], Awaitable[None]]


def seed(settings: Settings) -> None:
    ensure_index(settings)
    sink = QueueSink(settings, refresh=True)
    try:
        sink.add(make_verdict("root", "今天的新闻大家怎么看", flagged=("C6",), terms={}, author="author-9"))
        sink.add(make_verdict("m1", "出售<枪支>弹药，私聊价格", parent_id="root"))
        later = T0 + timedelta(minutes=5)
        gambling = {"terms": {"赌博": "C7"}, "flagged": ("C7",), "action": Action.BLOCK, "published_at": later}
        sink.add(make_verdict("m2", "网络赌博平台，充值返利", **gambling))
        sink.add(make_verdict("m3", "办理假证件，包过", service_type="group", author="author-2"))
        sink.flush()
    finally:
        sink.close()


def run(settings: Settings, scenario: Scenario, **app_kwargs: Any) -> None:
    async def main() -> None:
        server = TestServer(create_app(settings, **app_kwargs))
        async with server, TestClient(server) as alice, TestClient(server) as bob:
            await scenario(alice, bob)

    asyncio.run(main())


async def sign_in(client: TestClient[Any, Any], name: str, password: str = PASSWORD) -> int:
    page = await (await client.get("/login")).text()
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf
    resp = await client.post(
        "/login", data={"csrf": csrf.group(1), "username": name, "password": password}, allow_redirects=False
    )
    return resp.status


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found
    return found.group(1)


def test_a_moderator_signs_in_filters_opens_and_confirms(rsettings: Settings) -> None:
    seed(rsettings)

    async def scenario(alice: TestClient[Any, Any], bob: TestClient[Any, Any]) -> None:
        resp = await alice.get("/", allow_redirects=False)
        assert (resp.status, resp.headers["Location"]) == (303, "/login")
        assert await sign_in(alice, "alice", "wrong password") == 401
        assert await sign_in(alice, "alice") == 303
        queue = await (await alice.get("/", params={"category": "C9"})).text()
        assert re.findall(r'data-id="([^"]+)"', queue) == ["m1", "m3"]
        queue = await (await alice.get("/", params={"service_type": "group"})).text()
        assert re.findall(r'data-id="([^"]+)"', queue) == ["m3"]
        resp = await alice.get("/items/m1")
        page = await resp.text()
        assert "default-src 'none'" in resp.headers["Content-Security-Policy"]
        assert '&lt;<mark class="hit cat-C9" title="C9 枪支">枪支</mark>&gt;' in page
        assert "今天的新闻大家怎么看" in page  # the item it replies to
        assert 'href="/items/m2"' in page  # the author's other flagged item
        resp = await alice.post("/items/m1/decision", data={"outcome": "confirmed"}, allow_redirects=False)
        assert resp.status == 403  # no CSRF token
        resp = await alice.post(
            "/items/m1/decision", data={"csrf": csrf_of(page), "outcome": "confirmed", "comment": "sells guns"},
            allow_redirects=False,
        )  # fmt: skip
        assert (resp.status, resp.headers["Location"]) == (303, "/items/m1?decided=1")
        page = await (await alice.get("/items/m1?decided=1")).text()
        assert "Your decision was recorded" in page
        assert "being carried out" in page

        assert await sign_in(bob, "bob") == 303
        page = await (await bob.get("/items/m1")).text()
        assert 'class="decide"' not in page  # already decided: no buttons

    run(rsettings, scenario)
    sent = read_topic(rsettings, rsettings.kafka.topics.decisions.name, want=1)
    assert len(sent) == 1
    key, value = sent[0]
    decision = Decision.model_validate(value)
    assert key == b"m1"
    assert (decision.outcome, decision.moderator, decision.comment) == (
        DecisionOutcome.CONFIRMED,
        "alice",
        "sells guns",
    )
    assert (decision.previous_action, decision.categories, decision.verdict_id) == (Action.REVIEW, ("C9",), "v-m1")
    store = QueueStore(rsettings)
    try:
        doc = store.get("m1").moderation
    finally:
        store.close()
    assert (doc["status"], doc["decided_by"], doc["decision_id"]) == ("pending", "alice", decision.decision_id)


def test_two_moderators_at_once_the_first_wins_and_the_second_is_told(rsettings: Settings) -> None:
    seed(rsettings)
    outcomes: list[tuple[int, dict[str, Any]]] = []

    async def scenario(alice: TestClient[Any, Any], bob: TestClient[Any, Any]) -> None:
        tokens = []
        for client, name in ((alice, "alice"), (bob, "bob")):
            resp = await client.post("/api/login", json={"username": name, "password": PASSWORD})
            tokens.append((await resp.json())["token"])
        calls = [
            client.post("/api/items/m2/decision", json={"outcome": outcome},
                        headers={"Authorization": f"Bearer {token}"})
            for client, token, outcome in ((alice, tokens[0], "confirmed"), (bob, tokens[1], "overturned"))
        ]  # fmt: skip
        for resp in await asyncio.gather(*calls):
            outcomes.append((resp.status, await resp.json()))

    run(rsettings, scenario)
    assert sorted(status for status, _ in outcomes) == [201, 409]
    winner = next(body["decision"] for status, body in outcomes if status == 201)
    told = next(body for status, body in outcomes if status == 409)
    assert told["error"] == "already_decided"
    assert told["decided_by"] == winner["moderator"]
    sent = read_topic(rsettings, rsettings.kafka.topics.decisions.name, want=2)
    assert [v["decision_id"] for _, v in sent] == [winner["decision_id"]]


def test_api_needs_a_session_and_the_json_api_lists_and_decides(rsettings: Settings) -> None:
    seed(rsettings)

    async def scenario(alice: TestClient[Any, Any], bob: TestClient[Any, Any]) -> None:
        assert (await alice.get("/api/items")).status == 401
        assert (await alice.post("/api/items/m3/decision", json={"outcome": "confirmed"})).status == 401
        resp = await alice.post("/api/login", json={"username": "alice", "password": "nope"})
        assert resp.status == 401
        token = (await (await alice.post("/api/login", json={"username": "alice", "password": PASSWORD})).json())[
            "token"
        ]
        auth = {"Authorization": f"Bearer {token}"}
        listing = await (await alice.get("/api/items", params={"action": "block"}, headers=auth)).json()
        assert [i["id"] for i in listing["items"]] == ["m2"]
        assert "tokens" not in listing["items"][0]["moderation"]
        item = await (await alice.get("/api/items/m1", headers=auth)).json()
        assert item["parent"]["id"] == "root"
        assert (await alice.get("/api/items", params={"status": "nope"}, headers=auth)).status == 400
        assert (await alice.get("/api/items/none", headers=auth)).status == 404
        bad = await alice.post("/api/items/m3/decision", json={"outcome": "maybe"}, headers=auth)
        assert bad.status == 400
        resp = await alice.post("/api/items/m3/decision", json={"outcome": "overturned", "comment": "ok"}, headers=auth)
        assert resp.status == 201
        # The same moderator again before the worker applied it (issue 16: it used to be re-sent, and answered 201
        # with the first outcome to a request for another): refused, naming the decision in flight.
        again = await alice.post("/api/items/m3/decision", json={"outcome": "confirmed"}, headers=auth)
        told = await again.json()
        assert (again.status, told["error"], told["in_flight"]) == (409, "already_decided", True)
        assert told["decision_id"] == (await resp.json())["decision"]["decision_id"]
        assert "in flight" in told["message"]
        await alice.post("/api/logout", headers=auth)
        assert (await alice.get("/api/items", headers=auth)).status == 401

    run(rsettings, scenario)


def test_sessions_expire_and_a_removed_account_is_signed_out(rsettings: Settings, tmp_path: Path) -> None:
    seed(rsettings)
    path = tmp_path / "users"
    users.set_password(path, "carol", PASSWORD)
    review = rsettings.review.model_copy(update={"users_file": str(path)})
    settings = rsettings.model_copy(update={"review": review})
    clock = FixedClock(T0)

    async def scenario(carol: TestClient[Any, Any], dave: TestClient[Any, Any]) -> None:
        assert await sign_in(carol, "carol") == 303
        assert (await carol.get("/", allow_redirects=False)).status == 200
        clock.advance(timedelta(seconds=settings.review.session_ttl_s))
        assert (await carol.get("/", allow_redirects=False)).status == 303
        assert await sign_in(carol, "carol") == 303
        users.remove(path, "carol")
        assert (await carol.get("/", allow_redirects=False)).status == 303
        assert await sign_in(carol, "carol") == 401

    run(settings, scenario, clock=clock)


class BrokerDown:
    def publish(self, decision: Decision) -> None:
        raise PublishFailed("broker unavailable (injected)")

    def close(self) -> None:
        pass


def test_a_decision_that_cannot_be_published_releases_its_claim(rsettings: Settings) -> None:
    seed(rsettings)

    async def scenario(alice: TestClient[Any, Any], bob: TestClient[Any, Any]) -> None:
        token = (await (await alice.post("/api/login", json={"username": "alice", "password": PASSWORD})).json())[
            "token"
        ]
        resp = await alice.post(
            "/api/items/m1/decision", json={"outcome": "confirmed"}, headers={"Authorization": f"Bearer {token}"}
        )
        assert resp.status == 503
        assert (await resp.json())["error"] == "publish_failed"

    run(rsettings, scenario, publisher=BrokerDown())
    store = QueueStore(rsettings)
    try:
        item = store.get("m1")
    finally:
        store.close()
    assert not item.claimed  # open again for anyone


def test_twenty_concurrent_decisions_on_one_item_publish_exactly_one(rsettings: Settings) -> None:
    """Issue 16: under 20 concurrent decisions from two moderators the loser's decision was published 7 times."""
    seed(rsettings)
    outcomes: list[tuple[int, dict[str, Any]]] = []

    async def scenario(alice: TestClient[Any, Any], bob: TestClient[Any, Any]) -> None:
        calls = []
        for client, name, outcome in ((alice, "alice", "confirmed"), (bob, "bob", "overturned")):
            resp = await client.post("/api/login", json={"username": name, "password": PASSWORD})
            auth = {"Authorization": f"Bearer {(await resp.json())['token']}"}
            calls += [
                client.post("/api/items/m2/decision", json={"outcome": outcome, "comment": f"{name} {n}"}, headers=auth)
                for n in range(10)
            ]
        for resp in await asyncio.gather(*calls):
            outcomes.append((resp.status, await resp.json()))

    run(rsettings, scenario)
    statuses = sorted(status for status, _ in outcomes)
    assert statuses == [201] + [409] * 19
    winner = next(body["decision"] for status, body in outcomes if status == 201)
    refused = [body for status, body in outcomes if status == 409]
    assert {(b["decided_by"], b["decision_id"]) for b in refused} == {(winner["moderator"], winner["decision_id"])}
    sent = read_topic(rsettings, rsettings.kafka.topics.decisions.name, idle_s=3.0)
    # One decision on the topic: the decisions agent makes one command of it and the records agent one record.
    assert [(k, v["decision_id"], v["comment"]) for k, v in sent] == [(b"m2", winner["decision_id"], winner["comment"])]
