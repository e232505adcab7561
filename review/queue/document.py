"""A verdict as a queue document (pure functions, unit-tested). The document id is the message id."""

from __future__ import annotations

import ipaddress
import warnings
from functools import lru_cache
from typing import Any

from modpipe.contracts import Verdict
from modpipe.settings import Action

QUEUED = (Action.REVIEW, Action.BLOCK)
_LABEL_FIELDS = ("platform", "kind", "parent_id", "group_id", "account_id")


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


def verdict_fields(verdict: Verdict) -> dict[str, Any]:
    """Everything a verdict says about the item; no decision fields."""
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


def new_document(verdict: Verdict) -> dict[str, Any]:
    doc = verdict_fields(verdict)
    doc["moderation"]["status"] = "pending"
    return doc


def bulk_actions(index: str, verdicts: list[Verdict]) -> list[dict[str, Any]]:
    """One upsert per verdict: a new item enters as pending; a known one gets the verdict's fields merged in,
    so a re-delivered verdict rewrites the same document and never undoes a moderator's decision."""
    ops: list[dict[str, Any]] = []
    for v in verdicts:
        ops.append({"update": {"_index": index, "_id": v.message_id, "retry_on_conflict": 3}})
        ops.append({"doc": verdict_fields(v), "upsert": new_document(v)})
    return ops
