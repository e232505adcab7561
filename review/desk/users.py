"""Moderator accounts: one `name:argon2-hash` line each in the file named by settings.review.users_file.

The file is re-read when it changes, so adding or removing a moderator needs no restart, and a removed account's
sessions stop working at their next request.
"""

from __future__ import annotations

import functools
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from review.desk.exceptions import UsersFileError

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verifying against this when the name is unknown keeps the answer time the same for known and unknown names.
    Made on first sign-in, not at import: a hash costs tens of milliseconds and every CLI start would pay it."""
    return _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def parse(text: str) -> dict[str, str]:
    users: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, hashed = line.partition(":")
        if not sep or not NAME.match(name) or not hashed.startswith("$argon2"):
            raise UsersFileError(f"line {number}: expected `name:$argon2id$...`")
        users[name] = hashed
    return users


def render(users: dict[str, str]) -> str:
    head = "# modpipe review moderators: name:argon2 hash (manage with `modpipe review users add|remove`)\n"
    return head + "".join(f"{name}:{hashed}\n" for name, hashed in sorted(users.items()))


def read(path: Path) -> dict[str, str]:
    try:
        return parse(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise UsersFileError(f"{path}: {exc}") from exc


def write(path: Path, users: dict[str, str]) -> None:
    """Atomically replace the file, readable by its owner only (it holds password hashes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(render(users))
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def set_password(path: Path, name: str, password: str) -> bool:
    """Add the account or change its password; True when it is new."""
    if not NAME.match(name):
        raise UsersFileError(f"{name!r}: a name of letters, digits and _ . @ - (at most 64)")
    if len(password) < 10:
        raise UsersFileError("a password of at least 10 characters")
    users = read(path)
    new = name not in users
    users[name] = hash_password(password)
    write(path, users)
    return new


def remove(path: Path, name: str) -> bool:
    users = read(path)
    if users.pop(name, None) is None:
        return False
    write(path, users)
    return True


@dataclass
class Accounts:
    """The accounts in the users file, reloaded when its modification time or size changes."""

    path: Path
    _users: dict[str, str] = field(default_factory=dict)
    _stamp: tuple[int, int] | None = None

    def _current(self) -> dict[str, str]:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            self._users, self._stamp = {}, None
            return self._users
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp != self._stamp:
            self._users = read(self.path)
            self._stamp = stamp
        return self._users

    def exists(self, name: str) -> bool:
        return name in self._current()

    def verify(self, name: str, password: str) -> bool:
        hashed = self._current().get(name)
        try:
            return _hasher.verify(hashed or _dummy_hash(), password) and hashed is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
