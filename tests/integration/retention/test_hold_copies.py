"""A hold keeps the held subject's records, not whole objects, on the real local S3 server: the held author's
records survive the sweep in the hold's own locked, legally held copies while another user's records in the same
original object are deleted on their date (clock moved, not waited for); an export finds the copies once the
originals are gone and counts each record once while both exist; the bundles verify, online and independently."""

from __future__ import annotations

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
from modpipe.contracts.verdict import DecisionOutcome
from modpipe.settings import Action, Settings
from modpipe.stack.manager import StackInfo
from retention import RecordSink, bundle, sweep
from retention import holds as legal
from retention.codec import decode, record_hash
from retention.exports import export
from retention.hold_copies import original_of
from retention.scan import versions
from retention.store import Store
from tests.integration.retention.factory import ServerTimeLocks, decision, legal_hold_on, verdict
from tests.support import stack_overrides

NOW = datetime.now(UTC).replace(microsecond=0)
OLD = datetime(2020, 1, 1, 10, 0, tzinfo=UTC)
BBS_DUE = datetime(2020, 3, 2, tzinfo=UTC)  # 1 Jan 10:xx + 60 days, rounded up to the end of 1 Mar
VERIFIER = Path(__file__).resolve().parents[3] / "retention" / "verifier" / "verify-bundle.mjs"


def _keys(store: Store, prefix: str) -> set[str]:
    return {v.key for v in versions(store, prefix) if not v.is_delete_marker}


