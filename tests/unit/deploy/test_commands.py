"""Every `modpipe` command the deployment runs exists in the real CLI, with the options it is given.

Resolved against the typer app itself, so a renamed or missing command or option fails here, not at `up`.
"""

from __future__ import annotations

from typing import Any

import pytest
import typer

from tests.unit.deploy.deployfiles import REPO, modpipe_invocations

EXPECTED = {
    ("topics", "ensure"),
    ("storage", "init"),
    ("search", "init"),
    ("kibana", "import"),
    ("worker",),
    ("review", "serve"),
    ("train",),
}


def root() -> Any:
    from modpipe.cli.main import app

    return typer.main.get_command(app)


def is_group(command: Any) -> bool:
    # typer bundles its own click, so test by behaviour rather than by click's classes.
    return callable(getattr(command, "list_commands", None))


def resolve(argv: list[str]) -> tuple[tuple[str, ...], Any, list[str]]:
    """(command path, the command, its own arguments); raises LookupError for a missing command."""
    command = root()
    path: list[str] = []
    args = list(argv)
    while is_group(command) and args and not args[0].startswith("-"):
        ctx = command.context_class(command)
        sub = command.get_command(ctx, args[0])
        if sub is None:
            known = sorted(command.list_commands(ctx))
            raise LookupError(f"`modpipe {' '.join([*path, args[0]])}` does not exist (commands there: {known})")
        path.append(args.pop(0))
        command = sub
    if is_group(command):
        raise LookupError(f"`modpipe {' '.join(path)}` is a group, not a command")
    return tuple(path), command, args


def test_the_deployment_runs_the_expected_commands() -> None:
    run = [tuple(argv) for _, argv in modpipe_invocations()]
    missing = {want for want in EXPECTED if not any(argv[: len(want)] == want for argv in run)}
    assert not missing, f"not found in docker-compose.yml, docker/*.sh or the Dockerfile: {missing}"


@pytest.mark.parametrize(
    ("where", "argv"), modpipe_invocations(), ids=[" ".join(a[:2]) for _, a in modpipe_invocations()]
)
def test_command_exists_and_accepts_its_arguments(where: str, argv: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    # The image build runs in a copy of the repository, so relative paths (the seed corpus) resolve from here.
    monkeypatch.chdir(REPO)
    try:
        path, command, args = resolve(argv)
    except LookupError as exc:
        pytest.fail(f"{where}: {exc}")
    try:
        with command.make_context(f"modpipe {' '.join(path)}", args):
            pass
    except typer.TyperException as exc:  # click's UsageError family, as typer bundles it
        message = exc.format_message() if hasattr(exc, "format_message") else repr(exc)
        pytest.fail(f"{where}: `modpipe {' '.join(argv)}`: {message}")


def test_the_check_itself_rejects_unknown_commands_and_options() -> None:
    with pytest.raises(LookupError, match="no-such-command"):
        resolve(["no-such-command"])
    path, command, args = resolve(["worker", "--no-such-option", "1"])
    assert path == ("worker",)
    with pytest.raises(typer.TyperException, match="no-such-option"), command.make_context("modpipe worker", args):
        pass
