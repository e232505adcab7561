"""Holds the way counsel uses them, on the real local S3 server: many holds per subject, each with its own id,
reason and who/when; releasing one leaves the others (and their S3 legal holds); a hold that selects nothing says
so; a hold record hidden behind a delete marker still holds."""

from __future__ import annotations

from datetime import timedelta

import pytest
from minio import Minio
from typer.testing import CliRunner

from modpipe.cli.common import State
from modpipe.cli.main import app
from modpipe.clock import FixedClock
from modpipe.settings import Settings
from modpipe.stack.manager import StackInfo
from retention import HoldError, RecordSink
from retention import holds as legal
from retention.dates import iso
from retention.store import Store
from tests.integration.retention.factory import legal_hold_on, verdict
from tests.support import recent_mid_hour, stack_overrides

NOW = recent_mid_hour()


def _store_author(settings: Settings, author: str, topic: str) -> str:
    with RecordSink(settings, clock=FixedClock(NOW), worker_id="w") as sink:
        for i in range(3):
            sink.add(verdict(f"{author}-{i}", "bbs", NOW - timedelta(minutes=i), author=author), topic=topic,
                     partition=0, offset=i)  # fmt: skip
        stored = sink.flush()
    (key,) = {b.key for b in stored}
    return key


def _legal_hold_on(raw_s3: Minio, bucket: str, key: str) -> bool:
    return all(
        legal_hold_on(raw_s3, bucket, key, version_id=o.version_id)
        for o in raw_s3.list_objects(bucket, prefix=key, include_version=True)
        if not o.is_delete_marker
    )


@pytest.mark.obligation("L2", "L3")
def test_two_holds_on_one_author_are_two_holds(
    records_settings: Settings, store: Store, raw_s3: Minio, unique: str
) -> None:
    bucket = records_settings.s3.records_bucket
    author = f"a-{unique}"
    key = _store_author(records_settings, author, f"posts-{unique}")
    clock = FixedClock(NOW)
    first = legal.place(store, records_settings, clock, "author", author, "case 2026-01", "counsel-a")
    second = legal.place(store, records_settings, FixedClock(NOW + timedelta(hours=1)), "author", author,
                         "police request 88", "counsel-b")  # fmt: skip
    assert first.id != second.id
    assert first.objects == second.objects == [key]
    # each hold keeps its own copy of the author's records; the original object carries no legal hold
    assert len(first.copies) == len(second.copies) == 1
    assert first.copies != second.copies
    assert not _legal_hold_on(raw_s3, bucket, key)
    listed = {h.id: h for h in legal.all_holds(store)}
    assert (listed[first.id].reason, listed[first.id].placed_by) == ("case 2026-01", "counsel-a")
    assert (listed[second.id].reason, listed[second.id].placed_by) == ("police request 88", "counsel-b")

    # with two active holds on the subject, a release must say which
    with pytest.raises(HoldError, match="2 active holds"):
        legal.release_on(store, records_settings, clock, "author", author, "counsel-a")
    done = legal.release(store, records_settings, FixedClock(NOW + timedelta(hours=2)), first.id, "counsel-a")
    assert (done.released_by, done.released_at) == ("counsel-a", iso(NOW + timedelta(hours=2)))
    after = {h.id: h for h in legal.all_holds(store)}
    assert not after[first.id].active
    assert after[first.id].reason == "case 2026-01"
    assert after[second.id].active
    assert _legal_hold_on(raw_s3, bucket, second.copies[0])  # the other hold still keeps its copy
    assert not _legal_hold_on(raw_s3, bucket, first.copies[0])
    with pytest.raises(HoldError, match="already released"):
        legal.release(store, records_settings, clock, first.id, "counsel-a")

    legal.release_on(store, records_settings, clock, "author", author, "counsel-b")
    assert not _legal_hold_on(raw_s3, bucket, second.copies[0])
    assert [h.active for h in legal.all_holds(store) if h.id in (first.id, second.id)] == [False, False]


@pytest.mark.obligation("L2", "L3")
def test_a_hidden_hold_record_still_holds(records_settings: Settings, store: Store, raw_s3: Minio, unique: str) -> None:
    author = f"h-{unique}"
    _store_author(records_settings, author, f"posts-{unique}")
    hold = legal.place(store, records_settings, FixedClock(NOW), "author", author, "case 7", "counsel")
    # what the issue did with the pipeline's keys: a delete marker over the hold record
    raw_s3.remove_object(records_settings.s3.records_bucket, legal.hold_key(hold.id))
    found = {h.id: h for h in legal.all_holds(store)}
    assert found[hold.id].active
    assert found[hold.id].hidden
    assert found[hold.id].reason == "case 7"


def test_a_hold_that_selects_nothing_says_so(
    records_settings: Settings, store: Store, unique: str, stack: StackInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        State, "overrides", {**stack_overrides(stack), "s3.records_bucket": records_settings.s3.records_bucket}
    )
    nobody = legal.place(store, records_settings, FixedClock(NOW), "author", f"nobody-{unique}", "case 9", "c")
    assert nobody.selects_nothing
    assert nobody.active
    runner = CliRunner()
    out = runner.invoke(app, ["retention", "hold", "--author", f"none-{unique}", "--reason", "case 10"])
    assert out.exit_code == 0, out.output
    assert "0 objects held" in out.output
    assert "selects no stored record" in out.output
    listed = runner.invoke(app, ["retention", "holds"])
    assert f"none-{unique}" in listed.output
    assert "placed by" in listed.output
    both = runner.invoke(app, ["retention", "release", "--id", nobody.id, "--author", "x"])
    assert both.exit_code == 2
    gone = runner.invoke(app, ["retention", "release", "--id", nobody.id])
    assert gone.exit_code == 0, gone.output
    assert "case 9" in gone.output
