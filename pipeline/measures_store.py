"""Where the measures agent keeps each subject's state and the records of its measures: the records bucket.

A subject's state is one object with a key derived from the subject, overwritten after each batch that changed it
(no lock: it is working state, not a record). Each measure command is a record of its own, locked for
measures.record_months, with a key derived from the command's key and action, so a re-issued command lands on its
own record again."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from measures.model import MeasureCommand, SubjectRef
from measures.reader import RECORDS, STATE, StateReader, record_key, state_key
from measures.report import day_counts
from measures.wire import StoredState, command_record
from modpipe.clock import Clock
from modpipe.settings import Settings
from modpipe.settings.models import Retention
from retention.dates import retain_until
from retention.store import Store

__all__ = ["RECORDS", "STATE", "MeasuresStore", "at_least", "measures_of_day", "record_key", "state_key"]


class MeasuresStore:
    def __init__(self, settings: Settings, clock: Clock, store: Store | None = None) -> None:
        self.settings = settings
        self.clock = clock
        self._own = store is None
        self.store = store or Store(settings)
        self._keep = Retention(months=settings.measures.record_months)

    def close(self) -> None:
        if self._own:
            self.store.close()

    def load(self, subject: SubjectRef) -> StoredState | None:
        return StateReader(self.fetch).load(subject)

    def fetch(self, key: str) -> bytes | None:
        found = self.store.get_if_exists(key)
        return None if found is None else found[0]

    def save(self, stored: StoredState) -> None:
        data = stored.model_dump_json().encode()
        self.store.put(state_key(stored.state.subject), data, None, self.clock, "application/json")

    def states(self) -> Iterator[StoredState]:
        client = self.store.client
        listed = self.store.call(lambda: list(client.list_objects(self.store.bucket, prefix=STATE, recursive=True)))
        for obj in listed:
            found = self.store.get_if_exists(obj.object_name)
            if found is not None:
                yield StoredState.model_validate_json(found[0])

    def record(self, command: MeasureCommand, category: str | None) -> None:
        data = json.dumps(command_record(command, category), sort_keys=True, ensure_ascii=False).encode()
        until = retain_until(self._keep, command.issued_at)
        self.store.put(record_key(command), data, until, self.clock, "application/json")

    def records(self, day: date) -> list[dict[str, Any]]:
        """The records of measure commands issued on a UTC day."""
        client = self.store.client
        prefix = f"{RECORDS}date={day:%Y-%m-%d}/"
        listed = self.store.call(lambda: list(client.list_objects(self.store.bucket, prefix=prefix, recursive=True)))
        out: list[dict[str, Any]] = []
        for obj in listed:
            found = self.store.get_if_exists(obj.object_name)
            if found is not None:
                out.append(json.loads(found[0]))
        return out


def at_least(a: datetime, b: datetime) -> datetime:
    return a if a >= b else b


def measures_of_day(settings: Settings, clock: Clock, store: Store, start: str, end: str) -> dict[str, Any]:
    """The graded measures (L6) of a report's day [start, end) from the measures agent's records, by measure,
    subject type and category."""
    t1, t2 = datetime.fromisoformat(start), datetime.fromisoformat(end)
    records: list[dict[str, Any]] = []
    reader = MeasuresStore(settings, clock, store)
    day = t1.astimezone(UTC).date()
    while day <= t2.astimezone(UTC).date():  # records are filed by UTC day; the report's day spans two
        records.extend(reader.records(day))
        day += timedelta(days=1)
    return day_counts(records, t1, t2)
