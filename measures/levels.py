"""An account's credit level as the moderation agent needs it: not only now, but until the next event changes it.

A level only gets better while nothing happens (strikes age, leave the history, lower_credit measures end), so
the measures agent publishes, with every change of an account, the spans of levels from that moment on. The gate
view keeps the last such record per account and reads the span at a batch's moment: a level recovers on time
without a tick of its own."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from measures.credit import credit_of
from measures.model import SubjectRef, SubjectState
from modpipe.settings.measures import CreditSettings

_STEP = timedelta(seconds=1)  # the precision of a span's start


class LevelSpan(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    level: Annotated[str, Field(min_length=1)]
    starts_at: AwareDatetime
    ends_at: AwareDatetime | None = None  # None: until the next event


class CreditLevels(BaseModel):
    """What travels on the credit-levels topic, keyed by the subject: its level from `as_of` on, span by span."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    subject: SubjectRef
    as_of: AwareDatetime
    score: int
    spans: Annotated[tuple[LevelSpan, ...], Field(min_length=1)]

    @property
    def key(self) -> bytes:
        return self.subject.key.encode()


def _index(state: SubjectState, at: datetime, settings: CreditSettings) -> int:
    level = credit_of(state.strikes, state.measures, at, settings).level
    return next(i for i, lv in enumerate(settings.levels) if lv.level == level)


def _horizon(state: SubjectState, now: datetime, settings: CreditSettings) -> datetime:
    """A moment after which, without new events, the level no longer changes."""
    moments = [now]
    for s in state.strikes:
        moments += [s.at + timedelta(days=settings.history_days), s.at + timedelta(days=settings.recovery_days)]
    moments += [m.ends_at for m in state.measures if m.ends_at is not None]
    return max(moments) + _STEP


def level_spans(state: SubjectState, now: datetime, settings: CreditSettings) -> tuple[LevelSpan, ...]:
    """The subject's levels from `now` until its history no longer weighs, each from the first second it holds.
    The level never worsens without an event, so each better level's start is found by bisection."""
    current = _index(state, now, settings)
    spans: list[LevelSpan] = []
    start, end = now, _horizon(state, now, settings)
    best_at_end = _index(state, end, settings)
    while current > best_at_end:
        low, high = start, end  # the level at `low` is `current`; at `high` it is better
        while high - low > _STEP:
            mid = low + (high - low) / 2
            if _index(state, mid, settings) < current:
                high = mid
            else:
                low = mid
        spans.append(LevelSpan(level=settings.levels[current].level, starts_at=start, ends_at=high))
        start, current = high, _index(state, high, settings)
    spans.append(LevelSpan(level=settings.levels[current].level, starts_at=start))
    return tuple(spans)


def credit_levels(state: SubjectState, now: datetime, settings: CreditSettings) -> CreditLevels:
    score = credit_of(state.strikes, state.measures, now, settings).score
    return CreditLevels(subject=state.subject, as_of=now, score=score, spans=level_spans(state, now, settings))
