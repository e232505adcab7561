from __future__ import annotations

from datetime import UTC, datetime

import pytest

from modpipe.clock import FixedClock
from modpipe.contracts import CommandType, Decision, DecisionOutcome
from modpipe.contracts.commands import command_for
from modpipe.settings import Action

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def decision(outcome: DecisionOutcome, previous: Action) -> Decision:
    return Decision(
        decision_id="d1",
        message_id="m1",
        outcome=outcome,
        moderator="mod-li",
        decided_at=NOW,
        previous_action=previous,
        verdict_id="v1",
        service_type="group",
        platform="chat.example",
        categories=("C8",),
    )


@pytest.mark.parametrize(
    ("outcome", "previous", "expected"),
    [
        (DecisionOutcome.OVERTURNED, Action.BLOCK, CommandType.RESTORE),
        (DecisionOutcome.CONFIRMED, Action.REVIEW, CommandType.TAKEDOWN),
        (DecisionOutcome.CONFIRMED, Action.BLOCK, None),
        (DecisionOutcome.OVERTURNED, Action.REVIEW, None),
    ],
)
def test_each_decision_gets_the_command_it_calls_for(
    outcome: DecisionOutcome, previous: Action, expected: CommandType | None
) -> None:
    command = command_for(decision(outcome, previous), FixedClock(NOW))
    if expected is None:
        assert command is None
        return
    assert command is not None
    assert command.command is expected
    assert (command.message_id, command.platform, command.service_type) == ("m1", "chat.example", "group")
    assert command.reason == ("C8",)
    assert command.decided_by == "mod-li"
    assert command.issued_at == NOW


@pytest.mark.parametrize(
    ("outcome", "previous", "prior", "expected"),
    [
        # A reversal: the decision it corrects left the item down (confirmed) or up (overturned).
        (DecisionOutcome.OVERTURNED, Action.REVIEW, DecisionOutcome.CONFIRMED, CommandType.RESTORE),
        (DecisionOutcome.CONFIRMED, Action.BLOCK, DecisionOutcome.OVERTURNED, CommandType.TAKEDOWN),
        (DecisionOutcome.CONFIRMED, Action.PASS, DecisionOutcome.OVERTURNED, CommandType.TAKEDOWN),
        # A reopening changes nothing; the decision after it starts from what the platform shows.
        (DecisionOutcome.REOPENED, Action.BLOCK, DecisionOutcome.CONFIRMED, None),
        (DecisionOutcome.CONFIRMED, Action.REVIEW, DecisionOutcome.CONFIRMED, None),
        (DecisionOutcome.OVERTURNED, Action.BLOCK, DecisionOutcome.OVERTURNED, None),
    ],
)
def test_a_correction_gets_the_command_the_state_before_it_calls_for(
    outcome: DecisionOutcome, previous: Action, prior: DecisionOutcome, expected: CommandType | None
) -> None:
    corrected = decision(outcome, previous).model_copy(update={"corrects": "d0", "prior_outcome": prior})
    command = command_for(corrected, FixedClock(NOW))
    assert (command.command if command else None) is expected
