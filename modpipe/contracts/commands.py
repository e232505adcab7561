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


def is_down(decision: Decision) -> bool:
    """Whether the item is down before this decision is carried out: as the decision it corrects left it, else as
    the machine left it (only a block is taken down at once)."""
    if decision.prior_outcome is not None and decision.prior_outcome is not DecisionOutcome.REOPENED:
        return decision.prior_outcome is DecisionOutcome.CONFIRMED
    return decision.previous_action is Action.BLOCK


def command_for(decision: Decision, clock: Clock) -> TakedownCommand | None:
    """The command a decision calls for, or None when the item already is where the moderator wants it.

    A confirmation wants the item down (a confirmed pass is a message users reported, L7, that breaks the rules),
    an overturn wants it up; a reopening changes nothing until the next decision. So a confirmed block, an
    overturned review and the reversal of nothing call for no command."""
    if decision.outcome is DecisionOutcome.REOPENED:
        return None
    down = is_down(decision)
    if decision.outcome is DecisionOutcome.OVERTURNED and down:
        command = CommandType.RESTORE
    elif decision.outcome is DecisionOutcome.CONFIRMED and not down:
        command = CommandType.TAKEDOWN
    else:
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
