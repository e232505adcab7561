"""Every access to the records is itself a record (L8): export, report, verify, hold and release from the command
line write who, when and what into locked objects under access/ on the real S3 server; an export carries the
access log of its window; `audit access` lists it."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from minio import Minio
from typer.testing import CliRunner

from modpipe.cli.common import State
from modpipe.cli.main import app
from modpipe.clock import FixedClock
from modpipe.settings import Settings
from modpipe.stack.manager import StackInfo
from retention import IntegrityError, RecordSink, bundle
from retention.access_log import ACCESS
from retention.dates import longest
from retention.scan import latest_keys, state
from retention.store import Store
from tests.integration.retention.factory import verdict
from tests.support import REPO, stack_overrides

NOW = datetime.now(UTC)
T1 = (NOW - timedelta(hours=5)).replace(minute=0, second=0, microsecond=0)


@pytest.fixture(scope="module")
def cli(records_settings: Settings, stack: StackInfo) -> CliRunner:
    with RecordSink(records_settings, clock=FixedClock(NOW), worker_id="w-acc") as sink:
        for i in range(3):
            sink.add(verdict(f"acc-{i}", "bbs", T1 + timedelta(minutes=i), author="au-acc"),
                     topic=records_settings.kafka.topics.verdicts.name, partition=0, offset=i)  # fmt: skip
        sink.flush()
    return CliRunner()


@pytest.fixture(autouse=True)
def _settings(records_settings: Settings, stack: StackInfo, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        State, "overrides", {**stack_overrides(stack), "s3.records_bucket": records_settings.s3.records_bucket}
    )


def _accesses(cli: CliRunner, *args: str) -> list[dict[str, object]]:
    done = cli.invoke(app, ["audit", "access", "--json", *args])
    assert done.exit_code == 0, done.output
    return [json.loads(line) for line in done.stdout.splitlines()]


@pytest.mark.obligation("L8")
def test_each_access_is_logged_with_who_when_what_and_counts(
    cli: CliRunner, records_settings: Settings, store: Store, tmp_path: Path
) -> None:
    window = ["--from", T1.isoformat(), "--to", (T1 + timedelta(hours=1)).isoformat()]
    out = tmp_path / "b"
    done = cli.invoke(app, ["audit", "export", *window, "--out", str(out), "--actor", "auditor-li"])
    assert done.exit_code == 0, done.output
    assert cli.invoke(app, ["audit", "verify", str(out), "--actor", "auditor-li"]).exit_code == 0
    held = cli.invoke(app, ["retention", "hold", "--author", "au-acc", "--reason", "case 7", "--by", "counsel-wu"])
    assert held.exit_code == 0, held.output
    assert cli.invoke(app, ["retention", "release", "--author", "au-acc", "--actor", "counsel-wu"]).exit_code == 0
    day = T1.date().isoformat()
    assert cli.invoke(app, ["report", "--date", day, "--out", str(tmp_path / "r"), "--actor", "ops"]).exit_code == 0
    # a failed access is logged too, with why
    failed = cli.invoke(app, ["audit", "verify", str(tmp_path / "missing"), "--actor", "auditor-li"])
    assert failed.exit_code == 3

    logged = _accesses(cli, "--from", (NOW - timedelta(minutes=1)).isoformat())
    seen = [(a["start"]["action"], a["start"]["actor"], a["end"]["outcome"]) for a in logged]  # type: ignore[index]
    assert seen == [("export", "auditor-li", "ok"), ("verify", "auditor-li", "ok"), ("hold", "counsel-wu", "ok"),
                    ("release", "counsel-wu", "ok"), ("report", "ops", "ok"),
                    ("verify", "auditor-li", "failed")]  # fmt: skip
    export_entry = logged[0]
    assert export_entry["start"]["query"]["from"] == T1.isoformat()  # type: ignore[index]
    assert export_entry["end"]["counts"] == {"records": 3, "objects": 1}  # type: ignore[index]
    assert logged[2]["start"]["query"] == {"author": "au-acc", "reason": "case 7", "service": None}  # type: ignore[index]
    assert "missing" in logged[5]["end"]["detail"]  # type: ignore[index]
    (only_ops,) = _accesses(cli, "--from", (NOW - timedelta(minutes=1)).isoformat(), "--actor", "ops")
    assert only_ops["start"]["action"] == "report"  # type: ignore[index]
    # kept like the records: every entry is locked for the longest period
    keys = latest_keys(store, ACCESS)
    assert len(keys) == 12
    kept = longest([s.retention for s in records_settings.services.values()], NOW)
    for key in keys:
        assert state(store, key, None).retain_until == kept
    human = cli.invoke(app, ["audit", "access", "--from", (NOW - timedelta(minutes=1)).isoformat()])
    assert "auditor-li  export  ok" in human.output


@pytest.mark.obligation("L8", "L9")
def test_an_export_carries_the_access_log_of_its_window(
    cli: CliRunner, records_settings: Settings, store: Store, raw_s3: Minio, tmp_path: Path
) -> None:
    first = tmp_path / "first"
    window = ["--from", T1.isoformat(), "--to", "now"]
    assert cli.invoke(app, ["audit", "export", *window, "--out", str(first)]).exit_code == 0
    out = tmp_path / "later"
    done = cli.invoke(app, ["audit", "export", *window, "--out", str(out)])
    assert done.exit_code == 0, done.output
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    lines = (out / "access.jsonl").read_bytes().splitlines()
    assert len(lines) == len(manifest["access_read"]) >= 3  # the first export's start and end, this one's start
    docs = [json.loads(x) for x in lines]
    assert {(d["action"], d["phase"]) for d in docs} >= {("export", "start"), ("export", "end")}
    assert "access.jsonl" in manifest["files"]
    assert bundle.verify(out, store).access_entries == len(lines)
    node = shutil.which("node")
    assert node is not None
    verifier = str(REPO / "retention" / "verifier" / "verify-bundle.mjs")
    ok = subprocess.run([node, verifier, str(out)], capture_output=True, text=True, timeout=120, check=False)
    assert ok.returncode == 0, ok.stderr
    # an access log line altered in the bundle (and its file digest recomputed) is named by both verifiers
    forged = tmp_path / "forged"
    shutil.copytree(out, forged)
    text = (forged / "access.jsonl").read_bytes().replace(b'"actor":"', b'"actor":"x', 1)
    (forged / "access.jsonl").write_bytes(text)
    manifest["files"]["access.jsonl"] = {"sha256": hashlib.sha256(text).hexdigest(), "bytes": len(text)}
    (forged / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(IntegrityError, match="access_read"):
        bundle.verify(forged)
    bad = subprocess.run([node, verifier, str(forged)], capture_output=True, text=True, timeout=120, check=False)
    assert bad.returncode == 1
    assert "access.jsonl line 1" in bad.stdout + bad.stderr


@pytest.mark.obligation("L8")
def test_an_access_entry_hidden_behind_a_delete_marker_is_still_listed(
    cli: CliRunner, records_settings: Settings, store: Store, tmp_path: Path
) -> None:
    since = datetime.now(UTC) - timedelta(seconds=1)
    window = ["--from", T1.isoformat(), "--to", (T1 + timedelta(hours=1)).isoformat()]
    done = cli.invoke(app, ["audit", "export", *window, "--out", str(tmp_path / "hid"), "--actor", "auditor-ma"])
    assert done.exit_code == 0, done.output
    (entry,) = _accesses(cli, "--from", since.isoformat(), "--actor", "auditor-ma")
    start_key = next(k for k in entry["keys"] if str(k).endswith("-start.json"))  # type: ignore[attr-defined]
    # the auditor's own keys may write access/, and so place a delete marker over its entry; the lock keeps the
    # entry's version, and the log is read from the version history
    with Store(records_settings.acting_as("auditor")) as auditor:
        auditor.call(auditor.client.remove_object, auditor.bucket, str(start_key))
    assert str(start_key) not in latest_keys(store, ACCESS)
    (found,) = _accesses(cli, "--from", since.isoformat(), "--actor", "auditor-ma")
    assert found["start"] == entry["start"]
    assert found["hidden"] == [start_key]
    human = cli.invoke(app, ["audit", "access", "--from", since.isoformat(), "--actor", "auditor-ma"])
    assert "auditor-ma  export  ok" in human.output
    assert f"HIDDEN: {start_key} is behind a delete marker" in human.output
    # an export of the window carries the hidden entry too, marked, and verifies online against its version
    out = tmp_path / "with-hidden"
    assert (
        cli.invoke(app, ["audit", "export", "--from", since.isoformat(), "--to", "now", "--out", str(out)]).exit_code
        == 0
    )
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    (read,) = (a for a in manifest["access_read"] if a["key"] == start_key)
    assert read["hidden"] is True
    assert bundle.verify(out, store).access_entries == len(manifest["access_read"])
