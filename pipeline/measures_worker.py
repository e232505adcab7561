"""The measures agent's two steps, free of faust (the agent in pipeline.agents feeds and publishes):

- route: verdicts and decisions become strikes and withdrawals (measures.strikes), one envelope per subject, keyed
  by subject on the measure-events topic, so that every event of a subject reaches one partition, one writer;
- apply: the envelopes of a batch go through the pure core (measures.Policy) against the states in the store; the
  commands are published and acknowledged first, then the records and states are written, and only then may the
  batch's offsets be committed. A crash before the states are written re-applies the batch to the old states at
  the envelopes' own moments: the same commands with the same keys. A crash after re-applies known strikes, which
  change nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from measures import Policy, SubjectType, Tick, strikes_for_decision, strikes_for_verdict
from measures.levels import CreditLevels, credit_levels
from measures.model import MeasureCommand, SubjectRef, SubjectState
from measures.wire import Envelope, StoredState, trigger_category
from modpipe.contracts import Decision, SourcePosition, Verdict
from modpipe.contracts.intake import RawMessage
from modpipe.settings import Settings
from pipeline.measures_store import MeasuresStore, at_least
from pipeline.moderation import Outgoing

log = logging.getLogger("modpipe.worker")
Refuse = Callable[[RawMessage, str], Outgoing]


def verdict_from_queue(decision: Decision, source: dict[str, Any]) -> Verdict:
    """The verdict a decision ruled on, as far as strikes need it (subjects, flagged categories, sub-labels),
    from its review-queue document: a decision does not carry the message."""
    labels = source.get("labels") or {}
    moderation = source.get("moderation") or {}
    message = {k: v for k in ("group_id", "account_id", "author_role", "group_owner_id") if (v := labels.get(k))}
    message["author_id"] = (source.get("user") or {}).get("id") or ""
    return Verdict(
        verdict_id=decision.verdict_id,
        message_id=decision.message_id,
        action=decision.previous_action,
        categories={},
        flagged=tuple((source.get("rule") or {}).get("category") or ()),
        sub_labels=dict(moderation.get("sub_labels") or {}),
        model_version=str(moderation.get("model_version") or "unknown"),
        lexicon_version=str(moderation.get("lexicon_version") or "unknown"),
        policy_version=str((source.get("rule") or {}).get("version") or "unknown"),
        decided_by="machine",
        decided_at=decision.decided_at,
        service_type=decision.service_type,
        source=SourcePosition(topic="", partition=0, offset=0),
        message=message,
    )


class Router:
    def __init__(self, settings: Settings, find_queued: Callable[[str], dict[str, Any] | None]) -> None:
        self.settings = settings
        self.find_queued = find_queued  # blocking: the review-queue document of a message, or None
        self.topics = settings.kafka.topics

    def route(self, batch: list[RawMessage]) -> list[Outgoing]:
        out: list[Outgoing] = []
        target = self.topics.measure_events.name
        for raw in batch:
            for envelope in self._envelopes(raw):
                out.append((target, envelope.key, envelope.model_dump_json().encode()))
        return out

    def _envelopes(self, raw: RawMessage) -> list[Envelope]:
        # What the records and queue agents refuse is dead-lettered by them; here it is only skipped.
        measures = self.settings.measures
        try:
            if raw.topic == self.topics.decisions.name:
                decision = Decision.model_validate_json(raw.value)
                queued = self.find_queued(decision.message_id)
                if queued is None:
                    log.warning("measures: no queue item for decision %s; no strike", decision.decision_id)
                    return []
                events: tuple[Any, ...] = strikes_for_decision(decision, verdict_from_queue(decision, queued), measures)
                at = decision.decided_at
            else:
                verdict = Verdict.model_validate_json(raw.value)
                if verdict.gate is not None:
                    return []  # a message blocked for a bar is no new violation
                events = strikes_for_verdict(verdict, measures)
                at = verdict.decided_at
        except ValidationError:
            log.warning("measures: %s:%s@%s is no verdict or decision; skipped", raw.topic, raw.partition, raw.offset)
            return []
        return [Envelope(subject=e.subject, at=at, event=e) for e in events]


@dataclass
class Applied:
    stored: dict[str, StoredState] = field(default_factory=dict)
    commands: list[tuple[MeasureCommand, str | None]] = field(default_factory=list)
    refused: list[Outgoing] = field(default_factory=list)
    levels: list[CreditLevels] = field(default_factory=list)  # of the accounts the batch touched


class Applier:
    def __init__(self, settings: Settings, store: MeasuresStore) -> None:
        self.settings = settings
        self.policy = Policy(settings.measures)
        self.store = store
        # subject key -> (subject, the earliest end of a measure in force): what the timer must tick.
        self.due: dict[str, tuple[SubjectRef, datetime]] = {}

    def apply(self, batch: list[RawMessage], refuse: Refuse) -> Applied:
        """Blocking (reads states from the store)."""
        result = Applied()
        for raw in batch:
            try:
                envelope = Envelope.model_validate_json(raw.value)
            except ValidationError as exc:
                result.refused.append(refuse(raw, str(exc)[:2000]))
                continue
            key = envelope.subject.key
            current = result.stored.get(key) or self.store.load(envelope.subject)
            if current is None:
                current = StoredState(state=self.policy.new_state(envelope.subject), at=envelope.at)
            now = at_least(envelope.at, current.at)
            state, commands = self.policy.apply(current.state, envelope.event, now)
            result.stored[key] = StoredState(state=state, at=now)
            result.commands.extend((c, trigger_category(state, c.measure_id)) for c in commands)
        credit = self.settings.measures.credit
        # Levels from the state's own moment: a re-delivered batch publishes the same records again.
        result.levels = [
            credit_levels(stored.state, stored.at, credit)
            for stored in result.stored.values()
            if stored.state.subject.type is SubjectType.ACCOUNT
        ]
        return result

    def save(self, applied: Applied) -> None:
        """Blocking: the records of the commands, then the states (after the commands were acknowledged)."""
        for command, category in applied.commands:
            self.store.record(command, category)
        for stored in applied.stored.values():
            self.store.save(stored)
            self.track(stored.state)

    def track(self, state: SubjectState) -> None:
        ends = [m.ends_at for m in state.measures if m.ended_at is None and m.ends_at is not None]
        if ends:
            self.due[state.subject.key] = (state.subject, min(ends))
        else:
            self.due.pop(state.subject.key, None)

    def load_due(self) -> None:
        for stored in self.store.states():
            self.track(stored.state)

    def ticks(self, now: datetime) -> list[Outgoing]:
        target = self.settings.kafka.topics.measure_events.name
        out: list[Outgoing] = []
        for subject, ends in list(self.due.values()):
            if ends <= now:
                envelope = Envelope(subject=subject, at=now, event=Tick())
                out.append((target, envelope.key, envelope.model_dump_json().encode()))
        return out


def command_bytes(settings: Settings, applied: Applied) -> list[Outgoing]:
    topics = settings.kafka.topics
    out: list[Outgoing] = [
        (topics.measures.name, c.key.encode(), c.model_dump_json().encode()) for c, _ in applied.commands
    ]
    out.extend((topics.credit_levels.name, r.key, r.model_dump_json().encode()) for r in applied.levels)
    return out


Publish = Callable[[list[Outgoing]], Awaitable[None]]
