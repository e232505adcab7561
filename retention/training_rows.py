"""Moderators' decisions of a time window as labelled training rows (`modpipe decisions export`).

A decision record (kind `decision`, stored under its `decided_at` hour) holds the Decision as published by the
review page: outcome, moderator, the categories of the queued item, and the verdict it ruled on; the message text
is only in the verdict record (the input message, stored under its `published_at` hour). So the decisions of the
window are read first (verified like `audit export` reads them), the latest decision per message wins, and the
verdicts of those messages are then looked up in the same service's verdict objects, newest hour first, up to
`lookback` before the earliest decision.

One JSON line per decided message, readable by `classifiers.data.load_examples` (JSONL with `text`, `labels`,
`sub_label`):

    {"text", "labels", "sub_label", "message_id", "decision", "decided_by", "decided_at", "service_type"}

`labels` are the confirmed category codes (the decision's `categories`, or the verdict's flagged categories when
the decision names none); an overturned decision means benign: `[]`. `sub_label` is the verdict's sub-label of the
first label, or null.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from modpipe.settings import Settings
from retention.audit import Keep, collect
from retention.identity import latest_per_message, record_order
from retention.layout import RECORDS, hour_of, parse_object_name
from retention.scan import folders
from retention.store import Store

VERDICT_LOOKBACK = timedelta(days=31)  # as the report: decisions are taken within 31 days of publication

SKIP_NO_VERDICT = "no stored verdict found"
SKIP_NO_TEXT = "verdict without a text"
SKIP_NO_CATEGORY = "confirmed without a category"
SKIP_OUTCOME = "unknown outcome"


@dataclass
class RowsSummary:
    start: datetime
    end: datetime
    out: Path
    decisions: int = 0  # decision records read in the window (every decision, not only the latest)
    rows: int = 0
    confirmed: int = 0
    overturned: int = 0
    skipped: Counter[str] = field(default_factory=Counter)

    def line(self) -> str:
        text = (
            f"wrote {self.rows} rows ({self.confirmed} confirmed, {self.overturned} overturned) from "
            f"{self.decisions} decisions in [{self.start.isoformat()}, {self.end.isoformat()}) to {self.out}"
        )
        if self.skipped:
            text += "; skipped: " + ", ".join(f"{n} {why}" for why, n in sorted(self.skipped.items()))
        return text


def _tag(key: str, tag: str) -> bool:
    name = parse_object_name(key)
    return name is not None and name.tag == tag


def _verdicts_of(message_ids: set[str]) -> Keep:
    ids = frozenset(message_ids)
    return lambda r: r.get("kind") == "verdict" and r.get("message_id") in ids


def _hour_folders(store: Store, service: str, first: datetime, last: datetime) -> list[datetime]:
    """The hours of a service's records folder that exist in [first, last], newest first."""
    found: list[datetime] = []
    for date_folder in folders(store, f"{RECORDS}service={service}/"):
        day = date_folder.rstrip("/").rsplit("date=", 1)[-1]
        if not first.date().isoformat() <= day <= last.date().isoformat():
            continue
        for hour_folder in folders(store, date_folder):
            parsed = hour_of(hour_folder)
            if parsed is not None and first.replace(minute=0, second=0, microsecond=0) <= parsed[1] <= last:
                found.append(parsed[1])
    return sorted(found, reverse=True)


