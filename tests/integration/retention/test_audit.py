"""The auditor's export and the report against the real S3 server: exact windows, verification, tampering."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import zstandard
from minio import Minio
from typer.testing import CliRunner

from modpipe.cli.common import State
from modpipe.cli.main import app
from modpipe.clock import FixedClock
from modpipe.contracts.verdict import DecisionOutcome
from modpipe.settings import Action, Settings
from modpipe.stack.manager import StackInfo
from retention import IntegrityError, RecordSink, bundle
from retention.codec import canonical, decode, record_hash
from retention.exports import export, report
from retention.store import Store
from tests.integration.retention.factory import decision, verdict
from tests.support import stack_overrides

HOUR = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
T1 = HOUR - timedelta(hours=10)
T2 = T1 + timedelta(hours=2)
SERVICES = ("bbs", "comment", "group", "public_account")
EDGES = {
    "before": T1 - timedelta(microseconds=1),
    "at-from": T1,
    "inside": T1 + timedelta(minutes=59, seconds=59),
    "last": T2 - timedelta(microseconds=1),
    "at-to": T2,
}
INSIDE = {"at-from", "inside", "last"}


@pytest.fixture(scope="module")
def written(records_settings: Settings) -> dict[str, str]:
    """Records of every service around the window's edges, plus a decision inside it."""
    topics = records_settings.kafka.topics
    offset = 0
    with RecordSink(records_settings, clock=FixedClock(HOUR), worker_id="w-x") as sink:
        for service in SERVICES:
            for name, at in EDGES.items():
                offset += 1
                sink.add(verdict(f"{service}-{name}", service, at, author=f"au-{name}", group="g-1"),
                         topic=topics.verdicts.name, partition=offset % 3, offset=offset)  # fmt: skip
        sink.add(decision("bbs-inside", "bbs", T1 + timedelta(minutes=70), DecisionOutcome.CONFIRMED, Action.REVIEW),
                 topic=topics.decisions.name, partition=0, offset=1)  # fmt: skip
        # a report day in the past, with its own verdicts and decisions
        day = T1 - timedelta(days=1)
        cases = [("blk", Action.BLOCK, None), ("rev-ok", Action.REVIEW, DecisionOutcome.CONFIRMED),
                 ("blk-undone", Action.BLOCK, DecisionOutcome.OVERTURNED), ("plain", Action.PASS, None)]  # fmt: skip
        for i, (name, action, outcome) in enumerate(cases):
            flagged = ("C6",) if action is not Action.PASS else ()
            sink.add(verdict(name, "group", day + timedelta(minutes=i), action=action, flagged=flagged),
                     topic=topics.verdicts.name, partition=0, offset=100 + i)  # fmt: skip
            if outcome is not None:
                sink.add(decision(name, "group", day + timedelta(hours=3), outcome, action, categories=flagged),
                         topic=topics.decisions.name, partition=1, offset=100 + i)  # fmt: skip
        stored = sink.flush()
    return {b.key: b.service for b in stored}


@pytest.mark.obligation("L3", "L4", "L5", "L9")
def test_export_holds_exactly_the_window_per_service(
    written: dict[str, str], records_settings: Settings, store: Store, tmp_path: Path
) -> None:
    manifest = export(records_settings, store, T1, T2, tmp_path / "all", with_csv=True)
    lines = [json.loads(line) for line in (tmp_path / "all" / "records.jsonl").read_text().splitlines()]
    verdicts = {r["message_id"] for r in lines if r["kind"] == "verdict"}
    assert verdicts == {f"{s}-{n}" for s in SERVICES for n in INSIDE}
    assert [r["message_id"] for r in lines if r["kind"] == "decision"] == ["bbs-inside"]
    assert manifest["counts"]["by_service"]["group"] == {"verdict": 3}
    assert manifest["counts"]["records"] == len(lines) == 13
    assert manifest["unlisted_objects"] == []
    assert (tmp_path / "all" / "records.csv").read_text().count("\n") == 14
    for service in SERVICES:
        one = export(records_settings, store, T1, T2, tmp_path / service, services=[service])
        assert set(one["counts"]["by_service"]) == {service}
        assert one["counts"]["by_service"][service]["verdict"] == 3
    export(records_settings, store, T1, T2, tmp_path / "author", author="au-inside")
    got = [json.loads(x)["message_id"] for x in (tmp_path / "author" / "records.jsonl").read_text().splitlines()]
    assert sorted(got) == ["bbs-inside", "bbs-inside", "comment-inside", "group-inside", "public_account-inside"]
    assert bundle.verify(tmp_path / "all", store).records == 13
    assert bundle.verify(tmp_path / "all").checked_against_store is False


def test_one_object_per_batch_and_fewer_bytes_than_raw(records_settings: Settings, store: Store,
                                                        tmp_path: Path) -> None:  # fmt: skip
    hour = T1 - timedelta(hours=5)
    topic = records_settings.kafka.topics.verdicts.name
    with RecordSink(records_settings, clock=FixedClock(HOUR), worker_id="w-y") as sink:
        for i in range(300):
            sink.add(verdict(f"size-{i}", "group", hour + timedelta(seconds=i), author=f"u{i % 17}", group="g-9"),
                     topic=topic, partition=5, offset=1000 + i)  # fmt: skip
        stored = sink.flush()
    assert len(stored) == 1  # one batch, one object
    manifest = export(records_settings, store, hour, hour + timedelta(hours=1), tmp_path, services=["group"])
    assert manifest["counts"]["records"] == 300
    raw = sum(len(canonical(json.loads(x)["data"])) for x in (tmp_path / "records.jsonl").read_text().splitlines())
    stored_per_record = manifest["stored_bytes_read"] / 300
    print(f"bytes per record: stored {stored_per_record:.0f}, raw JSON {raw / 300:.0f}")
    assert stored_per_record < raw / 300 / 2


