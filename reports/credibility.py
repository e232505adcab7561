"""Reporter credibility learned from the outcomes of their reports.

Credibility is the share of a reporter's reports that moderators confirmed, smoothed by a prior worth
`prior_weight` outcomes (a Beta prior): a reporter never seen starts at `prior`, and neither one lucky nor one
unlucky report moves them far. A report weighs its reporter's credibility.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from modpipe.settings.reports import Credibility


@dataclass(frozen=True, slots=True)
class ReporterRecord:
    confirmed: int = 0
    rejected: int = 0

    @property
    def outcomes(self) -> int:
        return self.confirmed + self.rejected


class CredibilityBook:
    """What every reporter's past reports came to; learns each report's final outcome once."""

    def __init__(self, settings: Credibility) -> None:
        self.settings = settings
        self._records: dict[str, ReporterRecord] = {}
        # Report ids already learned: a replayed outcome must not count twice.
        self._learned: set[str] = set()

    def record(self, reporter_id: str) -> ReporterRecord:
        return self._records.get(reporter_id, ReporterRecord())

    def credibility(self, reporter_id: str) -> float:
        record = self.record(reporter_id)
        prior, weight = self.settings.prior, self.settings.prior_weight
        return (record.confirmed + prior * weight) / (record.outcomes + weight)

    def has_history(self, reporter_id: str) -> bool:
        return self.record(reporter_id).outcomes > 0

    def learn(self, report_id: str, reporter_id: str, confirmed: bool) -> bool:
        """Count one final outcome; False (and nothing changes) if this report was learned before."""
        if report_id in self._learned:
            return False
        self._learned.add(report_id)
        old = self.record(reporter_id)
        self._records[reporter_id] = ReporterRecord(old.confirmed + int(confirmed), old.rejected + int(not confirmed))
        return True

    def to_dict(self) -> dict[str, Any]:
        return {
            "reporters": {
                rid: {"confirmed": r.confirmed, "rejected": r.rejected} for rid, r in sorted(self._records.items())
            },
            "learned": sorted(self._learned),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], settings: Credibility) -> CredibilityBook:
        book = cls(settings)
        for rid, counts in data.get("reporters", {}).items():
            book._records[rid] = ReporterRecord(int(counts["confirmed"]), int(counts["rejected"]))
        book._learned = set(data.get("learned", ()))
        return book
