"""Injectable clocks: everything time-based (retention above all) asks a Clock, never datetime.now()."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class PinnedClock:
    """The clock of one moment: a batch decided at one time, or a command run `--now` a given time."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError(f"{type(self).__name__} needs a timezone-aware datetime")
        self._at = at

    def now(self) -> datetime:
        return self._at


class FixedClock(PinnedClock):
    """A clock for tests: stands still until moved."""

    def advance(self, delta: timedelta) -> None:
        self._at += delta

    def set(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError(f"{type(self).__name__} needs a timezone-aware datetime")
        self._at = at
