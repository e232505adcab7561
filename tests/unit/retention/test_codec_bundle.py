"""Hash chains, the stored encoding, the envelope of a record, and offline bundle verification."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import zstandard

from modpipe.settings import Settings, load_settings
from retention import IntegrityError, bundle
from retention.audit import Collected, ObjectRead
from retention.codec import canonical, decode, encode, genesis, seal, seal_lines, verify_chain, verify_lines
from retention.envelope import build

KEY = "records/service=bbs/date=2026-11-23/hour=08/w-v-0-0.jsonl.zst"


@pytest.fixture(scope="module")
def cfg() -> Settings:
    return load_settings(environ={})


def _records(n: int) -> list[dict[str, object]]:
    # distinct source positions: without a verdict id, a record's identity is its source position
    return [{"kind": "verdict", "message_id": f"m{i}", "event_at": "2026-11-23T08:00:00Z", "data": {"t": "文"},
             "source": {"topic": "t", "partition": 0, "offset": i}} for i in range(n)]  # fmt: skip


@pytest.mark.obligation("L8")
def test_chain_round_trip_and_every_kind_of_break() -> None:
    sealed = seal(_records(5), KEY)
    assert sealed[0]["prev"] == genesis(KEY)
    data = encode(sealed, zstandard.ZstdCompressor())
    back = decode(KEY, data)
    verify_chain(KEY, back)
    with pytest.raises(IntegrityError, match="chain broken"):
        verify_chain(KEY.replace("w-v-0-0", "w-v-0-9"), back)  # moved to another key
    altered = [dict(r) for r in back]
    altered[2]["data"] = {"t": "改"}
    with pytest.raises(IntegrityError, match="record 2: content does not match") as caught:
        verify_chain(KEY, altered)
    assert caught.value.object_key == KEY
    with pytest.raises(IntegrityError, match="sequence number"):
        verify_chain(KEY, back[:2] + back[3:])  # a record removed
    with pytest.raises(IntegrityError, match="not a readable"):
        decode(KEY, b"plain text")


def test_envelope_of_verdicts_decisions_and_oddities(cfg: Settings) -> None:
    now = datetime(2026, 11, 23, 9, tzinfo=UTC)
    value = {"message_id": "m1", "service_type": "group", "decided_at": "2026-11-23T08:00:01Z",
             "message": {"published_at": "2026-11-23T16:00:00+08:00", "author_id": "a", "group_id": "g"}}  # fmt: skip
    p = build(value, topic=cfg.kafka.topics.verdicts.name, partition=1, offset=5, settings=cfg, now=now)
    assert (p.kind, p.service, p.message_id) == ("verdict", "group", "m1")
    assert p.event_at == datetime(2026, 11, 23, 8, tzinfo=UTC)
    assert p.record["author_id"] == "a"
    assert p.record["group_id"] == "g"
    assert p.record["source"] == {"topic": cfg.kafka.topics.verdicts.name, "partition": 1, "offset": 5}
    decision = {"decision_id": "d", "message_id": "m1", "service_type": "bbs", "decided_at": "2026-11-24T00:00:00Z"}
    d = build(decision, topic=cfg.kafka.topics.decisions.name, partition=0, offset=1, settings=cfg, now=now)
    assert (d.kind, d.event_at) == ("decision", datetime(2026, 11, 24, tzinfo=UTC))
    assert d.retain_until == datetime(2027, 1, 23, tzinfo=UTC)
    odd = build({"x": 1}, topic="elsewhere", partition=0, offset=0, settings=cfg, now=now)
    assert (odd.kind, odd.service, odd.event_at) == ("other", "unclassified", now)
    assert len(odd.record["notes"]) == 2


def _bundle(tmp_path: Path) -> Path:
    sealed = seal(_records(3), KEY)
    for r in sealed:
        r["stored_in"] = {"key": KEY, "version_id": "v1"}
    read = ObjectRead(KEY, "v1", "x", 3, sealed[0]["hash"], sealed[-1]["hash"], "manifests/m.json")
    collected = Collected(records=sealed, objects=[read])
    bundle.write(tmp_path, collected, {"command": "test"}, with_csv=True)
    return tmp_path


def test_offline_verify_catches_edits(tmp_path: Path) -> None:
    out = _bundle(tmp_path)
    assert bundle.verify(out).records == 3
    manifest = json.loads((out / "manifest.json").read_text())
    assert "inclusive" in manifest["query"]["window"]
    assert set(manifest["files"]) == {"records.jsonl", "records.csv", "README.md"}

    lines = (out / "records.jsonl").read_text().splitlines()
    edited = json.loads(lines[1])
    edited["data"]["t"] = "改"
    (out / "records.jsonl").write_text("\n".join([lines[0], json.dumps(edited), lines[2]]) + "\n")
    with pytest.raises(IntegrityError, match="SHA-256 differs"):
        bundle.verify(out)
    # even with the file hash in manifest.json brought up to date, the record's own hash gives it away
    import hashlib

    manifest["files"]["records.jsonl"]["sha256"] = hashlib.sha256((out / "records.jsonl").read_bytes()).hexdigest()
    (out / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IntegrityError, match="line 2: record does not match its hash") as caught:
        bundle.verify(out)
    assert caught.value.object_key == KEY


def test_fast_write_path_matches_the_generic_one() -> None:
    records = [
        {"kind": "verdict", "message_id": f"m{i}", "author_id": 'a"data":null', "notes": ["x"]} for i in range(4)
    ]
    values = [{"text": '文"data":null', "n": i, "f": 0.1 + i, "nested": {"b": 1, "a": [None, True]}} for i in range(4)]
    lines, first, last = seal_lines([(r, canonical(v)) for r, v in zip(records, values, strict=True)], KEY)
    generic = seal([{**r, "data": v} for r, v in zip(records, values, strict=True)], KEY)
    assert lines == [canonical(g) for g in generic]
    assert (first, last) == (generic[0]["hash"], generic[-1]["hash"])
    verify_chain(KEY, [json.loads(line) for line in lines])


def test_fast_write_path_with_a_nested_null_data_before_the_slot() -> None:
    # an odd message whose author_id is an object {"data": null}: the splice must not land inside it
    records = [{"kind": "verdict", "message_id": "m", "author_id": {"data": None}, "event_at": None}]
    values = [{"text": "t"}]
    lines, _first, last = seal_lines([(r, canonical(v)) for r, v in zip(records, values, strict=True)], KEY)
    generic = seal([{**r, "data": v} for r, v in zip(records, values, strict=True)], KEY)
    assert lines == [canonical(g) for g in generic]
    assert last == generic[-1]["hash"]
    assert json.loads(lines[0])["author_id"] == {"data": None}


def test_verifying_stored_lines() -> None:
    lines, _first, _last = seal_lines([({"kind": "verdict", "n": i}, canonical({"t": "文"})) for i in range(3)], KEY)
    verify_lines(KEY, [json.loads(x) for x in lines], lines)
    altered = [lines[0], lines[1].replace("文".encode(), "改".encode()), lines[2]]
    with pytest.raises(IntegrityError, match="record 1: content does not match"):
        verify_lines(KEY, [json.loads(x) for x in altered], altered)
    reformatted = [json.dumps(json.loads(x)).encode() for x in lines]  # same content, not the bytes that were hashed
    with pytest.raises(IntegrityError, match="record 0"):
        verify_lines(KEY, [json.loads(x) for x in reformatted], reformatted)
