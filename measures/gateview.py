"""The moderation agent's global view of who may not post, built from the measures topic alone.

A measure's commands share one key (subject:measure id), and a key's last command is the measure's current state:
folding the whole topic gives, for every subject, the closures, suspensions and blacklistings in force. The view
answers with one dict lookup per subject of a message, and it is plain data, so it crosses to a classifying
process with each batch."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from measures.gate import GateReason
from measures.levels import CreditLevels
from measures.model import CommandAction, MeasureCommand
from modpipe.settings.measures import MeasureKind, SubjectType

# Lower blocks first, as gate() decides for one subject's state.
_PRIORITY = {GateReason.BLACKLISTED: 0, GateReason.ACCOUNT_CLOSED: 1, GateReason.GROUP_CLOSED: 1}
_CLOSED = {
    SubjectType.ACCOUNT: GateReason.ACCOUNT_CLOSED,
    SubjectType.PUBLIC_ACCOUNT: GateReason.ACCOUNT_CLOSED,
    SubjectType.GROUP: GateReason.GROUP_CLOSED,
}
_SUSPENDED = {
    SubjectType.ACCOUNT: GateReason.ACCOUNT_SUSPENDED,
    SubjectType.PUBLIC_ACCOUNT: GateReason.ACCOUNT_SUSPENDED,
    SubjectType.GROUP: GateReason.GROUP_SUSPENDED,
}


@dataclass(frozen=True, slots=True)
class Bar:
    reason: GateReason
    starts_at: datetime
    ends_at: datetime | None

    def holds(self, now: datetime) -> bool:
        return self.starts_at <= now and (self.ends_at is None or now < self.ends_at)


def bar_of(command: MeasureCommand) -> Bar | None:
    """What an applied measure bars, or None for a measure that lets messages through."""
    kind, subject = command.measure, command.subject.type
    if kind is MeasureKind.BLACKLIST:
        reason: GateReason | None = GateReason.BLACKLISTED
    elif kind is MeasureKind.CLOSE:
        reason = _CLOSED.get(subject)
    elif kind is MeasureKind.SUSPEND_POSTING:
        reason = _SUSPENDED.get(subject)
    else:
        reason = None
    return None if reason is None else Bar(reason, command.starts_at, command.ends_at)


# subject key -> (reason, start, end) of what bars it, most serious first; and LEVEL + account key -> (level, start,
# end) of the account's credit level spans. Times as POSIX seconds, no end = inf. Plain tuples: the view is pickled
# to the classifying processes.
Gate = Mapping[str, tuple[tuple[str, float, float], ...]]
LEVEL = "level|"


class GateView:
    def __init__(self) -> None:
        self._bars: dict[str, dict[str, Bar]] = {}  # subject key -> command key -> bar
        self._levels: dict[str, tuple[tuple[str, float, float], ...]] = {}
        self._snapshot: dict[str, tuple[tuple[str, float, float], ...]] | None = {}
        self.version = 0

    @property
    def counts(self) -> tuple[int, int]:
        """Subjects barred, accounts rated."""
        return len(self._bars), len(self._levels)

    def apply_levels(self, record: CreditLevels) -> None:
        """An account's level spans replace the ones it had: the record is computed from its whole state. The first
        span holds from the start of time, so a batch stamped a little before the record (another worker's clock)
        still reads it."""
        spans = tuple(
            (s.level, -math.inf if i == 0 else s.starts_at.timestamp(),
             math.inf if s.ends_at is None else s.ends_at.timestamp())
            for i, s in enumerate(record.spans)
        )  # fmt: skip
        key = LEVEL + record.subject.key
        if self._levels.get(key) == spans:
            return
        self._levels[key] = spans
        self._snapshot = None
        self.version += 1

    def apply(self, command: MeasureCommand) -> None:
        subject = command.subject.key
        bar = bar_of(command) if command.action is CommandAction.APPLY else None
        if bar is None:
            bars = self._bars.get(subject)
            if bars is None or bars.pop(command.key, None) is None:
                return
            if not bars:
                del self._bars[subject]
        else:
            self._bars.setdefault(subject, {})[command.key] = bar
        self._snapshot = None  # rebuilt when next asked for: catching up on a long topic stays linear
        self.version += 1

    def snapshot(self) -> Gate:
        """The current view; a new dict after each change, so a batch keeps the one it started with."""
        if self._snapshot is None:
            self._snapshot = {
                subject: tuple(
                    (b.reason.value, b.starts_at.timestamp(), math.inf if b.ends_at is None else b.ends_at.timestamp())
                    for b in sorted(bars.values(), key=lambda b: _PRIORITY.get(b.reason, 2))
                )
                for subject, bars in self._bars.items()
            }
            self._snapshot.update(self._levels)
        return self._snapshot


def message_subjects(message: Any) -> Iterable[str]:
    """The keys of the subjects whose bars stop a message, author first (attributes of an InputMessage)."""
    yield f"{SubjectType.ACCOUNT.value}:{message.author_id}"
    if message.account_id:
        yield f"{SubjectType.PUBLIC_ACCOUNT.value}:{message.account_id}"
    if message.group_id:
        yield f"{SubjectType.GROUP.value}:{message.group_id}"


def barred(gate: Gate, keys: Iterable[str], now: datetime) -> GateReason | None:
    at = now.timestamp()
    for key in keys:
        for reason, starts, ends in gate.get(key, ()):
            if starts <= at < ends:
                return GateReason(reason)
    return None


def level_at(gate: Gate, author_id: str, now: datetime) -> str | None:
    """The author's credit level at `now`, or None for an author the measures agent never rated (the best level)."""
    at = now.timestamp()
    for level, starts, ends in gate.get(f"{LEVEL}{SubjectType.ACCOUNT.value}:{author_id}", ()):
        if starts <= at < ends:
            return level
    return None
