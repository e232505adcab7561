"""The review area's commands: accounts, and clear failures for missing settings or servers."""

from __future__ import annotations

import socket
from pathlib import Path

from typer.testing import CliRunner

from modpipe.cli.main import app as cli
from modpipe.stack.health import free_port
from review.desk import users


def test_users_add_list_remove(tmp_path: Path) -> None:
    env = {"MODPIPE__REVIEW__USERS_FILE": str(tmp_path / "users")}
    runner = CliRunner()
    added = runner.invoke(
        cli, ["review", "users", "add", "alice", "--password-stdin"], input="long password 1\n", env=env
    )
    assert added.exit_code == 0, added.output
    assert users.Accounts(tmp_path / "users").verify("alice", "long password 1")
    # The listing now shows each account's role (issue 16).
    assert runner.invoke(cli, ["review", "users", "list"], env=env).output.split() == ["alice", "moderator"]
    short = runner.invoke(cli, ["review", "users", "add", "bob", "--password-stdin"], input="short\n", env=env)
    assert short.exit_code == 1
    assert runner.invoke(cli, ["review", "users", "remove", "alice"], env=env).exit_code == 0
    assert runner.invoke(cli, ["review", "users", "remove", "alice"], env=env).exit_code == 1


def test_users_add_takes_a_role_and_keeps_it_on_a_password_change(tmp_path: Path) -> None:
    env = {"MODPIPE__REVIEW__USERS_FILE": str(tmp_path / "users")}
    runner = CliRunner()
    add = ["review", "users", "add", "sam", "--password-stdin"]
    assert runner.invoke(cli, [*add, "--role", "senior"], input="long password 1\n", env=env).exit_code == 0
    assert runner.invoke(cli, add, input="long password 2\n", env=env).exit_code == 0
    assert users.Accounts(tmp_path / "users").role("sam") == "senior"
    bad = runner.invoke(cli, [*add, "--role", "boss"], input="long password 3\n", env=env)
    assert bad.exit_code == 2
    assert "--role" in bad.output
    assert "moderator, senior, auditor, admin" in bad.output


def test_first_run_creates_the_users_file_and_a_busy_port_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "desk" / "users"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {"MODPIPE__REVIEW__USERS_FILE": str(path), "MODPIPE__REVIEW__PORT": str(port)}
        first = CliRunner().invoke(cli, ["review", "serve"], env=env)
        assert first.exit_code == 2
        assert f"created the users file {path}" in first.output
        assert "modpipe review users add NAME --role admin" in first.output
        assert f"127.0.0.1:{port} is already in use" in first.output
        assert "Traceback" not in first.output
        assert path.stat().st_mode & 0o777 == 0o600
        admin = {**env, "MODPIPE_REVIEW_ADMIN_PASSWORD": "first admin password"}
        second = CliRunner().invoke(cli, ["review", "serve", "--create-admin", "root"], env=admin)
    assert second.exit_code == 2
    assert "added admin root" in second.output
    assert "nobody can sign in" not in second.output
    assert users.Accounts(path).role("root") == "admin"
    assert users.Accounts(path).verify("root", "first admin password")


def test_serve_refuses_to_start_without_a_users_file() -> None:
    result = CliRunner().invoke(cli, ["review", "serve"], env={"MODPIPE__REVIEW__USERS_FILE": ""})
    assert result.exit_code == 2
    assert "review.users_file" in result.output


def test_search_init_names_the_setting_when_elasticsearch_is_down() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = CliRunner().invoke(cli, ["search", "init"], env={"MODPIPE__ELASTICSEARCH__URL": url})
    assert result.exit_code == 1
    assert "elasticsearch.url" in result.output
