"""The review area's commands: accounts, and clear failures for missing settings or servers."""

from __future__ import annotations

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
    assert runner.invoke(cli, ["review", "users", "list"], env=env).output.split() == ["alice"]
    short = runner.invoke(cli, ["review", "users", "add", "bob", "--password-stdin"], input="short\n", env=env)
    assert short.exit_code == 1
    assert runner.invoke(cli, ["review", "users", "remove", "alice"], env=env).exit_code == 0
    assert runner.invoke(cli, ["review", "users", "remove", "alice"], env=env).exit_code == 1


def test_serve_refuses_to_start_without_a_users_file() -> None:
    result = CliRunner().invoke(cli, ["review", "serve"], env={"MODPIPE__REVIEW__USERS_FILE": ""})
    assert result.exit_code == 2
    assert "review.users_file" in result.output


def test_search_init_names_the_setting_when_elasticsearch_is_down() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = CliRunner().invoke(cli, ["search", "init"], env={"MODPIPE__ELASTICSEARCH__URL": url})
    assert result.exit_code == 1
    assert "elasticsearch.url" in result.output
