"""Precision, recall and F1 per category, their macro average, and the confusion between categories."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class CategoryScores:
    precision: float
    recall: float
    f1: float
    support: int  # true positives + false negatives

    def as_dict(self) -> dict[str, float | int]:
        return {"precision": self.precision, "recall": self.recall, "f1": self.f1, "support": self.support}


def prf(truth: np.ndarray[Any, Any], pred: np.ndarray[Any, Any]) -> CategoryScores:
    tp = int(np.sum(truth & pred))
    fp = int(np.sum(~truth & pred))
    fn = int(np.sum(truth & ~pred))
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return CategoryScores(round(p, 4), round(r, 4), round(f, 4), tp + fn)


def score_labels(
    truth: Mapping[str, np.ndarray[Any, Any]], pred: Mapping[str, np.ndarray[Any, Any]]
) -> dict[str, CategoryScores]:
    """Per category, for categories present in the truth or predicted at all, plus `macro` over those."""
    out = {code: prf(truth[code], pred[code]) for code in truth if truth[code].any() or pred[code].any()}
    if out:
        out["macro"] = _macro(list(out.values()))
    return out


def _macro(scores: Sequence[CategoryScores]) -> CategoryScores:
    n = len(scores)
    return CategoryScores(
        round(sum(s.precision for s in scores) / n, 4),
        round(sum(s.recall for s in scores) / n, 4),
        round(sum(s.f1 for s in scores) / n, 4),
        sum(s.support for s in scores),
    )


def offensive_vs_safe(truth: np.ndarray[Any, Any], pred: np.ndarray[Any, Any]) -> CategoryScores:
    """COLD's measure: macro-F1 over the two classes offensive and safe."""
    off, safe = prf(truth, pred), prf(~truth, ~pred)
    return CategoryScores(
        round((off.precision + safe.precision) / 2, 4),
        round((off.recall + safe.recall) / 2, 4),
        round((off.f1 + safe.f1) / 2, 4),
        len(truth),
    )


def confusion(
    truth: Sequence[frozenset[str]], flagged: Sequence[Sequence[str]], codes: Sequence[str]
) -> dict[str, dict[str, int]]:
    """For each true category (and `benign`), how often each category (and `none`) was flagged."""
    table: dict[str, dict[str, int]] = {}
    for true, got in zip(truth, flagged, strict=True):
        for t in sorted(true) or ["benign"]:
            row = table.setdefault(t, {})
            for g in [x for x in got if x in codes] or ["none"]:
                row[g] = row.get(g, 0) + 1
    return table
