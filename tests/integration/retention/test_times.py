"""Times a client clock got wrong, and records nothing can store as usual, against the real S3 server: nothing
stops the records sink, and everything is kept at least its full period from receipt."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from minio import Minio
from typer.testing import CliRunner

from modpipe.cli.main import app as cli
from modpipe.clock import Clock, FixedClock
from modpipe.settings import Action, Settings
from retention import RecordSink, StorageError
from retention.codec import decode, sha256_b64
from retention.dates import parse_time, retain_until
from retention.exports import report
from retention.scan import latest_keys, state
from retention.store import Store, Stored, s3_errors
from tests.integration.retention.factory import verdict

NOW = datetime.now(UTC).replace(microsecond=0)


def _lock(raw_s3: Minio, settings: Settings, key: str) -> datetime:
    lock = raw_s3.get_object_retention(settings.s3.records_bucket, key)
    assert lock is not None
    assert lock.mode == "GOVERNANCE"
    until: datetime = lock.retain_until_date
    return until


def _value(message_id: str, published_at: str, service: str = "bbs") -> dict[str, Any]:
    value = verdict(message_id, service, NOW)  # decided now, as the moderation worker would
    value["message"]["published_at"] = published_at
    return value


@pytest.mark.parametrize(
    ("published_at", "own_folder"),
    [
        ("9999-12-31T23:59:59Z", False),
        ("9999-12-31T23:59:59-08:00", False),
        ("0001-01-01T00:00:00+08:00", False),
        ("1970-01-01T00:00:00Z", True),
        ("2026-01-01T00:00:00+08:00", True),
    ],
)
def test_a_bad_date_is_stored_without_a_crash_and_kept_from_receipt(
    records_settings: Settings, store: Store, raw_s3: Minio, published_at: str, own_folder: bool
) -> None:
    topic = records_settings.kafka.topics.verdicts.name
    worker = "w-t" + "".join(c for c in published_at if c.isdigit())
    for _restart in range(2):  # the same message again after a restart: still no crash
        with RecordSink(records_settings, clock=FixedClock(NOW), worker_id=worker) as sink:
            sink.add(_value("t-1", published_at), topic=topic, partition=0, offset=5)
            sink.add(_value("t-2", NOW.isoformat()), topic=topic, partition=0, offset=6)
            stored = sink.flush()
            assert sink.quarantined == []
    full = retain_until(records_settings.services["bbs"].retention, NOW)
    keys = [k for k in latest_keys(store, "records/") if f"/{worker}-" in k]
    own = parse_time(published_at)
    expected_date = f"date={own:%Y-%m-%d}/" if own_folder and own else f"date={NOW:%Y-%m-%d}/"
    bad_key = next(b.key for b in stored if b.entry.first_offset == 5 or "t-1" in b.message_ids)
    assert expected_date in bad_key
    for key in keys:
        assert _lock(raw_s3, records_settings, key) == full  # the whole period from receipt, locked in S3
        assert state(store, key, None).retain_until == full
    data, _ = store.get(bad_key)
    (record,) = [r for r in decode(bad_key, data) if r["message_id"] == "t-1"]
    assert record["retain_until"] == full.isoformat().replace("+00:00", "Z")
    assert record["data"]["message"]["published_at"] == published_at  # the value itself as it came
    if not own_folder:
        assert "stored under its receipt time" in record["notes"][0]


def test_a_value_that_cannot_be_a_record_goes_to_quarantine_and_the_rest_is_stored(
    records_settings: Settings, store: Store, raw_s3: Minio
) -> None:
    topic = records_settings.kafka.topics.verdicts.name
    broken = json.loads(json.dumps(_value("q-1", NOW.isoformat())).replace("q-1", "q-1\\ud800"))  # lone surrogate
    with RecordSink(records_settings, clock=FixedClock(NOW), worker_id="w-q") as sink:
        sink.add(broken, topic=topic, partition=2, offset=40)
        sink.add(_value("q-2", NOW.isoformat()), topic=topic, partition=2, offset=41)
        assert sink.pending == 2
        stored = sink.flush()
        assert sink.pending == 0
        (held,) = sink.quarantined
    assert [b.message_ids for b in stored] == [("q-2",)]
    assert held == f"quarantine/date={NOW:%Y-%m-%d}/w-q-{topic}-2-40.json"
    longest = max(retain_until(s.retention, NOW) for s in records_settings.services.values())
    assert _lock(raw_s3, records_settings, held) == longest
    data, _ = store.get(held)
    doc = json.loads(data)
    assert doc["data"] == broken
    assert doc["source"] == {"topic": topic, "partition": 2, "offset": 40}
    assert "UnicodeEncodeError" in doc["reason"]


class RefusingStore(Store):
    """The real server, sent a wrong checksum for one kind of key: it refuses that object for good."""

    def __init__(self, settings: Settings, refuse: str) -> None:
        super().__init__(settings)
        self.refuse = refuse

    def put(self, key: str, data: bytes, until: datetime | None, clock: Clock, content_type: str) -> Stored:
        if self.refuse not in key:
            return super().put(key, data, until, clock, content_type)
        wrong = {"x-amz-checksum-sha256": sha256_b64(b"other bytes")}
        with s3_errors():
            self.client.put_object(self.bucket, key, io.BytesIO(data), len(data), metadata=wrong)  # type: ignore[arg-type]
        raise AssertionError(f"the server stored {key} under a wrong checksum")


def test_a_batch_object_the_server_refuses_goes_to_quarantine(records_settings: Settings, store: Store) -> None:
    topic = records_settings.kafka.topics.verdicts.name
    with (
        RefusingStore(records_settings, "records/service=group/") as refusing,
        RecordSink(records_settings, clock=FixedClock(NOW), worker_id="w-r", store=refusing) as sink,
    ):
        sink.add(_value("r-1", NOW.isoformat(), "group"), topic=topic, partition=1, offset=70)
        sink.add(_value("r-2", NOW.isoformat()), topic=topic, partition=1, offset=71)
        stored = sink.flush()
        held = sink.quarantined
    assert [b.service for b in stored] == ["bbs"]
    assert held == [f"quarantine/date={NOW:%Y-%m-%d}/w-r-{topic}-1-70.json"]
    doc = json.loads(store.get(held[0])[0])
    assert doc["data"]["message_id"] == "r-1"
    assert doc["reason"].startswith("batch object refused: StorageError: S3 ")  # the server's own refusal


def test_when_even_quarantine_is_refused_the_sink_says_so(records_settings: Settings) -> None:
    topic = records_settings.kafka.topics.verdicts.name
    long_worker = "w" * 1100  # every key longer than S3's 1024 bytes: nothing about one record
    with RecordSink(records_settings, clock=FixedClock(NOW), worker_id=long_worker) as sink:
        sink.add(_value("l-1", NOW.isoformat()), topic=topic, partition=0, offset=1)
        with pytest.raises(StorageError, match="quarantine refused too"):
            sink.flush()
        assert sink.pending == 1  # nothing lost: the next flush tries again


def test_a_report_covers_one_beijing_day(records_settings: Settings, store: Store, tmp_path: Path) -> None:
    zone = ZoneInfo("Asia/Shanghai")
    day = (NOW - timedelta(days=2)).astimezone(zone).date()
    start = datetime.combine(day, time(0), tzinfo=zone)
    edges = {"before": start - timedelta(seconds=1), "first": start, "last": start + timedelta(days=1, seconds=-1),
             "after": start + timedelta(days=1)}  # fmt: skip
    topic = records_settings.kafka.topics.verdicts.name
    with RecordSink(records_settings, clock=FixedClock(NOW), worker_id="w-day") as sink:
        for i, (name, at) in enumerate(edges.items()):
            sink.add(verdict(f"day-{name}", "bbs", at, action=Action.BLOCK, flagged=("C7",)), topic=topic,
                     partition=0, offset=i)  # fmt: skip
        sink.flush()
    by_date = report(records_settings, store, FixedClock(NOW), day, tmp_path / "a")["report"]
    # the instant that is 1 December 00:00 in Beijing (still 30 November in UTC) stands for 1 December
    by_instant = report(records_settings, store, FixedClock(NOW), start.astimezone(UTC), tmp_path / "b")["report"]
    for summary in (by_date, by_instant):
        assert {i["message_id"] for i in summary["items"]} == {"day-first", "day-last"}
        assert summary["day"] == day.isoformat()
        assert summary["timezone"] == "Asia/Shanghai"
        assert summary["from"] == f"{day.isoformat()}T00:00:00+08:00"
        assert summary["to"] == f"{(day + timedelta(days=1)).isoformat()}T00:00:00+08:00"
        assert summary["as_of"] == NOW.astimezone(zone).isoformat()
    env = {"COLUMNS": "300", "MODPIPE__S3__ENDPOINT": records_settings.s3.endpoint,
           "MODPIPE__S3__ACCESS_KEY": records_settings.s3.access_key,
           "MODPIPE__S3__SECRET_KEY": records_settings.s3.secret_key.get_secret_value(),
           "MODPIPE__S3__RECORDS_BUCKET": records_settings.s3.records_bucket}  # fmt: skip
    printed = CliRunner().invoke(cli, ["report", "--date", start.isoformat(), "--out", str(tmp_path / "c")], env=env)
    assert printed.exit_code == 0, printed.output
    assert f"2 blocked items published on {day.isoformat()} (Asia/Shanghai)" in printed.output
    assert f"from {day.isoformat()}T00:00:00+08:00 (inclusive) to " in printed.output
    assert "(exclusive), as of " in printed.output
    assert "+08:00" in printed.output.rsplit("as of ", 1)[1]
