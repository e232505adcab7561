"""The input message of design.md section 5, and its validation into a result or a dead-letter reason."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator

from modpipe.clock import Clock

if TYPE_CHECKING:
    from modpipe.settings import Settings

Kind = Literal["post", "comment", "group_message"]
NonEmpty = Annotated[str, Field(min_length=1)]


class InputMessage(BaseModel):
    # Unknown fields are kept as they came: the record must hold the message as received.
    model_config = ConfigDict(frozen=True, extra="allow", strict=True)

    message_id: Annotated[str, Field(min_length=1, max_length=512)]
    service_type: NonEmpty
    kind: Kind
    text: str
    published_at: AwareDatetime
    author_id: NonEmpty
    source_ip: NonEmpty
    group_id: str | None = None
    account_id: str | None = None
    parent_id: str | None = None
    platform: str | None = None
    url: str | None = None
    attachments: list[str] | None = None
    # Who the author is in the group (issue 14): owners and admins answer for the group they run.
    author_role: Literal["owner", "admin", "member"] | None = None
    group_owner_id: Annotated[str, Field(min_length=1)] | None = None

    @field_validator("source_ip")
    @classmethod
    def _ip(cls, value: str) -> str:
        ipaddress.ip_address(value)
        return value


class DeadLetterReason(StrEnum):
    TOO_LARGE = "too_large"
    NOT_UTF8 = "not_utf8"
    NOT_JSON = "not_json"
    NOT_OBJECT = "not_object"
    MISSING_FIELD = "missing_field"
    WRONG_TYPE = "wrong_type"
    BAD_TIMESTAMP = "bad_timestamp"
    TOO_DEEP = "too_deep"
    BAD_VALUE = "bad_value"
    UNKNOWN_SERVICE_TYPE = "unknown_service_type"
    TEXT_TOO_LONG = "text_too_long"
    CLASSIFIER_FAILED = "classifier_failed"


@dataclass(frozen=True, slots=True)
class Valid:
    message: InputMessage
    raw: bytes

    @property
    def as_received(self) -> dict[str, Any]:
        """The message exactly as the platform sent it (all fields, original formatting of values)."""
        # It parsed as UTF-8 JSON already; decoding first spares json.loads its encoding detection.
        parsed: dict[str, Any] = json.loads(self.raw.decode("utf-8"))
        return parsed


@dataclass(frozen=True, slots=True)
class Invalid:
    reason: DeadLetterReason
    detail: str
    raw: bytes


Parsed = Valid | Invalid

_TYPE_ERRORS = ("_type", "_parsing")


class MessageValidator:
    """Turns raw Kafka values into Valid or Invalid; never raises on bad input.

    `published_at` must lie within [receipt - max_age, receipt + max_future]: the client's clock decides nothing
    downstream (retention, report days) that modpipe's own clock has not bounded. Receipt time is the injected
    clock's, or the `received_at` a caller passes (the moderation worker reads its clock once per batch)."""

    def __init__(
        self,
        service_types: frozenset[str],
        max_text_chars: int,
        max_message_bytes: int,
        *,
        clock: Clock,
        max_age: timedelta = timedelta(days=30),
        max_future: timedelta = timedelta(days=1),
        max_depth: int = 32,
    ) -> None:
        self.service_types = service_types
        self.max_text_chars = max_text_chars
        self.max_message_bytes = max_message_bytes
        self.clock = clock
        self.max_age = max_age
        self.max_future = max_future
        self.max_depth = max_depth

    @classmethod
    def from_settings(cls, settings: Settings, clock: Clock) -> MessageValidator:
        m = settings.message
        return cls(
            frozenset(settings.services), m.max_text_chars, m.max_message_bytes, clock=clock,
            max_age=timedelta(days=m.max_age_days), max_future=timedelta(seconds=m.max_future_s),
            max_depth=m.max_depth,
        )  # fmt: skip

    def parse(self, raw: bytes, received_at: datetime | None = None) -> Parsed:
        message = parse_limited(
            raw, InputMessage, self.max_message_bytes, what="message", time_fields=("published_at",),
            max_depth=self.max_depth,
        )  # fmt: skip
        if isinstance(message, Invalid):
            return message
        # Only unknown fields can nest (the contract's own are flat); pydantic's parser stops far deeper on its own.
        extra = message.model_extra
        if (
            extra
            and raw.count(b"[") + raw.count(b"{") > self.max_depth
            and nesting_exceeds(extra.values(), self.max_depth)
        ):
            return Invalid(DeadLetterReason.TOO_DEEP, _deeper_than(self.max_depth), raw)
        received = received_at if received_at is not None else self.clock.now()
        published = message.published_at
        if published < received - self.max_age:
            detail = f"published_at {published.isoformat()} is more than {_span(self.max_age)} before receipt"
            return Invalid(DeadLetterReason.BAD_TIMESTAMP, f"{detail} ({received.isoformat()})", raw)
        if published > received + self.max_future:
            detail = f"published_at {published.isoformat()} is more than {_span(self.max_future)} after receipt"
            return Invalid(DeadLetterReason.BAD_TIMESTAMP, f"{detail} ({received.isoformat()})", raw)
        if message.service_type not in self.service_types:
            known = ", ".join(sorted(self.service_types))
            detail = f"service_type {message.service_type!r} is not one of: {known}"
            return Invalid(DeadLetterReason.UNKNOWN_SERVICE_TYPE, detail, raw)
        if len(message.text) > self.max_text_chars:
            detail = f"text has {len(message.text)} characters > {self.max_text_chars}"
            return Invalid(DeadLetterReason.TEXT_TOO_LONG, detail, raw)
        return Valid(message, raw)


