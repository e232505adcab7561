"""`modpipe storage s3-config`: SeaweedFS's identities file for a deployment, from the settings alone."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from modpipe.cli.common import State
from modpipe.cli.main import app
from modpipe.stack import s3access

KEYS = {
    "s3.access_key": "admin-key", "s3.secret_key": "admin-secret",
    **{f"s3.identities.{role}.{part}": f"{role}-{part}" for role in s3access.ROLES
       for part in ("access_key", "secret_key")},
}  # fmt: skip


def test_it_writes_every_identity_with_its_roles_actions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(State, "overrides", KEYS)
    done = CliRunner().invoke(app, ["storage", "s3-config", "--dir", str(tmp_path / "weed")])
    assert done.exit_code == 0, done.output
    path = tmp_path / "weed" / s3access.S3_CONFIG_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    found = {e["name"]: e for e in json.loads(path.read_text())["identities"]}
    assert set(found) == {"admin", *s3access.ROLES}
    for role in s3access.ROLES:
        assert found[role]["credentials"] == [{"accessKey": f"{role}-access_key", "secretKey": f"{role}-secret_key"}]
        assert found[role]["actions"] == s3access.ACTIONS[role]


def test_a_missing_identity_stops_with_its_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(State, "overrides", {**KEYS, "s3.identities.compliance.secret_key": ""})
    done = CliRunner().invoke(app, ["storage", "s3-config", "--dir", str(tmp_path)])
    assert done.exit_code == 2
    assert "s3.identities.compliance" in done.output
    assert not (tmp_path / s3access.S3_CONFIG_FILE).exists()


def test_a_role_without_keys_of_its_own_acts_with_the_admin_keys() -> None:
    from modpipe.settings import load_settings

    only_admin = load_settings(environ={}, overrides={"s3.access_key": "admin-key", "s3.secret_key": "admin-secret",
                                                     "stack.home": "/nonexistent"})  # fmt: skip
    assert only_admin.acting_as("pipeline").s3.access_key == "admin-key"
    separate = load_settings(environ={}, overrides={**KEYS, "stack.home": "/nonexistent"})
    assert separate.acting_as("pipeline").s3.access_key == "pipeline-access_key"
    assert separate.acting_as("auditor").s3.secret_key.get_secret_value() == "auditor-secret_key"
    assert separate.acting_as("admin").s3.access_key == "admin-key"
