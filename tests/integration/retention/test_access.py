"""Least privilege and no side doors on the real local S3 server (weed mini as `modpipe stack up` starts it):
no request without credentials reads or deletes a record, neither through the S3 port nor the filer or volume
ports; the pipeline's keys cannot set or lift a legal hold, shorten a lock, or touch a hold record; compliance
places and lifts holds; the auditor only reads; the stack's folders are owner-only."""

from __future__ import annotations

import json
import stat
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import urllib3
from minio import Minio
from minio.commonconfig import GOVERNANCE
from minio.helpers import md5sum_hash
from minio.retention import Retention
from minio.xml import marshal
from pydantic import SecretStr
from typer.testing import CliRunner

from modpipe.cli.common import State
from modpipe.cli.main import app
from modpipe.clock import FixedClock
from modpipe.settings import Settings
from modpipe.stack.manager import StackInfo
from retention import RecordSink, StorageError, sweep
from retention import holds as legal
from retention.checkpoint import write_checkpoint
from retention.checkpoint_keys import generate, load_signing_key
from retention.scan import latest_keys
from retention.store import Store, init_bucket
from tests.integration.retention.factory import ServerTimeLocks, verdict
from tests.support import stack_overrides

NOW = datetime.now(UTC).replace(microsecond=0)


def _as(settings: Settings, stack: StackInfo, role: str) -> Store:
    creds = stack.identities[role]
    s3 = settings.s3.model_copy(update={"access_key": creds.access_key, "secret_key": SecretStr(creds.secret_key)})
    return Store(settings.model_copy(update={"s3": s3}))


@pytest.fixture
def roles(records_settings: Settings, stack: StackInfo) -> Iterator[dict[str, Store]]:
    stores = {role: _as(records_settings, stack, role) for role in ("pipeline", "compliance", "auditor")}
    yield stores
    for s in stores.values():
        s.close()


@pytest.fixture
def record(records_settings: Settings, roles: dict[str, Store], unique: str) -> tuple[str, str | None]:
    """One locked records object, written with the pipeline's own keys."""
    with RecordSink(records_settings, clock=FixedClock(NOW), worker_id="w", store=roles["pipeline"]) as sink:
        sink.add(verdict(f"m-{unique}", "bbs", NOW, author=f"a-{unique}"), topic=f"posts-{unique}", partition=0,
                 offset=0)  # fmt: skip
        (stored,) = sink.flush()
    return stored.key, stored.entry.version_id


def _bypass_retention(client: Minio, bucket: str, key: str, version: str | None, retention: Retention) -> None:
    """What set_object_retention sends, plus the governance-bypass header (minio has no option for it)."""
    body = marshal(retention)
    client._execute(
        "PUT", bucket, object_name=key, body=body,
        headers={"Content-MD5": md5sum_hash(body) or "", "x-amz-bypass-governance-retention": "true"},
        query_params={"versionId": version or "", "retention": ""},
    )  # fmt: skip


def _denied(call: Callable[..., object], *args: object, **kwargs: object) -> None:
    with pytest.raises(StorageError) as refused:
        call(*args, **kwargs)
    assert refused.value.code == "AccessDenied", refused.value


@pytest.mark.obligation("L3", "L8")
def test_no_request_without_credentials_reads_or_deletes_a_record(
    records_settings: Settings, stack: StackInfo, store: Store, record: tuple[str, str | None]
) -> None:
    key, version = record
    bucket = records_settings.s3.records_bucket
    ports = json.loads((stack.home / "stack.json").read_text())["ports"]["weed"]
    http = urllib3.PoolManager(retries=False)
    try:
        s3 = f"http://{stack.s3_endpoint}/{bucket}/{key}"
        assert http.request("GET", s3).status == 403
        assert http.request("GET", f"{s3}?versionId={version}").status == 403
        assert http.request("DELETE", f"{s3}?versionId={version}").status == 403
        assert http.request("GET", f"http://{stack.s3_endpoint}/{bucket}?list-type=2").status == 403
        filer = f"http://127.0.0.1:{ports['filer.port']}/buckets/{bucket}/{key}"
        for method, url in (("GET", filer), ("GET", f"{filer}.versions/"), ("DELETE", f"{filer}?recursive=true")):
            answer = http.request(method, url, headers={"Accept": "application/json"})
            assert answer.status == 401, (method, url, answer.status, answer.data[:200])
        volume = f"http://127.0.0.1:{ports['volume.port']}/1,0123456789"
        assert http.request("GET", volume).status == 401
        assert http.request("DELETE", volume).status == 401
    finally:
        http.clear()
    data, found = store.get(key, version)  # still there, every byte
    assert found == version
    assert data


