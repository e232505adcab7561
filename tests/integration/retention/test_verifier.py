"""The independent Node.js verifier (retention/verifier/verify-bundle.mjs, written from docs/record-format.md) on
real exports from the real S3 server: it accepts them, and rejects each kind of tamper, as bundle.verify does."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from modpipe.cli.common import State
from modpipe.cli.main import app
from modpipe.clock import FixedClock
from modpipe.contracts.verdict import DecisionOutcome
from modpipe.settings import Action, Settings
from modpipe.stack.manager import StackInfo
from retention import IntegrityError, RecordSink, bundle
from retention.codec import canonical, record_hash
from retention.exports import export, report
from retention.store import Store
from tests.integration.retention.factory import decision, verdict
from tests.support import REPO, stack_overrides

VERIFIER = REPO / "retention" / "verifier" / "verify-bundle.mjs"
NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
T1 = NOW - timedelta(hours=20)
T2 = T1 + timedelta(hours=2)
TRICKY = '引号"\\ 换行\n\t\x01 😀 \u2028 /'  # every escape rule of the canonical form, and an astral character


def node(folder: Path) -> subprocess.CompletedProcess[str]:
    found = shutil.which("node")
    if found is None:
        pytest.fail("node is not installed: the independent bundle verifier needs Node.js (>= 20) on PATH")
    return subprocess.run([found, str(VERIFIER), str(folder)], check=False, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def written(records_settings: Settings) -> None:
    """Two hours of verdicts (three objects of six each per hour), floats that JavaScript writes differently,
    text with every escape, a blocked item and its confirmation."""
    topics = records_settings.kafka.topics
    with RecordSink(records_settings, clock=FixedClock(NOW), worker_id="w-v") as sink:
        for hour in range(2):
            for i in range(18):
                at = T1 + timedelta(hours=hour, minutes=i)
                action = Action.BLOCK if i == 3 else Action.PASS
                value = verdict(f"m{hour}-{i}", "group", at, author=f"au-{i % 4}", group="g-1", action=action,
                                flagged=("C6",) if i == 3 else ())  # fmt: skip
                value["message"]["text"] = f"{TRICKY} {i}"
                value["categories"] = {"C6": 0.1 + 0.2, "C7": 1e-05, "C8": 1.0, "C9": 1e16 if i == 3 else 0.0}
                sink.add(value, topic=topics.verdicts.name, partition=i % 3, offset=hour * 100 + i)
        sink.add(decision("m0-3", "group", T1 + timedelta(minutes=50), DecisionOutcome.CONFIRMED, Action.BLOCK,
                          categories=("C6",)), topic=topics.decisions.name, partition=0, offset=7)  # fmt: skip
        sink.flush()


@pytest.fixture(scope="module")
def exported(written: None, records_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("verifier") / "bundle"
    with Store(records_settings) as store:
        export(records_settings, store, T1, T2, out, with_csv=True)
    return out


def test_the_independent_verifier_accepts_real_bundles(
    exported: Path, records_settings: Settings, store: Store, tmp_path: Path
) -> None:
    manifest = json.loads((exported / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["counts"]["records"] == 37
    done = node(exported)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("OK: 37 records from 7 objects verified")
    assert bundle.verify(exported, store).records == 37
    # filtered and report bundles too
    export(records_settings, store, T1, T2, tmp_path / "author", author="au-3")
    report(records_settings, store, FixedClock(NOW), T1, tmp_path / "report")
    for folder in (tmp_path / "author", tmp_path / "report"):
        done = node(folder)
        assert done.returncode == 0, done.stderr
        records = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))["counts"]["records"]
        assert records > 0
        assert done.stdout.startswith(f"OK: {records} records"), done.stdout


def _lines(folder: Path) -> list[bytes]:
    return (folder / "records.jsonl").read_bytes().splitlines(keepends=True)


def _rewrite(folder: Path, lines: list[bytes], *, manifest: Callable[[dict[str, Any]], None] | None = None) -> None:
    """Write records.jsonl and bring manifest.json's digest of it up to date, as a forger would."""
    (folder / "records.jsonl").write_bytes(b"".join(lines))
    doc = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    body = (folder / "records.jsonl").read_bytes()
    doc["files"]["records.jsonl"] = {"sha256": hashlib.sha256(body).hexdigest(), "bytes": len(body)}
    if manifest is not None:
        manifest(doc)
    (folder / "manifest.json").write_text(json.dumps(doc, ensure_ascii=False, indent=2), encoding="utf-8")


