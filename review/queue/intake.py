"""The queue agent's sink: verdicts to review or block are indexed, moderators' decisions set the final status;
a value that fails its contract is refused as data (a dead letter), as the records agent refuses it too."""

from __future__ import annotations

from pydantic import ValidationError

from modpipe.contracts import DeadLetterReason, Decision, Verdict
from modpipe.contracts.intake import RawMessage, Rejection, json_object
from review.queue.qa_store import QaSink
from review.queue.sink import QueueSink


class QueueIntake:
    def __init__(self, sink: QueueSink, decisions_topic: str, qa: QaSink | None = None) -> None:
        self.sink = sink
        self.qa = qa  # draws machine pass and block verdicts into the QA queue (review.queue.qa)
        self._decisions_topic = decisions_topic
        self._decisions: list[Decision] = []
        self._indexed = 0  # indexed by an attempt of this flush that a failing decision then made retry

    def add(self, raw: RawMessage) -> Rejection | None:
        value = json_object(raw)
        if isinstance(value, Rejection):
            return value
        try:
            if raw.topic == self._decisions_topic:
                self._decisions.append(Decision.model_validate(value))
            else:
                verdict = Verdict.model_validate(value)
                self.sink.add(verdict)
                if self.qa is not None:
                    self.qa.add(verdict)
        except ValidationError as exc:
            return Rejection(DeadLetterReason.BAD_VALUE.value, str(exc)[:2000])
        return None

    def flush(self) -> int:
        """Index the verdicts, then apply the decisions in order: a decision about an item of this same batch
        finds it indexed. Retried as a whole after a transient failure; both steps are idempotent."""
        self._indexed += self.sink.flush()
        if self.qa is not None:
            self.qa.flush()
        while self._decisions:
            self.sink.apply_decision(self._decisions[0])
            self._decisions.pop(0)
        indexed, self._indexed = self._indexed, 0
        return indexed

    def close(self) -> None:
        self.sink.close()
        if self.qa is not None:
            self.qa.close()
