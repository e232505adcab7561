"""A record's time and period: its own time when usable, its receipt otherwise, its period from the later one."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from modpipe.settings import Settings, load_settings
from retention.dates import EARLIEST, parse_time, retain_until, retention_start, unusable
from retention.envelope import build
from retention.layout import hour_of, hour_path
from retention.quarantine import quarantine

NOW = datetime(2026, 12, 1, 13, 30, tzinfo=UTC)
DAY = timedelta(days=1)


@pytest.fixture(scope="module")
def cfg() -> Settings:
    return load_settings(environ={})


def verdict(published_at: object, service: str = "bbs") -> dict[str, object]:
    return {"message_id": "m1", "service_type": service, "verdict_id": "v1", "decided_at": NOW.isoformat(),
            "message": {"message_id": "m1", "published_at": published_at, "author_id": "a"}}  # fmt: skip


def test_times_without_a_utc_form_are_not_parsed() -> None:
    assert parse_time("0001-01-01T00:00:00+08:00") is None  # year 0 in UTC
    assert parse_time("9999-12-31T23:59:59-08:00") is None  # year 10000 in UTC
    assert parse_time("9999-12-31T23:59:59Z") == datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)


def test_unusable_and_the_start_of_the_period() -> None:
    assert unusable(EARLIEST, NOW, DAY) is None
    assert unusable(EARLIEST - timedelta(microseconds=1), NOW, DAY) == "before 1970-01-01T00:00:00Z"
    assert unusable(NOW + DAY, NOW, DAY) is None
    assert "86400 s after" in str(unusable(NOW + DAY + timedelta(seconds=1), NOW, DAY))
    assert retention_start(EARLIEST, NOW) == NOW
    assert retention_start(NOW + DAY, NOW) == NOW + DAY


@pytest.mark.parametrize(
    "published_at",
    ["1970-01-01T00:00:00Z", "2026-01-01T00:00:00+08:00", "2026-11-30T23:59:59+00:00", "2026-12-01T13:29:59Z"],
)
def test_a_record_dated_earlier_is_kept_its_full_period_from_receipt(cfg: Settings, published_at: str) -> None:
    p = build(verdict(published_at), topic="moderation.verdicts", partition=0, offset=1, settings=cfg, now=NOW)
    at = parse_time(published_at)
    assert at is not None
    assert p.event_at == at  # still filed, exported and reported under its own time
    bbs = cfg.services["bbs"].retention
    assert p.retain_until == retain_until(bbs, NOW) >= retain_until(bbs, at)
    old = at < NOW - timedelta(days=30)
    assert bool(p.record.get("notes")) is old
    if old:
        assert p.record["notes"] == ["published_at is more than 30 days before its receipt: kept from the receipt"]


def test_a_record_dated_a_little_ahead_counts_from_its_own_time(cfg: Settings) -> None:
    ahead = NOW + timedelta(hours=20)
    p = build(verdict(ahead.isoformat()), topic="moderation.verdicts", partition=0, offset=1, settings=cfg, now=NOW)
    assert p.event_at == ahead
    assert p.retain_until == retain_until(cfg.services["bbs"].retention, ahead)


@pytest.mark.parametrize(
    ("published_at", "why"),
    [
        ("9999-12-31T23:59:59Z", "86400 s after its receipt"),
        ("9999-12-31T23:59:59-08:00", "not RFC 3339"),
        ("2027-06-01T00:00:00Z", "86400 s after its receipt"),
        ("0001-01-01T00:00:00Z", "before 1970"),
        ("0001-01-01T00:00:00+08:00", "not RFC 3339"),
        ("1969-12-31T23:59:59Z", "before 1970"),
        ("yesterday", "not RFC 3339"),
        (None, "missing"),
        (1764595800, "not RFC 3339"),
    ],
)
def test_an_unusable_time_is_replaced_by_the_receipt_time(cfg: Settings, published_at: object, why: str) -> None:
    receipt = NOW.astimezone(timezone(timedelta(hours=5, minutes=30)))  # a clock in any zone: stored in UTC
    p = build(verdict(published_at), topic="moderation.verdicts", partition=0, offset=1, settings=cfg, now=receipt)
    assert p.event_at == NOW
    assert p.event_at.tzinfo is UTC
    assert p.retain_until == retain_until(cfg.services["bbs"].retention, NOW)
    (note,) = p.record["notes"]
    assert note.startswith("published_at ")
    assert why in note
    assert note.endswith("stored under its receipt time")
    assert p.record["event_at"] == "2026-12-01T13:30:00Z"
    assert hour_of(hour_path(p.service, p.event_at)) == ("bbs", NOW.replace(minute=0))


def test_a_decision_follows_the_same_rules(cfg: Settings) -> None:
    decision = {"decision_id": "d1", "message_id": "m1", "service_type": "group", "decided_at": "9999-01-01T00:00Z"}
    d = build(decision, topic="moderation.decisions", partition=0, offset=2, settings=cfg, now=NOW)
    assert (d.kind, d.event_at) == ("decision", NOW)
    assert "decided_at '9999-01-01T00:00Z' cannot be used" in d.record["notes"][0]
    unknown = build({**decision, "service_type": "radio"}, topic="x", partition=0, offset=3, settings=cfg, now=NOW)
    longest = max(retain_until(s.retention, NOW) for s in cfg.services.values())
    assert unknown.retain_until == longest
    assert len(unknown.record["notes"]) == 2


def test_a_value_the_envelope_refuses_raises_for_the_sink_to_quarantine(cfg: Settings) -> None:
    value = json.loads('{"message_id": "m\\ud800", "service_type": "bbs", "message": {}}')  # a lone surrogate
    with pytest.raises(UnicodeEncodeError):
        build(value, topic="moderation.verdicts", partition=1, offset=9, settings=cfg, now=NOW)
    held = quarantine(value, "not storable", topic="moderation.verdicts", partition=1, offset=9, received=NOW,
                      worker="w-1", settings=cfg)  # fmt: skip
    assert held.key == "quarantine/date=2026-12-01/w-1-moderation.verdicts-1-9.json"
    doc = json.loads(held.body)
    assert doc["data"] == value  # kept exactly, the surrogate as an escape
    assert b"\\ud800" in held.body
    assert doc["reason"] == "not storable"
    assert doc["source"] == {"topic": "moderation.verdicts", "partition": 1, "offset": 9}
    longest = max(retain_until(s.retention, NOW) for s in cfg.services.values())
    assert held.retain_until == longest
    assert doc["retain_until"] == longest.isoformat().replace("+00:00", "Z")
    odd = quarantine({"when": NOW}, "x", topic="t", partition=0, offset=0, received=NOW, worker="w", settings=cfg)
    assert "datetime.datetime(2026, 12, 1" in json.loads(odd.body)["data_repr"]
