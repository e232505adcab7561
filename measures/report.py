"""The measures of a day for `modpipe report`: the measures applied in [start, end), counted by measure, by
subject type and by the category of the strike they rest on (a moderator's own measure counts as `moderator`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from measures.model import CommandAction, MeasureCommand

MODERATOR = "moderator"


def day_counts(records: Iterable[dict[str, Any]], start: datetime, end: datetime) -> dict[str, Any]:
    by_measure: Counter[str] = Counter()
    by_subject: Counter[str] = Counter()
    by_category: Counter[str] = Counter()
    lifted = 0
    for record in records:
        command = MeasureCommand.model_validate({k: v for k, v in record.items() if k not in ("kind", "category")})
        if not start <= command.issued_at < end:
            continue
        if command.action is CommandAction.LIFT:
            lifted += 1
            continue
        by_measure[command.measure.value] += 1
        by_subject[command.subject.type.value] += 1
        by_category[str(record.get("category") or MODERATOR)] += 1
    return {
        "applied": sum(by_measure.values()),
        "lifted": lifted,
        "by_measure": dict(sorted(by_measure.items())),
        "by_subject_type": dict(sorted(by_subject.items())),
        "by_category": dict(sorted(by_category.items())),
    }
