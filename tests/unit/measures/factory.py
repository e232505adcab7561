"""Verdicts, decisions and a clock for the measures tests: only what the measures stage reads is varied."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from measures import Event, MeasureCommand, Policy, SubjectRef, SubjectState, SubjectType
from modpipe.clock import FixedClock
from modpipe.contracts import Decision, DecisionOutcome, SourcePosition, Verdict
from modpipe.settings import Action, Settings, load_settings
from tests.support import REPO

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
SETTINGS: Settings = load_settings(REPO / "config", environ={})
MEASURES = SETTINGS.measures


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


def account(user: str) -> SubjectRef:
    return SubjectRef(type=SubjectType.ACCOUNT, id=user)


def group(gid: str) -> SubjectRef:
    return SubjectRef(type=SubjectType.GROUP, id=gid)


def admin(user: str) -> SubjectRef:
    return SubjectRef(type=SubjectType.GROUP_ADMIN, id=user)


def make_verdict(
    message_id: str,
    author: str,
    at: datetime,
    codes: tuple[str, ...] = ("C8",),
    *,
    action: Action = Action.BLOCK,
    sub_labels: dict[str, str] | None = None,
    **message: Any,
) -> Verdict:
    body = {"message_id": message_id, "author_id": author, "service_type": "group", "kind": "post", **message}
    return Verdict(
        verdict_id=f"v-{message_id}",
        message_id=message_id,
        action=action,
        categories=dict.fromkeys(codes, 0.95),
        flagged=tuple(sorted(codes)),
        sub_labels=sub_labels or {},
        model_version="m1",
        lexicon_version="l1",
        policy_version="p1",
        decided_by="machine",
        decided_at=at,
        service_type="group",
        source=SourcePosition(topic="group-messages", partition=0, offset=0),
        message=body,
    )


def make_decision(
    verdict: Verdict, outcome: DecisionOutcome, at: datetime, categories: tuple[str, ...] = ()
) -> Decision:
    return Decision(
        decision_id=f"d-{verdict.message_id}-{outcome.value}",
        message_id=verdict.message_id,
        outcome=outcome,
        moderator="mod-li",
        decided_at=at,
        previous_action=verdict.action,
        verdict_id=verdict.verdict_id,
        service_type=verdict.service_type,
        categories=categories or verdict.flagged,
    )


class Desk:
    """Many subjects' states driven by one clock, as a worker would keep them."""

    def __init__(self, clock: FixedClock | None = None) -> None:
        self.policy = Policy(MEASURES)
        self.clock = clock or FixedClock(T0)
        self.states: dict[str, SubjectState] = {}
        self.commands: list[MeasureCommand] = []

    def state(self, subject: SubjectRef) -> SubjectState:
        return self.states.get(subject.key) or self.policy.new_state(subject)

    def send(self, *events: Event) -> list[MeasureCommand]:
        issued: list[MeasureCommand] = []
        for event in events:
            subject = getattr(event, "subject", None)
            targets = [self.state(subject)] if subject is not None else list(self.states.values())
            for state in targets:
                new, commands = self.policy.apply(state, event, self.clock.now())
                self.states[new.subject.key] = new
                issued.extend(commands)
        self.commands.extend(issued)
        return issued
