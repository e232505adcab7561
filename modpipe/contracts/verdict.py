"""What the moderation agent publishes: verdicts, takedown/restore commands, dead letters; and moderators' decisions.

Every id here is derived from the message id (and the versions that produced it), so a re-processed message
yields the same keys and the same ids: downstream writes overwrite instead of duplicating.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from modpipe.settings.models import Action


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Hit(_Model):
    """Evidence at a span of the original text: a lexicon term, a term found by its sound (菠菜 for 博彩), or a spam
    signal (a contact handle, a link, an amount; `category` is then `signal` and `term` the signal's kind)."""

    term: str
    category: str
    sub_label: str | None = None
    start: int  # character offsets into the original text, end exclusive
    end: int
    matched: str  # the original characters at [start, end)
    kind: Literal["term", "homophone", "signal"] = "term"
    level: Literal["block", "review", "signal"] | None = None


class SourcePosition(_Model):
    topic: str
    partition: int
    offset: int


class Verdict(_Model):
    verdict_id: str
    message_id: str
    action: Action
    categories: dict[str, float]
    flagged: tuple[str, ...] = ()  # category codes whose score reached their review threshold, sorted
    hits: tuple[Hit, ...] = ()
    sub_labels: dict[str, str] = Field(default_factory=dict)
    model_version: str
    lexicon_version: str
    policy_version: str
    decided_by: str  # "machine" or a moderator id
    decided_at: AwareDatetime
    service_type: str
    source: SourcePosition
    message: dict[str, Any]  # the input message as received
    # Set when the author or group was barred (blacklisted, suspended, closed): blocked before any classifier.
    gate: str | None = None
    # The author's credit level (信用等级) when the moderation agent follows the measures (docs/measures.md); a
    # level with stricter thresholds judged this message by them.
    credit_level: str | None = None


def verdict_id(message_id: str, model_version: str, lexicon_version: str, policy_version: str) -> str:
    seed = "\x1f".join((message_id, model_version, lexicon_version, policy_version)).encode()
    return hashlib.sha256(seed).hexdigest()[:32]


class CommandType(StrEnum):
    TAKEDOWN = "takedown"
    RESTORE = "restore"


class TakedownCommand(_Model):
    command: CommandType
    message_id: str
    platform: str | None
    service_type: str
    reason: tuple[str, ...]  # category codes
    verdict_id: str
    issued_at: AwareDatetime
    decided_by: str = "machine"


class DecisionOutcome(StrEnum):
    CONFIRMED = "confirmed"
    OVERTURNED = "overturned"
    # A senior moderator sent a decided item back for re-review: no command, the item stays as it is until the
    # next decision (issue 16).
    REOPENED = "reopened"


class Decision(_Model):
    """A moderator's decision on a queued item; published by the review page to the decisions topic."""

    decision_id: str
    message_id: str
    outcome: DecisionOutcome
    moderator: Annotated[str, Field(min_length=1)]
    comment: str = ""
    decided_at: AwareDatetime
    previous_action: Action  # the machine's action the moderator ruled on
    verdict_id: str
    service_type: str
    platform: str | None = None
    categories: tuple[str, ...] = ()
    # Violation tags: sub-labels of the categories and free tags of the setting review.tags.
    tags: tuple[str, ...] = ()
    # A correction (reopen or reversal) names the decision it corrects, and the outcome in effect before it: what
    # the platform shows now (confirmed = down, overturned = up), so the right command follows.
    corrects: str | None = None
    prior_outcome: DecisionOutcome | None = None


class DeadLetter(_Model):
    reason: str
    detail: str
    topic: str
    partition: int
    offset: int
    key_b64: str | None
    value_b64: str
    received_at: datetime
    stage: Literal["validate", "classify", "decode"] = "validate"