def find_verdicts(store: Store, decisions: dict[str, dict[str, Any]], lookback: timedelta) -> dict[str, dict[str, Any]]:
    """The verdict (its `data`) each decision ruled on, by message id: the one with the decision's verdict id, or
    else the newest verdict of the message found. Searched per service, newest hour first, stopping once every
    decision's own verdict is found."""
    by_service: dict[str, dict[str, dict[str, Any]]] = {}
    for message_id, record in decisions.items():
        by_service.setdefault(str(record.get("service_type")), {})[message_id] = record
    found: dict[str, dict[str, Any]] = {}
    for service, wanted in sorted(by_service.items()):
        times = [record_order(r)[0] for r in wanted.values()]
        exact: set[str] = set()
        for hour in _hour_folders(store, service, min(times) - lookback, max(times)):
            missing = set(wanted) - exact
            if not missing:
                break
            got = collect(
                store, hour, hour + timedelta(hours=1), services=[service],
                object_filter=lambda k: _tag(k, "v"),
                keep=_verdicts_of(missing),
            )  # fmt: skip
            for record in got.records:
                message_id = str(record.get("message_id"))
                data = record.get("data") or {}
                own = data.get("verdict_id") == (wanted[message_id].get("data") or {}).get("verdict_id")
                if own:
                    found[message_id] = data
                    exact.add(message_id)
                elif message_id not in found:
                    found[message_id] = data  # newest hour first: the newest verdict, unless its own turns up
    return found


def _labels(decision: dict[str, Any], verdict: dict[str, Any]) -> list[str]:
    codes = [str(c) for c in decision.get("categories") or []]
    if not codes:
        codes = [str(c) for c in verdict.get("flagged") or []]
    return sorted(set(codes))


def row(record: dict[str, Any], verdict: dict[str, Any] | None) -> tuple[dict[str, Any] | None, str | None]:
    """The training row of a message's latest decision, or None and why it is skipped."""
    if verdict is None:
        return None, SKIP_NO_VERDICT
    text = (verdict.get("message") or {}).get("text")
    if not isinstance(text, str) or not text.strip():
        return None, SKIP_NO_TEXT
    data = record.get("data") or {}
    outcome = data.get("outcome")
    if outcome not in ("confirmed", "overturned"):
        return None, SKIP_OUTCOME
    labels = _labels(data, verdict) if outcome == "confirmed" else []
    if outcome == "confirmed" and not labels:
        return None, SKIP_NO_CATEGORY  # a confirmed harm with no code would train as benign
    sub_labels = verdict.get("sub_labels") or {}
    sub_label = sub_labels.get(labels[0]) if labels else None
    service = data.get("service_type")
    return {
        "text": text,
        "labels": labels,
        "sub_label": sub_label if isinstance(sub_label, str) and sub_label else None,
        "message_id": record.get("message_id"),
        "decision": outcome,
        "decided_by": data.get("moderator"),
        "decided_at": data.get("decided_at"),
        "service_type": service if isinstance(service, str) else record.get("service_type"),
    }, None


def export_rows(
    settings: Settings,
    store: Store,
    start: datetime,
    end: datetime,
    out: Path,
    *,
    force: bool = False,
    lookback: timedelta = VERDICT_LOOKBACK,
    progress: bool = False,
) -> RowsSummary:
    """Write the training rows of the decisions in [start, end) (by `decided_at`) to `out`, one JSON line per
    decided message, in decision time order. Refuses an existing `out` (FileExistsError) unless `force`; the file
    appears whole or not at all."""
    del settings  # the store already names the bucket; kept for the same signature as the other exports
    if out.exists() and not force:
        raise FileExistsError(out)
    read = collect(
        store, start, end, object_filter=lambda k: _tag(k, "d"), keep=lambda r: r.get("kind") == "decision",
        progress=progress,
    )  # fmt: skip
    summary = RowsSummary(start, end, out, decisions=len(read.records))
    latest = latest_per_message(read.records, "decision")
    verdicts = find_verdicts(store, latest, lookback) if latest else {}
    rows: list[dict[str, Any]] = []
    for message_id, record in sorted(latest.items(), key=lambda item: (record_order(item[1]), item[0])):
        made, why = row(record, verdicts.get(message_id))
        if made is None:
            summary.skipped[str(why)] += 1
            continue
        rows.append(made)
        if made["decision"] == "confirmed":
            summary.confirmed += 1
        else:
            summary.overturned += 1
    summary.rows = len(rows)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.part")
    with partial.open("w", encoding="utf-8") as fh:
        for made in rows:
            fh.write(json.dumps(made, ensure_ascii=False, sort_keys=False) + "\n")
    if out.exists() and not force:
        partial.unlink()
        raise FileExistsError(out)
    os.replace(partial, out)
    return summary
