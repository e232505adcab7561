"""Review desk accounts: one `name:argon2-hash:role` line each in the file named by settings.review.users_file (a
line without a role, as older files have, is a moderator).

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
from typing import NamedTuple

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from review.desk.exceptions import UsersFileError
from review.desk.roles import Role

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verifying against this when the name is unknown keeps the answer time the same for known and unknown names.
    Made on first sign-in, not at import: a hash costs tens of milliseconds and every CLI start would pay it."""
    return _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


class Account(NamedTuple):
    hashed: str
    role: Role


ROLES = ", ".join(r.value for r in Role)


def parse(text: str) -> dict[str, Account]:
    users: dict[str, Account] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, rest = line.partition(":")
        hashed, _, role = rest.partition(":")  # an argon2 hash has no colon
        if not sep or not NAME.match(name) or not hashed.startswith("$argon2"):
            raise UsersFileError(f"line {number}: expected `name:$argon2id$...:role`")
        try:
            users[name] = Account(hashed, Role(role or Role.MODERATOR))
        except ValueError:
            raise UsersFileError(f"line {number}: role {role!r}, expected one of {ROLES}") from None
    return users


def render(users: dict[str, Account]) -> str:
    head = "# modpipe review accounts: name:argon2 hash:role (manage with `modpipe review users add|remove`)\n"
    return head + "".join(f"{name}:{a.hashed}:{a.role.value}\n" for name, a in sorted(users.items()))


def read(path: Path) -> dict[str, Account]:
    try:
        return parse(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise UsersFileError(f"{path}: {exc}") from exc


def write(path: Path, users: dict[str, Account]) -> None:
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


def create_empty(path: Path) -> bool:
    """A users file with no accounts yet (first run); False when one is already there."""
    if path.exists():
        return False
    write(path, {})
    return True


def set_password(path: Path, name: str, password: str, role: Role | None = None) -> bool:
    """Add the account (a moderator unless `role` says otherwise) or change its password, and its role when `role`
    is given; True when it is new."""
    if not NAME.match(name):
        raise UsersFileError(f"{name!r}: a name of letters, digits and _ . @ - (at most 64)")
    if len(password) < 10:
        raise UsersFileError("a password of at least 10 characters")
    users = read(path)
    old = users.get(name)
    users[name] = Account(hash_password(password), role or (old.role if old else Role.MODERATOR))
    write(path, users)
    return old is None


def set_role(path: Path, name: str, role: Role) -> bool:
    users = read(path)
    if name not in users:
        return False
    users[name] = users[name]._replace(role=role)
    write(path, users)
    return True


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
    _users: dict[str, Account] = field(default_factory=dict)
    _stamp: tuple[int, int] | None = None

    def _current(self) -> dict[str, Account]:
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

    def role(self, name: str) -> Role | None:
        account = self._current().get(name)
        return account.role if account else None

    def listing(self) -> list[tuple[str, Role]]:
        return [(name, a.role) for name, a in sorted(self._current().items())]

    def verify(self, name: str, password: str) -> bool:
        account = self._current().get(name)
        hashed = account.hashed if account else None
        try:
            return _hasher.verify(hashed or _dummy_hash(), password) and hashed is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
