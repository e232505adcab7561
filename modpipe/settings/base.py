"""Building blocks of the typed settings."""

from __future__ import annotations

from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

Port = Annotated[int, Field(ge=1, le=65535)]
NonEmpty = Annotated[str, Field(min_length=1)]


def _zone_exists(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError("an IANA time zone name such as Asia/Shanghai or UTC") from None
    return value


ZoneName = Annotated[str, Field(min_length=1), AfterValidator(_zone_exists)]


def seconds(le: float, what: str) -> Any:
    """The constraint of a duration setting: more than 0 and at most `le` seconds. `what` completes the
    description `seconds > 0 ...` that a wrong value's error names (settings.loader)."""
    return Field(gt=0, le=le, description=f"seconds > 0 {what}")


class Frozen(BaseModel):
    # extra="forbid" turns a misspelt key in a file or an env var into an error instead of a silent default.
    model_config = ConfigDict(frozen=True, extra="forbid")
