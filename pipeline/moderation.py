"""The moderation step as a pure function of a batch: raw messages in, verdicts/takedowns/dead letters out.

No Kafka here: the faust agent feeds batches and publishes what comes back, so this logic is tested directly.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from modpipe.clock import Clock
from modpipe.contracts import (
    CommandType,
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
from modpipe.settings import Action, Settings

if TYPE_CHECKING:
    from classifiers import Tagger, TagResult

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RawMessage:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes


@dataclass
class BatchOutput:
    verdicts: list[Verdict] = field(default_factory=list)
    takedowns: list[TakedownCommand] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)


class ModerationProcessor:
    def __init__(self, settings: Settings, tagger: Tagger, clock: Clock) -> None:
        self.tagger = tagger
        self.clock = clock
        self.validator = MessageValidator(
            frozenset(settings.services), settings.message.max_text_chars, settings.message.max_message_bytes
        )

    def process(self, batch: Sequence[RawMessage]) -> BatchOutput:
        out = BatchOutput()
        valid: list[tuple[RawMessage, Valid]] = []
        for raw in batch:
            parsed = self.validator.parse(raw.value)
            if isinstance(parsed, Invalid):
                out.dead_letters.append(dead_letter(raw, parsed.reason, parsed.detail, "validate", self.clock))
            else:
                valid.append((raw, parsed))
        for (raw, item), result in zip(valid, self._classify([v.message.text for _, v in valid]), strict=True):
            if isinstance(result, Exception):
                detail = f"{type(result).__name__}: {result}"
                out.dead_letters.append(
                    dead_letter(raw, DeadLetterReason.CLASSIFIER_FAILED, detail, "classify", self.clock)
                )
                continue
            verdict = self._verdict(raw, item, result)
            out.verdicts.append(verdict)
            if verdict.action is Action.BLOCK:
                out.takedowns.append(takedown_for(verdict, self.clock))
        return out

    def _classify(self, texts: list[str]) -> list[TagResult | Exception]:
        if not texts:
            return []
        try:
            return list(self.tagger.classify_batch(texts))
        except Exception:
            log.exception("batch classification failed; retrying message by message")
        results: list[TagResult | Exception] = []
        for text in texts:
            try:
                results.append(self.tagger.classify_batch([text])[0])
            except Exception as exc:  # noqa: BLE001 - becomes a dead letter carrying the reason
                results.append(exc)
        return results

    def _verdict(self, raw: RawMessage, item: Valid, result: TagResult) -> Verdict:
        msg = item.message
        versions = (self.tagger.model_version, self.tagger.lexicon_version, self.tagger.policy_version)
        return Verdict(
            verdict_id=verdict_id(msg.message_id, *versions),
            message_id=msg.message_id,
            action=result.action,
            categories=result.categories,
            flagged=result.flagged,
            hits=result.hits,
            sub_labels=result.sub_labels,
            model_version=versions[0],
            lexicon_version=versions[1],
            policy_version=versions[2],
            decided_by="machine",
            decided_at=self.clock.now(),
            service_type=msg.service_type,
            source=SourcePosition(topic=raw.topic, partition=raw.partition, offset=raw.offset),
            message=item.as_received,
        )


def dead_letter(raw: RawMessage, reason: str, detail: str, stage: str, clock: Clock) -> DeadLetter:
    """A dead letter carries the original bytes and position, so nothing is lost and it can be replayed."""
    return DeadLetter(
        reason=reason,
        detail=detail,
        topic=raw.topic,
        partition=raw.partition,
        offset=raw.offset,
        key_b64=base64.b64encode(raw.key).decode() if raw.key is not None else None,
        value_b64=base64.b64encode(raw.value).decode(),
        received_at=clock.now(),
        stage=stage,  # type: ignore[arg-type]
    )


def takedown_for(verdict: Verdict, clock: Clock, decided_by: str = "machine") -> TakedownCommand:
    platform = verdict.message.get("platform")
    return TakedownCommand(
        command=CommandType.TAKEDOWN,
        message_id=verdict.message_id,
        platform=platform if isinstance(platform, str) else None,
        service_type=verdict.service_type,
        reason=verdict.flagged,
        verdict_id=verdict.verdict_id,
        issued_at=clock.now(),
        decided_by=decided_by,
    )
