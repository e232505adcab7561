"""Signed checkpoints on the real S3 server: the chain, consistency between two checkpoints, a bundle proved
against a kept checkpoint, and a consistent forgery of a records object and its manifest caught by it; hold copies
proved through their hold records, and a forged copy (and hold record) named."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import zstandard
from minio import Minio
from typer.testing import CliRunner

from modpipe.cli.common import State
from modpipe.cli.main import app
from modpipe.clock import FixedClock
from modpipe.settings import Settings, load_settings
from modpipe.stack.manager import StackInfo
from retention import IntegrityError, RecordSink, bundle, manifests, merkle, sweep
from retention import holds as legal
from retention.checkpoint import checkpoint_key, digest, latest, leaves_key, read_leaves, write_checkpoint
from retention.checkpoint_keys import SigningKey, generate, load_public_key, load_signing_key, public_path
from retention.checkpoint_verify import prove_bundle
from retention.codec import canonical, decode, record_hash, seal, sha256_b64
from retention.dates import parse_time
from retention.exceptions import TamperDetected
from retention.exports import export
from retention.store import Store
from tests.fixtures.review import make_records_bucket
from tests.integration.retention.factory import ServerTimeLocks, verdict
from tests.support import REPO, stack_overrides

HOUR = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=6)


@pytest.fixture
def bucket_overrides(stack: StackInfo, tmp_path: Path) -> dict[str, Any]:
    """A bucket of its own per test (each test builds its own history of checkpoints) and a fresh key pair."""
    bucket = f"rec-ckpt-{os.getpid()}-{time.monotonic_ns() % 10**9}"
    generate(tmp_path / "ckpt.key")
    return stack_overrides(
        stack, **{"s3.records_bucket": bucket, "records.checkpoint_key_file": str(tmp_path / "ckpt.key")}
    )


@pytest.fixture
def settings(bucket_overrides: dict[str, Any]) -> Settings:
    loaded = load_settings(environ={}, overrides=bucket_overrides)
    make_records_bucket(loaded)
    return loaded


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    with Store(settings) as s:
        yield s


@pytest.fixture
def key(settings: Settings) -> SigningKey:
    return load_signing_key(settings)


def store_records(settings: Settings, clock: FixedClock, first_offset: int, hour: datetime, n: int = 3) -> None:
    with RecordSink(settings, clock=clock, worker_id="w-1") as sink:
        for i in range(n):
            offset = first_offset + i
            sink.add(verdict(f"m-{offset}", "bbs", hour + timedelta(minutes=i), offset=offset),
                     topic=settings.kafka.topics.verdicts.name, partition=0, offset=offset)  # fmt: skip
        sink.flush()


def test_two_checkpoints_chain_and_are_consistent(settings: Settings, store: Store, key: SigningKey) -> None:
    clock = FixedClock(HOUR + timedelta(hours=1))
    store_records(settings, clock, 0, HOUR)
    store_records(settings, clock, 10, HOUR)  # a second version of the same hour's manifest
    first = write_checkpoint(settings, store, clock, key)
    assert (first["seq"], first["tree_size"], first["prev"]) == (1, 2, None)
    leaves = read_leaves(store, first)
    assert [leaf.key for leaf in leaves] == [leaves[0].key] * 2
    # oldest version first: the first leaf's manifest lists one object, the second two
    counts = [len(manifests.parse(leaf.key, store.get(leaf.key, leaf.version_id)[0])) for leaf in leaves]
    assert counts == [1, 2]

    clock.advance(timedelta(hours=1))
    store_records(settings, clock, 20, HOUR + timedelta(hours=1))
    store_records(settings, clock, 30, HOUR)
    second = write_checkpoint(settings, store, clock, key)
    assert (second["seq"], second["tree_size"], second["prev"]) == (2, 4, digest(first))
    assert second["leaves"] == {**second["leaves"], "first": 2, "count": 2}
    assert latest(store) == second
    hashes = [leaf.hash for leaf in read_leaves(store, second)]
    assert [h for h in hashes[:2]] == [leaf.hash for leaf in leaves]  # append-only
    proof = merkle.consistency_proof(2, hashes)
    assert merkle.verify_consistency(2, 4, bytes.fromhex(first["root"]), bytes.fromhex(second["root"]), proof)
    # an empty checkpoint still chains, with the same tree
    third = write_checkpoint(settings, store, clock, key)
    assert (third["tree_size"], third["root"], third["prev"]) == (4, second["root"], digest(second))

    # stored locked, as long as the longest retention period counted from the checkpoint's time
    for name in (checkpoint_key(2), leaves_key(2)):
        headers = store.client.stat_object(store.bucket, name).metadata or {}
        until = parse_time(headers.get("x-amz-object-lock-retain-until-date"))  # the S3 lock, not the metadata
        assert until is not None
        assert until > clock.now() + timedelta(days=170), name


def _forge_object(raw_s3: Minio, store: Store, key: str) -> tuple[str | None, bytes, list[dict[str, Any]]]:
    """A new version of a stored object (a records object or a hold copy), written around the pipeline: a record's
    text altered and the chain recomputed under its key, so the object still verifies on its own."""
    response = raw_s3.get_object(store.bucket, key)
    try:
        records = decode(key, response.read())
    finally:
        response.close()
        response.release_conn()
    records[0]["data"]["message"]["text"] = "今天天气不错"
    prev = records[0]["prev"]
    for r in records:
        r["prev"] = prev
        r["hash"] = prev = record_hash(r)
    body = zstandard.ZstdCompressor().compress(b"".join(canonical(r) + b"\n" for r in records))
    put = raw_s3.put_object(store.bucket, key, io.BytesIO(body), len(body))
    return put.version_id, body, records


def _forge(raw_s3: Minio, store: Store, object_key: str, manifest_key: str) -> None:
    """A records object and its hour's manifest rewritten consistently with the pipeline's keys: a new object
    version with a record altered and its chain recomputed, and a new manifest version naming it."""
    version_id, body, records = _forge_object(raw_s3, store, object_key)
    data, _ = store.get(manifest_key)
    doc = json.loads(data)
    entries = manifests.parse(manifest_key, data)
    old = entries[object_key]
    entries[object_key] = dataclasses.replace(
        old, version_id=version_id, sha256=sha256_b64(body), first_hash=records[0]["hash"],
        last_hash=records[-1]["hash"],
    )  # fmt: skip
    forged = canonical(manifests.document(doc["service_type"], doc["hour"], doc["worker"], entries, doc["updated_at"]))
    raw_s3.put_object(store.bucket, manifest_key, io.BytesIO(forged), len(forged))


def test_a_bundle_proves_against_a_kept_checkpoint_and_a_consistent_forgery_is_named(
    settings: Settings, store: Store, key: SigningKey, raw_s3: Minio, tmp_path: Path
) -> None:
    clock = FixedClock(HOUR + timedelta(hours=1))
    store_records(settings, clock, 0, HOUR)
    kept = write_checkpoint(settings, store, clock, key)  # what the auditor keeps
    store_records(settings, clock, 10, HOUR)  # a legitimate later batch: an append-only manifest version
    write_checkpoint(settings, store, clock, key)
    public = load_public_key(public_path(Path(str(settings.records.checkpoint_key_file))), "--public-key")
    window = (HOUR, HOUR + timedelta(hours=1))
    export(settings, store, *window, tmp_path / "good")
    proof = prove_bundle(tmp_path / "good", store, kept, public, "kept.json")
    assert (proof.kept_seq, proof.latest_seq, proof.manifests, proof.written_after, proof.objects) == (1, 2, 1, 1, 2)

    manifest = json.loads((tmp_path / "good" / "manifest.json").read_text(encoding="utf-8"))
    object_key, manifest_key = manifest["objects_read"][0]["key"], manifest["manifests_read"][0]["key"]
    _forge(raw_s3, store, object_key, manifest_key)
    # The export reads version histories (issue 12): the forgery is named, and the bundle is still written with
    # the original records (the checkpoint proof below is the second, independent line of defence).
    with pytest.raises(TamperDetected) as named:
        export(settings, store, *window, tmp_path / "forged")
    assert {t["object"] for t in named.value.manifest["tampers"]} == {manifest_key, object_key}
    assert bundle.verify(tmp_path / "forged").records == 6  # offline: the files hold the original records
    with pytest.raises(IntegrityError, match="not an append-only extension"):
        bundle.verify(tmp_path / "forged", store)
    with pytest.raises(IntegrityError) as missing:  # no checkpoint holds the forged manifest version yet
        prove_bundle(tmp_path / "forged", store, kept, public, "kept.json")
    assert missing.value.object_key == manifest_key
    assert "in no checkpoint" in missing.value.problem
    write_checkpoint(settings, store, clock, key)  # the worker's next checkpoint takes the forged version in
    with pytest.raises(IntegrityError) as caught:
        prove_bundle(tmp_path / "forged", store, kept, public, "kept.json")
    assert caught.value.object_key == manifest_key
    assert "not an append-only extension" in caught.value.problem
    assert object_key in caught.value.problem

    # a forged checkpoint (a new version of a stored one, without the key) breaks the chain's signature
    doc = json.loads(store.get(checkpoint_key(2))[0])
    doc["root"] = hashlib.sha256(b"other").hexdigest()
    raw_s3.put_object(store.bucket, checkpoint_key(2), io.BytesIO(canonical(doc)), len(canonical(doc)))
    with pytest.raises(IntegrityError) as unsigned:
        prove_bundle(tmp_path / "good", store, kept, public, "kept.json")
    assert unsigned.value.object_key == checkpoint_key(2)
    assert "signature" in unsigned.value.problem


def test_cli_keygen_checkpoint_and_verify(
    settings: Settings, bucket_overrides: dict[str, Any], store: Store, raw_s3: Minio, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setattr(State, "overrides", bucket_overrides)
    runner = CliRunner()
    made = runner.invoke(app, ["audit", "keygen", "--out", str(tmp_path / "other.key")])
    assert made.exit_code == 0, made.output
    assert (tmp_path / "other.key").stat().st_mode & 0o777 == 0o600
    assert "PRIVATE" not in made.output
    assert runner.invoke(app, ["audit", "keygen", "--out", str(tmp_path / "other.key")]).exit_code == 2

    none_yet = runner.invoke(app, ["audit", "checkpoint"])
    assert none_yet.exit_code == 1
    assert "no checkpoint" in none_yet.output
    store_records(settings, FixedClock(HOUR + timedelta(hours=1)), 0, HOUR)
    written = runner.invoke(app, ["audit", "checkpoint", "--write"])
    assert written.exit_code == 0, written.output
    (tmp_path / "kept.json").write_text(runner.invoke(app, ["audit", "checkpoint"]).stdout, encoding="utf-8")
    kept = json.loads((tmp_path / "kept.json").read_text(encoding="utf-8"))
    assert (kept["seq"], kept["tree_size"]) == (1, 1)

    out = tmp_path / "bundle"
    done = runner.invoke(app, ["audit", "export", "--from", HOUR.isoformat(), "--to",
                               (HOUR + timedelta(hours=1)).isoformat(), "--out", str(out)])  # fmt: skip
    assert done.exit_code == 0, done.output
    ok = runner.invoke(app, ["audit", "verify", str(out), "--checkpoint", str(tmp_path / "kept.json")])
    assert ok.exit_code == 0, ok.output
    assert "checkpoint 1" in ok.output

    wrong_key = runner.invoke(app, ["audit", "verify", str(out), "--checkpoint", str(tmp_path / "kept.json"),
                                    "--public-key", str(tmp_path / "other.key.pub")])  # fmt: skip
    assert wrong_key.exit_code == 3
    assert "signed by key" in wrong_key.output

    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    object_key, manifest_key = manifest["objects_read"][0]["key"], manifest["manifests_read"][0]["key"]
    _forge(raw_s3, store, object_key, manifest_key)
    assert runner.invoke(app, ["audit", "checkpoint", "--write"]).exit_code == 0
    forged = tmp_path / "forged"
    runner.invoke(app, ["audit", "export", "--from", HOUR.isoformat(), "--to", (HOUR + timedelta(hours=1)).isoformat(),
                        "--out", str(forged)])  # fmt: skip
    caught = runner.invoke(app, ["audit", "verify", str(forged), "--checkpoint", str(tmp_path / "kept.json")])
    assert caught.exit_code == 3, caught.output
    assert manifest_key in caught.output
    assert "append-only" in caught.output

    monkeypatch.setattr(State, "overrides", {**bucket_overrides, "records.checkpoint_key_file": None})
    unset = runner.invoke(app, ["audit", "checkpoint", "--write"])
    assert unset.exit_code == 2
    assert "records.checkpoint_key_file" in unset.output


OLD = datetime(2020, 1, 1, 10, 0, tzinfo=UTC)
BBS_DUE = datetime(2020, 3, 2, tzinfo=UTC)  # 1 Jan 10:xx + 60 days, rounded up to the end of 1 Mar


@pytest.mark.obligation("L2", "L8")
def test_hold_copies_are_proved_through_their_hold_record_and_a_forged_copy_is_named(
    settings: Settings, store: Store, key: SigningKey, raw_s3: Minio, tmp_path: Path
) -> None:
    topic = settings.kafka.topics.verdicts.name
    with (
        ServerTimeLocks(settings) as in_2020,
        RecordSink(settings, clock=FixedClock(OLD + timedelta(hours=2)), worker_id="w", store=in_2020) as sink,
    ):
        for i in range(3):
            sink.add(verdict(f"held-{i}", "bbs", OLD + timedelta(minutes=i), author="a-held", offset=2 * i),
                     topic=topic, partition=0, offset=2 * i)  # fmt: skip
            sink.add(verdict(f"free-{i}", "bbs", OLD + timedelta(minutes=i, seconds=30), author="a-free"),
                     topic=topic, partition=0, offset=2 * i + 1)  # fmt: skip
        sink.flush()
    now = FixedClock(datetime.now(UTC).replace(microsecond=0))
    hold = legal.place(store, settings, now, "author", "a-held", "case 2020-77", "counsel")
    (copy,) = hold.copies
    hold_key = legal.hold_key(hold.id)
    (entry,) = hold.entries  # the hold record is the copy's manifest
    assert (entry["key"], entry["records"]) == (copy, 3)
    assert entry["sha256"] == sha256_b64(store.get(copy)[0])
    sweep(settings, FixedClock(BBS_DUE), store=store)  # the originals go on their date; the copy stays
    kept = write_checkpoint(settings, store, now, key)
    assert [leaf.key for leaf in read_leaves(store, kept)] == [hold_key]  # the manifests were swept before it
    public = load_public_key(public_path(Path(str(settings.records.checkpoint_key_file))), "--public-key")

    window = (OLD, OLD + timedelta(hours=1))
    good = tmp_path / "good"
    manifest = export(settings, store, *window, good)
    assert manifest["held_copies_read"] == [copy]
    assert [h["key"] for h in manifest["holds_read"]] == [hold_key]
    assert [o["manifest"] for o in manifest["objects_read"]] == [hold_key]
    assert manifest["unlisted_objects"] == []
    assert bundle.verify(good, store).records == 3
    node = shutil.which("node")
    assert node is not None, "the independent verifier needs Node.js (>= 20) on PATH"
    verifier = str(REPO / "retention" / "verifier" / "verify-bundle.mjs")
    ok = subprocess.run([node, verifier, str(good)], capture_output=True, text=True, timeout=120, check=False)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    proof = prove_bundle(good, store, kept, public, "kept.json")
    assert (proof.manifests, proof.written_after, proof.objects) == (1, 0, 1)

    # a new version of the copy, written with the admin keys: the export and the online verify name it
    forged_version, forged_body, forged = _forge_object(raw_s3, store, copy)
    with pytest.raises(TamperDetected) as named:
        export(settings, store, *window, tmp_path / "forged")
    assert {t["object"] for t in named.value.manifest["tampers"]} == {copy}
    assert "differs in content" in named.value.problem
    assert bundle.verify(tmp_path / "forged").records == 3  # the original records, handed over
    with pytest.raises(IntegrityError) as online:
        bundle.verify(good, store)
    assert online.value.object_key == copy
    assert "differs in content from the original version" in online.value.problem

    # a copy written around the hold (under a hold id whose record lists no such copy): read, reported as unlisted,
    # and not provable against the checkpoint
    stray = copy.replace(hold.id, "0" * 20)
    fake = seal([{**forged[0], "message_id": "fabricated-0"}], stray)
    body = zstandard.ZstdCompressor().compress(canonical(fake[0]) + b"\n")
    raw_s3.put_object(store.bucket, stray, io.BytesIO(body), len(body))
    with pytest.raises(TamperDetected) as named:
        export(settings, store, *window, tmp_path / "stray")
    assert stray in named.value.manifest["unlisted_objects"]
    assert stray in named.value.manifest["held_copies_read"]
    assert stray not in {t["object"] for t in named.value.manifest["tampers"]}
    with pytest.raises(IntegrityError) as unproved:
        prove_bundle(tmp_path / "stray", store, kept, public, "kept.json")
    assert unproved.value.object_key == stray
    assert "its hold record does not list" in unproved.value.problem

    # and its hold record rewritten to list the forged version: named by the export, and by the kept checkpoint
    doc = json.loads(store.get(hold_key)[0])
    doc["entries"][0].update(version_id=forged_version, sha256=sha256_b64(forged_body), bytes=len(forged_body),
                             first_hash=forged[0]["hash"], last_hash=forged[-1]["hash"])  # fmt: skip
    raw_s3.put_object(store.bucket, hold_key, io.BytesIO(canonical(doc)), len(canonical(doc)))
    both = tmp_path / "forged-hold"
    with pytest.raises(TamperDetected) as named:
        export(settings, store, *window, both)
    tampers = {t["object"]: t for t in named.value.manifest["tampers"]}
    assert set(tampers) == {copy, hold_key}
    assert "not an append-only extension" in tampers[hold_key]["problem"]
    assert any(copy in d for d in tampers[hold_key]["differs"])
    with pytest.raises(IntegrityError, match="not an append-only extension"):
        bundle.verify(both, store)
    write_checkpoint(settings, store, now, key)  # the worker's next checkpoint takes the forged hold version in
    with pytest.raises(IntegrityError) as caught:
        prove_bundle(both, store, kept, public, "kept.json")
    assert caught.value.object_key == hold_key
    assert "not an append-only extension" in caught.value.problem
    assert copy in caught.value.problem
