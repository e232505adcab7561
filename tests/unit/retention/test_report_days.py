"""Report days in the reporting time zone, and flags that cannot mislead (no server needed: they fail first)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from modpipe.cli.main import app as cli
from modpipe.settings import SettingsError, load_settings
from retention.exports import day_bounds, report_day

SHANGHAI = ZoneInfo("Asia/Shanghai")
CST = timezone(timedelta(hours=8))


def test_a_report_day_covers_beijing_midnight_to_midnight() -> None:
    start, end = day_bounds(date(2026, 12, 1), SHANGHAI)
    assert start.isoformat() == "2026-12-01T00:00:00+08:00"
    assert end.isoformat() == "2026-12-02T00:00:00+08:00"
    assert start.astimezone(UTC) == datetime(2026, 11, 30, 16, tzinfo=UTC)
    assert end - start == timedelta(days=1)


def test_an_instant_reports_the_day_it_falls_on_in_the_zone() -> None:
    assert report_day(datetime(2026, 12, 1, 0, 0, tzinfo=CST), SHANGHAI) == date(2026, 12, 1)  # 30 Nov in UTC
    assert report_day(datetime(2026, 11, 30, 16, 0, tzinfo=UTC), SHANGHAI) == date(2026, 12, 1)
    assert report_day(datetime(2026, 11, 30, 15, 59, 59, tzinfo=UTC), SHANGHAI) == date(2026, 11, 30)
    assert report_day(date(2026, 12, 1), SHANGHAI) == date(2026, 12, 1)
    with pytest.raises(ValueError, match="timezone-aware"):
        report_day(datetime(2026, 12, 1), SHANGHAI)


def test_a_day_with_a_clock_change_is_23_or_25_hours() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    spring, autumn = day_bounds(date(2026, 3, 29), berlin), day_bounds(date(2026, 10, 25), berlin)
    # (subtracting two times of one zone object ignores their offsets: compare in UTC)
    assert spring[1].astimezone(UTC) - spring[0].astimezone(UTC) == timedelta(hours=23)
    assert autumn[1].astimezone(UTC) - autumn[0].astimezone(UTC) == timedelta(hours=25)
    assert day_bounds(date(2026, 12, 1), UTC)[0] == datetime(2026, 12, 1, tzinfo=UTC)


def test_the_reporting_zone_is_a_validated_setting() -> None:
    assert load_settings(environ={}).records.report_zone == SHANGHAI
    assert load_settings(environ={}, overrides={"records.report_timezone": "UTC"}).records.report_zone == ZoneInfo(
        "UTC"
    )
    for bad in ("Beijing", "Asia", "+08:00"):
        with pytest.raises(SettingsError, match=r"records\.report_timezone.*IANA time zone"):
            load_settings(environ={}, overrides={"records.report_timezone": bad})


@pytest.mark.parametrize(
    "args",
    [
        ["audit", "export", "--from", "2026-11-23", "--to", "2026-11-24", "--out", "x", "--service", "groups"],
        [
            "audit",
            "export",
            "--from",
            "2026-11-23",
            "--to",
            "2026-11-24",
            "--out",
            "x",
            "--service",
            "bbs",
            "--service",
            "Group",
        ],
        ["retention", "hold", "--reason", "case 1", "--author", "u1", "--service", "groups"],
    ],
)
def test_an_unknown_service_exits_2_naming_the_known_ones(args: list[str]) -> None:
    result = CliRunner().invoke(cli, args, env={"COLUMNS": "300"})
    assert result.exit_code == 2, result.output
    assert "--service" in result.output
    assert "expected one of bbs, comment, group, public_account, unclassified" in result.output


@pytest.mark.parametrize("value", ["yesterday", "2026-13-01", "2026-12-01T00:00:00", "1 Dec"])
def test_a_bad_report_date_exits_2(value: str) -> None:
    result = CliRunner().invoke(cli, ["report", "--date", value], env={"COLUMNS": "300"})
    assert result.exit_code == 2, result.output
    assert "--date" in result.output
    assert "records.report_timezone = Asia/Shanghai" in result.output
