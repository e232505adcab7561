"""The contracts between the parts (design.md section 5)."""

from modpipe.contracts.message import (
    DeadLetterReason,
    InputMessage,
    Invalid,
    MessageValidator,
    Parsed,
    Valid,
)
from modpipe.contracts.verdict import (
    CommandType,
    DeadLetter,
    Decision,
    DecisionOutcome,
    Hit,
    SourcePosition,
    TakedownCommand,
    Verdict,
    verdict_id,
)

__all__ = [
    "CommandType",
    "DeadLetter",
    "DeadLetterReason",
    "Decision",
    "DecisionOutcome",
    "Hit",
    "InputMessage",
    "Invalid",
    "MessageValidator",
    "Parsed",
    "SourcePosition",
    "TakedownCommand",
    "Valid",
    "Verdict",
    "verdict_id",
]
