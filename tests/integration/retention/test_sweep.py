"""Retention enforced both ways, with the clock moved instead of waiting: the sweep deletes exactly what has
expired, never a day early, nothing under a legal hold; S3 itself refuses anything still locked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from minio import Minio

from modpipe.clock import FixedClock
from modpipe.settings import Settings
from retention import HoldError, RecordSink, sweep
from retention import holds as legal
from retention.scan import versions
from retention.store import Store
from tests.integration.retention.factory import ServerTimeLocks, legal_hold_on, verdict

NOW = datetime.now(UTC).replace(microsecond=0)
OLD = datetime(2020, 1, 1, 10, 0, tzinfo=UTC)
BBS_DUE = datetime(2020, 3, 2, tzinfo=UTC)  # 1 Jan 10:00 + 60 days = 1 Mar 10:00, rounded up to the end of 1 Mar
GROUP_DUE = datetime(2020, 7, 2, tzinfo=UTC)  # + 6 calendar months = 1 Jul 10:00 -> end of 1 Jul (> 180 days)


def _keys(store: Store, prefix: str) -> set[str]:
    return {v.key for v in versions(store, prefix) if not v.is_delete_marker}


@pytest.mark.obligation("L3", "L4")
def test_sweep_deletes_exactly_what_expired(records_settings: Settings, store: Store, raw_s3: Minio) -> None:
    topic = records_settings.kafka.topics.verdicts.name
    # received in 2020 (a period counts from the receipt, the sink's clock) and past their date already, so they
    # carry no lock the server still enforces, only their date; the records received today are locked
    stored = {}
    with (
        ServerTimeLocks(records_settings) as in_2020,
        RecordSink(records_settings, clock=FixedClock(OLD + timedelta(hours=2)), worker_id="w", store=in_2020) as sink,
    ):
        for i in range(5):
            sink.add(verdict(f"free-{i}", "bbs", OLD + timedelta(minutes=i), author="a-free"), topic=topic,
                     partition=0, offset=i)  # fmt: skip
            sink.add(verdict(f"held-{i}", "bbs", OLD + timedelta(hours=1, minutes=i), author="a-held"), topic=topic,
                     partition=0, offset=10 + i)  # fmt: skip
            sink.add(verdict(f"grp-{i}", "group", OLD, group="g1"), topic=topic, partition=1, offset=i)
        stored.update({b.key: b for b in sink.flush()})
        assert sink.quarantined == []
    with RecordSink(records_settings, clock=FixedClock(NOW), worker_id="w") as sink:
        for i in range(5):
            sink.add(verdict(f"new-{i}", "bbs", NOW), topic=topic, partition=2, offset=i)
        stored.update({b.key: b for b in sink.flush()})
    free = next(k for k in stored if "/hour=10/" in k and "service=bbs" in k)
    held = next(k for k in stored if "/hour=11/" in k)
    group = next(k for k in stored if "service=group" in k)
    new = next(k for k in stored if "-v-2-" in k)

    hold = legal.place(store, records_settings, FixedClock(NOW), "author", "a-held", "case 2020-17", "tester")
    assert hold.objects == [held]
    # the hold keeps a copy of the author's records, under a legal hold; the original keeps its date
    (copy,) = hold.copies
    bucket = records_settings.s3.records_bucket
    assert legal_hold_on(raw_s3, bucket, copy)
    assert not legal_hold_on(raw_s3, bucket, held, version_id=stored[held].entry.version_id)

    early = sweep(records_settings, FixedClock(BBS_DUE - timedelta(seconds=1)), store=store)
    assert early.deleted == []

    plan = sweep(records_settings, FixedClock(BBS_DUE), dry_run=True, store=store)
    planned = {key for key, _ in plan.deleted}
    bbs_manifests = {f"manifests/service=bbs/date=2020-01-01/hour={h}/w.json" for h in (10, 11)}
    assert planned == {free, held, *bbs_manifests}
    assert free in _keys(store, "records/")  # a dry run deletes nothing

    done = sweep(records_settings, FixedClock(BBS_DUE), store=store)
    assert {key for key, _ in done.deleted} == planned
    left = _keys(store, "records/")
    assert not {free, held} & left
    assert {group, new} <= left
    assert _keys(store, copy)  # the held author's records live on in the hold's copy

    # a year on: the group records go; the records written today are still locked in S3 whatever our clock says
    later = sweep(records_settings, FixedClock(NOW + timedelta(days=400)), store=store)
    assert group in {key for key, _ in later.deleted}
    assert new in {key for key, _ in later.refused}
    assert new in _keys(store, "records/")
    assert group not in _keys(store, "records/")

    with pytest.raises(HoldError):
        legal.release_on(store, records_settings, FixedClock(NOW), "author", "nobody", "tester")
    released = legal.release(store, records_settings, FixedClock(NOW), hold.id, "tester")
    assert released.released_at is not None
    # released, and its records' date long past: the copy goes with the release
    assert _keys(store, copy) == set()
    final = sweep(records_settings, FixedClock(BBS_DUE), store=store)
    assert final.deleted == []
    assert _keys(store, "records/service=bbs/date=2020-01-01/") == set()
    assert _keys(store, "manifests/service=bbs/date=2020-01-01/") == set()
    assert [h.active for h in legal.all_holds(store)] == [False]  # the hold's record stays, released
