"""What travels on the measure-events topic: one event for one subject at one moment, keyed by the subject.

The moment is part of the event, not read by the agent: a re-delivered or replayed event is applied at the time it
happened, so a restart gives the same states and the same command keys as a run without it."""

from __future__ import annotations

from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict

from measures.model import Event, MeasureCommand, SubjectRef, SubjectState


class Envelope(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    subject: SubjectRef
    at: AwareDatetime
    event: Event

    @property
    def key(self) -> bytes:
        return self.subject.key.encode()


class StoredState(BaseModel):
    """A subject's state as stored, with the latest moment applied to it: an event older than that (a re-delivery)
    is applied at that moment, so it cannot move the credit score or the pruning back in time."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    state: SubjectState
    at: AwareDatetime


def command_record(command: MeasureCommand, category: str | None) -> dict[str, Any]:
    """A measure's apply or lift as a record: the command and the category of the strike that triggered it."""
    record: dict[str, Any] = {"kind": "measure", **command.model_dump(mode="json"), "category": category}
    return record


def trigger_category(state: SubjectState, measure_id: str) -> str | None:
    """The category of the strike a measure rests on (None for a moderator's measure or blacklisting)."""
    measure = next((m for m in state.measures if m.measure_id == measure_id), None)
    source = measure.trigger if measure is not None else None
    if source is None and state.blacklist is not None and state.blacklist.entry_id == measure_id:
        tied = next((m for m in state.measures if m.measure_id == state.blacklist.measure_id), None)
        source = tied.trigger if tied is not None else None
    strike = state.strike(source) if source is not None else None
    return strike.category if strike is not None else None