@pytest.mark.obligation("L2")
def test_report_of_a_day(written: dict[str, str], records_settings: Settings, store: Store, tmp_path: Path) -> None:
    day = T1 - timedelta(days=1)
    manifest = report(records_settings, store, FixedClock(HOUR), day, tmp_path)
    summary = manifest["report"]
    assert summary["blocked_items"] == 2
    assert {i["message_id"]: i["confirmed_by"] for i in summary["items"]} == {"blk": "machine", "rev-ok": "mod-7"}
    assert summary["by_category"] == {"C6": 2}
    assert summary["by_service_type"] == {"group": 2}
    assert bundle.verify(tmp_path, store).records == 3  # two verdicts and the confirming decision


def _tamper(raw_s3: Minio, bucket: str, key: str, *, rechain: bool) -> None:
    response = raw_s3.get_object(bucket, key)
    try:
        records = decode(key, response.read())
    finally:
        response.close()
        response.release_conn()
    records[0]["data"]["message"]["text"] = "改过的内容"
    if rechain:  # someone who knows the format recomputes every hash: the manifest still catches it
        prev = records[0]["prev"]
        for r in records:
            r["prev"] = prev
            r["hash"] = prev = record_hash(r)
    body = zstandard.ZstdCompressor().compress(b"".join(canonical(r) + b"\n" for r in records))
    raw_s3.put_object(bucket, key, io.BytesIO(body), len(body))


@pytest.mark.obligation("L8")
@pytest.mark.parametrize("rechain", [False, True])
def test_a_record_altered_around_the_pipeline_fails_export_and_verify(
    rechain: bool, written: dict[str, str], records_settings: Settings, store: Store, raw_s3: Minio,
    tmp_path: Path, stack: StackInfo, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    service = "comment" if rechain else "public_account"
    before = tmp_path / "before"
    export(records_settings, store, T1, T2, before, services=[service])
    key = next(k for k, s in written.items() if s == service and f"/hour={T1:%H}/" in k)
    _tamper(raw_s3, records_settings.s3.records_bucket, key, rechain=rechain)

    with pytest.raises(IntegrityError) as failed:
        export(records_settings, store, T1, T2, tmp_path / "after", services=[service])
    assert failed.value.object_key == key
    with pytest.raises(IntegrityError) as stale:
        bundle.verify(before, store)
    assert stale.value.object_key == key

    monkeypatch.setattr(
        State, "overrides", {**stack_overrides(stack), "s3.records_bucket": records_settings.s3.records_bucket}
    )
    runner = CliRunner()
    done = runner.invoke(app, ["audit", "verify", str(before)])
    assert done.exit_code == 3, done.output
    assert key in done.output
    assert "INTEGRITY CHECK FAILED" in done.output
    done = runner.invoke(app, ["audit", "export", "--from", T1.isoformat(), "--to", T2.isoformat(), "--service",
                               service, "--out", str(tmp_path / "cli")])  # fmt: skip
    assert done.exit_code == 3, done.output
    assert key in done.output
    assert runner.invoke(app, ["audit", "verify", "--offline", str(before)]).exit_code == 0  # the files are intact


def test_cli_commands(written: dict[str, str], records_settings: Settings, stack: StackInfo, tmp_path: Path,
                      monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setattr(
        State, "overrides", {**stack_overrides(stack), "s3.records_bucket": records_settings.s3.records_bucket}
    )
    runner = CliRunner()
    init = runner.invoke(app, ["storage", "init"])
    assert init.exit_code == 0, init.output
    assert "already set up" in init.output
    out = tmp_path / "bbs"
    done = runner.invoke(app, ["audit", "export", "--from", T1.isoformat(), "--to", T2.isoformat(), "--service",
                               "bbs", "--out", str(out), "--csv"])  # fmt: skip
    assert done.exit_code == 0, done.output
    assert "exported 4 records" in done.output
    assert runner.invoke(app, ["audit", "verify", str(out)]).exit_code == 0
    hold = runner.invoke(app, ["retention", "hold", "--message-id", "bbs-inside", "--reason", "request 12"])
    assert hold.exit_code == 0, hold.output
    assert "2 objects held" in hold.output
    assert "active" in runner.invoke(app, ["retention", "holds"]).output
    assert runner.invoke(app, ["retention", "release", "--message-id", "bbs-inside"]).exit_code == 0
    both = runner.invoke(app, ["retention", "hold", "--author", "a", "--group", "g", "--reason", "x"])
    assert both.exit_code == 2
    sweep = runner.invoke(app, ["retention", "sweep", "--dry-run", "--now", "2020-01-01"])
    assert sweep.exit_code == 0, sweep.output
    assert "would delete 0 object versions" in sweep.output
    # --date is a calendar day where the reports are read (records.report_timezone, Beijing): the day the records'
    # instant falls on there, which from 02:00 to 10:00 UTC is the day after its UTC date.
    day = (T1 - timedelta(days=1)).astimezone(records_settings.records.report_zone).date().isoformat()
    rep = runner.invoke(app, ["report", "--date", day, "--out", str(tmp_path / "rep")])
    assert rep.exit_code == 0, rep.output
    assert "2 blocked items" in rep.output
    assert (tmp_path / "rep" / "records.csv").exists()
