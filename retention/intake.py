"""The records agent's sink: parses each verdict or decision against its contract and stores it through the
RecordSink; anything that is not one is refused as data and becomes a dead letter.

The same contract check as the queue's (review.queue.intake): a value one agent refuses is refused by both, so a
bad verdict is never stored as a record while the queue dead-letters it, or the other way round.

The dead letters themselves are records too (retention.dead_letters) and are never refused: refusing one would
publish a dead letter of a dead letter, and so on. One that is not even a JSON object is kept in quarantine with
its bytes.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping

from pydantic import ValidationError

from modpipe.contracts import DeadLetterReason, Decision, Verdict
from modpipe.contracts.intake import RawMessage, Rejection, json_object
from retention.sink import RecordSink


class RecordsIntake:
    def __init__(
        self,
        sink: RecordSink,
        decisions_topic: str,
        *,
        others: Mapping[str, Callable[[RawMessage], bool]] | None = None,
        dead_letters_topic: str | None = None,
    ) -> None:
        """`others`: topics beyond verdicts and decisions (user reports and their outcomes, L7), each with the
        check of its own contract. A value that fails it is not stored and not dead-lettered here: the agent
        that owns the contract (the reports agent) dead-letters it, once."""
        self.sink = sink
        self._decisions_topic = decisions_topic
        self._others = dict(others or {})
        self._dead_letters_topic = dead_letters_topic
        self._added = 0

    def add(self, raw: RawMessage) -> Rejection | None:
        check = self._others.get(raw.topic)
        if check is not None:
            value = json_object(raw)
            if not isinstance(value, Rejection) and check(raw):
                self.sink.add(value, topic=raw.topic, partition=raw.partition, offset=raw.offset)
                self._added += 1
            return None
        value = json_object(raw)
        if raw.topic == self._dead_letters_topic:
            if isinstance(value, Rejection):
                data = {"value_b64": base64.b64encode(raw.value).decode()}
                reason = f"dead letter that is not a JSON object ({value.reason}: {value.detail})"
                self.sink.keep_unreadable(data, reason, topic=raw.topic, partition=raw.partition, offset=raw.offset)
            else:
                self.sink.add(value, topic=raw.topic, partition=raw.partition, offset=raw.offset)
            self._added += 1
            return None
        if isinstance(value, Rejection):
            return value
        contract = Decision if raw.topic == self._decisions_topic else Verdict
        try:
            contract.model_validate(value)
        except ValidationError as exc:
            return Rejection(DeadLetterReason.BAD_VALUE.value, str(exc)[:2000])
        # The value as sent is what is stored, byte for byte in canonical form: not the model's re-serialisation.
        self.sink.add(value, topic=raw.topic, partition=raw.partition, offset=raw.offset)
        self._added += 1
        return None

    def flush(self) -> int:
        self.sink.flush()
        stored, self._added = self._added, 0
        return stored

    def close(self) -> None:
        self.sink.close()
