"""Verdicts as queue documents."""

from __future__ import annotations

from modpipe.settings import Action, load_settings
from review.queue.document import bulk_actions, new_document, verdict_fields
from review.queue.mapping import properties
from tests.unit.review.factory import make_verdict


def _paths(props: dict[str, object], prefix: str = "") -> set[str]:
    found = set()
    for name, spec in props.items():
        path = prefix + name
        found.add(path)
        if isinstance(spec, dict) and isinstance(spec.get("properties"), dict):
            found |= _paths(spec["properties"], path + ".")
    return found


def _leaves(doc: dict[str, object], prefix: str = "") -> set[str]:
    found = set()
    for name, value in doc.items():
        path = prefix + name
        if isinstance(value, dict) and path not in ("moderation.scores", "moderation.sub_labels", "labels"):
            found |= _leaves(value, path + ".")
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            found |= _leaves(value[0], path + ".")
        else:
            found.add(path)
    return found


def test_every_document_field_is_mapped_explicitly() -> None:
    mapped = _paths(properties(load_settings(environ={})))
    doc = new_document(make_verdict("m1", parent_id="p0", url="https://example.test/p/1", group_id="g1"))
    assert _leaves(doc) - mapped == set()


def test_ecs_fields_and_jieba_tokens() -> None:
    doc = verdict_fields(make_verdict("m1", "出售枪支弹药", parent_id="p0"))
    assert doc["event"]["id"] == "m1"
    assert doc["user"] == {"id": "author-1"}
    assert doc["source"] == {"ip": "203.0.113.7"}
    assert doc["labels"] == {"platform": "forum-a", "kind": "post", "parent_id": "p0"}
    assert "枪支" in doc["moderation"]["tokens"].split()
    assert "status" not in doc["moderation"]  # a verdict never sets the decision's fields


def test_a_malformed_ip_is_kept_as_a_label_not_rejected() -> None:
    verdict = make_verdict("m1")
    doc = verdict_fields(verdict.model_copy(update={"message": {**verdict.message, "source_ip": "not-an-ip"}}))
    assert "source" not in doc
    assert doc["labels"]["source_ip"] == "not-an-ip"


def test_a_block_without_flags_is_filed_under_its_top_category() -> None:
    doc = verdict_fields(make_verdict("m1", action=Action.BLOCK, flagged=(), scores={"C7": 0.2, "C9": 0.4}))
    assert doc["rule"]["category"] == ["C9"]


def test_bulk_upserts_new_items_as_pending_and_merges_known_ones() -> None:
    ops = bulk_actions("q", [make_verdict("m1")])
    assert ops[0] == {"update": {"_index": "q", "_id": "m1", "retry_on_conflict": 3}}
    assert ops[1]["upsert"]["moderation"]["status"] == "pending"
    assert "status" not in ops[1]["doc"]["moderation"]


def test_due_time_and_top_score_are_stored_for_sorting() -> None:
    from datetime import timedelta

    from review.queue.sink import due_after

    due = due_after(load_settings(environ={}, overrides={"queue.review_due_s": 600, "queue.block_due_s": 7200}))
    review = make_verdict("r1", scores={"C9": 0.7, "C7": 0.4})
    block = make_verdict("b1", action=Action.BLOCK, scores={"C7": 0.95})
    assert (
        verdict_fields(review, due)["moderation"]["due_at"] == (review.decided_at + timedelta(minutes=10)).isoformat()
    )
    assert verdict_fields(block, due)["moderation"]["due_at"] == (block.decided_at + timedelta(hours=2)).isoformat()
    assert (verdict_fields(review, due)["moderation"]["score"], verdict_fields(block)["moderation"]["score"]) == (
        0.7,
        0.95,
    )
