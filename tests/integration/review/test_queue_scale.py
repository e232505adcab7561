"""A queue of 25,000 items on the real Elasticsearch-API server: paged to its end over the JSON API with cursors
(search_after in a point in time), old offsets past 10,000 still answered, stable while items change."""

from __future__ import annotations

import asyncio
import re
import time
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from modpipe.settings import Action, Settings
from review.desk.app import create_app
from review.queue import Claim, QueueSink, QueueStore, ensure_index
from tests.fixtures.review import PASSWORD
from tests.unit.review.factory import T0, make_verdict

N = 25_000


def seed_many(settings: Settings, n: int, prefix: str = "s", later: timedelta = timedelta(0)) -> list[str]:
    """n items, review and block alternating, one second apart; returns their ids in the default order."""
    ensure_index(settings)
    sink = QueueSink(settings, refresh=True)
    try:
        for start in range(0, n, 5000):
            for i in range(start, min(n, start + 5000)):
                action = Action.REVIEW if i % 2 == 0 else Action.BLOCK
                at = T0 + later + timedelta(seconds=i)
                sink.add(make_verdict(f"{prefix}{i:05d}", "出售枪支", action=action, published_at=at, terms={}))
            sink.flush()
    finally:
        sink.close()
    # Review items first, then blocks; within each by due time (verdict time + the action's due period).
    return [f"{prefix}{i:05d}" for i in range(0, n, 2)] + [f"{prefix}{i:05d}" for i in range(1, n, 2)]


async def _token(client: TestClient[Any, Any], name: str) -> dict[str, str]:
    resp = await client.post("/api/login", json={"username": name, "password": PASSWORD})
    return {"Authorization": f"Bearer {(await resp.json())['token']}"}


@pytest.mark.slow
@pytest.mark.timeout(900)  # seeding 25,000 documents alone takes a minute on a busy 2-core machine
def test_a_25000_item_queue_pages_to_its_end_and_stays_stable_while_items_change(rsettings: Settings) -> None:
    started = time.perf_counter()
    expected = seed_many(rsettings, N)
    seeded_s = time.perf_counter() - started
    store = QueueStore(rsettings)
    walked: list[str] = []
    late: list[str] = []
    timings: dict[str, float] = {}

    async def scenario(client: TestClient[Any, Any]) -> None:
        auth = await _token(client, "alice")
        t = time.perf_counter()
        params: dict[str, str] = {"size": "1000"}
        pages = 0
        while True:
            resp = await client.get("/api/items", params=params, headers=auth)
            assert resp.status == 200, await resp.text()
            body = await resp.json()
            assert body["total"] == N
            assert body["position"] == len(walked)
            walked.extend(i["id"] for i in body["items"])
            pages += 1
            if pages == 3:
                # While the walk goes on: another moderator claims an item further on, new items arrive. The walk
                # reads its snapshot: neither skips nor repeats anything, and the newcomers wait for the next walk.
                store.claim(store.get(expected[20_000]), Claim("d-x", "bob", "confirmed", "", T0))
                late.extend(seed_many(rsettings, 10, prefix="late", later=timedelta(days=1)))
            if body["next_cursor"] is None:
                break
            params = {"size": "1000", "cursor": body["next_cursor"]}
        timings["walk_s"] = time.perf_counter() - t
        timings["pages"] = pages

        # The first version's offsets past 10,000 work (walked with search_after), in the same order.
        # A new walk sees the claimed item gone and the newcomers at the end of their group.
        half = N // 2
        fresh = expected[:half] + late[:5] + [e for e in expected[half:] if e != expected[20_000]] + late[5:]
        for offset in (9990, 10_000, 24_990):
            body = await (await client.get("/api/items", params={"offset": str(offset)}, headers=auth)).json()
            assert [i["id"] for i in body["items"]] == fresh[offset : offset + 50]
            assert body["position"] == offset
        body = await (await client.get("/api/items", params={"offset": "40000"}, headers=auth)).json()
        assert (body["items"], body["next_cursor"], body["total"]) == ([], None, N - 1 + 10)

        # The HTML page too: /?offset=10000 shows items 10,001 to 10,050 and a next link that follows the cursor.
        await _sign_in_page(client, "bob")
        page = await (await client.get("/", params={"offset": "10000"})).text()
        shown = re.findall(r'data-id="([^"]+)"', page)
        assert len(shown) == 50
        assert '<span id="first">10001</span>' in page
        following = re.search(r'href="/\?([^"]*cursor=[^"]+)" rel="next"', page)
        assert following
        page = await (await client.get("/?" + following.group(1).replace("&amp;", "&"))).text()
        assert '<span id="first">10051</span>' in page

        bad = await client.get("/api/items", params={"cursor": "bm90IGEgY3Vyc29y"}, headers=auth)
        assert (bad.status, (await bad.json())["error"]) == (400, "bad_cursor")
        other = await client.get("/api/items", params={"cursor": params["cursor"], "sort": "score"}, headers=auth)
        assert other.status == 400

        # Bulk selection over the whole queue: every matching id from one snapshot.
        t = time.perf_counter()
        sel = await (await client.get("/api/selection", params={"action": "block"}, headers=auth)).json()
        timings["select_s"] = time.perf_counter() - t
        blocks = set(expected[N // 2 :]) - {expected[20_000]} | set(late[5:])
        assert (sel["count"], set(sel["ids"])) == (len(blocks), blocks)

    async def main() -> None:
        server = TestServer(create_app(rsettings, store=store))
        async with server, TestClient(server) as client:
            await scenario(client)

    try:
        asyncio.run(main())
    finally:
        store.close()
    assert walked == expected
    print(
        f"\n25,000-item queue: seeded in {seeded_s:.1f}s; walked in {timings['pages']:.0f} pages of 1000 in "
        f"{timings['walk_s']:.1f}s; selection of {N // 2} ids in {timings['select_s']:.2f}s"
    )


async def _sign_in_page(client: TestClient[Any, Any], name: str) -> None:
    page = await (await client.get("/login")).text()
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf
    resp = await client.post(
        "/login", data={"csrf": csrf.group(1), "username": name, "password": PASSWORD}, allow_redirects=False
    )
    assert resp.status == 303
