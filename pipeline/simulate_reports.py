"""User reports for `modpipe simulate` (L7): honest reporters who report what they read, and a report campaign of
fresh accounts of one group against a lawful post, as platforms see when a post's enemies organise."""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from modpipe.clock import Clock

CAMPAIGN_SIZE = 30
CAMPAIGN_TEXT = "本号今日推送：社区图书馆周末开放时间调整为上午九点至下午五点，欢迎居民前来借阅。"


@dataclass(frozen=True)
class Reported:
    """A message as the simulation published it, for choosing what to report."""

    message_id: str
    label: str  # "benign" or a category code
    service_type: str
    platform: str


def _report(
    report_id: str, target: Reported, reporter: str, reason: str, at: datetime, **extra: Any
) -> tuple[bytes, bytes]:
    body = {
        "report_id": report_id,
        "message_id": target.message_id,
        "reporter_id": reporter,
        "reason": reason,
        "reported_at": at.isoformat(),
        "service_type": target.service_type,
        "platform": target.platform,
        **extra,
    }
    return target.message_id.encode(), json.dumps(body, ensure_ascii=False).encode()


def honest_reports(
    messages: Sequence[Reported], share: float, rng: random.Random, clock: Clock, prefix: str
) -> list[tuple[bytes, bytes]]:
    """About `share` of the violating messages get one to three reports naming their category, from long-standing
    accounts; one benign message in fifty gets a mistaken `other` report. Keyed by message id."""
    out = []
    now = clock.now()
    for target in messages:
        if target.label != "benign" and rng.random() < share:
            reporters, reason = rng.randint(1, 3), target.label
        elif target.label == "benign" and rng.random() < share / 50:
            reporters, reason = 1, "other"
        else:
            continue
        for n in range(reporters):
            reporter = f"reader-{rng.randint(1, 5000):05d}"
            created = now - timedelta(days=rng.randint(90, 2000))
            extra = {"reporter_created_at": created.isoformat()}
            out.append(_report(f"{prefix}-rep-{target.message_id}-{n}", target, reporter, reason, now, **extra))
    return out


def campaign_post(prefix: str, clock: Clock) -> tuple[bytes, bytes, Reported]:
    """The lawful public-account post the campaign targets (for the posts topic)."""
    message_id = f"{prefix}-campaign-target"
    body = {
        "message_id": message_id,
        "service_type": "public_account",
        "kind": "post",
        "text": CAMPAIGN_TEXT,
        "published_at": clock.now().isoformat(),
        "author_id": "account-owner-1",
        "account_id": "account-001",
        "platform": "news.example",
    }
    target = Reported(message_id, "benign", "public_account", "news.example")
    return message_id.encode(), json.dumps(body, ensure_ascii=False).encode(), target


def campaign_reports(
    target: Reported, clock: Clock, prefix: str, size: int = CAMPAIGN_SIZE
) -> list[tuple[bytes, bytes]]:
    """`size` reports within ten minutes from accounts a day old, all of one group, all calling it C2."""
    now = clock.now()
    extra = {"reporter_created_at": (now - timedelta(days=1)).isoformat(), "reporter_group_id": f"{prefix}-brigade"}
    start = now - timedelta(minutes=10)
    return [
        _report(
            f"{prefix}-campaign-{i:03d}",
            target,
            f"{prefix}-fresh-{i:03d}",
            "C2",
            start + timedelta(seconds=600 * i / size),
            **extra,
        )
        for i in range(size)
    ]