def _exported(settings: Settings, store: Store, out: Path) -> tuple[dict[str, object], list[dict[str, object]]]:
    manifest = export(settings, store, OLD, OLD + timedelta(hours=2), out)
    assert bundle.verify(out, store).checked_against_store
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed: the independent bundle verifier needs Node.js (>= 20) on PATH")
    done = subprocess.run([node, str(VERIFIER), str(out)], check=False, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = (out / "records.jsonl").read_text(encoding="utf-8").splitlines()
    return manifest, [json.loads(line) for line in lines]


@pytest.mark.obligation("L2", "L3", "L4")
def test_a_hold_keeps_the_held_authors_records_and_lets_the_others_go(
    records_settings: Settings, store: Store, raw_s3: Minio, tmp_path: Path
) -> None:
    topics = records_settings.kafka.topics
    # received in 2020 and past their date already: the server enforces no lock on them, only their date counts
    with (
        ServerTimeLocks(records_settings) as in_2020,
        RecordSink(records_settings, clock=FixedClock(OLD + timedelta(hours=2)), worker_id="w", store=in_2020) as sink,
    ):
        for i in range(4):
            at = OLD + timedelta(minutes=i)
            sink.add(verdict(f"kept-{i}", "bbs", at, author="a-held", action=Action.BLOCK), topic=topics.verdicts.name,
                     partition=0, offset=2 * i)  # fmt: skip
            sink.add(verdict(f"gone-{i}", "bbs", at + timedelta(seconds=30), author="a-other"),
                     topic=topics.verdicts.name, partition=0, offset=2 * i + 1)  # fmt: skip
        sink.add(decision("kept-0", "bbs", OLD + timedelta(minutes=20), DecisionOutcome.CONFIRMED, Action.BLOCK),
                 topic=topics.decisions.name, partition=0, offset=0)  # fmt: skip
        sink.add(decision("gone-0", "bbs", OLD + timedelta(minutes=21), DecisionOutcome.OVERTURNED, Action.PASS),
                 topic=topics.decisions.name, partition=0, offset=1)  # fmt: skip
        stored = {b.key: b for b in sink.flush()}
    (original,) = (k for k in stored if "-v-" in k)
    (decisions,) = (k for k in stored if "-d-" in k)
    bucket = records_settings.s3.records_bucket

    hold = legal.place(store, records_settings, FixedClock(NOW), "author", "a-held", "case 2020-31", "counsel")
    assert hold.objects == sorted([original, decisions])
    assert len(hold.copies) == 2
    assert all(c.startswith("holds/copies/service=bbs/date=2020-01-01/hour=10/" + hold.id + "/") for c in hold.copies)
    for copy in hold.copies:
        assert legal_hold_on(raw_s3, bucket, copy)
    for key in (original, decisions):  # the originals keep their own date
        assert not legal_hold_on(raw_s3, bucket, key, version_id=stored[key].entry.version_id)
    (verdict_copy,) = (c for c in hold.copies if "-v-" in c)
    copied = decode(verdict_copy, store.get(verdict_copy)[0])
    # only the held author's records, each rebuilt exactly from its copy
    assert [r["message_id"] for r in copied] == [f"kept-{i}" for i in range(4)]
    originals = {r["message_id"]: r for r in decode(original, store.get(original)[0])}
    for r in copied:
        assert r["held_from"]["key"] == original
        assert original_of(r) == originals[r["message_id"]]
        assert record_hash(original_of(r)) == r["held_from"]["hash"]
    (decision_copy,) = (c for c in hold.copies if "-d-" in c)
    assert [r["message_id"] for r in decode(decision_copy, store.get(decision_copy)[0])] == ["kept-0"]

    # both stored: each record once, taken from its original
    manifest, records = _exported(records_settings, store, tmp_path / "before")
    assert manifest["counts"]["records"] == 10  # type: ignore[index]
    assert "held_copies_read" not in manifest
    assert not any("held_from" in r for r in records)

    done = sweep(records_settings, FixedClock(BBS_DUE), store=store)
    assert {original, decisions} <= {key for key, _ in done.deleted}
    assert _keys(store, "records/service=bbs/date=2020-01-01/") == set()  # a-other's records are gone
    assert _keys(store, "manifests/service=bbs/date=2020-01-01/") == set()
    assert _keys(store, "holds/copies/") == set(hold.copies)

    # the originals gone: the export finds the held copies, and only the held author's records are left
    manifest, records = _exported(records_settings, store, tmp_path / "after")
    assert manifest["counts"]["records"] == 5  # type: ignore[index]
    assert manifest["held_copies_read"] == sorted(hold.copies)
    assert sorted(str(r["message_id"]) for r in records) == ["kept-0", "kept-0", "kept-1", "kept-2", "kept-3"]
    assert {str(r["author_id"]) for r in records if r["kind"] == "verdict"} == {"a-held"}
    assert all(r["stored_in"]["key"] in hold.copies for r in records)  # type: ignore[index]

    # released, and its records' date long past: the copies go with the release, the hold's record stays
    legal.release(store, records_settings, FixedClock(NOW), hold.id, "counsel")
    assert _keys(store, "holds/copies/") == set()
    assert [h.id for h in legal.all_holds(store) if not h.active] == [hold.id]


@pytest.mark.obligation("L2", "L3")
def test_records_stored_after_a_hold_are_kept_until_it_is_refreshed(
    records_settings: Settings, store: Store, stack: StackInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    topic = records_settings.kafka.topics.verdicts.name
    later = OLD + timedelta(hours=5)  # an hour of its own in this module's bucket

    def stored_by(author: str, offset: int) -> str:
        with (
            ServerTimeLocks(records_settings) as in_2020,
            RecordSink(records_settings, clock=FixedClock(later + timedelta(hours=1)), worker_id=f"late{offset}",
                       store=in_2020) as sink,
        ):  # fmt: skip
            sink.add(verdict(f"{author}-{offset}", "bbs", later, author=author), topic=topic, partition=3,
                     offset=offset)  # fmt: skip
            (batch,) = sink.flush()
        return batch.key

    first = stored_by("a-late", 0)
    hold = legal.place(store, records_settings, FixedClock(NOW), "author", "a-late", "case 2020-40", "counsel")
    assert hold.objects == [first]
    second = stored_by("a-late", 1)  # after the hold: not copied yet, so the sweep keeps its whole object
    done = sweep(records_settings, FixedClock(BBS_DUE), store=store)
    assert first in {key for key, _ in done.deleted}
    assert second in done.held

    monkeypatch.setattr(
        State, "overrides", {**stack_overrides(stack), "s3.records_bucket": records_settings.s3.records_bucket}
    )
    out = CliRunner().invoke(app, ["retention", "refresh", "--id", hold.id])  # as compliance
    assert out.exit_code == 0, out.output
    assert "1 new hold copies, 2 in all" in out.output
    refreshed = legal.load(store, hold.id)
    assert refreshed is not None
    assert refreshed.objects == sorted([first, second])
    assert refreshed.reason == "case 2020-40"
    done = sweep(records_settings, FixedClock(BBS_DUE), store=store)
    assert second in {key for key, _ in done.deleted}
    assert len(_keys(store, f"holds/copies/service=bbs/date=2020-01-01/hour=15/{hold.id}/")) == 2
