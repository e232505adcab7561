"""The queue's index template: explicit ECS-style mappings plus the `moderation.*` namespace, and the alias.

Index `<alias>-000001` is created with the alias `<alias>` as its write index, so a later re-index into `<alias>-000002`
can switch the alias without touching readers (Kibana, the review page). noida-db has no ILM: rollover is manual.
"""

from __future__ import annotations

from typing import Any

from modpipe.settings import Settings

KEYWORD: dict[str, Any] = {"type": "keyword", "ignore_above": 1024}
DATE: dict[str, Any] = {"type": "date"}
# The built-in cjk analyzer indexes CJK bigrams: "天气" finds "今天天气很好" and ranks well, but a one-character
# word (枪, 毒) has no bigram of its own. `message.chars` (standard analyzer: one token per ideograph) answers phrase
# queries of any length, and `moderation.tokens` holds jieba's search-mode words for word queries in Kibana.
TEXT_CJK: dict[str, Any] = {
    "type": "text",
    "analyzer": "cjk",
    "fields": {"chars": {"type": "text", "analyzer": "standard"}},
}
TOKENS: dict[str, Any] = {"type": "text", "analyzer": "whitespace"}


def alias_name(settings: Settings) -> str:
    return settings.elasticsearch.index


def template_name(settings: Settings) -> str:
    return f"{settings.elasticsearch.index}-template"


def first_index(settings: Settings) -> str:
    return f"{settings.elasticsearch.index}-000001"


def properties(settings: Settings) -> dict[str, Any]:
    scores = {code: {"type": "float"} for code in sorted(settings.categories)}
    return {
        "@timestamp": DATE,
        "message": TEXT_CJK,
        "event": {
            "properties": {
                "id": KEYWORD,
                "action": KEYWORD,
                "kind": KEYWORD,
                "dataset": KEYWORD,
                "created": DATE,
            }
        },
        "rule": {"properties": {"category": KEYWORD, "name": KEYWORD, "version": KEYWORD}},
        "user": {"properties": {"id": KEYWORD}},
        "source": {"properties": {"ip": {"type": "ip"}}},
        "service": {"properties": {"type": KEYWORD}},
        "url": {"properties": {"original": KEYWORD}},
        "labels": {
            "type": "object",
            "dynamic": True,
            "properties": {
                name: KEYWORD for name in ("platform", "kind", "parent_id", "group_id", "account_id", "source_ip")
            },
        },
        "moderation": {
            "properties": {
                "status": KEYWORD,
                "scores": {"type": "object", "dynamic": True, "properties": scores},
                "score": {"type": "float"},  # the top category score, for sorting
                "due_at": DATE,
                # Plain objects, not `nested`: Kibana charts them and noida-db ignores nested sorting anyway.
                "hits": {
                    "properties": {
                        "term": KEYWORD,
                        "category": KEYWORD,
                        "sub_label": KEYWORD,
                        "start": {"type": "integer"},
                        "end": {"type": "integer"},
                        "matched": KEYWORD,
                        "kind": KEYWORD,
                        "level": KEYWORD,
                    }
                },
                "sub_labels": {"type": "object", "dynamic": True},
                "tokens": TOKENS,
                "assignee": KEYWORD,
                # Who has the open item in hand and until when (review.queue.claims); not a decision.
                "claim": {"properties": {"holder": KEYWORD, "until": DATE, "at": DATE}},
                "outcome": KEYWORD,
                "decided_by": KEYWORD,
                "decided_at": DATE,
                "decision_id": KEYWORD,
                "comment": {"type": "text"},
                # Corrections and violation tags (review.queue.decisions).
                "tags": KEYWORD,
                "corrects": KEYWORD,
                "prior_outcome": KEYWORD,
                "applied_id": KEYWORD,
                "in_effect": KEYWORD,
                "verdict_id": KEYWORD,
                "model_version": KEYWORD,
                "lexicon_version": KEYWORD,
                "policy_version": KEYWORD,
                # User reports (L7) of the item, written by the reports agent (review.queue.reported).
                "reports": {
                    "properties": {
                        "count": {"type": "integer"},
                        "open": {"type": "integer"},
                        "reporters": {"type": "integer"},
                        "reasons": KEYWORD,
                        "reason_counts": KEYWORD,
                        "priority": {"type": "float"},
                        "due_at": DATE,
                        "last_reported_at": DATE,
                        "suspected_campaign": {"type": "boolean"},
                        "screening": {"type": "text"},
                    }
                },
            }
        },
    }


def template_body(settings: Settings) -> dict[str, Any]:
    return {
        "index_patterns": [f"{settings.elasticsearch.index}-*"],
        "priority": 200,
        "template": {
            "settings": {"number_of_shards": 1},
            "mappings": {
                # strict: a misspelt field is a bug to see, not a new column in Kibana.
                "dynamic": "strict",
                "dynamic_templates": [
                    {"scores": {"path_match": "moderation.scores.*", "mapping": {"type": "float"}}},
                    {"sub_labels": {"path_match": "moderation.sub_labels.*", "mapping": KEYWORD}},
                    {"labels": {"path_match": "labels.*", "mapping": KEYWORD}},
                ],
                "properties": properties(settings),
            },
        },
        "_meta": {"managed_by": "modpipe", "description": "moderation queue (review and block verdicts)"},
    }
