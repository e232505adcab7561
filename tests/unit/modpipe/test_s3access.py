"""The local stack's S3 identities and weed's security file, without a server: keys made once and kept private,
and no role but compliance may touch legal holds or hold records."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from modpipe.stack import s3access
from modpipe.stack.s3access import Credentials


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_identities_are_made_once_and_kept_private(tmp_path: Path) -> None:
    first = s3access.identities(tmp_path)
    assert set(first) == {"pipeline", "compliance", "auditor"}
    assert len({c.access_key for c in first.values()}) == 3
    assert s3access.identities(tmp_path) == first
    assert _mode(tmp_path / s3access.IDENTITIES_FILE) == 0o600

    config = s3access.write_s3_config(tmp_path, Credentials("admin-key", "admin-secret"), first)
    assert _mode(config) == 0o600
    entries = {e["name"]: e for e in json.loads(config.read_text())["identities"]}
    assert entries["pipeline"]["credentials"] == [
        {"accessKey": first["pipeline"].access_key, "secretKey": first["pipeline"].secret_key}
    ]
    assert "Admin" in entries["admin"]["actions"]


def test_only_compliance_changes_legal_holds_or_writes_hold_records() -> None:
    for role, actions in s3access.ACTIONS.items():
        touches_holds = "PutObjectLegalHold" in actions or any(a.endswith("/holds/*") for a in actions)
        assert touches_holds == (role == "compliance"), role
        assert "Write" not in actions, role  # an unscoped Write would reach every prefix, hold records included
        assert not any(a.startswith("Admin") for a in actions), role
    # the auditor reads; its only write is its own access-log entries (L8: every access is itself a record)
    auditor = s3access.ACTIONS["auditor"]
    assert [a for a in auditor if a.startswith(("Write", "Put"))] == [
        "Write:*/access/*",
        "PutObjectRetention:*/access/*",
    ]
    assert "PutObjectLegalHold" not in s3access.ACTIONS["pipeline"]


def test_security_keys_are_written_once(tmp_path: Path) -> None:
    path = s3access.ensure_security(tmp_path)
    text = path.read_text()
    for section in ("[jwt.signing]", "[jwt.signing.read]", "[jwt.filer_signing]", "[jwt.filer_signing.read]"):
        assert section in text
    assert _mode(path) == 0o600
    assert s3access.ensure_security(tmp_path).read_text() == text


def test_owner_only(tmp_path: Path) -> None:
    folder = tmp_path / "s3"
    folder.mkdir(mode=0o755)
    s3access.owner_only(folder)
    assert _mode(folder) == 0o700
