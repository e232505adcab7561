"""Dead letters are records too (issue 12, item 4): what no agent could take is stored on the real S3 server with
its original bytes, reason, time and source position, locked for the longest period, exported with its window,
counted by verify, by the independent verifier and by the report."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from modpipe.clock import FixedClock
from modpipe.contracts import DeadLetterReason
from modpipe.contracts.intake import RawMessage, dead_letter
from modpipe.settings import Settings
from retention import RecordSink, bundle
from retention.dates import iso, retain_until
from retention.exports import export, report
from retention.intake import RecordsIntake
from retention.scan import latest_keys, state
from retention.store import Store
from tests.integration.retention.factory import verdict
from tests.support import REPO

NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
AT = NOW - timedelta(hours=30)
BAD_JSON = b'{"message_id": "dl-1", "text": "\xe5\x86\x85\xe5\xae\xb9 broken'
LATE = {"message_id": "dl-2", "service_type": "bbs", "kind": "post", "text": "内容", "author_id": "au-dl",
        "published_at": "9999-12-31T23:59:00+00:00", "source_ip": "203.0.113.9"}  # fmt: skip


def _raw(topic: str, offset: int, value: bytes) -> RawMessage:
    return RawMessage(topic, 1, offset, b"k", value)


@pytest.fixture(scope="module")
def stored(records_settings: Settings) -> dict[str, str]:
    topics = records_settings.kafka.topics
    clock = FixedClock(AT)
    letters = [
        dead_letter(_raw(topics.posts.name, 41, BAD_JSON), DeadLetterReason.NOT_JSON.value, "bad", "decode", clock),
        dead_letter(_raw(topics.posts.name, 42, json.dumps(LATE).encode()), "bad_timestamp", "9999", "validate", clock),
    ]
    with RecordSink(records_settings, clock=FixedClock(AT + timedelta(seconds=5)), worker_id="w-dl") as sink:
        intake = RecordsIntake(sink, topics.decisions.name, dead_letters_topic=topics.dead_letters.name)
        for offset, letter in enumerate(letters):
            assert intake.add(_raw(topics.dead_letters.name, offset, letter.model_dump_json().encode())) is None
        # a dead letter that is not even JSON is kept too (in quarantine), never refused (that would loop)
        assert intake.add(_raw(topics.dead_letters.name, 2, b"\xff not json")) is None
        sink.add(verdict("ok-1", "bbs", AT + timedelta(minutes=1)), topic=topics.verdicts.name, partition=0, offset=1)
        intake.flush()
        quarantined = list(sink.quarantined)
    return {"quarantine": quarantined[0]}


@pytest.mark.obligation("L3", "L4", "L5", "L8")
def test_dead_letters_are_locked_records_kept_longest(
    stored: dict[str, str], records_settings: Settings, store: Store
) -> None:
    (key,) = [k for k in latest_keys(store, "records/service=unclassified/") if "-l-" in k]
    assert key.startswith(f"records/service=unclassified/date={AT:%Y-%m-%d}/hour={AT:%H}/w-dl-l-1-0")
    longest = max(retain_until(s.retention, AT) for s in records_settings.services.values())
    assert state(store, key, None).retain_until == longest  # the S3 lock itself
    data, _ = store.get(stored["quarantine"])
    held = json.loads(data)
    assert held["source"]["topic"] == records_settings.kafka.topics.dead_letters.name
    assert base64.b64decode(held["data"]["value_b64"]) == b"\xff not json"


@pytest.mark.obligation("L3", "L9")
def test_dead_letters_are_exported_with_their_window_and_verified(
    stored: dict[str, str], records_settings: Settings, store: Store, tmp_path: Path
) -> None:
    manifest = export(records_settings, store, AT, AT + timedelta(hours=1), tmp_path / "b")
    assert manifest["counts"]["by_service"] == {"bbs": {"verdict": 1}, "unclassified": {"dead_letter": 2}}
    lines = [json.loads(x) for x in (tmp_path / "b" / "records.jsonl").read_text(encoding="utf-8").splitlines()]
    letters = {r["data"]["offset"]: r for r in lines if r["kind"] == "dead_letter"}
    assert base64.b64decode(letters[41]["data"]["value_b64"]) == BAD_JSON  # the original bytes
    assert letters[41]["data"]["reason"] == "not_json"
    assert letters[42]["data"]["reason"] == "bad_timestamp"
    assert letters[41]["data"]["topic"] == records_settings.kafka.topics.posts.name
    assert letters[41]["event_at"] == iso(AT)  # refused at AT
    assert (letters[42]["message_id"], letters[42]["author_id"]) == ("dl-2", "au-dl")  # from the original message
    assert "notes" not in letters[42]
    assert bundle.verify(tmp_path / "b", store).records == 3
    # an author's export finds their refused message too
    theirs = export(records_settings, store, AT, AT + timedelta(hours=1), tmp_path / "a", author="au-dl")
    assert theirs["counts"]["by_service"] == {"unclassified": {"dead_letter": 1}}
    found = shutil.which("node")
    assert found is not None, "the independent verifier needs Node.js"
    verifier = REPO / "retention" / "verifier" / "verify-bundle.mjs"
    done = subprocess.run([found, str(verifier), str(tmp_path / "b")], capture_output=True, text=True, timeout=120,
                          check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("OK: 3 records")


@pytest.mark.obligation("L2")
def test_the_report_counts_the_days_dead_letters(
    stored: dict[str, str], records_settings: Settings, store: Store, tmp_path: Path
) -> None:
    manifest = report(records_settings, store, FixedClock(NOW), AT, tmp_path / "r")
    assert manifest["report"]["dead_letters"] == {"bad_timestamp": 1, "not_json": 1}
