"""The moderation step as a pure function of a batch: raw messages in, verdicts/takedowns/dead letters out.

No Kafka here: the faust agent feeds batches and publishes what comes back, so this logic is tested directly.
"""

from __future__ import annotations

import base64
import logging
import random
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiokafka.partitioner import murmur2

from classifiers.policy import decide
from measures.gateview import Gate, barred, level_at, message_subjects
from modpipe.clock import Clock, PinnedClock
from modpipe.contracts import (
    DeadLetter,
    DeadLetterReason,
    Invalid,
    MessageValidator,
    SourcePosition,
    TakedownCommand,
    Valid,
    Verdict,
    verdict_id,
)
from modpipe.contracts.commands import takedown_for
from modpipe.contracts.intake import RawMessage, dead_letter
from modpipe.settings import Action, Settings
from modpipe.settings.measures import LevelThresholds
from modpipe.settings.models import Category, Thresholds, Topics

if TYPE_CHECKING:
    from classifiers.reload import Reloader
    from classifiers.tagger import Tagger, TagResult

log = logging.getLogger(__name__)


Outgoing = tuple[str, bytes | None, bytes]  # topic, key, value


@dataclass
class Routed:
    """Outputs grouped by (topic, partition), in the order they were made, for topics of `counts` partitions
    numbered 0..n-1. The partition is the producer's own choice (aiokafka's DefaultPartitioner: murmur2 of the key,
    a random one without a key), made here so that it costs a classifying process, not the worker's event loop
    (about 8 µs a key, pure Python)."""

    counts: dict[str, int]
    records: dict[tuple[str, int], list[tuple[bytes | None, bytes]]] = field(default_factory=dict)

    def add(self, topic: str, key: bytes | None, value: bytes) -> None:
        n = self.counts[topic]
        partition = random.randrange(n) if key is None else (murmur2(key) & 0x7FFFFFFF) % n
        self.records.setdefault((topic, partition), []).append((key, value))

    def extend(self, other: Routed) -> None:
        for where, records in other.records.items():
            self.records.setdefault(where, []).extend(records)

    def flat(self) -> list[Outgoing]:
        return [(topic, key, value) for (topic, _), records in self.records.items() for key, value in records]


@dataclass
class BatchOutput:
    verdicts: list[Verdict] = field(default_factory=list)
    takedowns: list[TakedownCommand] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)


@dataclass
class Encoded:
    """A batch's outputs as the bytes to publish, with the counts the worker's metrics need. Only plain data, so it
    crosses from a classifying process to the worker cheaply. With partition counts given, the outputs are in
    `routed`, already grouped by partition, and `outgoing` is empty."""

    outgoing: list[Outgoing] = field(default_factory=list)
    routed: Routed | None = None
    actions: Counter[str] = field(default_factory=Counter)
    flagged: Counter[str] = field(default_factory=Counter)
    commands: Counter[str] = field(default_factory=Counter)
    dead_letters: Counter[str] = field(default_factory=Counter)

    def extend(self, other: Encoded) -> None:
        self.outgoing.extend(other.outgoing)
        if other.routed is not None:
            if self.routed is None:
                self.routed = Routed(dict(other.routed.counts))
            self.routed.extend(other.routed)
        for mine, theirs in (
            (self.actions, other.actions),
            (self.flagged, other.flagged),
            (self.commands, other.commands),
            (self.dead_letters, other.dead_letters),
        ):
            mine.update(theirs)


def encode(out: BatchOutput, topics: Topics, partitions: dict[str, int] | None = None) -> Encoded:
    """One verdict per message keyed by message_id, a takedown per block, dead letters keyed as received; with
    `partitions` (each output topic's partition count), grouped by partition (Routed)."""
    enc = Encoded()
    for v in out.verdicts:
        enc.outgoing.append((topics.verdicts.name, v.message_id.encode(), v.model_dump_json().encode()))
        enc.actions[v.action.value] += 1
        enc.flagged.update(v.flagged)
    for t in out.takedowns:
        enc.outgoing.append((topics.takedowns.name, t.message_id.encode(), t.model_dump_json().encode()))
        enc.commands[t.command.value] += 1
    for d in out.dead_letters:
        key = None if d.key_b64 is None else base64.b64decode(d.key_b64)
        enc.outgoing.append((topics.dead_letters.name, key, d.model_dump_json().encode()))
        enc.dead_letters[d.reason] += 1
    if partitions is not None:
        enc.routed = Routed(partitions)
        for topic, key, value in enc.outgoing:
            enc.routed.add(topic, key, value)
        enc.outgoing = []
    return enc


