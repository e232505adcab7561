"""Hold records as the manifests of their copies: which keys are hold records, which record lists a copy, and what
a later version of a hold record may not change (the rest is tested on the real server, test_checkpoints.py)."""

from __future__ import annotations

from typing import Any

import pytest

from retention.codec import canonical
from retention.exceptions import IntegrityError
from retention.hold_history import differences, hold_of_copy, is_hold_record, parse

COPY = "holds/copies/service=bbs/date=2026-11-23/hour=08/h1a2b3/w-1-v-0-4711.jsonl.zst"
ENTRY = {
    "key": COPY, "version_id": "v1", "kind": "verdict", "topic": "moderation.verdicts", "partition": 0,
    "first_offset": 4711, "last_offset": 4720, "records": 3, "bytes": 900, "raw_bytes": 2400, "sha256": "AAAA",
    "first_hash": "f" * 64, "last_hash": "e" * 64, "retain_until": "2027-01-23T00:00:00Z",
}  # fmt: skip


def _hold(**changes: Any) -> dict[str, Any]:
    doc = {"id": "h1a2b3", "selector": "author", "value": "u-9", "reason": "case 7",
           "placed_at": "2026-11-24T00:00:00Z", "placed_by": "counsel", "released_at": None, "released_by": None,
           "objects": [], "copies": [COPY], "entries": [ENTRY]}  # fmt: skip
    return {**doc, **changes}


def test_hold_records_and_the_record_of_a_copy() -> None:
    assert is_hold_record("holds/h1a2b3.json")
    assert not is_hold_record(COPY)
    assert not is_hold_record("manifests/service=bbs/date=2026-11-23/hour=08/w-1.json")
    assert hold_of_copy(COPY) == "holds/h1a2b3.json"
    assert hold_of_copy("holds/copies/service=bbs/w-1-v-0-4711.jsonl.zst") is None
    assert hold_of_copy("records/service=bbs/date=2026-11-23/hour=08/w-1-v-0-4711.jsonl.zst") is None


def test_the_entries_of_a_hold_record_are_manifest_entries() -> None:
    doc, entries = parse("holds/h1a2b3.json", canonical(_hold()))
    assert doc["reason"] == "case 7"
    assert entries[COPY].sha256 == "AAAA"
    assert parse("holds/old.json", canonical(_hold(entries=None)))[1] == {}  # placed before entries existed
    with pytest.raises(IntegrityError, match="unreadable hold record"):
        parse("holds/h1a2b3.json", canonical(_hold(entries=[{"key": COPY}])))


def test_a_later_version_may_release_and_add_but_not_rewrite() -> None:
    placed = _hold()
    released = _hold(released_at="2026-12-01T00:00:00Z", released_by="counsel")
    assert differences(placed, released) == []
    assert differences(placed, _hold(copies=[COPY, COPY + "2"])) == []
    assert differences(placed, _hold(reason="nothing")) == ["reason changed"]
    assert differences(released, placed) == ["its release was undone or changed"]
    assert differences(placed, _hold(copies=[])) == [f"copy {COPY} is no longer listed"]
