"""config/reports.yaml: loaded into frozen settings, checked against categories.yaml, and a config folder made
before the file existed falls back to the shipped one."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from modpipe.settings import SettingsError, load_settings
from reports import due_at, severity
from tests.support import REPO
from tests.unit.reports.factory import T0

CONFIG = REPO / "config"
pytestmark = pytest.mark.obligation("L7")


def problem_of(env: dict[str, str]) -> str:
    with pytest.raises(SettingsError) as info:
        load_settings(CONFIG, environ=env)
    return str(info.value)


def test_shipped_due_times_and_severities() -> None:
    reports = load_settings(CONFIG, environ={}).reports
    assert due_at("C7.terror", T0, reports) == T0 + timedelta(hours=2)
    assert due_at("C7.porn", T0, reports) == T0 + timedelta(hours=24)
    assert due_at("other", T0, reports) == T0 + timedelta(hours=24)
    assert severity("C7.terror", reports) == 3.0
    assert severity("C2", reports) == 2.0
    assert severity("C8", reports) == 1.0
    with pytest.raises(ValidationError):
        reports.campaign.min_reports = 3  # frozen


def test_a_category_wide_entry_covers_its_sub_labels() -> None:
    reports = load_settings(
        CONFIG, environ={"MODPIPE__REPORTS__DEADLINES__BY_REASON": '{"c7": 4, "C7.terror": 1}'}
    ).reports
    assert reports.deadlines.by_reason == {"C7": 4.0, "C7.terror": 1.0}  # codes upper-cased
    assert due_at("C7.gambling", T0, reports) == T0 + timedelta(hours=4)
    assert due_at("C7.terror", T0, reports) == T0 + timedelta(hours=1)


def test_a_config_folder_without_reports_yaml_falls_back_to_the_shipped_file(tmp_path: Path) -> None:
    folder = tmp_path / "config"
    shutil.copytree(CONFIG, folder, ignore=shutil.ignore_patterns("reports.yaml", "kibana"))
    assert load_settings(folder, environ={}).reports == load_settings(CONFIG, environ={}).reports
    (folder / "reports.yaml").write_text(
        (CONFIG / "reports.yaml").read_text(encoding="utf-8").replace("default_hours: 24", "default_hours: 12"),
        encoding="utf-8",
    )
    assert load_settings(folder, environ={}).reports.deadlines.default_hours == 12


@pytest.mark.parametrize(
    ("env", "setting", "expected"),
    [
        (
            {"MODPIPE__REPORTS__CAMPAIGN__MIN_REPORTS": "1"},
            "reports.campaign.min_reports",
            "greater than or equal to 2",
        ),
        ({"MODPIPE__REPORTS__CREDIBILITY__PRIOR": "1"}, "reports.credibility.prior", "less than 1"),
        ({"MODPIPE__REPORTS__DEADLINES__DEFAULT_HOURS": "0"}, "reports.deadlines.default_hours", "greater than 0"),
        ({"MODPIPE__REPORTS__CAMPAIGN__WINDOW": "5"}, "reports.campaign.window", "no such setting"),
        (
            {"MODPIPE__REPORTS__DEADLINES__BY_REASON": '{"C7.bogus": 2}'},
            "reports.deadlines.by_reason.C7.bogus",
            "a sub-label of that category",
        ),
        (
            {"MODPIPE__REPORTS__PRIORITY__SEVERITY": '{"C12": 2}'},
            "reports.priority.severity.C12",
            "a category code of categories.yaml",
        ),
    ],
)
def test_bad_values_name_the_setting(env: dict[str, str], setting: str, expected: str) -> None:
    message = problem_of(env)
    assert f"setting {setting} " in message
    assert expected in message
    assert next(iter(env)) in message
