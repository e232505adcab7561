"""Where the measures agent keeps each subject's state in the records bucket, and the read side of it for anyone
above the stages (the review desk, the CLI): the layout and the parsing only, over whatever fetches an object, so
this stage needs no storage client of its own (the agent's writer is pipeline.measures_store)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC

from measures.model import MeasureCommand, SubjectRef
from measures.wire import StoredState

STATE = "measures/state/"
RECORDS = "measures/records/"
Fetch = Callable[[str], bytes | None]  # an object's bytes by key, or None when there is none


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:40]


def state_key(subject: SubjectRef) -> str:
    return f"{STATE}{subject.type.value}/{digest(subject.id)}.json"


def record_key(command: MeasureCommand) -> str:
    day = command.issued_at.astimezone(UTC).date()
    return f"{RECORDS}date={day:%Y-%m-%d}/{digest(command.key + '|' + command.action.value)}.json"


class StateReader:
    def __init__(self, fetch: Fetch) -> None:
        self.fetch = fetch

    def load(self, subject: SubjectRef) -> StoredState | None:
        found = self.fetch(state_key(subject))
        return None if found is None else StoredState.model_validate_json(found)
