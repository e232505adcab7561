"""Graded measures against accounts, public accounts, groups and group admins: strikes, ladders, credit levels,
the blacklist and the commands for the platform (issue 14; docs/measures.md). A stage: pure and deterministic,
it reads only settings, contracts, clocks and errors."""

from measures import model
from measures.credit import credit_of, credit_score
from measures.gate import GateReason, gate, gate_all
from measures.ladder import Policy, points
from measures.model import *  # noqa: F403 - the data types are the package's API: model.__all__
from measures.strikes import strikes_for_decision, strikes_for_verdict, subjects_of
from modpipe.settings.measures import MeasureKind, SubjectType

__all__ = [
    "GateReason",
    "MeasureKind",
    "Policy",
    "SubjectType",
    "credit_of",
    "credit_score",
    "gate",
    "gate_all",
    "points",
    "strikes_for_decision",
    "strikes_for_verdict",
    "subjects_of",
]
__all__ += model.__all__
