"""A moderator's decision: claim the queue document first (first wins), then publish the Decision to the
decisions topic and wait for the broker's acknowledgement (acks=all) before answering the moderator."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from enum import StrEnum
from typing import Protocol

from modpipe.clock import Clock
from modpipe.contracts import Decision, DecisionOutcome
from modpipe.settings import Settings
from review.desk.acked import AckedTopic
from review.desk.exceptions import PublishFailed
from review.queue import AlreadyDecided, Claim, Item, QueueStore
from review.queue.decisions import decision_of, in_effect

log = logging.getLogger("modpipe.review")


class Publisher(Protocol):
    def publish(self, decision: Decision) -> None: ...

    def close(self) -> None: ...


class KafkaPublisher:
    def __init__(self, settings: Settings) -> None:
        topic = settings.kafka.topics.decisions.name
        self._out = AckedTopic(settings, topic, "review", f"decisions topic {topic}")

    def publish(self, decision: Decision) -> None:
        self._out.send(decision.message_id.encode(), decision.model_dump_json().encode())

    def close(self) -> None:
        self._out.close()


class Correction(StrEnum):
    REOPEN = "reopen"  # back to the open queue for re-review
    REVERSE = "reverse"  # confirmed <-> overturned, with the takedown or restore that follows


class Decider:
    def __init__(self, store: QueueStore, publisher: Publisher, clock: Clock) -> None:
        self.store = store
        self.publisher = publisher
        self.clock = clock

    def decide(
        self, message_id: str, outcome: DecisionOutcome, moderator: str, comment: str = "", tags: Sequence[str] = ()
    ) -> Decision:
        """Publishes exactly one Decision per accepted call: only the call whose conditional claim wins publishes.
        Raises AlreadyDecided (a decision is in flight or made, whoever made it: a second one, even the same
        moderator's, is refused rather than re-sent), ItemNotFound, SearchUnavailable, PublishFailed."""
        item = self.store.get(message_id)
        return self._publish(item, outcome, moderator, comment, tags, correcting=False)

    def correct(
        self, message_id: str, correction: Correction, moderator: str, reason: str, tags: Sequence[str] = ()
    ) -> Decision:
        """A senior's reopening or reversal of a carried-out decision: a new decision through the same first-wins
        claim and exactly-once publication. Raises NothingToCorrect (open item), AlreadyDecided (another decision
        or correction in flight), ItemNotFound, SearchUnavailable, PublishFailed."""
        item = self.store.get(message_id)
        if correction is Correction.REOPEN:
            outcome = DecisionOutcome.REOPENED
        elif in_effect(item.moderation) == DecisionOutcome.CONFIRMED.value:
            outcome = DecisionOutcome.OVERTURNED
        else:
            outcome = DecisionOutcome.CONFIRMED
        return self._publish(item, outcome, moderator, reason, tags, correcting=True)

    def _publish(
        self, item: Item, outcome: DecisionOutcome, moderator: str, comment: str, tags: Sequence[str], *,
        correcting: bool,
    ) -> Decision:  # fmt: skip
        m = item.moderation
        # The chain of decisions: the one carried out last (a reopening too) is the one this one follows.
        corrects = m.get("applied_id") or (m.get("decision_id") if correcting else None)
        claim = Claim(
            uuid.uuid4().hex, moderator, outcome.value, comment, self.clock.now(), tuple(tags),
            corrects=corrects or None, prior_outcome=in_effect(m),
        )  # fmt: skip
        claimed = self.store.claim(item, claim, correcting=correcting)  # raises AlreadyDecided for every loser
        decision = decision_of(claimed.id, claimed.source)
        try:
            self.publisher.publish(decision)
        except PublishFailed:
            released = self.store.release(claimed, claim.decision_id, item.moderation)
            log.exception("decision %s on %s not published; claim released=%s", claim.decision_id, item.id, released)
            raise
        log.info("decision %s: %s %s by %s", claim.decision_id, item.id, outcome.value, moderator)
        return decision


__all__ = ["AlreadyDecided", "Correction", "Decider", "KafkaPublisher", "Publisher", "decision_of"]
