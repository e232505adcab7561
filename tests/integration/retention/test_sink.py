"""The records sink against the real S3 server: locked batch objects, manifests, retries, lock extension."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from minio import Minio
from minio.error import S3Error

from modpipe.clock import FixedClock
from modpipe.contracts.verdict import DecisionOutcome
from modpipe.settings import Action, Settings, load_settings
from modpipe.stack.health import free_port
from modpipe.stack.manager import StackInfo
from retention import RecordSink, StorageError, TransientStorageError
from retention.dates import retain_until
from retention.manifests import parse
from retention.scan import latest_keys, state
from retention.store import Store
from tests.integration.retention.factory import decision, verdict
from tests.support import stack_overrides

NOW = datetime.now(UTC).replace(microsecond=0)


def _add_verdicts(sink: RecordSink, settings: Settings, n: int, start: int = 0, partition: int = 0) -> None:
    topic = settings.kafka.topics.verdicts.name
    for i in range(start, start + n):
        service = "bbs" if i % 2 else "group"
        sink.add(verdict(f"s-{i}", service, NOW - timedelta(seconds=i)), topic=topic, partition=partition, offset=i)


def test_one_locked_object_per_batch_with_manifest(records_settings: Settings, store: Store, raw_s3: Minio) -> None:
    clock = FixedClock(NOW)
    with RecordSink(records_settings, clock=clock, worker_id="w-a") as sink:
        _add_verdicts(sink, records_settings, 40)
        assert sink.should_flush() is False  # far below every bound (5000 records, 8 MiB, 30 s)
        stored = sink.flush()
        assert sink.pending == 0
    # 40 records of two services in one hour (or two, near the top of an hour): one object per service and hour
    assert 2 <= len(stored) <= 4
    assert sum(b.entry.records for b in stored) == 40
    bucket = records_settings.s3.records_bucket
    for batch in stored:
        key = batch.key
        assert key.startswith(f"records/service={batch.service}/date=")
        assert key.endswith(f"/w-a-v-0-{batch.entry.first_offset}.jsonl.zst")
        # a period counts from the later of published_at and the receipt (the sink's clock): here the receipt
        expected = max(
            retain_until(records_settings.services[batch.service].retention, max(NOW - timedelta(seconds=i), NOW))
            for i in range(batch.entry.first_offset, batch.entry.last_offset + 1, 2)
        )
        lock = raw_s3.get_object_retention(bucket, key, version_id=batch.entry.version_id)
        assert lock.mode == "GOVERNANCE"
        assert lock.retain_until_date == expected
        assert state(store, key, batch.entry.version_id).retain_until == expected
        # the pipeline's credentials, without the bypass header, can neither delete nor shorten the lock
        with pytest.raises(S3Error) as denied:
            raw_s3.remove_object(bucket, key, version_id=batch.entry.version_id)
        assert denied.value.code == "AccessDenied"
    manifests = latest_keys(store, "manifests/")
    assert manifests
    assert all(k.endswith("/w-a.json") for k in manifests)
    listed = {}
    for key in manifests:
        data, _ = store.get(key)
        listed.update(parse(key, data))
    assert {b.key for b in stored} == set(listed)
    assert {k: e.version_id for k, e in listed.items()} == {b.key: b.entry.version_id for b in stored}


def test_overwrite_keeps_the_original_version(records_settings: Settings, store: Store, raw_s3: Minio) -> None:
    with RecordSink(records_settings, clock=FixedClock(NOW), worker_id="w-b") as sink:
        _add_verdicts(sink, records_settings, 4, start=100)
        batch = sink.flush()[0]
    bucket = records_settings.s3.records_bucket
    original, _ = store.get(batch.key, batch.entry.version_id)
    raw_s3.put_object(bucket, batch.key, io.BytesIO(b"overwritten"), 11)
    raw_s3.remove_object(bucket, batch.key)  # a delete marker on top
    kept, version = store.get(batch.key, batch.entry.version_id)
    assert kept == original
    assert version == batch.entry.version_id


def test_retried_batch_lands_on_its_own_key(records_settings: Settings, store: Store) -> None:
    first: list[tuple[str, str]] = []
    for attempt in range(2):  # a crash after the store and before the offset commit: the batch comes again
        with RecordSink(records_settings, clock=FixedClock(NOW), worker_id="w-c") as sink:
            _add_verdicts(sink, records_settings, 10, start=200, partition=3)
            stored = sink.flush()
        pairs = sorted((b.key, b.entry.sha256) for b in stored)
        if attempt == 0:
            first = pairs
    assert pairs == first  # same keys, same bytes
    keys = [k for k in latest_keys(store, "records/") if "/w-c-" in k]
    assert sorted(keys) == [k for k, _ in first]
    manifest_records = 0
    for key in latest_keys(store, "manifests/"):
        if key.endswith("/w-c.json"):
            data, _ = store.get(key)
            manifest_records += sum(e.records for e in parse(key, data).values())
    assert manifest_records == 10


def test_decision_extends_the_lock_of_the_verdict(records_settings: Settings, store: Store) -> None:
    verdicts, decisions = records_settings.kafka.topics.verdicts.name, records_settings.kafka.topics.decisions.name
    published = NOW - timedelta(hours=1)
    clock = FixedClock(NOW)
    with RecordSink(records_settings, clock=clock, worker_id="w-d") as sink:
        sink.add(verdict("dx-1", "bbs", published, action=Action.REVIEW), topic=verdicts, partition=1, offset=7)
        sink.add(verdict("dx-2", "bbs", published, action=Action.REVIEW), topic=verdicts, partition=2, offset=7)
        (held1,) = [b for b in sink.flush() if b.entry.partition == 1]
        later = published + timedelta(days=10)
        # the decision arrives when it is made: a decided_at days ahead of the receipt would not be believed
        clock.set(later)
        sink.add(decision("dx-1", "bbs", later, DecisionOutcome.CONFIRMED, Action.REVIEW), topic=decisions,
                 partition=1, offset=7)  # fmt: skip
        (stored,) = sink.flush()
    assert "-d-1-7.jsonl.zst" in stored.key
    assert "-v-" in held1.key
    bbs = records_settings.services["bbs"].retention
    assert state(store, held1.key, held1.entry.version_id).retain_until == retain_until(bbs, later)
    # a worker that never saw the verdict finds it in S3 (a decision soon after publication)
    with RecordSink(records_settings, clock=FixedClock(NOW), worker_id="w-e") as fresh:
        soon = published + timedelta(hours=1)
        fresh.add(decision("dx-2", "bbs", soon, DecisionOutcome.CONFIRMED, Action.REVIEW), topic=decisions,
                  partition=0, offset=9)  # fmt: skip
        fresh.flush()
    (held2,) = [k for k in latest_keys(store, "records/") if k.endswith("w-d-v-2-7.jsonl.zst")]
    assert state(store, held2, None).retain_until == retain_until(bbs, soon)


def test_unknown_service_and_bad_times_are_kept_longest(records_settings: Settings, store: Store) -> None:
    topic = records_settings.kafka.topics.verdicts.name
    with RecordSink(records_settings, clock=FixedClock(NOW), worker_id="w-f") as sink:
        odd = verdict("odd-1", "bbs", NOW)
        odd["service_type"] = "Live Stream!"
        odd["message"]["published_at"] = "yesterday"
        sink.add(odd, topic=topic, partition=0, offset=1)
        (stored,) = sink.flush()
    assert stored.key.startswith("records/service=unclassified/")
    data, _ = store.get(stored.key)
    longest = max(retain_until(s.retention, NOW) for s in records_settings.services.values())
    assert stored.entry.retain_until == longest.isoformat().replace("+00:00", "Z")
    assert b"odd-1" not in data  # compressed


def test_unreachable_s3_is_transient_and_keeps_the_batch(stack: StackInfo, records_settings: Settings) -> None:
    dead = load_settings(environ={}, overrides=stack_overrides(
        stack, **{"s3.endpoint": f"127.0.0.1:{free_port()}", "s3.records_bucket": records_settings.s3.records_bucket}
    ))  # fmt: skip
    with RecordSink(dead, clock=FixedClock(NOW), worker_id="w-g") as sink:
        _add_verdicts(sink, dead, 3, start=300)
        with pytest.raises(TransientStorageError):
            sink.flush()
        assert sink.pending == 3


def test_bucket_without_lock_is_refused(stack: StackInfo, raw_s3: Minio, records_settings: Settings) -> None:
    bucket = records_settings.s3.records_bucket.replace("rec-", "nolock-")[:63]
    raw_s3.make_bucket(bucket)
    plain = load_settings(environ={}, overrides=stack_overrides(stack, **{"s3.records_bucket": bucket}))
    with RecordSink(plain, clock=FixedClock(NOW), worker_id="w-h") as sink:
        _add_verdicts(sink, plain, 1)
        with pytest.raises(StorageError, match="without object lock"):
            sink.flush()
    assert json.dumps(bucket)  # keep the name in a failure message
