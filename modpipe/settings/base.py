"""Building blocks of the typed settings."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

Port = Annotated[int, Field(ge=1, le=65535)]
NonEmpty = Annotated[str, Field(min_length=1)]


class Frozen(BaseModel):
    # extra="forbid" turns a misspelt key in a file or an env var into an error instead of a silent default.
    model_config = ConfigDict(frozen=True, extra="forbid")
