"""Who may do what on the local S3 server, and the keys that close its side doors.

SeaweedFS reads its identities from a JSON file (`-s3.config`) whose actions can be scoped to a bucket and a key
pattern (`Write:*/records/*`), and a `security.toml` from its working folder whose JWT keys make its filer and
volume HTTP ports refuse requests the S3 gateway did not sign. Checked on weed 4.48 (docs/retention.md, "Local
stack: identities and side doors"): `Write` includes deleting unlocked versions and placing delete markers (there
is no write-without-delete action), so the pipeline's writes are confined to its own prefixes and the lock, not the
identity, is what keeps a locked version.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class Credentials:
    access_key: str
    secret_key: str


# the pipeline writes records, manifests, quarantine, checkpoints and the measures' state and may lengthen a lock
# (S3 has no separate "lengthen" permission: shortening is refused by the lock itself), never a legal hold and never
# holds/. Every access to the records is itself a record (L8): compliance and the auditor write their own entries
# under access/ (locked on write), and nothing else.
_PIPELINE_PREFIXES = ("records", "manifests", "quarantine", "checkpoints", "measures")
ACCESS_LOG_WRITE = "Write:*/access/*"
ACTIONS: dict[str, list[str]] = {
    "pipeline": [
        "Read", "List", *(f"Write:*/{p}/*" for p in _PIPELINE_PREFIXES), "PutObjectRetention", "GetObjectRetention",
        "GetObjectLegalHold",
    ],
    "compliance": [
        "Read", "List", "Write:*/holds/*", ACCESS_LOG_WRITE, "PutObjectRetention", "GetObjectRetention",
        "PutObjectLegalHold", "GetObjectLegalHold",
    ],
    "auditor": [
        "Read", "List", ACCESS_LOG_WRITE, "PutObjectRetention:*/access/*", "GetObjectRetention", "GetObjectLegalHold",
    ],
}  # fmt: skip
# every role checks that the bucket is locked before it trusts or writes anything in it
for _actions in ACTIONS.values():
    _actions.append("GetBucketObjectLockConfiguration")
ROLES = tuple(ACTIONS)
_ADMIN_ACTIONS = ["Admin", "Read", "List", "Tagging", "Write"]
SECURITY_FILE = "security.toml"
IDENTITIES_FILE = "identities.json"
S3_CONFIG_FILE = "s3-identities.json"


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    os.chmod(path, 0o600)  # an older file may have been created with wider permissions


def owner_only(folder: Path) -> None:
    """Message text and IPs live under these folders: nobody but the owner may even list them."""
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)


def identities(home: Path) -> dict[str, Credentials]:
    """The role keys, generated on the first call and kept in identities.json (mode 0600)."""
    path = home / IDENTITIES_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        found = {role: Credentials(data[role]["access_key"], data[role]["secret_key"]) for role in ROLES}
    except (OSError, ValueError, KeyError, TypeError):
        found = {role: Credentials(f"{role}-{secrets.token_hex(4)}", secrets.token_urlsafe(30)) for role in ROLES}
        _write_private(path, json.dumps({role: asdict(c) for role, c in found.items()}))
    return found


def write_s3_config(home: Path, admin: Credentials, roles: dict[str, Credentials]) -> Path:
    def entry(name: str, creds: Credentials, actions: list[str]) -> dict[str, object]:
        return {
            "name": name,
            "credentials": [{"accessKey": creds.access_key, "secretKey": creds.secret_key}],
            "actions": actions,
        }

    config = {"identities": [entry("admin", admin, _ADMIN_ACTIONS)]}
    config["identities"] += [entry(role, roles[role], ACTIONS[role]) for role in ROLES]
    path = home / S3_CONFIG_FILE
    _write_private(path, json.dumps(config, indent=2))
    return path


def ensure_security(home: Path) -> Path:
    """JWT keys for weed's filer and volume servers, written once: weed reads security.toml from its working
    folder (the stack's home). Without them those ports serve and delete any object, locked or not."""
    path = home / SECURITY_FILE
    if path.is_file():
        os.chmod(path, 0o600)
        return path
    sections = ("jwt.signing", "jwt.signing.read", "jwt.filer_signing", "jwt.filer_signing.read")
    text = "".join(f'[{name}]\nkey = "{secrets.token_hex(32)}"\nexpires_after_seconds = 10\n\n' for name in sections)
    _write_private(path, text)
    return path
