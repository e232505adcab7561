"""Issue 16, item 1, in headless Chromium: a moderator pages a 25,000-item queue to its end (the first version
answered 500 past item 10,000), by "next" in pages of 1000 and by the "last" and "previous" links."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from modpipe.settings import Settings
from tests.browser.test_review_browser import live
from tests.fixtures.browser import chromium, sign_in_page
from tests.integration.review.test_queue_scale import N, seed_many

pytestmark = [pytest.mark.browser, pytest.mark.integration]
__all__ = ["live"]  # the fixture: the worker and the review page as real processes


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_a_moderator_pages_a_25000_item_queue_to_its_end(live: tuple[Settings, str, Path]) -> None:
    from playwright.sync_api import expect

    settings, base, _tmp = live
    expected = seed_many(settings, N)
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(60_000)
        sign_in_page(page, base, "alice")
        expect(page.locator("#total")).to_have_text(str(N))

        # "last »" and "← previous": offsets past 10,000, reached with search_after.
        page.click("#last-page")
        expect(page.locator("#first")).to_have_text(str(N - 49))
        assert page.locator("tr[data-id]").last.get_attribute("data-id") == expected[-1]
        expect(page.locator("#next")).to_have_count(0)
        page.click("#prev")
        expect(page.locator("#first")).to_have_text(str(N - 99))

        # "next →" through the whole queue, 1000 rows a page, from one snapshot.
        started = time.perf_counter()
        page.goto(f"{base}/?size=1000")
        seen: list[str] = []
        while True:
            expect(page.locator("#first")).to_have_text(str(len(seen) + 1))  # the next page has come
            page.wait_for_load_state()  # and is parsed to its end: #first comes before the 1000 rows
            ids = page.locator("tr[data-id]").evaluate_all("rows => rows.map(r => r.dataset.id)")
            seen.extend(ids)
            if page.locator("#next").count() == 0:
                break
            page.click("#next")
        walked_s = time.perf_counter() - started
    assert seen == expected
    print(f"\nbrowser: {N} items paged to the end in {N // 1000} pages of 1000 in {walked_s:.0f}s")