@pytest.mark.obligation("L2", "L3")
def test_the_pipeline_keys_cannot_lift_a_hold_or_shorten_a_lock(
    records_settings: Settings, store: Store, roles: dict[str, Store], record: tuple[str, str | None], unique: str
) -> None:
    key, version = record
    pipeline, compliance, auditor = roles["pipeline"], roles["compliance"], roles["auditor"]
    bucket = records_settings.s3.records_bucket
    hold = legal.place(compliance, records_settings, FixedClock(NOW), "author", f"a-{unique}", "case 8", "counsel")
    assert hold.objects == [key]
    (copy,) = hold.copies  # written by the compliance keys: locked and legally held
    client = pipeline.client

    _denied(pipeline.call, client.disable_object_legal_hold, bucket, copy)
    _denied(pipeline.call, client.disable_object_legal_hold, bucket, key, version_id=version)
    _denied(pipeline.call, client.enable_object_legal_hold, bucket, key, version_id=version)
    assert auditor.call(auditor.client.is_object_legal_hold_enabled, bucket, copy)
    _denied(pipeline.call, client.remove_object, bucket, copy)  # no hiding a hold copy either
    with pytest.raises(StorageError) as forged:  # nor writing one
        pipeline.put(copy, b"{}", None, FixedClock(NOW), "application/zstd")
    assert forged.value.code == "AccessDenied"
    with pytest.raises(StorageError):
        legal.release(pipeline, records_settings, FixedClock(NOW), hold.id, "pipeline")
    _denied(pipeline.call, client.remove_object, bucket, legal.hold_key(hold.id))  # no hiding a hold record
    soon = Retention(GOVERNANCE, NOW + timedelta(days=1))
    with pytest.raises(StorageError):  # refused by the lock: no identity here may send the bypass header
        pipeline.call(client.set_object_retention, bucket, key, soon, version_id=version)
    # nor with the bypass header, which the pipeline never sends anyway
    _denied(pipeline.call, _bypass_retention, client, bucket, key, version, soon)
    with pytest.raises(StorageError):
        pipeline.call(client.remove_object, bucket, key, version_id=version)
    assert [h.id for h in legal.all_holds(auditor) if h.active and h.id == hold.id] == [hold.id]

    # the auditor only reads
    assert auditor.get(key, version)[0]
    _denied(auditor.call, auditor.client.remove_object, bucket, key)
    with pytest.raises(StorageError) as put:
        auditor.put(f"records/x-{unique}.json", b"{}", None, FixedClock(NOW), "application/json")
    assert put.value.code == "AccessDenied"
    _denied(auditor.call, auditor.client.disable_object_legal_hold, bucket, key, version_id=version)

    # compliance writes hold records, nothing else
    with pytest.raises(StorageError) as elsewhere:
        compliance.put(f"records/c-{unique}.json", b"{}", None, FixedClock(NOW), "application/json")
    assert elsewhere.value.code == "AccessDenied"
    # compliance lifts it
    legal.release(compliance, records_settings, FixedClock(NOW), hold.id, "counsel")
    assert not auditor.call(auditor.client.is_object_legal_hold_enabled, bucket, copy)

    # the same bypass request from the admin identity goes through (tests run in GOVERNANCE mode): the pipeline was
    # refused for want of the permission, not for a malformed request
    store.call(_bypass_retention, store.client, bucket, key, version, soon)


