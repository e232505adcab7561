"""A moderator's decision: claim the queue document first (first wins), then publish the Decision to the
decisions topic and wait for the broker's acknowledgement (acks=all) before answering the moderator."""

from __future__ import annotations

import logging
import uuid
from typing import Protocol

from kafka import KafkaProducer
from kafka.errors import KafkaError

from modpipe.clock import Clock
from modpipe.contracts import Decision, DecisionOutcome
from modpipe.settings import Settings
from review.desk.exceptions import PublishFailed
from review.queue import AlreadyDecided, Claim, QueueStore
from review.queue.decisions import decision_of
from review.queue.queue import OPEN

log = logging.getLogger("modpipe.review")


class Publisher(Protocol):
    def publish(self, decision: Decision) -> None: ...

    def close(self) -> None: ...


class KafkaPublisher:
    def __init__(self, settings: Settings) -> None:
        self._topic = settings.kafka.topics.decisions.name
        self._timeout_s = settings.kafka.request_timeout_ms / 1000
        self._producer = KafkaProducer(
            bootstrap_servers=settings.kafka.servers,
            client_id=f"{settings.kafka.client_id}-review",
            acks="all",
            retries=3,
            request_timeout_ms=settings.kafka.request_timeout_ms,
            max_block_ms=settings.kafka.request_timeout_ms,
        )

    def publish(self, decision: Decision) -> None:
        try:
            future = self._producer.send(
                self._topic, key=decision.message_id.encode(), value=decision.model_dump_json().encode()
            )
            self._producer.flush(timeout=self._timeout_s)
            future.get(timeout=self._timeout_s)
        except KafkaError as exc:
            raise PublishFailed(f"decisions topic {self._topic}: {exc}") from exc

    def close(self) -> None:
        self._producer.close(timeout=5)


class Decider:
    def __init__(self, store: QueueStore, publisher: Publisher, clock: Clock) -> None:
        self.store = store
        self.publisher = publisher
        self.clock = clock

    def decide(self, message_id: str, outcome: DecisionOutcome, moderator: str, comment: str = "") -> Decision:
        """Raises AlreadyDecided (someone else was first), ItemNotFound, SearchUnavailable, PublishFailed."""
        item = self.store.get(message_id)
        m = item.moderation
        if item.claimed and m.get("decided_by") == moderator and m.get("status") in OPEN:
            # The same moderator again, before the worker applied the claim: a retry after an unclear answer.
            # Publishing the claimed decision once more is harmless (the worker's writes are keyed by message id).
            decision = decision_of(item.id, item.source)
            self.publisher.publish(decision)
            return decision
        claim = Claim(uuid.uuid4().hex, moderator, outcome.value, comment, self.clock.now())
        claimed = self.store.claim(item, claim)  # raises AlreadyDecided for the second moderator
        decision = decision_of(claimed.id, claimed.source)
        try:
            self.publisher.publish(decision)
        except PublishFailed:
            released = self.store.release(claimed, claim.decision_id)
            log.exception("decision %s on %s not published; claim released=%s", claim.decision_id, message_id, released)
            raise
        log.info("decision %s: %s %s by %s", claim.decision_id, message_id, outcome.value, moderator)
        return decision


__all__ = ["AlreadyDecided", "Decider", "KafkaPublisher", "Publisher", "decision_of"]
