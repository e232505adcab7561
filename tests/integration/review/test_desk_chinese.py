"""The desk as it ships (issue 16, "Chinese first"): zh-CN pages with <html lang="zh-CN">, category names from
categories.yaml, every time in the one configured zone with its offset, Chinese errors; the JSON API keeps ISO
times with their offset; review.language=en gives the English source."""

from __future__ import annotations

import re
from typing import Any

from aiohttp.test_utils import TestClient

from modpipe.settings import Settings
from tests.integration.review.test_review_app import csrf_of, run, seed, sign_in


def test_the_desk_speaks_chinese_by_default_and_shows_shanghai_time(rsettings: Settings) -> None:
    seed(rsettings)
    chinese = rsettings.model_copy(update={"review": rsettings.review.model_copy(update={"language": "zh-CN"})})
    c9 = chinese.categories["C9"].name_zh

    async def scenario(alice: TestClient[Any, Any], bob: TestClient[Any, Any]) -> None:
        login = await (await alice.get("/login")).text()
        assert '<html lang="zh-CN">' in login
        assert "<h1>登录</h1>" in login
        assert await sign_in(alice, "alice", "wrong password") == 401
        assert await sign_in(alice, "alice") == 303
        queue = await (await alice.get("/")).text()
        assert "<h1>审核队列</h1>" in queue
        assert "开始时间 (Asia/Shanghai +08:00)" in queue
        assert f'<span class="cat" title="C9">{c9}</span>' in queue
        # The dense list shows when each item is due, to the minute, in Beijing time with its offset.
        assert re.search(r'<time datetime="[^"]+">\d{4}-\d\d-\d\d \d\d:\d\d \+08:00</time>', queue)
        assert "UTC" not in queue
        assert ">待复核</span>" in queue
        # A time typed in the filter without an offset is a Beijing time too: m2 was published five minutes after
        # the others, at 16:05 +08:00 (read as UTC, 16:04 would be hours after every item).
        since = await (await alice.get("/", params={"since": "2026-11-23T16:04"})).text()
        assert re.findall(r'data-id="([^"]+)"', since) == ["m2"]
        page = await (await alice.get("/items/m1")).text()
        assert "<h2>类别得分</h2>" in page
        # m1 was published at 2026-11-23T08:00Z (tests.unit.review.factory.T0): 16:00 in Beijing.
        assert re.search(r'<time datetime="2026-11-23T08:00:00[^"]*">2026-11-23 16:00:00 \+08:00</time>', page)
        resp = await alice.post(
            "/items/m1/decision", data={"csrf": csrf_of(page), "outcome": "confirmed"}, allow_redirects=False
        )
        assert resp.status == 303
        page = await (await alice.get("/items/m1?decided=1")).text()
        assert "您的处理决定已记录并提交执行。" in page
        missing = await alice.get("/items/nope")
        assert missing.status == 404
        assert "队列中没有内容 nope。" in await missing.text()
        api = await (await alice.get("/api/items", params={"status": "all"})).json()
        stamps = [item["@timestamp"] for item in api["items"]]
        assert stamps
        assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", s) for s in stamps)

    run(chinese, scenario)


def test_the_english_setting(rsettings: Settings) -> None:
    seed(rsettings)
    assert rsettings.review.language == "en"  # tests.fixtures.review

    async def scenario(alice: TestClient[Any, Any], bob: TestClient[Any, Any]) -> None:
        assert await sign_in(alice, "alice") == 303
        queue = await (await alice.get("/")).text()
        assert '<html lang="en">' in queue
        assert "<h1>Moderation queue</h1>" in queue
        assert "From (Asia/Shanghai +08:00)" in queue
        assert re.search(r'<time datetime="[^"]+">\d{4}-\d\d-\d\d \d\d:\d\d \+08:00</time>', queue)
        assert '<span class="cat" title="C9">other_illegal</span>' in queue
        page = await (await alice.get("/items/m1")).text()
        assert "2026-11-23 16:00:00 +08:00" in page

    run(rsettings, scenario)
