"""The moderation step's question: must a message from this subject be blocked before any classifier runs?"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum

from measures.model import SubjectState
from modpipe.settings.measures import MeasureKind, SubjectType


class GateReason(StrEnum):
    BLACKLISTED = "blacklisted"
    ACCOUNT_CLOSED = "account_closed"
    ACCOUNT_SUSPENDED = "account_suspended"
    GROUP_CLOSED = "group_closed"
    GROUP_SUSPENDED = "group_suspended"


_BLOCKING = {
    SubjectType.ACCOUNT: (GateReason.ACCOUNT_CLOSED, GateReason.ACCOUNT_SUSPENDED),
    SubjectType.PUBLIC_ACCOUNT: (GateReason.ACCOUNT_CLOSED, GateReason.ACCOUNT_SUSPENDED),
    SubjectType.GROUP: (GateReason.GROUP_CLOSED, GateReason.GROUP_SUSPENDED),
}


def gate(state: SubjectState, now: datetime) -> GateReason | None:
    """Why a message from this subject is blocked at once, or None. Reads measures in force at `now`, so a tick
    that has not run yet cannot keep a finished suspension blocking. Restricted functions and a group admin's
    measures do not stop messages."""
    if state.blacklisted:
        return GateReason.BLACKLISTED
    reasons = _BLOCKING.get(state.subject.type)
    if reasons is None:
        return None
    kinds = {m.kind for m in state.in_force(now)}
    if MeasureKind.CLOSE in kinds:
        return reasons[0]
    if MeasureKind.SUSPEND_POSTING in kinds:
        return reasons[1]
    return None


def gate_all(states: Iterable[SubjectState], now: datetime) -> GateReason | None:
    """The first reason among a message's subjects (pass them in subjects_of order: author first)."""
    for state in states:
        reason = gate(state, now)
        if reason is not None:
            return reason
    return None
