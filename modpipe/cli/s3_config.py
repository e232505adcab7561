"""`modpipe storage s3-config`: SeaweedFS's identities file for a deployment, from the settings."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from modpipe.cli.common import State, fail, say


def register(storage_app: typer.Typer) -> None:
    storage_app.command("s3-config")(s3_config)


def s3_config(
    folder: Annotated[Path, typer.Option("--dir", help="Where to write s3-identities.json for weed -s3.config.")],
) -> None:
    """Write SeaweedFS's identities file (mode 0600) from the settings: the admin keys (s3.access_key) and the
    pipeline, compliance and auditor keys (s3.identities.*), each allowed only what its role needs (the same
    actions as the local stack). The production compose file runs it before the S3 server starts."""
    from modpipe.stack import s3access

    s3 = State.settings().s3
    missing = [f"s3.identities.{role}" for role in s3access.ROLES if not getattr(s3.identities, role).configured]
    if not (s3.access_key and s3.secret_key.get_secret_value()):
        missing.insert(0, "s3.access_key/s3.secret_key")
    if missing:
        fail(f"{', '.join(missing)}: expected an access key and a secret key for each identity", 2)
    roles = {}
    for role in s3access.ROLES:
        keys = getattr(s3.identities, role)
        roles[role] = s3access.Credentials(keys.access_key, keys.secret_key.get_secret_value())
    folder.mkdir(parents=True, exist_ok=True)
    admin = s3access.Credentials(s3.access_key, s3.secret_key.get_secret_value())
    path = s3access.write_s3_config(folder, admin, roles)
    say(f"wrote {path}: identities admin, {', '.join(s3access.ROLES)}")
