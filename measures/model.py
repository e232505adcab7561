"""The data of graded measures: subjects, strikes, measures, blacklist entries, one subject's state, the events
that change it and the commands it yields. Frozen models only, so a store can keep a state as plain JSON."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from modpipe.settings.measures import MeasureKind, SubjectType

# The data types, which the package re-exports (measures/__init__.py).
__all__ = [
    "BlacklistAdd",
    "BlacklistRemove",
    "Blacklisting",
    "CommandAction",
    "Credit",
    "Event",
    "Lift",
    "Measure",
    "MeasureCommand",
    "Strike",
    "StrikeEvent",
    "StrikeSource",
    "SubjectRef",
    "SubjectState",
    "Tick",
    "Withdraw",
    "Withdrawal",
]

NonEmpty = Annotated[str, Field(min_length=1)]
MACHINE = "machine"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SubjectRef(_Model):
    type: SubjectType
    id: NonEmpty

    @property
    def key(self) -> str:
        return f"{self.type.value}:{self.id}"


class StrikeSource(_Model):
    """What a strike stands on. One message is one violation, whoever judged it: a machine block and a moderator's
    confirmation of it are the same strike, so the message id is the strike's source id."""

    message_id: NonEmpty
    verdict_id: NonEmpty
    decision_id: str | None = None  # set when a moderator confirmed the violation

    @property
    def id(self) -> str:
        return self.message_id


class Withdrawal(_Model):
    source_id: NonEmpty
    at: AwareDatetime
    by: NonEmpty  # the overturning decision's id, or a moderator


class Strike(_Model):
    subject: SubjectRef
    category: NonEmpty
    sub_label: str | None = None
    weight: Annotated[int, Field(ge=1)]
    source: StrikeSource
    at: AwareDatetime
    withdrawn: Withdrawal | None = None

    @property
    def active(self) -> bool:
        return self.withdrawn is None

    @property
    def confirmed(self) -> bool:
        return self.source.decision_id is not None


class Measure(_Model):
    measure_id: NonEmpty
    kind: MeasureKind
    step: int | None = None  # index into the ladder's steps; None for a moderator's measure
    threshold: int = 0  # the step's points: the measure stands while the strikes it rested on reach them
    points: int = 0  # the points when it was issued
    basis_at: AwareDatetime  # the moment whose rolling window it was counted in
    trigger: str | None = None  # source id of the strike that crossed the step
    started_at: AwareDatetime
    ends_at: AwareDatetime | None = None  # None: until a moderator lifts it
    levels: int = 0  # lower_credit: levels taken off
    ended_at: AwareDatetime | None = None
    end_reason: str | None = None
    ended_by: str | None = None

    def in_force(self, at: datetime) -> bool:
        if self.ended_at is not None or at < self.started_at:
            return False
        return self.ends_at is None or at < self.ends_at


class Blacklisting(_Model):
    entry_id: NonEmpty
    reason: NonEmpty
    by: NonEmpty  # "machine" (a ladder step) or a moderator
    since: AwareDatetime
    measure_id: str | None = None  # the ladder measure that put the subject here


class Credit(_Model):
    score: int
    level: NonEmpty


class SubjectState(_Model):
    subject: SubjectRef
    strikes: tuple[Strike, ...] = ()
    pending_withdrawals: tuple[Withdrawal, ...] = ()  # overturns that came before their strike
    measures: tuple[Measure, ...] = ()
    blacklist: Blacklisting | None = None
    credit: Credit
    # Ids issued so far. Each new id includes it, so a measure or blacklisting that comes back after it ended gets
    # a key of its own, and a replay from the same state issues the same keys again.
    serial: Annotated[int, Field(ge=0)] = 0

    @property
    def blacklisted(self) -> bool:
        return self.blacklist is not None

    def in_force(self, at: datetime) -> tuple[Measure, ...]:
        return tuple(m for m in self.measures if m.in_force(at))

    def strike(self, source_id: str) -> Strike | None:
        return next((s for s in self.strikes if s.source.id == source_id), None)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = self.model_dump(mode="json")
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SubjectState:
        return cls.model_validate(data)


# -- events ----------------------------------------------------------------------------------------------------


class StrikeEvent(_Model):
    kind: Literal["strike"] = "strike"
    strike: Strike

    @property
    def subject(self) -> SubjectRef:
        return self.strike.subject


class Withdraw(_Model):
    """An overturn: the strike with this source id no longer counts."""

    kind: Literal["withdraw"] = "withdraw"
    subject: SubjectRef
    source_id: NonEmpty
    by: NonEmpty


class _ModeratorAct(_Model):
    """What a moderator does to a subject by hand: it acts at once and always carries who did it and why."""

    subject: SubjectRef
    moderator: NonEmpty
    reason: NonEmpty


class Lift(_ModeratorAct):
    kind: Literal["lift"] = "lift"
    measure_id: NonEmpty


class BlacklistAdd(_ModeratorAct):
    kind: Literal["blacklist_add"] = "blacklist_add"


class BlacklistRemove(_ModeratorAct):
    kind: Literal["blacklist_remove"] = "blacklist_remove"


class Tick(_Model):
    """Time passes: measures whose time is up end."""

    kind: Literal["tick"] = "tick"


Event = Annotated[StrikeEvent | Withdraw | Lift | BlacklistAdd | BlacklistRemove | Tick, Field(discriminator="kind")]


# -- commands --------------------------------------------------------------------------------------------------


class CommandAction(StrEnum):
    APPLY = "apply"
    LIFT = "lift"


class MeasureCommand(_Model):
    """What the platform applies. `key` (subject and measure id) is the same for a measure's apply and its lift:
    the platform applies each (key, action) once, and on a compacted topic the last command of a key is the
    measure's current state."""

    key: NonEmpty
    action: CommandAction
    subject: SubjectRef
    measure: MeasureKind
    measure_id: NonEmpty
    starts_at: AwareDatetime
    ends_at: AwareDatetime | None
    levels: int = 0
    reason: NonEmpty
    decided_by: NonEmpty
    issued_at: AwareDatetime


def stable_id(*parts: str | datetime) -> str:
    """An id derived from its inputs only, so replaying the same events yields the same ids and keys."""
    text = [p.astimezone(UTC).isoformat() if isinstance(p, datetime) else p for p in parts]
    return hashlib.sha256("\x1f".join(text).encode()).hexdigest()[:24]
