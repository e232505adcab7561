"""What `modpipe report` says about user reports (L7), from the records: the reports of a day, and what their
outcomes came to by the time the report is made.

A report's outcomes are records of kind `report_outcome` (the reports agent's outcomes topic); an outcome may be
stored more than once (an identical copy published again after a crash), so each report counts once, by report id.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from retention.audit import Collected, collect
from retention.dates import parse_time
from retention.layout import parse_object_name
from retention.store import Store


def _tagged(*tags: str) -> Any:
    def accept(key: str) -> bool:
        name = parse_object_name(key)
        return name is not None and name.tag in tags

    return accept


def user_reports(
    store: Store, start: datetime, end: datetime, outcomes_until: datetime, as_of: datetime
) -> tuple[dict[str, int], Collected, Collected]:
    """Counts for the reports filed in [start, end): received; handled in time and late (a final outcome within
    or after its due time); overdue (no final outcome, past due at `as_of`); open (neither); rejected as malicious
    (rejected while screening flagged a suspected report campaign). Outcomes are looked for until
    `outcomes_until`. Returns the counts and the records they come from."""
    filed = collect(store, start, end, keep=lambda r: r.get("kind") == "report", object_filter=_tagged("r"))
    report_ids = {str((r.get("data") or {}).get("report_id")) for r in filed.records}
    outcomes = collect(
        store, start, max(outcomes_until, end), object_filter=_tagged("o"),
        keep=lambda r: r.get("kind") == "report_outcome" and (r.get("data") or {}).get("report_id") in report_ids,
    )  # fmt: skip
    final: dict[str, dict[str, Any]] = {}
    due: dict[str, datetime] = {}
    for record in outcomes.records:
        data = record.get("data") or {}
        rid = str(data.get("report_id"))
        when = parse_time(data.get("due_at"))
        if when is not None:
            due[rid] = when
        if data.get("status") in ("actioned", "rejected"):
            final.setdefault(rid, data)  # identical copies: the first stands for them all
    counts = {
        "received": len(report_ids),
        "handled_in_time": 0,
        "handled_late": 0,
        "overdue": 0,
        "open": 0,
        "actioned": 0,
        "rejected": 0,
        "rejected_as_malicious": 0,
    }
    for rid in sorted(report_ids):
        outcome = final.get(rid)
        if outcome is None:
            late = rid in due and due[rid] < as_of
            counts["overdue" if late else "open"] += 1
            continue
        counts["handled_in_time" if outcome.get("in_time") else "handled_late"] += 1
        counts[str(outcome.get("status"))] += 1
        if outcome.get("status") == "rejected" and outcome.get("suspected_campaign"):
            counts["rejected_as_malicious"] += 1
    return counts, filed, outcomes