def nesting_exceeds(values: Iterable[Any], limit: int) -> bool:
    """Whether parsed JSON values, as the fields of an object (level 1), nest deeper than `limit`: level by level
    without recursion (so no recursion limit), containers only (scalars add no level)."""
    frontier = [v for v in values if type(v) is dict or type(v) is list]
    level = 2
    while frontier:
        if level > limit:
            return True
        below: list[Any] = []
        for v in frontier:
            below += [c for c in (v.values() if type(v) is dict else v) if type(c) is dict or type(c) is list]
        frontier = below
        level += 1
    return False


def _span(delta: timedelta) -> str:
    if delta % timedelta(days=1) == timedelta(0):
        return f"{delta.days} days"
    return f"{int(delta.total_seconds())} s"


def _deeper_than(limit: int) -> str:
    return f"JSON nested deeper than {limit} levels (setting message.max_depth; the message object is level 1)"


def classify(
    exc: ValidationError, *, what: str, time_fields: tuple[str, ...], max_depth: int
) -> tuple[DeadLetterReason, str]:
    """The dead-letter reason and detail of a contract's validation error (messages, user reports)."""
    errors = exc.errors(include_url=False)
    first = errors[0]
    field = ".".join(str(p) for p in first["loc"]) or f"<{what}>"
    kind = first["type"]
    detail = f"{field}: {first['msg']}"
    if kind == "json_invalid":
        if "recursion limit" in first["msg"]:
            return DeadLetterReason.TOO_DEEP, _deeper_than(max_depth)
        return DeadLetterReason.NOT_JSON, first["msg"]
    if not first["loc"] and kind in ("model_type", "dict_type", "model_attributes_type"):
        return DeadLetterReason.NOT_OBJECT, f"the {what} is JSON but not an object"
    if kind == "missing":
        missing = sorted(".".join(str(p) for p in e["loc"]) for e in errors if e["type"] == "missing")
        return DeadLetterReason.MISSING_FIELD, "missing: " + ", ".join(missing)
    if first["loc"][:1] and first["loc"][0] in time_fields:
        return DeadLetterReason.BAD_TIMESTAMP, f"{field} must be RFC 3339 with an offset: {first['msg']}"
    if kind.endswith(_TYPE_ERRORS):
        return DeadLetterReason.WRONG_TYPE, detail
    return DeadLetterReason.BAD_VALUE, detail


def decode_limited(raw: bytes, max_bytes: int) -> str | Invalid:
    """The text of a raw input, or why it has none usable: larger than `max_bytes`, or not UTF-8."""
    if len(raw) > max_bytes:
        return Invalid(DeadLetterReason.TOO_LARGE, f"{len(raw)} bytes > {max_bytes}", raw)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Invalid(DeadLetterReason.NOT_UTF8, f"invalid UTF-8 at byte {exc.start}", raw)


_Contract = TypeVar("_Contract", bound=BaseModel)


def parse_limited(
    raw: bytes, model: type[_Contract], max_bytes: int, *, what: str, time_fields: tuple[str, ...], max_depth: int
) -> _Contract | Invalid:
    """A raw input as one contract model, or why it is none: too large, not UTF-8, or not valid as the model (the
    reason of `classify`)."""
    text = decode_limited(raw, max_bytes)
    if isinstance(text, Invalid):
        return text
    try:
        return model.model_validate_json(text)
    except ValidationError as exc:
        return Invalid(*classify(exc, what=what, time_fields=time_fields, max_depth=max_depth), raw)
