"""A verdict as a queue document (pure functions, unit-tested). The document id is the message id."""

from __future__ import annotations

import ipaddress
import warnings
from collections.abc import Mapping
from datetime import timedelta
from functools import lru_cache
from typing import Any

from modpipe.contracts import Verdict
from modpipe.settings import Action

QUEUED = (Action.REVIEW, Action.BLOCK)
_LABEL_FIELDS = ("platform", "kind", "parent_id", "group_id", "account_id")
# How long after its verdict an item is due, by action (settings queue.review_due_s, queue.block_due_s).
DueAfter = Mapping[Action, timedelta]
DEFAULT_DUE: DueAfter = {Action.REVIEW: timedelta(hours=1), Action.BLOCK: timedelta(days=1)}


@lru_cache(maxsize=1)
def _jieba() -> Any:
    # jieba's source has invalid escape sequences: compiling it warns once (an error under strict warning filters).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", SyntaxWarning)
        import jieba

    jieba.setLogLevel(60)  # its dictionary-loading chatter is not ours to log
    return jieba


def tokens(text: str) -> str:
    """jieba's search-mode words, space-separated, for the whitespace-analysed `moderation.tokens` field."""
    return " ".join(w for w in _jieba().cut_for_search(text) if w.strip())


def _text(message: dict[str, Any]) -> str:
    text = message.get("text")
    return text if isinstance(text, str) else ""


def _opt_str(message: dict[str, Any], key: str) -> str | None:
    value = message.get(key)
    return str(value) if value is not None and value != "" else None


def verdict_fields(verdict: Verdict, due_after: DueAfter = DEFAULT_DUE) -> dict[str, Any]:
    """Everything a verdict says about the item; no decision fields. `due_at` and the top `score` are stored, not
    computed at search time, so the queue can be sorted and paged by them with search_after."""
    message = verdict.message
    text = _text(message)
    labels = {k: v for k in _LABEL_FIELDS if (v := _opt_str(message, k)) is not None}
    ip = _opt_str(message, "source_ip")
    source: dict[str, Any] = {}
    if ip is not None:
        try:
            source["ip"] = str(ipaddress.ip_address(ip))
        except ValueError:
            labels["source_ip"] = ip  # kept, searchable as text, but the ip field would reject the document
    # A lexicon block may flag nothing by threshold: the highest-scoring category still names the queue.
    top = max(verdict.categories.items(), key=lambda kv: kv[1], default=None)
    category = list(verdict.flagged) or ([top[0]] if top is not None else [])
    doc: dict[str, Any] = {
        "@timestamp": message.get("published_at") or verdict.decided_at.isoformat(),
        "message": text,
        "event": {
            "id": verdict.message_id,
            "action": verdict.action.value,
            "kind": "alert",
            "dataset": "modpipe.queue",
            "created": verdict.decided_at.isoformat(),
        },
        "rule": {"category": category, "version": verdict.policy_version},
        "user": {"id": _opt_str(message, "author_id") or ""},
        "service": {"type": verdict.service_type},
        "labels": labels,
        "moderation": {
            "scores": dict(verdict.categories),
            "score": top[1] if top is not None else 0.0,
            "due_at": (verdict.decided_at + due_after.get(verdict.action, timedelta(0))).isoformat(),
            "hits": [h.model_dump() for h in verdict.hits],
            "sub_labels": dict(verdict.sub_labels),
            "tokens": tokens(text),
            "verdict_id": verdict.verdict_id,
            "model_version": verdict.model_version,
            "lexicon_version": verdict.lexicon_version,
            "policy_version": verdict.policy_version,
        },
    }
    if source:
        doc["source"] = source
    url = _opt_str(message, "url")
    if url is not None:
        doc["url"] = {"original": url}
    return doc


def new_document(verdict: Verdict, due_after: DueAfter = DEFAULT_DUE) -> dict[str, Any]:
    doc = verdict_fields(verdict, due_after)
    doc["moderation"]["status"] = "pending"
    return doc


def bulk_actions(index: str, verdicts: list[Verdict], due_after: DueAfter = DEFAULT_DUE) -> list[dict[str, Any]]:
    """One upsert per verdict: a new item enters as pending; a known one gets the verdict's fields merged in,
    so a re-delivered verdict rewrites the same document and never undoes a moderator's decision."""
    ops: list[dict[str, Any]] = []
    for v in verdicts:
        ops.append({"update": {"_index": index, "_id": v.message_id, "retry_on_conflict": 3}})
        ops.append({"doc": verdict_fields(v, due_after), "upsert": new_document(v, due_after)})
    return ops
