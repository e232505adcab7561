"""The one builder of platform commands: a takedown for a machine block, and what a moderator's decision calls for
(an overturned block restored, a confirmed review or reported pass taken down)."""

from __future__ import annotations

from modpipe.clock import Clock
from modpipe.contracts.verdict import CommandType, Decision, DecisionOutcome, TakedownCommand, Verdict
from modpipe.settings import Action


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


def command_for(decision: Decision, clock: Clock) -> TakedownCommand | None:
    """The command a decision calls for, or None when the item already is where the moderator wants it."""
    if decision.outcome is DecisionOutcome.OVERTURNED and decision.previous_action is Action.BLOCK:
        command = CommandType.RESTORE
    elif decision.outcome is DecisionOutcome.CONFIRMED and decision.previous_action in (Action.REVIEW, Action.PASS):
        # A confirmed pass is a message users reported (L7) that the moderator found breaks the rules.
        command = CommandType.TAKEDOWN
    else:
        # A confirmed block is already down; an overturned review was never taken down.
        return None
    return TakedownCommand(
        command=command,
        message_id=decision.message_id,
        platform=decision.platform,
        service_type=decision.service_type,
        reason=decision.categories,
        verdict_id=decision.verdict_id,
        issued_at=clock.now(),
        decided_by=decision.moderator,
    )
