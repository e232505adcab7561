"""A senior moderator lifts a measure on the item page in headless Chromium (issue 14 item 6, L6): a machine block
suspends its author (the real measures agent, a worker process), the item page shows the suspension, the senior
lifts it with a reason, and after the agent has applied the lift the page shows it gone; the lift is a command
on the measures topic, decided by the senior with the reason. The review page is the real `modpipe review serve`."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from measures.model import MeasureCommand, SubjectRef
from modpipe.clock import SystemClock
from modpipe.settings import Action, Settings
from modpipe.settings.measures import MeasureKind, SubjectType
from modpipe.stack.health import free_port
from modpipe.stack.manager import StackInfo
from pipeline.measures_store import MeasuresStore
from review.queue import QueueSink, ensure_index
from tests.fixtures.browser import chromium, sign_in_page
from tests.fixtures.review import (
    PASSWORD,
    desk_process,
    drop_queue,
    make_records_bucket,
    review_overrides,
)
from tests.fixtures.workers import PipelineEnv
from tests.support import read_topic, send_verdicts
from tests.unit.review.factory import make_verdict

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.slow, pytest.mark.obligation("L6")]
AUTHOR = SubjectRef(type=SubjectType.ACCOUNT, id="author-b")


@pytest.fixture
def served(stack: StackInfo, unique: str, tmp_path: Path) -> Iterator[tuple[Settings, str]]:
    from review.desk import users
    from review.desk.roles import Role

    users_file = tmp_path / "users"
    users.set_password(users_file, "sara", PASSWORD, Role.SENIOR)
    overrides: dict[str, Any] = review_overrides(stack, unique, users_file)
    overrides["s3.records_bucket"] = f"records-{unique}".lower()[:60]
    overrides["review.port"] = free_port()
    env = PipelineEnv.made(overrides, tmp_path)
    settings = env.settings
    ensure_index(settings)
    make_records_bucket(settings)
    env.start_worker("measures", "measures-browser").wait_assigned()
    try:
        with desk_process(overrides, tmp_path / "review.log") as base:
            yield settings, base
    finally:
        env.close()
        drop_queue(settings)


def _suspend(settings: Settings) -> str:
    """A C4 block (3 points: posting suspended 7 days), in the queue and on the verdicts topic for the agent."""
    now = datetime.now(UTC) - timedelta(minutes=1)
    verdict = make_verdict("bw-1", "办理假证件，包过", author=AUTHOR.id, action=Action.BLOCK, flagged=("C4",),
                           published_at=now).model_copy(update={"decided_at": now})  # fmt: skip
    sink = QueueSink(settings, refresh=True)
    try:
        sink.add(verdict)
        sink.flush()
    finally:
        sink.close()
    send_verdicts(settings, [verdict])
    store = MeasuresStore(settings, SystemClock())
    try:
        deadline = time.monotonic() + 120
        while (stored := store.load(AUTHOR)) is None:
            assert time.monotonic() < deadline, "the measures agent stored no state for the author"
            time.sleep(1)
    finally:
        store.close()
    return next(m.measure_id for m in stored.state.measures if m.kind is MeasureKind.SUSPEND_POSTING)


def test_a_senior_lifts_a_measure_with_a_reason_and_sees_it_gone(served: tuple[Settings, str]) -> None:
    from playwright.sync_api import expect

    settings, base = served
    suspension = _suspend(settings)
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        sign_in_page(page, base, "sara")
        page.goto(f"{base}/items/bw-1")
        author = page.locator('#measures [data-subject="account:author-b"]')
        measure = author.locator(f'li[data-measure="{suspension}"]')
        expect(measure).to_contain_text("suspend_posting")
        expect(author.locator(".level")).to_have_text("A")  # C4 unconfirmed: 1.5 points x 5, score 92
        # The reason is required by the form itself; an empty one never leaves the page.
        measure.locator("button[type=submit]").click()
        expect(page).to_have_url(f"{base}/items/bw-1")
        measure.locator("input[name=reason]").fill("appeal upheld: quoted the text to report it")
        measure.locator("button[type=submit]").click()
        expect(page.locator("#measures .notice")).to_contain_text("Your change was sent")
        deadline = time.monotonic() + 60
        while measure.count() and time.monotonic() < deadline:  # the agent applies the lift, then stores it
            time.sleep(1)
            page.reload()
        expect(measure).to_have_count(0)
        expect(author.locator(".no-measures")).to_be_visible()
    lifts = [
        MeasureCommand.model_validate(v)
        for _, v in read_topic(settings, settings.kafka.topics.measures.name)
        if v["action"] == "lift"
    ]
    assert [(c.measure_id, c.decided_by, c.reason) for c in lifts] == [
        (suspension, "sara", "appeal upheld: quoted the text to report it")
    ]
