"""A replayed stream (a second consumer group storing the same verdicts and decisions again, at other source
positions and by another worker) changes no count in the export, the report or verify."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from modpipe.clock import FixedClock
from modpipe.contracts.verdict import DecisionOutcome
from modpipe.settings import Action, Settings
from retention import IntegrityError, RecordSink, bundle
from retention.codec import canonical, record_hash
from retention.exports import export, report
from retention.store import Store
from tests.integration.retention.factory import decision, verdict

NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
DAY = (NOW - timedelta(days=2)).replace(hour=0)
CASES = [("r-blk", Action.BLOCK, None), ("r-ok", Action.REVIEW, DecisionOutcome.CONFIRMED),
         ("r-pass", Action.PASS, None)]  # fmt: skip


def _store_stream(settings: Settings, worker_id: str, first_offset: int) -> None:
    topics = settings.kafka.topics
    with RecordSink(settings, clock=FixedClock(NOW), worker_id=worker_id) as sink:
        for i, (name, action, outcome) in enumerate(CASES):
            flagged = ("C9",) if action is not Action.PASS else ()
            sink.add(verdict(name, "bbs", DAY + timedelta(hours=2, minutes=i), action=action, flagged=flagged),
                     topic=topics.verdicts.name, partition=1, offset=first_offset + i)  # fmt: skip
            if outcome is not None:
                sink.add(decision(name, "bbs", DAY + timedelta(hours=5), outcome, action, categories=flagged),
                         topic=topics.decisions.name, partition=0, offset=first_offset + i)  # fmt: skip
        sink.flush()


@pytest.fixture(scope="module")
def replayed(records_settings: Settings) -> None:
    _store_stream(records_settings, "w-first", 10)
    # The replay: the same values again, re-read by a new group and re-published at new offsets, twice over.
    _store_stream(records_settings, "w-replay", 5000)
    _store_stream(records_settings, "w-replay-2", 9000)


@pytest.mark.obligation("L9")
def test_export_writes_each_record_once_and_lists_the_copies(
    replayed: None, records_settings: Settings, store: Store, tmp_path: Path
) -> None:
    manifest = export(records_settings, store, DAY, DAY + timedelta(days=1), tmp_path)
    lines = [json.loads(x) for x in (tmp_path / "records.jsonl").read_text(encoding="utf-8").splitlines()]
    assert sorted((r["kind"], r["message_id"]) for r in lines) == [
        ("decision", "r-ok"), ("verdict", "r-blk"), ("verdict", "r-ok"), ("verdict", "r-pass"),
    ]  # fmt: skip
    assert manifest["counts"]["records"] == 4
    assert manifest["duplicates_skipped"] == 8
    copies = manifest["duplicates"]
    assert sorted({c["identity"] for c in copies}) == sorted(
        [f"verdict/{name}/{lines_id}" for name, lines_id in ((r["message_id"], r["data"]["verdict_id"])
         for r in lines if r["kind"] == "verdict")] + ["decision/r-ok/d-r-ok-confirmed"]
    )  # fmt: skip
    assert all("w-replay" in c["key"] and "w-first" in c["first"] for c in copies)
    assert bundle.verify(tmp_path, store).records == 4


@pytest.mark.obligation("L2")
def test_the_report_counts_each_blocked_item_once(
    replayed: None, records_settings: Settings, store: Store, tmp_path: Path
) -> None:
    summary = report(records_settings, store, FixedClock(NOW), DAY, tmp_path)["report"]
    assert summary["blocked_items"] == 2
    assert sorted(i["message_id"] for i in summary["items"]) == ["r-blk", "r-ok"]
    assert summary["by_category"] == {"C9": 2}


def test_verify_rejects_a_bundle_that_holds_a_record_twice(
    replayed: None, records_settings: Settings, store: Store, tmp_path: Path
) -> None:
    out = tmp_path / "bundle"
    export(records_settings, store, DAY, DAY + timedelta(days=1), out)
    doubled = tmp_path / "doubled"
    shutil.copytree(out, doubled)
    records = doubled / "records.jsonl"
    first = records.read_bytes().splitlines(keepends=True)[0]
    records.write_bytes(records.read_bytes() + first)
    manifest = json.loads((doubled / "manifest.json").read_text(encoding="utf-8"))
    manifest["counts"]["records"] += 1  # a consistent edit: counts and file hash updated too
    manifest["files"]["records.jsonl"]["sha256"] = bundle._sha256_file(records)
    (doubled / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(IntegrityError, match="appears twice"):
        bundle.verify(doubled)


@pytest.mark.obligation("L8")
def test_a_consistent_forgery_of_a_bundle_passes_offline_but_not_against_the_store(
    replayed: None, records_settings: Settings, store: Store, tmp_path: Path
) -> None:
    out = tmp_path / "forged"
    export(records_settings, store, DAY, DAY + timedelta(days=1), out)
    path = out / "records.jsonl"
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    target = next(r for r in records if r["kind"] == "verdict" and r["data"]["action"] == "block")
    target["data"]["message"]["text"] = "今天天气不错"
    target["data"]["action"] = "pass"
    # Recompute the chain of that object from the forged record on, and every digest the manifest holds.
    key = target["stored_in"]["key"]
    chain = sorted((r for r in records if r["stored_in"]["key"] == key), key=lambda r: r["seq"])
    prev = chain[0]["prev"]
    for r in chain:
        r["prev"] = prev
        r["hash"] = prev = record_hash(r)
    path.write_bytes(b"".join(canonical(r) + b"\n" for r in records))
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    for o in manifest["objects_read"]:
        if o["key"] == key:
            o["last_hash"] = chain[-1]["hash"]
            o["first_hash"] = chain[0]["hash"]
    manifest["files"]["records.jsonl"]["sha256"] = bundle._sha256_file(path)
    (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")

    assert bundle.verify(out).records == 4  # offline, a whole-bundle rewrite cannot be told from the real one
    with pytest.raises(IntegrityError, match="not the record stored at that position") as caught:
        bundle.verify(out, store)
    assert caught.value.object_key == key
