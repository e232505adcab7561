"""A subject's credit score and level (信用等级) from its history: the points of its strikes over the last
history_days (a confirmed strike in full, an unconfirmed one in part, an overturned one not at all), forgiven
linearly as the last strike ages, and levels taken off by lower_credit measures in force."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from measures.model import Credit, Measure, Strike
from modpipe.settings.measures import CreditSettings, MeasureKind

DAY_S = 86_400.0


def credit_score(strikes: Iterable[Strike], now: datetime, settings: CreditSettings) -> int:
    since = now - timedelta(days=settings.history_days)
    counted = [s for s in strikes if s.active and s.at > since]
    if not counted:
        return settings.max_score
    points = sum(s.weight * (1.0 if s.confirmed else settings.unconfirmed_factor) for s in counted)
    quiet_days = max(0.0, (now - max(s.at for s in counted)).total_seconds() / DAY_S)
    forgiven = min(1.0, quiet_days / settings.recovery_days)
    penalty = settings.points_penalty * points * (1.0 - forgiven)
    return max(0, min(settings.max_score, round(settings.max_score - penalty)))


def credit_of(
    strikes: Iterable[Strike], measures: Iterable[Measure], now: datetime, settings: CreditSettings
) -> Credit:
    score = credit_score(strikes, now, settings)
    lowered = sum(m.levels for m in measures if m.kind is MeasureKind.LOWER_CREDIT and m.in_force(now))
    index = min(settings.level_of(score) + lowered, len(settings.levels) - 1)
    return Credit(score=score, level=settings.levels[index].level)
