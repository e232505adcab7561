"""The context around an item on the real servers: the records in S3 (every message, passed ones too) and the
queue on noida-db; read through the desk's JSON API and page."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from modpipe.settings import Action, Settings, load_settings
from modpipe.stack.manager import StackInfo
from review.queue import QueueSink, ensure_index
from tests.fixtures.review import (
    drop_queue,
    make_records_bucket,
    records_overrides,
    review_overrides,
    store_records,
)
from tests.integration.review.test_review_app import run, sign_in
from tests.unit.review.factory import T0, make_verdict


def _passed(message_id: str, text: str, at_min: float, **kw: Any) -> Any:
    return make_verdict(message_id, text, action=Action.PASS, flagged=(), terms={}, published_at=T0 + timedelta(
        minutes=at_min), **kw)  # fmt: skip


def test_context_of_a_reply_and_of_a_group_message(stack: StackInfo, unique: str, users_file: Any) -> None:
    settings: Settings = load_settings(
        environ={}, overrides=review_overrides(stack, unique, users_file) | records_overrides(unique)
    )
    make_records_bucket(settings)
    # A thread: the post (passed, long before: outside the hours read around the reply), seven replies.
    root = _passed("t-root", "周末去爬山吗", -300, author="poster")
    flagged_reply = make_verdict("t-r0", "出售枪支弹药，私聊价格", parent_id="t-root", published_at=T0)
    replies = [_passed(f"t-r{i}", f"回复 {i}", i, parent_id="t-root", author=f"u{i}") for i in range(1, 8)]
    # A group chat around a flagged message, and one message of another group at the same time.
    chat = [
        _passed(f"g-{i}", f"群消息 {i}", 10 + i, kind="group_message", group_id="grp-1", service_type="group",
                author="author-1" if i == 2 else f"m{i}")
        for i in (1, 2, 4, 5)
    ]  # fmt: skip
    flagged_chat = make_verdict(
        "g-3", "办理假证件，包过", service_type="group", kind="group_message", group_id="grp-1",
        published_at=T0 + timedelta(minutes=13), terms={"证件": "C9"},
    )  # fmt: skip
    other_group = _passed(
        "g-x", "别的群", 13, kind="group_message", group_id="grp-2", service_type="group", author="m9"
    )
    # The author's own earlier message in the group, also flagged: queued, so shown with its queue status.
    flagged_earlier = make_verdict(
        "g-0", "高仿证件", service_type="group", kind="group_message", group_id="grp-1",
        published_at=T0 + timedelta(minutes=5), terms={"证件": "C9"},
    )  # fmt: skip
    everything = [root, flagged_reply, *replies, *chat, flagged_chat, other_group, flagged_earlier]
    store_records(settings, everything, T0 + timedelta(hours=2))
    ensure_index(settings)
    sink = QueueSink(settings, refresh=True)
    try:
        for v in (flagged_reply, flagged_chat, flagged_earlier):
            sink.add(v)
        sink.flush()
    finally:
        sink.close()

    async def scenario(alice: TestClient[Any, Any], _bob: TestClient[Any, Any]) -> None:
        assert await sign_in(alice, "alice") == 303
        body = await (await alice.get("/api/items/t-r0")).json()
        ctx = body["context"]
        assert body["parent"] is None  # not in the queue
        assert ctx["parent"]["message_id"] == "t-root"
        assert (ctx["parent"]["text"], ctx["parent"]["action"], ctx["parent"]["queued"]) == (
            "周末去爬山吗",
            "pass",
            False,
        )
        assert [n["message_id"] for n in ctx["siblings"]] == [
            "t-r1",
            "t-r2",
            "t-r3",
            "t-r4",
            "t-r5",
        ]  # bounded, by time
        assert {n["action"] for n in ctx["siblings"]} == {"pass"}
        assert ctx["group_id"] is None
        assert (ctx["before"], ctx["after"]) == ([], [])
        assert ctx["records_error"] is None
        page = await (await alice.get("/items/t-r0")).text()
        for shown in ("周末去爬山吗", "from the records", 'data-id="t-r5"'):
            assert shown in page

        ctx = (await (await alice.get("/api/items/g-3")).json())["context"]
        assert [n["message_id"] for n in ctx["before"]] == ["g-0", "g-1", "g-2"]
        assert [n["message_id"] for n in ctx["after"]] == ["g-4", "g-5"]
        queued = {n["message_id"]: (n["queued"], n["status"], n["action"]) for n in ctx["before"]}
        assert queued["g-0"] == (True, "pending", "review")
        assert queued["g-1"] == (False, "", "pass")
        # The author's other messages of those hours, newest first (t-r0 is the same author, on the forum).
        assert [n["message_id"] for n in ctx["author"]] == ["g-2", "g-0"]

    try:
        run(settings, scenario)
    finally:
        drop_queue(settings)