def test_the_stack_folders_are_owner_only(stack: StackInfo) -> None:
    for path in (stack.home, stack.home / "s3", stack.home / "es"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o700, path
    for name in ("credentials.json", "identities.json", "s3-identities.json", "security.toml"):
        assert stat.S_IMODE((stack.home / name).stat().st_mode) == 0o600, name


@pytest.mark.obligation("L2", "L8", "L9")
def test_each_command_acts_with_its_own_identity(
    records_settings: Settings, stack: StackInfo, unique: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The settings carry one key pair per role (filled from the stack's identities.json), and the commands use
    them: hold and release as compliance, export and verify as the auditor, which may write nothing but its own
    access-log entries; the admin keys stay with `storage init`."""
    # a bucket of its own: the other tests of the module write other bytes to the same record key
    bucket = f"{records_settings.s3.records_bucket[:58]}-cli"
    monkeypatch.setattr(State, "overrides", {**stack_overrides(stack), "s3.records_bucket": bucket})
    own = State.settings()
    with Store(own) as admin:
        init_bucket(admin)
    with _as(own, stack, "pipeline") as pipeline, RecordSink(own, clock=FixedClock(NOW), worker_id="w",
                                                            store=pipeline) as sink:  # fmt: skip
        sink.add(verdict(f"m-{unique}", "bbs", NOW, author=f"a-{unique}"), topic=f"posts-{unique}", partition=0,
                 offset=0)  # fmt: skip
        (stored,) = sink.flush()
    for role in ("pipeline", "compliance", "auditor"):
        keys = State.settings(role).s3
        assert (keys.access_key, keys.secret_key.get_secret_value()) == (
            stack.identities[role].access_key, stack.identities[role].secret_key,
        )  # fmt: skip
    assert State.settings().s3.access_key == stack.credentials.access_key
    runner = CliRunner()
    placed = runner.invoke(app, ["retention", "hold", "--author", f"a-{unique}", "--reason", "case 12"])
    assert placed.exit_code == 0, placed.output
    out = tmp_path / "bundle"
    window = ["--from", (NOW - timedelta(hours=1)).isoformat(), "--to", (NOW + timedelta(hours=1)).isoformat()]
    exported = runner.invoke(app, ["audit", "export", *window, "--out", str(out)])
    assert exported.exit_code == 0, exported.output
    verified = runner.invoke(app, ["audit", "verify", str(out)])
    assert verified.exit_code == 0, verified.output
    # each of them logged its access with those keys; the auditor's keys reach access/ and nothing else
    with _as(own, stack, "auditor") as auditor:
        logged = [k for k in latest_keys(auditor, "access/") if k.endswith("-end.json")]
        assert len(logged) == 3
        with pytest.raises(StorageError) as put:
            auditor.put(f"holds/x-{unique}.json", b"{}", None, FixedClock(NOW), "application/json")
        assert put.value.code == "AccessDenied"
        _denied(auditor.call, auditor.client.remove_object, bucket, stored.key, version_id=stored.entry.version_id)


@pytest.mark.obligation("L3", "L4")
def test_the_pipeline_identity_does_the_records_workers_jobs(
    records_settings: Settings, stack: StackInfo, roles: dict[str, Store], unique: str, tmp_path: Path
) -> None:
    """What `modpipe worker` does with its pipeline keys (State.settings("pipeline")): store records, quarantine
    what cannot be stored, write a signed checkpoint and the measures' state, and sweep what has expired."""
    settings = records_settings.acting_as("pipeline")
    assert settings.s3.access_key == stack.identities["pipeline"].access_key
    topic = f"posts-{unique}"
    old = datetime(2020, 1, 1, 10, 0, tzinfo=UTC)
    with (
        ServerTimeLocks(settings) as in_2020,
        RecordSink(
            settings, clock=FixedClock(old + timedelta(hours=2)), worker_id=f"p-{unique}", store=in_2020
        ) as sink,
    ):
        sink.add(verdict(f"old-{unique}", "bbs", old, author=f"o-{unique}"), topic=topic, partition=0, offset=0)
        broken = verdict(f"bad-{unique}", "bbs", old, author=f"o-{unique}")
        broken["message"]["text"] = "\ud800"  # no UTF-8 form: quarantined, never a stop
        sink.add(broken, topic=topic, partition=0, offset=1)
        (stored,) = sink.flush()
        assert len(sink.quarantined) == 1
    pipeline = roles["pipeline"]
    pipeline.put(f"measures/state/p-{unique}.json", b"{}", None, FixedClock(NOW), "application/json")
    generate(tmp_path / "checkpoint.key")
    with_key = settings.model_copy(update={"records": settings.records.model_copy(
        update={"checkpoint_key_file": tmp_path / "checkpoint.key"})})  # fmt: skip
    assert write_checkpoint(with_key, pipeline, FixedClock(NOW), load_signing_key(with_key))["seq"] >= 1
    done = sweep(settings, FixedClock(datetime(2020, 3, 2, tzinfo=UTC)), store=pipeline)
    assert stored.key in {key for key, _ in done.deleted}
    assert done.refused == []
