"""Quality sampling, the pure part: which machine verdicts the QA queue draws, what a QA document holds, what a
moderator's answer means, and the estimates with their Wilson intervals.

A verdict's stratum is (action, category): a block's category is its highest-scoring flagged category (the
highest-scoring one when a lexicon block flagged none), a pass's is its highest-scoring category, the one the
machine came closest to flagging. Each stratum has its own share (`review.qa_sample`), so each estimate is a plain
proportion within one stratum and needs no weights. The draw is `u(message_id) < share`, with `u` a uniform number
from a hash of the message id: a replay draws the same messages, and raising a share keeps every earlier draw.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from modpipe.contracts import Verdict
from modpipe.settings import Action
from modpipe.settings.qa import QaSampling

SAMPLED = (Action.PASS, Action.BLOCK)
NO_VIOLATION = "none"
CORRECT, WRONG = "correct", "wrong"
Z95 = 1.959963984540054  # the two-sided 95% normal quantile
_DRAW_SALT = b"modpipe-qa\x1f"


def draw(message_id: str) -> float:
    """A number in [0, 1) fixed by the message id and spread evenly over the ids."""
    digest = hashlib.sha256(_DRAW_SALT + message_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def stratum_category(verdict: Verdict) -> str:
    scores = verdict.categories
    pool = [c for c in verdict.flagged if c in scores] if verdict.action is Action.BLOCK else []
    pool = pool or list(scores)
    if not pool:
        return NO_VIOLATION
    return max(sorted(pool), key=lambda c: scores.get(c, 0.0))


def sample_share(verdict: Verdict, sampling: QaSampling) -> float:
    """The share of this verdict's stratum the QA queue draws; 0 for what is not the tagger's own verdict (a review
    goes to a person anyway; a gate block comes from a barred author or group, not from the text)."""
    if verdict.action not in SAMPLED or verdict.decided_by != "machine" or verdict.gate is not None:
        return 0.0
    return sampling.share(verdict.action.value, stratum_category(verdict))


def is_sampled(verdict: Verdict, sampling: QaSampling) -> bool:
    return draw(verdict.message_id) < sample_share(verdict, sampling)


def qa_document(verdict: Verdict, sampling: QaSampling) -> dict[str, Any]:
    """The QA document of a drawn verdict (id: the verdict id, so a new model's verdict is judged on its own). The
    text and what a moderator needs to judge it; the source IP and the author are left out (not needed to judge)."""
    message = verdict.message
    text = message.get("text")
    return {
        "message_id": verdict.message_id,
        "verdict_id": verdict.verdict_id,
        "action": verdict.action.value,
        "category": stratum_category(verdict),
        "flagged": list(verdict.flagged),
        "scores": dict(verdict.categories),
        "share": sample_share(verdict, sampling),
        "draw": draw(verdict.message_id),
        "text": text if isinstance(text, str) else "",
        "service_type": verdict.service_type,
        "published_at": message.get("published_at") or verdict.decided_at.isoformat(),
        "decided_at": verdict.decided_at.isoformat(),
        "model_version": verdict.model_version,
        "lexicon_version": verdict.lexicon_version,
        "policy_version": verdict.policy_version,
    }


def judged(action: str, category: str) -> str:
    """What a moderator's label (a category code, or `none`) says of the machine's action: a block is correct when
    the text violates (in any category: the takedown was right), a pass when it does not."""
    violates = category != NO_VIOLATION
    return CORRECT if violates == (action == Action.BLOCK.value) else WRONG


@dataclass(frozen=True)
class Estimate:
    """`hits` of `n` answers: precision counts the blocks judged correct, miss rate the passes judged wrong."""

    hits: int
    n: int
    low: float | None
    high: float | None

    @property
    def point(self) -> float | None:
        return self.hits / self.n if self.n else None


def wilson(hits: int, n: int, z: float = Z95) -> Estimate:
    """The Wilson score interval: unlike p ± z·se it stays inside [0, 1] and does not collapse to a point at 0 or n
    hits, which is where a good tagger's figures are."""
    if n <= 0:
        return Estimate(0, 0, None, None)
    p = hits / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # At 0 or n hits the bound is exactly 0 or 1; the formula leaves a rounding error there.
    low = 0.0 if hits == 0 else max(0.0, centre - half)
    high = 1.0 if hits == n else min(1.0, centre + half)
    return Estimate(hits, n, low, high)


@dataclass(frozen=True)
class Stratum:
    action: str
    category: str
    share: float  # the share set now (the documents keep the share they were drawn with)
    sampled: int  # drawn in the window, answered or not
    answered: int
    wrong: int
    # The moderators' labels of the wrongly judged ones: a missed violation's category, or `none` for a wrong block.
    labels: Mapping[str, int]

    @property
    def estimate(self) -> Estimate:
        """Precision for a block stratum, miss rate for a pass stratum."""
        hits = self.answered - self.wrong if self.action == Action.BLOCK.value else self.wrong
        return wilson(hits, self.answered)


def strata(counts: Mapping[tuple[str, str], Mapping[str, Any]], sampling: QaSampling) -> list[Stratum]:
    """Strata from counts per (action, category): `sampled`, `answered`, `wrong` and `labels` (label -> count)."""
    out = []
    for (action, category), c in sorted(counts.items()):
        out.append(
            Stratum(
                action, category, sampling.share(action, category), int(c.get("sampled", 0)),
                int(c.get("answered", 0)), int(c.get("wrong", 0)), dict(c.get("labels") or {}),
            )
        )  # fmt: skip
    return out
