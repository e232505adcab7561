"""`modpipe report` counts the user reports of a day from the records (L7): received, handled in time or late,
overdue and open at the report's time, rejected as malicious; each report once, whatever copies are stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from modpipe.clock import FixedClock
from modpipe.settings import Settings
from retention import bundle
from retention.exports import report
from retention.sink import RecordSink
from retention.store import Store

FILED = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)  # 11:00 in Beijing, the report's zone
AS_OF = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def filed(report_id: str, reason: str = "C2") -> dict[str, Any]:
    return {
        "report_id": report_id, "message_id": f"m-{report_id}", "reporter_id": f"u-{report_id}", "reason": reason,
        "reported_at": FILED.isoformat(), "service_type": "public_account", "platform": "wx.example",
    }  # fmt: skip


def outcome(report_id: str, status: str, at: datetime, due: datetime, **extra: Any) -> dict[str, Any]:
    final = status != "received"
    return {
        "report_id": report_id, "message_id": f"m-{report_id}", "reporter_id": f"u-{report_id}", "status": status,
        "at": at.isoformat(), "due_at": due.isoformat(), "in_time": (at <= due) if final else None,
        "category": extra.pop("category", None), "reason": extra.pop("reason", None),
        "suspected_campaign": extra.pop("suspected_campaign", False), "service_type": "public_account", **extra,
    }  # fmt: skip


@pytest.mark.obligation("L7")
def test_the_report_counts_each_user_report_once(records_settings: Settings, store: Store, tmp_path: Path) -> None:
    topics = records_settings.kafka.topics
    day = FILED + timedelta(hours=24)
    hour = timedelta(hours=1)
    reports = [filed("in-time"), filed("late"), filed("campaign"), filed("overdue", "C7"), filed("open")]
    outcomes = [
        outcome("in-time", "received", FILED, day),
        outcome("in-time", "actioned", FILED + hour, day, category="C2"),
        # the same final outcome again, as after a crash before the offsets were committed
        outcome("in-time", "actioned", FILED + hour, day, category="C2"),
        outcome("late", "actioned", FILED + 3 * hour, FILED + 2 * hour, category="C2"),
        outcome("campaign", "rejected", FILED + hour, day, reason="suspected campaign", suspected_campaign=True),
        outcome("overdue", "received", FILED, FILED + 2 * hour),
        outcome("open", "received", FILED, day),
    ]
    values = [(topics.reports.name, r) for r in reports] + [(topics.report_outcomes.name, o) for o in outcomes]
    with RecordSink(
        records_settings, clock=FixedClock(FILED + timedelta(hours=4)), worker_id="w-rc", store=store
    ) as sink:
        for offset, (topic, value) in enumerate(values):
            sink.add(value, topic=topic, partition=0, offset=offset)
        sink.flush()
    manifest = report(records_settings, store, FixedClock(AS_OF), FILED, tmp_path)
    assert manifest["report"]["user_reports"] == {
        "received": 5, "handled_in_time": 2, "handled_late": 1, "overdue": 1, "open": 1, "actioned": 2,
        "rejected": 1, "rejected_as_malicious": 1,
    }  # fmt: skip
    assert bundle.verify(tmp_path, store).records == len(values)
