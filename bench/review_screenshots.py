"""Screenshots of the review desk in Chinese for docs/ (issue 16): the queue and one item, as a moderator sees them
with the shipped settings (review.language zh-CN, times in Asia/Shanghai). Not a test: it asserts only that the
pages came up, and it needs a CJK font for the glyphs (`fc-list :lang=zh`; e.g. Debian's fonts-wqy-zenhei).

On a fresh local stack: a queue of a dozen review and block verdicts (a reply to a flagged post among them, one
item already decided by a colleague) is indexed directly, the desk runs as `modpipe review serve`, and Debian's
Chromium (driven by Playwright) signs in and saves the two pages.

    .venv/bin/python bench/review_screenshots.py [--out docs] [--width 1400]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from modpipe.settings import Action, Settings, load_settings
from modpipe.stack.environment import modpipe_environ, stack_overrides
from modpipe.stack.health import free_port
from modpipe.stack.manager import LocalStack
from modpipe.topics import ensure_topics
from review.desk import users
from review.queue import Claim, QueueSink, QueueStore, ensure_index
from tests.unit.review.factory import make_verdict

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "screenshots only 1"
NOW = datetime.now(UTC).replace(microsecond=0)


def _verdicts() -> list[Any]:
    """(id, text, flagged, terms, action, author, service, minutes ago, parent)."""
    rows: list[tuple[str, str, tuple[str, ...], dict[str, str], Action, str, str, int, str | None]] = [
        ("p-1001", "出售枪支弹药，私聊价格，同城可面交", ("C9",), {"枪支": "C9", "弹药": "C9"}, Action.REVIEW,
         "u-3821", "bbs", 3, None),
        ("p-1002", "有人要高仿证件吗？价格好说，加微信", ("C9",), {"证件": "C9"}, Action.REVIEW, "u-5510", "comment",
         5, "p-1001"),
        ("p-1003", "网络赌博平台，充值返利，稳赚不赔", ("C7",), {"赌博": "C7"}, Action.BLOCK, "u-0042", "group",
         8, None),
        ("p-1004", "这个民族的人都不是好东西，全部赶出去", ("C4",), {"赶出去": "C4"}, Action.REVIEW, "u-7713", "bbs",
         12, None),
        ("p-1005", "大师开光护身符，包治百病，转运招财", ("C5",), {"开光": "C5", "包治百病": "C5"}, Action.REVIEW,
         "u-2290", "comment", 17, None),
        ("p-1006", "明天下午三点广场集合，大家带上家伙", ("C6",), {"带上家伙": "C6"}, Action.REVIEW, "u-9034", "group",
         21, None),
        ("p-1007", "高清无码资源，私信获取链接", ("C7",), {"无码": "C7"}, Action.BLOCK, "u-6402", "bbs", 26, None),
        ("p-1008", "代办信用卡套现，日息低，秒到账", ("C9",), {"套现": "C9"}, Action.REVIEW, "u-1187", "comment", 33,
         None),
        ("p-1009", "某某明星吸毒被抓，内部消息，速看", ("C8",), {"内部消息": "C8"}, Action.REVIEW, "u-4450", "bbs", 41,
         None),
        ("p-1010", "低价出售银行卡四件套，可走对公", ("C9",), {"银行卡": "C9"}, Action.BLOCK, "u-3317", "group", 55,
         None),
        ("p-1011", "刷单兼职，日赚三百，先垫付后返款", ("C9",), {"刷单": "C9"}, Action.REVIEW, "u-8126", "comment", 68,
         None),
        ("p-1012", "教你制作爆炸物，材料淘宝就能买到", ("C6",), {"爆炸物": "C6"}, Action.BLOCK, "u-5058", "bbs", 80,
         None),
    ]  # fmt: skip
    out = []
    for mid, text, flagged, terms, action, author, service, ago, parent in rows:
        scores = dict.fromkeys(flagged, 0.93 if action is Action.BLOCK else 0.71) | {"C3": 0.04, "C8": 0.12}
        out.append(make_verdict(
            mid, text, flagged=flagged, terms=terms, action=action, author=author, service_type=service,
            published_at=NOW - timedelta(minutes=ago), parent_id=parent, scores=scores,
        ))  # fmt: skip
    return out


def _seed(settings: Settings) -> None:
    ensure_index(settings)
    sink = QueueSink(settings, refresh=True)
    try:
        for verdict in _verdicts():
            sink.add(verdict)
        sink.flush()
    finally:
        sink.close()
    store = QueueStore(settings)
    try:  # a colleague's decision the worker has not carried out yet: the list shows who has the item
        store.claim(store.get("p-1004"), Claim("d-1004", "bob", "confirmed", "", NOW - timedelta(minutes=1)))
    finally:
        store.close()


def _wait_http(url: str, proc: subprocess.Popen[bytes], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"review serve exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"{url}: no answer within {timeout_s} s")


def _shoot(base: str, out: Path, width: int) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--lang=zh-CN"],
            headless=True,
        )
        try:
            page = browser.new_page(viewport={"width": width, "height": 900}, locale="zh-CN")
            page.goto(f"{base}/login")
            page.fill("input[name=username]", "alice")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            expect(page.locator("h1")).to_have_text("审核队列")
            page.goto(f"{base}/?status=all")  # the open items and the one a colleague has just decided
            expect(page.locator("tr[data-id]")).to_have_count(12)
            page.screenshot(path=str(out / "review-queue-zh.png"), full_page=True)
            page.click("tr[data-id=p-1002] td.text a")
            expect(page.locator("#text mark.hit")).to_have_text("证件")
            page.screenshot(path=str(out / "review-item-zh.png"), full_page=True)
        finally:
            browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("docs"))
    parser.add_argument("--width", type=int, default=1400)
    args = parser.parse_args()
    fonts = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True, check=False).stdout
    if not fonts.strip():
        raise SystemExit("no CJK font (fc-list :lang=zh is empty): install e.g. Debian's fonts-wqy-zenhei first")
    with tempfile.TemporaryDirectory(prefix="modpipe-shots-") as tmp:
        home = Path(tmp)
        stack = LocalStack(home / "stack", free_port(), free_port(), free_port(), broker_storage="memory")
        info = stack.up()
        serve: subprocess.Popen[bytes] | None = None
        try:
            for name in ("alice", "bob"):
                users.set_password(home / "users", name, PASSWORD)
            port = free_port()
            overrides: dict[str, Any] = stack_overrides(info) | {
                "review.users_file": str(home / "users"), "review.port": port, "elasticsearch.index": "shots",
            }  # fmt: skip
            settings = load_settings(environ={}, overrides=overrides)
            ensure_topics(settings)
            _seed(settings)
            with (home / "review.log").open("wb") as log:
                serve = subprocess.Popen(
                    [sys.executable, "-m", "modpipe", "review", "serve"], env=modpipe_environ(overrides), stdout=log,
                    stderr=subprocess.STDOUT,
                )  # fmt: skip
            base = f"http://127.0.0.1:{port}"
            _wait_http(f"{base}/healthz", serve)
            args.out.mkdir(parents=True, exist_ok=True)
            _shoot(base, args.out, args.width)
        finally:
            if serve is not None and serve.poll() is None:
                serve.terminate()
                serve.wait(timeout=20)
            stack.down()
    print(f"wrote {args.out / 'review-queue-zh.png'} and {args.out / 'review-item-zh.png'}")


if __name__ == "__main__":
    main()
