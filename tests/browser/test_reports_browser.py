"""A moderator's view of a reported item (L7) in headless Chromium: a lawful post the machine passed, against which
30 fresh accounts of one group filed reports, shows the reports, their reasons, the due time and the screening's
suspected campaign; the moderator overturns it and nothing is taken down.

The reports agent's work runs in-process on the real Elasticsearch API server (as in
tests/integration/pipeline/test_report_state.py); the review page is the real `modpipe review serve`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from modpipe.clock import SystemClock
from modpipe.contracts.intake import RawMessage
from modpipe.settings import Action, Settings, load_settings
from modpipe.stack.health import free_port
from modpipe.stack.manager import StackInfo
from pipeline.report_store import ReportStore
from pipeline.reports import ReportProcessor
from review.queue.reported import ReportedItems
from tests.fixtures.browser import chromium, keep_screenshot, sign_in_page
from tests.fixtures.review import PASSWORD, desk_process, drop_queue, review_overrides
from tests.support import read_topic
from tests.unit.review.factory import make_verdict

pytestmark = [pytest.mark.browser, pytest.mark.integration]
LAWFUL = "社区图书馆周末开放时间调整为上午九点至下午五点，欢迎居民前来借阅。"


@pytest.fixture
def served(stack: StackInfo, unique: str, tmp_path: Path) -> Iterator[tuple[Settings, str, Path]]:
    from review.desk import users

    users_file = tmp_path / "users"
    users.set_password(users_file, "alice", PASSWORD)
    overrides = review_overrides(stack, unique, users_file)
    overrides["kafka.topics.reports.name"] = f"rv-reports-{unique}"
    port = free_port()
    overrides["review.port"] = port
    settings = load_settings(environ={}, overrides=overrides)
    try:
        with desk_process(overrides, tmp_path / "review.log") as base:
            yield settings, base, tmp_path
    finally:
        drop_queue(settings)


def _campaign(settings: Settings) -> None:
    now = datetime.now(UTC)
    verdict = make_verdict("rep-web-1", LAWFUL, action=Action.PASS, flagged=(), scores={"C2": 0.02},
                           service_type="public_account", published_at=now - timedelta(hours=1))  # fmt: skip
    topics = settings.kafka.topics
    batch = [RawMessage(topics.verdicts.name, 0, 0, None, verdict.model_dump_json().encode())]
    for i in range(30):
        body = {
            "report_id": f"web-c-{i:02d}", "message_id": "rep-web-1", "reporter_id": f"fresh-{i:02d}",
            "reason": "C2", "detail": "侮辱", "reported_at": (now - timedelta(minutes=10 - i / 3)).isoformat(),
            "service_type": "public_account", "platform": "forum-a",
            "reporter_created_at": (now - timedelta(days=1)).isoformat(), "reporter_group_id": "g-brigade",
        }  # fmt: skip
        batch.append(RawMessage(topics.reports.name, 0, i, None, json.dumps(body, ensure_ascii=False).encode()))
    store, queue = ReportStore(settings), ReportedItems(settings)
    try:
        work = ReportProcessor(settings, SystemClock(), store, queue, None)
        events, letters = work.parse(batch)
        assert letters == []
        work.process(events)
    finally:
        store.close()
        queue.close()


@pytest.mark.obligation("L7")
def test_a_moderator_sees_a_reported_campaign_and_overturns_it(served: tuple[Settings, str, Path]) -> None:
    from playwright.sync_api import expect

    settings, base, tmp_path = served
    _campaign(settings)
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        sign_in_page(page, base, "alice")
        page.goto(f"{base}/?status=reported&order=due")
        expect(page.locator("tr[data-id]")).to_have_count(1)
        page.click("tr[data-id=rep-web-1] td.text a")
        reports = page.locator("#reports")
        expect(reports).to_contain_text("30 (30 open, 30 reporters)")
        expect(reports).to_contain_text("C2: 30")
        expect(page.locator("#campaign")).to_contain_text("Suspected report campaign")
        expect(page.locator("#screening")).to_contain_text("30 of 30 reporters have accounts younger than 7 days")
        expect(page.locator("#screening")).to_contain_text("30 of 30 reporters belong to the same group g-brigade")
        page.screenshot(path=str(tmp_path / "reported.png"), full_page=True)
        page.fill("textarea[name=comment]", "lawful notice; coordinated reports")
        page.click("button.overturn")
        expect(page.locator("#decision")).to_contain_text("overturned by alice")
    keep_screenshot(tmp_path / "reported.png", "REPORTS_SCREENSHOT")
    decisions = read_topic(settings, settings.kafka.topics.decisions.name, want=1)
    values: list[dict[str, Any]] = [v for _, v in decisions]
    assert [(v["message_id"], v["outcome"], v["previous_action"]) for v in values] == [
        ("rep-web-1", "overturned", "pass")
    ]
