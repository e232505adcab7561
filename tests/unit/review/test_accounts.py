"""Moderator accounts, sessions and the sign-in brake."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from modpipe.clock import FixedClock
from review.desk import users
from review.desk.exceptions import UsersFileError
from review.desk.sessions import Sessions, same_token
from review.desk.throttle import LoginBrake
from tests.unit.review.factory import T0


@pytest.mark.obligation("L8")
def test_users_file_holds_argon2_hashes_only_readable_by_its_owner(tmp_path: Path) -> None:
    path = tmp_path / "users"
    assert users.set_password(path, "alice", "correct horse battery")
    assert not users.set_password(path, "alice", "another long password")
    text = path.read_text()
    assert "correct horse" not in text
    assert "another long" not in text
    assert text.splitlines()[1].startswith("alice:$argon2id$")
    assert path.stat().st_mode & 0o777 == 0o600
    accounts = users.Accounts(path)
    assert accounts.verify("alice", "another long password")
    assert not accounts.verify("alice", "correct horse battery")
    assert not accounts.verify("nobody", "another long password")


def test_accounts_follow_the_file_without_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "users"
    accounts = users.Accounts(path)
    assert not accounts.exists("bob")
    users.set_password(path, "bob", "a long enough password")
    assert accounts.exists("bob")
    assert users.remove(path, "bob")
    assert not accounts.exists("bob")
    assert not users.remove(path, "bob")


@pytest.mark.parametrize(
    ("text", "line"), [("alice:plaintext\n", 1), ("# c\n\nno colon here\n", 3), ("bad name:$argon2id$x\n", 1)]
)
def test_a_malformed_users_file_names_the_line(text: str, line: int) -> None:
    with pytest.raises(UsersFileError, match=f"line {line}"):
        users.parse(text)


def test_short_passwords_and_odd_names_are_refused(tmp_path: Path) -> None:
    with pytest.raises(UsersFileError, match="10"):
        users.set_password(tmp_path / "u", "alice", "short")
    with pytest.raises(UsersFileError, match="name"):
        users.set_password(tmp_path / "u", "al:ice", "long enough password")


def test_sessions_expire_after_their_ttl() -> None:
    clock = FixedClock(T0)
    sessions = Sessions(clock, ttl_s=600)
    session = sessions.create("alice")
    assert sessions.get(session.token) == session
    clock.advance(timedelta(seconds=599))
    assert sessions.get(session.token) is not None
    clock.advance(timedelta(seconds=1))
    assert sessions.get(session.token) is None
    assert sessions.get("forged") is None
    assert sessions.get(None) is None


def test_csrf_tokens_compare_exactly() -> None:
    assert same_token("abc", "abc")
    assert not same_token("abd", "abc")
    assert not same_token("", "abc")
    assert not same_token(None, "abc")


def test_the_login_brake_backs_off_per_client_and_never_locks_a_colleague_out() -> None:
    """Issue 16: five failures used to lock an account for everyone, so anyone could lock a colleague out by name.
    Now a client that keeps failing waits longer and longer (doubling, capped); the account stays open elsewhere."""
    clock = FixedClock(T0)
    brake = LoginBrake(clock)
    for _ in range(3):
        assert brake.begin("203.0.113.9", "alice") == 0  # three free tries, each counted when it starts
    assert brake.begin("203.0.113.9", "alice") == 1.0
    assert brake.begin("198.51.100.7", "alice") == 0  # alice herself, from her desk, is not affected
    brake.succeeded("198.51.100.7", "alice")
    clock.advance(timedelta(seconds=1))
    assert brake.begin("203.0.113.9", "alice") == 0
    assert brake.begin("203.0.113.9", "alice") == 2.0  # the wait doubles
    clock.advance(timedelta(seconds=3600))
    assert brake.begin("203.0.113.9", "alice") == 0  # forgotten after a quiet period


def test_the_login_brake_limits_one_client_across_accounts() -> None:
    clock = FixedClock(T0)
    brake = LoginBrake(clock)
    for i in range(20):
        assert brake.begin("203.0.113.9", f"user{i}") == 0
    assert brake.begin("203.0.113.9", "user99") > 0
    assert brake.begin("192.0.2.1", "user99") == 0