class ModerationProcessor:
    """With a reloader, the tagger is checked for new lexicon or model files before each batch (at most every
    `classifier.reload_interval_s`) and replaced between batches, never inside one."""

    def __init__(self, settings: Settings, tagger: Tagger, clock: Clock, reloader: Reloader | None = None) -> None:
        self.topics = settings.kafka.topics
        self.tagger = tagger
        self.clock = clock
        self.reloader = reloader
        self.validator = MessageValidator.from_settings(settings, clock)
        self.best_level = settings.measures.credit.levels[0].level
        # The categories as a stricter level sees them, built once: per message it is one lookup, and a decision
        # on the scores already computed only for an author at such a level.
        self.stricter = {
            level: stricter_categories(settings.categories, shift)
            for level, shift in settings.measures.level_thresholds.items()
            if shift.stricter
        }

    def process_encoded(
        self, batch: Sequence[RawMessage], gate: Gate | None = None, partitions: dict[str, int] | None = None
    ) -> Encoded:
        return encode(self.process(batch, gate), self.topics, partitions)

    def process(self, batch: Sequence[RawMessage], gate: Gate | None = None) -> BatchOutput:
        """`gate`: who may not post (measures.gateview); their messages are blocked without the classifier."""
        out = BatchOutput()
        # One reading of the clock per batch: a batch is decided at one moment, and reading it per message cost
        # about 3 % of the worker's time.
        now = self.clock.now()
        clock = PinnedClock(now)
        if self.reloader is not None:
            self.reloader.maybe_reload(now)
            self.tagger = self.reloader.current()
        tagger = self.tagger  # the whole batch is classified and stamped by one tagger, even if another is swapped in
        valid: list[tuple[RawMessage, Valid]] = []
        levels: list[str | None] = []
        for raw in batch:
            parsed = self.validator.parse(raw.value, received_at=now)
            if isinstance(parsed, Invalid):
                out.dead_letters.append(dead_letter(raw, parsed.reason, parsed.detail, "validate", clock))
                continue
            level = None if gate is None else (level_at(gate, parsed.message.author_id, now) or self.best_level)
            if gate and (reason := barred(gate, message_subjects(parsed.message), now)) is not None:
                verdict = self._barred(tagger, raw, parsed, reason.value, clock, level)
                out.verdicts.append(verdict)
                out.takedowns.append(takedown_for(verdict, clock).model_copy(update={"reason": (reason.value,)}))
            else:
                valid.append((raw, parsed))
                levels.append(level)
        messages = [v.message for _, v in valid]
        classified = self._classify(tagger, [m.text for m in messages], [m.service_type for m in messages])
        for (raw, item), result, level in zip(valid, classified, levels, strict=True):
            if isinstance(result, Exception):
                detail = f"{type(result).__name__}: {result}"
                out.dead_letters.append(dead_letter(raw, DeadLetterReason.CLASSIFIER_FAILED, detail, "classify", clock))
                continue
            verdict = self._verdict(tagger, raw, item, result, clock, level, self.stricter.get(level or ""))
            out.verdicts.append(verdict)
            if verdict.action is Action.BLOCK:
                out.takedowns.append(takedown_for(verdict, clock))
        return out

    @staticmethod
    def _classify(tagger: Tagger, texts: list[str], services: list[str]) -> list[TagResult | Exception]:
        if not texts:
            return []
        try:
            return list(tagger.classify_batch(texts, services))
        except Exception:
            log.exception("batch classification failed; retrying message by message")
        results: list[TagResult | Exception] = []
        for text, service in zip(texts, services, strict=True):
            try:
                results.append(tagger.classify_batch([text], [service])[0])
            except Exception as exc:  # noqa: BLE001 - becomes a dead letter carrying the reason
                results.append(exc)
        return results

    @staticmethod
    def _barred(tagger: Tagger, raw: RawMessage, item: Valid, reason: str, clock: Clock, level: str | None) -> Verdict:
        versions = (tagger.model_version, tagger.lexicon_version, tagger.policy_version)
        # Its own id: a later classification of the same message (the bar lifted, a replay) is another verdict.
        vid = verdict_id(item.message.message_id, "gate", reason, versions[2])
        return _machine_verdict(
            raw, item, versions, clock, vid, action=Action.BLOCK, categories={}, gate=reason, credit_level=level
        )

    @staticmethod
    def _verdict(
        tagger: Tagger, raw: RawMessage, item: Valid, result: TagResult, clock: Clock, level: str | None,
        stricter: Mapping[str, Category] | None,
    ) -> Verdict:  # fmt: skip
        versions = (tagger.model_version, tagger.lexicon_version, tagger.policy_version)
        action, flagged, policy = result.action, result.flagged, versions[2]
        if stricter is not None:
            action, flagged = decide(result.categories, stricter, item.message.service_type)
            policy = f"{policy}|level={level}"  # judged by other thresholds: another verdict than at a lax level
        return _machine_verdict(
            raw, item, versions, clock, verdict_id(item.message.message_id, versions[0], versions[1], policy),
            action=action, categories=result.categories, flagged=flagged, hits=result.hits,
            sub_labels=result.sub_labels, credit_level=level,
        )  # fmt: skip


def _machine_verdict(
    raw: RawMessage, item: Valid, versions: tuple[str, str, str], clock: Clock, vid: str, **outcome: Any
) -> Verdict:
    """A verdict the machine decided, `outcome` being what it decided (action, scores, hits, or the gate's reason)."""
    msg = item.message
    return Verdict(
        verdict_id=vid,
        message_id=msg.message_id,
        model_version=versions[0],
        lexicon_version=versions[1],
        policy_version=versions[2],
        decided_by="machine",
        decided_at=clock.now(),
        service_type=msg.service_type,
        source=SourcePosition(topic=raw.topic, partition=raw.partition, offset=raw.offset),
        message=item.as_received,
        **outcome,
    )


def stricter_categories(categories: Mapping[str, Category], shift: LevelThresholds) -> dict[str, Category]:
    """The categories with every review and block threshold (service types' too) lowered by the level's deltas,
    kept within 0..1 and the block threshold never under the review one."""

    def lowered(t: Thresholds) -> Thresholds:
        review = min(1.0, max(0.0, t.review + shift.review_delta))
        return Thresholds(review=review, block=max(review, min(1.0, max(0.0, t.block + shift.block_delta))))

    return {
        code: cat.model_copy(update={
            "thresholds": lowered(cat.thresholds),
            "service_thresholds": {svc: lowered(t) for svc, t in cat.service_thresholds.items()},
        })
        for code, cat in categories.items()
    }  # fmt: skip
