"""The decision a category policy makes from the scores: pure, and light to import (no model, no numpy), so the
moderation agent's routing can use it without every worker loading the classifier stack."""

from __future__ import annotations

from collections.abc import Mapping

from modpipe.settings import Action
from modpipe.settings.models import Category

_RANK = {Action.PASS: 0, Action.REVIEW: 1, Action.BLOCK: 2}


def decide(
    scores: Mapping[str, float], categories: Mapping[str, Category], service_type: str | None = None
) -> tuple[Action, tuple[str, ...]]:
    """Per category: block/review by threshold (of the service type, where it has its own), capped by the
    category's action; the strongest wins."""
    action = Action.PASS
    flagged: list[str] = []
    for code, score in scores.items():
        cat = categories[code]
        thresholds = cat.thresholds_for(service_type)
        if score >= thresholds.block:
            wanted = Action.BLOCK
        elif score >= thresholds.review:
            wanted = Action.REVIEW
        else:
            continue
        flagged.append(code)
        capped = wanted if _RANK[wanted] <= _RANK[cat.action] else cat.action
        if _RANK[capped] > _RANK[action]:
            action = capped
    return action, tuple(sorted(flagged))
