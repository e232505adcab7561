"""Issue 16 items 2 and 3 in headless Chromium on the real servers: the dense list at 1920×1080, the shortcuts, a
moderator working 50 items with the keyboard alone (the time per decision is printed), a colleague seeing who holds
an item, and bulk decisions: 100 ticked rows (click + shift-click) confirmed with one reason, and "select all
matching" (/api/selection) overturned.

The queue is seeded by bulk-indexing verdicts (the test is about the desk, not the workers); the review page is the
real `modpipe review serve`; every decision is read back from the decisions topic.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from modpipe.settings import Action, Settings, load_settings
from modpipe.stack.health import free_port
from modpipe.stack.manager import StackInfo
from review.queue import QueueSink
from tests.fixtures.browser import chromium, sign_in_page
from tests.fixtures.review import PASSWORD, desk_process, drop_queue, review_overrides
from tests.support import read_topic
from tests.unit.review.factory import T0, make_verdict

pytestmark = [pytest.mark.browser, pytest.mark.integration]
WORKED, BULK, ALL = 51, 100, 12  # 51 to work (one is skipped), 100 to tick, 12 for "select all matching"


@pytest.fixture
def desk(stack: StackInfo, unique: str, tmp_path: Path) -> Iterator[tuple[Settings, str]]:
    from review.desk import users

    users_file = tmp_path / "users"
    for name in ("alice", "bob"):
        users.set_password(users_file, name, PASSWORD)
    overrides = review_overrides(stack, unique, users_file)
    overrides["review.port"] = free_port()
    settings = load_settings(environ={}, overrides=overrides)
    try:
        with desk_process(overrides, tmp_path / "review.log") as base:
            yield settings, base
    finally:
        drop_queue(settings)


def _seed(settings: Settings) -> None:
    sink = QueueSink(settings, refresh=True)
    try:
        for i in range(WORKED):
            sink.add(
                make_verdict(
                    f"w{i:03d}", f"第{i}号帖子：出售枪支弹药，私聊价格", published_at=T0 + timedelta(seconds=i)
                )
            )
        for i in range(BULK):
            sink.add(
                make_verdict(
                    f"b{i:03d}",
                    f"网络赌博平台{i}，充值返利",
                    flagged=("C7",),
                    terms={"赌博": "C7"},
                    action=Action.BLOCK,
                    service_type="group",
                    published_at=T0 + timedelta(seconds=i),
                )
            )
        for i in range(ALL):
            sink.add(make_verdict(f"a{i:03d}", f"毒品交易{i}，货到付款", flagged=("C4",), terms={"毒品": "C4"},
                                  service_type="group", published_at=T0 + timedelta(seconds=i)))  # fmt: skip
        sink.flush()
    finally:
        sink.close()


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_a_moderator_works_50_items_by_keyboard_and_bulk_decides_112(
    desk: tuple[Settings, str], record_property: Callable[[str, object], None], capsys: pytest.CaptureFixture[str]
) -> None:
    from playwright.sync_api import expect

    settings, base = desk
    _seed(settings)
    with chromium() as browser:
        page = browser.new_context(viewport={"width": 1920, "height": 1080}).new_page()
        page.set_default_timeout(60_000)
        sign_in_page(page, base, "alice")
        expect(page.locator("#total")).to_have_text(str(WORKED + BULK + ALL))

        # The dense list: rows fully inside the 1080-pixel window, each with score, evidence and due time.
        visible = page.locator("tr[data-id]").evaluate_all(
            "rows => rows.filter(r => r.getBoundingClientRect().bottom <= window.innerHeight).length"
        )
        assert visible >= 30, visible
        row = page.locator("tr[data-id=w000]")
        expect(row.locator("td.score")).to_have_text("0.90")
        expect(row.locator("td.text mark.hit").first).to_have_text("枪支")
        expect(row.locator("td.due time")).not_to_be_empty()
        # Default order: the review items (still online) before the confirmations of machine blocks.
        actions = page.locator("tr[data-id] span.action-review, tr[data-id] span.action-block").all_text_contents()
        assert actions == sorted(actions, key=lambda a: a != "review"), actions
        wanted = os.environ.get("WORK_SCREENSHOT")
        if wanted:
            page.screenshot(path=wanted)

        # Shortcuts: ? opens and closes the overlay; j/k move; typing in a field fires none of them.
        page.keyboard.press("?")
        expect(page.locator("#shortcuts")).to_be_visible()
        page.keyboard.press("Escape")
        expect(page.locator("#shortcuts")).to_be_hidden()
        second = page.locator("tr[data-id]").nth(1).get_attribute("data-id") or ""
        for key in ("j", "j", "j", "k"):
            page.keyboard.press(key)
        expect(page.locator("tr.current")).to_have_attribute("data-id", second)
        page.focus("input[name=q]")
        page.keyboard.type("jjk")
        expect(page.locator("tr.current")).to_have_attribute("data-id", second)
        expect(page.locator("input[name=q]")).to_have_value("jjk")
        page.fill("input[name=q]", "")

        # Work mode on the C9 queue, keyboard only: w claims and opens the first item; bob sees alice has it.
        page.select_option("select[name=category]", "C9")
        expect(page.locator("#total")).to_have_text(str(WORKED))
        page.keyboard.press("w")
        expect(page.locator("#claim")).to_contain_text("You have this item until")
        held = page.url.split("/items/")[1].split("?")[0]
        bob = browser.new_context().new_page()
        sign_in_page(bob, base, "bob")
        bob.goto(f"{base}/?category=C9")
        expect(bob.locator(f"tr[data-id={held}] .holder")).to_have_text("alice")
        bob.goto(f"{base}/items/{held}")
        expect(bob.locator("#claim")).to_contain_text("Claimed by alice")
        page.keyboard.press("g")  # no context section on this item: nothing happens, nothing breaks
        page.keyboard.press("s")  # skip the first: released, the next one opens
        page.wait_for_url(lambda url: f"/items/{held}?" not in url)
        opened: list[str] = []
        started = time.perf_counter()
        for _ in range(WORKED - 1):
            expect(page.locator("#claim")).to_contain_text("You have this item until")
            opened.append(page.url.split("/items/")[1].split("?")[0])
            page.keyboard.press("c")
            page.wait_for_url(lambda url: opened[-1] not in url)
        expect(page.locator("#worked")).to_be_visible()
        per_decision_s = (time.perf_counter() - started) / (WORKED - 1)
        assert len(set(opened)) == WORKED - 1
        assert held not in opened

        # Bulk: tick the first row and shift-click the 100th of the C7 page; confirm all with one reason.
        page.goto(f"{base}/?category=C7&size=100")
        expect(page.locator("tr[data-id]")).to_have_count(BULK)
        page.locator("tr[data-id] input[name=ids]").first.click()
        page.locator("tr[data-id] input[name=ids]").last.click(modifiers=["Shift"])
        expect(page.locator("#picked")).to_have_text(str(BULK))
        page.fill("#bulk-reason", "gambling ads, confirmed in bulk")
        bulk_started = time.perf_counter()
        page.click("#bulk button.confirm")
        expect(page.locator("#bulk-result")).to_have_attribute("data-decided", str(BULK), timeout=300_000)
        bulk_s = time.perf_counter() - bulk_started
        expect(page.locator("#bulk-result")).to_have_attribute("data-failed", "0")

        # "Select all matching" through /api/selection, then overturn; a second try finds them all decided.
        page.goto(f"{base}/?category=C4&size=5")
        page.click("#pick-all")
        expect(page.locator("#picked")).to_have_text(str(ALL))
        page.fill("#bulk-reason", "drug ads")
        page.click("#bulk button.overturn")
        expect(page.locator("#bulk-result")).to_have_attribute("data-decided", str(ALL))
        page.goto(f"{base}/?category=C4&size=5&status=claimed")
        page.locator("tr[data-id] input[name=ids]").first.click()
        page.fill("#bulk-reason", "again")
        page.click("#bulk button.confirm")
        expect(page.locator("#bulk-result")).to_have_attribute("data-failed", "1")
        expect(page.locator("#bulk-result")).to_contain_text("by alice")

    sent = read_topic(settings, settings.kafka.topics.decisions.name, want=WORKED - 1 + BULK + ALL)
    by_item = {k.decode(): v for k, v in sent}
    assert len(sent) == len(by_item) == WORKED - 1 + BULK + ALL
    assert {by_item[i]["outcome"] for i in opened} == {"confirmed"}
    assert {by_item[f"b{i:03d}"]["comment"] for i in range(BULK)} == {"gambling ads, confirmed in bulk"}
    assert {by_item[f"a{i:03d}"]["outcome"] for i in range(ALL)} == {"overturned"}
    record_property("seconds_per_decision_with_shortcuts", round(per_decision_s, 3))
    record_property("bulk_100_s", round(bulk_s, 1))
    with capsys.disabled():
        print(
            f"\nwork mode, keyboard only: {WORKED - 1} decisions, {per_decision_s:.2f} s per decision"
            f" (key press to the next item open, real servers); bulk confirm of {BULK} items: {bulk_s:.1f} s"
        )
