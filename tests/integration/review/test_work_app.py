"""Issue 16 items 2 and 3 through the review application in process, on the real Elasticsearch-API server and Kafka
broker: claims on opening an item, work mode per moderator, skip, the senior's assignment, bulk decisions with
per-item failures, and the claims in the audit trail."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from modpipe.settings import Settings
from review.desk import users
from review.desk.app import audit_path
from review.desk.roles import Role
from tests.fixtures.review import PASSWORD
from tests.integration.review.test_review_app import csrf_of, run, seed, sign_in
from tests.support import read_topic


def _staff(rsettings: Settings, tmp_path: Path) -> Settings:
    path = tmp_path / "users"
    for name, role in (("alice", Role.MODERATOR), ("bob", Role.MODERATOR), ("sen", Role.SENIOR)):
        users.set_password(path, name, PASSWORD, role)
    review = rsettings.review.model_copy(update={"users_file": str(path), "audit_file": str(tmp_path / "audit.jsonl")})
    return rsettings.model_copy(update={"review": review})


def _item_of(location: str) -> str:
    found = re.match(r"^/items/([^?]+)\?work=", location)
    assert found, location
    return found.group(1)


def test_work_mode_claims_skips_assignments_and_bulk_decisions(rsettings: Settings, tmp_path: Path) -> None:
    settings = _staff(rsettings, tmp_path)
    seed(settings)

    async def scenario(alice: TestClient[Any, Any], bob: TestClient[Any, Any]) -> None:
        assert await sign_in(alice, "alice") == 303
        assert await sign_in(bob, "bob") == 303
        listing = await (await alice.get("/")).text()
        order = re.findall(r'<tr data-id="([^"]+)"', listing)
        assert order[-1] == "m2"  # default order: review items (still online) before the machine block
        assert 'id="work-start"' in listing
        assert 'id="shortcuts"' in listing
        assert '<mark class="hit cat-C9"' in listing  # the evidence, highlighted in the list
        csrf_a = csrf_of(listing)

        async def work(client: TestClient[Any, Any], csrf: str, filters: str = "") -> str:
            resp = await client.post("/work", data={"csrf": csrf, "filters": filters}, allow_redirects=False)
            assert resp.status == 303, await resp.text()
            return str(resp.headers["Location"])

        first = _item_of(await work(alice, csrf_a))
        assert first == order[0]
        page = await (await alice.get(f"/items/{first}?work=status%3Dpending")).text()
        assert "You have this item until" in page
        assert 'name="work"' in page
        assert 'id="skip"' in page
        csrf_b = csrf_of(await (await bob.get("/")).text())
        second = _item_of(await work(bob, csrf_b))
        assert second == order[1]  # alice holds the first one
        page = await (await bob.get(f"/items/{first}")).text()
        assert "Claimed by alice" in page
        listing = await (await bob.get("/")).text()
        assert re.search(rf'data-id="{first}".*?<span class="holder"[^>]*>alice</span>', listing)

        # Alice decides in work mode: the answer opens her next item (not bob's).
        resp = await alice.post(
            f"/items/{first}/decision", data={"csrf": csrf_a, "outcome": "confirmed", "work": "status=pending"},
            allow_redirects=False,
        )  # fmt: skip
        third = _item_of(resp.headers["Location"])
        assert third == order[2]
        # She skips it: released, and she gets the next free one (the block m2).
        resp = await alice.post(f"/items/{third}/skip", data={"csrf": csrf_a, "work": "status=pending"},
                                allow_redirects=False)  # fmt: skip
        assert _item_of(resp.headers["Location"]) == "m2"

        # A senior assigns bob the C7 queue: bob's work mode draws from it whatever his screen filters.
        sen = await alice.post("/api/login", json={"username": "sen", "password": PASSWORD})
        sen_auth = {"Authorization": f"Bearer {(await sen.json())['token']}"}
        resp = await alice.post("/assignments", json={"moderator": "bob", "category": "C7"}, headers=sen_auth)
        assert resp.status == 200, await resp.text()
        assert "C7" in await (await bob.get("/")).text()
        # m2 (C7) is alice's for now: bob's assigned queue has nothing free.
        assert (await work(bob, csrf_b, "category=C9")).startswith("/?category=C9&worked=1")
        resp = await alice.post("/assignments", json={"moderator": "bob"}, headers=sen_auth)
        assert (await resp.json())["queue"] == ""

        # Bulk: one reason for all; each item its own decision; an item decided already is reported, not re-sent.
        resp = await bob.post("/api/bulk", json={"ids": [third, "m2"], "outcome": "overturned"},
                              headers={"X-CSRF-Token": csrf_b})  # fmt: skip
        assert resp.status == 400  # no reason
        resp = await bob.post(
            "/api/bulk", json={"ids": [third, "m2", first, "nope"], "outcome": "overturned", "comment": "news report"},
            headers={"X-CSRF-Token": csrf_b},
        )  # fmt: skip
        body = await resp.json()
        assert resp.status == 200, body
        assert body["decided"] == 2
        assert sorted(body["ids"]) == sorted([third, "m2"])
        assert set(body["failed"]) == {first, "nope"}
        assert "alice" in body["failed"][first]
        # Without JavaScript: the ticked rows posted as a form answer a page with the same report.
        resp = await bob.post("/bulk", data={"csrf": csrf_b, "ids": first, "outcome": "confirmed", "comment": "again"})
        page = await resp.text()
        assert resp.status == 200
        assert "0 decided, 1 not decided" in page
        assert "by alice" in page

    run(settings, scenario)
    sent = read_topic(settings, settings.kafka.topics.decisions.name, want=3)
    assert sorted((v["moderator"], v["outcome"]) for _, v in sent) == [
        ("alice", "confirmed"),
        ("bob", "overturned"),
        ("bob", "overturned"),
    ]
    events = [json.loads(line) for line in audit_path(settings).read_text().splitlines()]
    kinds = [(e["event"], e["who"]) for e in events if e["event"] not in ("login", "login_failed")]
    assert ("claim", "alice") in kinds
    assert ("claim", "bob") in kinds
    assert ("claim_released", "alice") in kinds
    assert ("assign", "sen") in kinds
    bulk = [e for e in events if e["event"] == "decision" and e.get("via") == "bulk"]
    assert len(bulk) == 2
    assert {e["comment"] for e in bulk} == {"news report"}
    refused = [e for e in events if e["event"] == "decision_refused" and e.get("via") == "bulk"]
    assert [e["decided_by"] for e in refused] == ["alice", "alice"]  # m1 through the API, then the form
