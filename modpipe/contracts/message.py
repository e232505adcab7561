"""The input message of design.md section 5, and its validation into a result or a dead-letter reason."""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator

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
        parsed: dict[str, Any] = json.loads(self.raw)
        return parsed


@dataclass(frozen=True, slots=True)
class Invalid:
    reason: DeadLetterReason
    detail: str
    raw: bytes


Parsed = Valid | Invalid

_TYPE_ERRORS = ("_type", "_parsing")


class MessageValidator:
    """Turns raw Kafka values into Valid or Invalid; never raises on bad input."""

    def __init__(self, service_types: frozenset[str], max_text_chars: int, max_message_bytes: int) -> None:
        self.service_types = service_types
        self.max_text_chars = max_text_chars
        self.max_message_bytes = max_message_bytes

    def parse(self, raw: bytes) -> Parsed:
        if len(raw) > self.max_message_bytes:
            return Invalid(DeadLetterReason.TOO_LARGE, f"{len(raw)} bytes > {self.max_message_bytes}", raw)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            return Invalid(DeadLetterReason.NOT_UTF8, f"invalid UTF-8 at byte {exc.start}", raw)
        try:
            message = InputMessage.model_validate_json(text)
        except ValidationError as exc:
            return Invalid(*_classify(exc), raw)
        if message.service_type not in self.service_types:
            known = ", ".join(sorted(self.service_types))
            detail = f"service_type {message.service_type!r} is not one of: {known}"
            return Invalid(DeadLetterReason.UNKNOWN_SERVICE_TYPE, detail, raw)
        if len(message.text) > self.max_text_chars:
            detail = f"text has {len(message.text)} characters > {self.max_text_chars}"
            return Invalid(DeadLetterReason.TEXT_TOO_LONG, detail, raw)
        return Valid(message, raw)


def _classify(exc: ValidationError) -> tuple[DeadLetterReason, str]:
    errors = exc.errors(include_url=False)
    first = errors[0]
    field = ".".join(str(p) for p in first["loc"]) or "<message>"
    kind = first["type"]
    detail = f"{field}: {first['msg']}"
    if kind == "json_invalid":
        return DeadLetterReason.NOT_JSON, first["msg"]
    if not first["loc"] and kind in ("model_type", "dict_type", "model_attributes_type"):
        return DeadLetterReason.NOT_OBJECT, "the message is JSON but not an object"
    if kind == "missing":
        missing = sorted(".".join(str(p) for p in e["loc"]) for e in errors if e["type"] == "missing")
        return DeadLetterReason.MISSING_FIELD, "missing: " + ", ".join(missing)
    if first["loc"][:1] == ("published_at",):
        return DeadLetterReason.BAD_TIMESTAMP, f"published_at must be RFC 3339 with an offset: {first['msg']}"
    if kind.endswith(_TYPE_ERRORS):
        return DeadLetterReason.WRONG_TYPE, detail
    return DeadLetterReason.BAD_VALUE, detail
