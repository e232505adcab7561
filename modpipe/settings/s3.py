"""The S3 section of the settings: the server, the records bucket, and one identity per role.

Least privilege (docs/retention.md, "Identities"): the workers act as `pipeline` (write records, never a legal hold
or a hold record), the hold and release commands as `compliance`, the export, verify and report commands as
`auditor` (read, and write their own access-log entries). `access_key`/`secret_key` is the admin identity that
`storage init` uses to create the bucket; a role whose keys are not set falls back on it, so a deployment with one
key still runs, with none of the separation.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal, get_args

from pydantic import Field, SecretStr

from modpipe.settings.base import Frozen, NonEmpty

Role = Literal["admin", "pipeline", "compliance", "auditor"]
ROLES: tuple[Role, ...] = get_args(Role)


class LockMode(StrEnum):
    COMPLIANCE = "COMPLIANCE"
    GOVERNANCE = "GOVERNANCE"


class S3Identity(Frozen):
    access_key: str = ""
    secret_key: SecretStr = SecretStr("")

    @property
    def configured(self) -> bool:
        return bool(self.access_key and self.secret_key.get_secret_value())


class S3Identities(Frozen):
    pipeline: S3Identity = S3Identity()
    compliance: S3Identity = S3Identity()
    auditor: S3Identity = S3Identity()


class S3Settings(Frozen):
    endpoint: Annotated[
        str, Field(pattern=r"^[^\s/:]+:\d{1,5}$", description="host:port of the S3 server, without a scheme")
    ]
    secure: bool
    region: NonEmpty
    access_key: str
    secret_key: SecretStr
    records_bucket: Annotated[
        str,
        Field(
            pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$",
            description="an S3 bucket name (3-63 of a-z 0-9 . -)",
        ),
    ]
    lock_mode: LockMode
    identities: S3Identities = S3Identities()

    def identity(self, role: Role) -> S3Identity:
        """The keys `role` acts with: its own when set, else the admin keys."""
        if role != "admin":
            own: S3Identity = getattr(self.identities, role)
            if own.configured:
                return own
        return S3Identity(access_key=self.access_key, secret_key=self.secret_key)

    def acting_as(self, role: Role) -> S3Settings:
        """These settings with `role`'s keys as the keys every S3 client is built from."""
        keys = self.identity(role)
        return self.model_copy(update={"access_key": keys.access_key, "secret_key": keys.secret_key})