def _forge(line: bytes) -> bytes:
    """The record turned into a harmless one, its hash recomputed: consistent in itself."""
    record = json.loads(line)
    stored_in = record.pop("stored_in")
    record["data"]["message"]["text"] = "今天天气不错"
    record["data"]["action"] = "pass"
    record["hash"] = record_hash(record)
    return canonical(record)[:-1] + b',"stored_in":' + canonical(stored_in) + b"}\n"


def _tampered(exported: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "tampered"
    shutil.copytree(exported, copy)
    return copy


def _fails(folder: Path, *expected: str) -> str:
    done = node(folder)
    assert done.returncode == 1, done.stdout + done.stderr
    for text in expected:
        assert text in done.stderr, done.stderr
    with pytest.raises(IntegrityError):
        bundle.verify(folder)
    return done.stderr


def _place(line: bytes) -> tuple[str, int, str]:
    record = json.loads(line)
    return record["stored_in"]["key"], record["seq"], record["hash"]


def test_a_consistent_forgery_of_a_record_is_caught_by_the_chain(exported: Path, tmp_path: Path) -> None:
    folder = _tampered(exported, tmp_path)
    lines = _lines(folder)
    index = next(i for i, x in enumerate(lines) if json.loads(x)["data"].get("action") == "block")
    key, seq, _hash = _place(lines[index])
    assert seq < 5  # a record with a successor in its object
    lines[index] = _forge(lines[index])
    _rewrite(folder, lines)
    _fails(folder, f"object {key}", f"record {seq + 1}: chain broken")


def test_a_consistent_forgery_of_an_objects_last_record_is_caught_by_its_last_hash(
    exported: Path, tmp_path: Path
) -> None:
    folder = _tampered(exported, tmp_path)
    lines = _lines(folder)
    index = next(i for i, x in enumerate(lines) if json.loads(x)["seq"] == 5)
    key, _seq, _hash = _place(lines[index])
    lines[index] = _forge(lines[index])
    _rewrite(folder, lines)
    _fails(folder, key, "last record's hash differs from the object's last hash")


def test_a_dropped_record_is_caught_by_the_counts_and_by_its_object(exported: Path, tmp_path: Path) -> None:
    folder = _tampered(exported, tmp_path)
    lines = _lines(folder)
    key, _seq, _hash = _place(lines[10])
    del lines[10]
    _rewrite(folder, lines)
    _fails(folder, "36 records, manifest.json counts.records says 37")

    def recount(doc: dict[str, Any]) -> None:  # the forger edits the counts too
        doc["counts"]["records"] = 36
        doc["counts"]["by_service"]["group"]["verdict"] -= 1

    _rewrite(folder, lines, manifest=recount)
    _fails(folder, f"object {key}", "5 of its 6 records", "a record was dropped")


def test_a_duplicated_record_is_caught(exported: Path, tmp_path: Path) -> None:
    folder = _tampered(exported, tmp_path)
    lines = _lines(folder)
    lines.append(lines[4])

    def recount(doc: dict[str, Any]) -> None:
        doc["counts"]["records"] += 1
        doc["counts"]["by_service"]["group"]["verdict"] += 1

    _rewrite(folder, lines, manifest=recount)
    identity = f"verdict/{json.loads(lines[4])['message_id']}/"
    _fails(folder, "records.jsonl line 38", identity, "appears twice")


def test_an_edited_manifest_count_is_caught(exported: Path, tmp_path: Path) -> None:
    folder = _tampered(exported, tmp_path)
    _rewrite(folder, _lines(folder), manifest=lambda doc: doc["counts"].update(records=36))
    _fails(folder, "37 records, manifest.json counts.records says 36")
    shutil.copy(exported / "manifest.json", folder / "manifest.json")
    _rewrite(folder, _lines(folder), manifest=lambda doc: doc["counts"]["by_service"]["group"].update(verdict=35))
    _fails(folder, "counts by service")


def test_an_edited_file_is_caught(exported: Path, tmp_path: Path) -> None:
    folder = _tampered(exported, tmp_path)
    csv = (folder / "records.csv").read_bytes()
    (folder / "records.csv").write_bytes(csv + b"x")
    _fails(folder, "records.csv")
    shutil.copy(exported / "records.csv", folder / "records.csv")
    body = (folder / "records.jsonl").read_bytes()
    (folder / "records.jsonl").write_bytes(body.replace(b'"action":"block"', b'"action":"pass"', 1))
    _fails(folder, "records.jsonl", "SHA-256 differs from manifest.json")


def test_the_bundle_stands_on_its_own(exported: Path, records_settings: Settings) -> None:
    readme = (exported / "README.md").read_text(encoding="utf-8")
    for text in ("如何校验", "How to verify", "verify-bundle.mjs", "docs/record-format.md", "Asia/Shanghai",
                 T1.isoformat().replace("+00:00", "Z"), "`stored_in`", "lowercase hex"):  # fmt: skip
        assert text in readme, text
    manifest = json.loads((exported / "manifest.json").read_text(encoding="utf-8"))
    assert set(manifest["files"]) == {"records.jsonl", "records.csv", "access.jsonl", "README.md"}
    digests = [o["sha256"] for o in manifest["objects_read"]] + [m["sha256"] for m in manifest["manifests_read"]]
    digests += [f["sha256"] for f in manifest["files"].values()]
    assert all(len(d) == 64 and d == d.lower() and int(d, 16) >= 0 for d in digests)
    raw = (exported / "records.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    header, *rows = raw.decode("utf-8-sig").splitlines()
    assert "事件时间 event_at (UTC)" in header
    assert "类别名称 category names" in header
    c6 = records_settings.categories["C6"]
    assert any(f"C6 {c6.name_zh} / {c6.name_en}" in row for row in rows)


def test_export_refuses_a_non_empty_folder_and_speaks_json(
    written: None, records_settings: Settings, stack: StackInfo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        State, "overrides", {**stack_overrides(stack), "s3.records_bucket": records_settings.s3.records_bucket}
    )
    runner = CliRunner()
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("the auditor's own file")
    args = ["audit", "export", "--from", T1.isoformat(), "--to", T2.isoformat(), "--out", str(out)]
    refused = runner.invoke(app, args)
    assert refused.exit_code == 2, refused.output
    assert "not empty" in refused.output
    assert "--force" in refused.output
    assert not (out / "records.jsonl").exists()
    done = runner.invoke(app, [*args, "--force", "--json"])
    assert done.exit_code == 0, done.output
    info = json.loads(done.stdout)
    assert info["records"] == 37
    assert info["from"] == T1.isoformat().replace("+00:00", "Z")
    assert set(info["files"]) == {"records.jsonl", "access.jsonl", "README.md"}
    assert (out / "notes.txt").exists()  # --force replaces the bundle's files, nothing else
    human = runner.invoke(app, [*args, "--force"])
    assert human.exit_code == 0, human.output
    assert "exported 37 records of [" in human.output
    assert "group (" in human.output
    verified = runner.invoke(app, ["audit", "verify", "--json", str(out)])
    assert verified.exit_code == 0, verified.output
    answer = json.loads(verified.stdout)
    assert answer.pop("access_entries") == 0  # the access log of a window 20 hours ago holds no access
    assert answer == {"ok": True, "records": 37, "objects": 7, "checked_against_store": True, "tampers": 0}
    assert node(out).returncode == 0
