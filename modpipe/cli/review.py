"""Sub-commands of the moderation queue: `search init`, `kibana import`, `review serve`, `review users ...`."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from modpipe.cli.common import EXIT_CONFIG, State, fail, known_failures, say

if TYPE_CHECKING:
    from modpipe.settings import Settings

search_app = typer.Typer(help="The moderation queue in Elasticsearch.", no_args_is_help=True)
kibana_app = typer.Typer(help="Kibana saved objects for the moderation queue.", no_args_is_help=True)
review_app = typer.Typer(help="The moderators' review page.", no_args_is_help=True)
users_app = typer.Typer(
    help="Review desk accounts in the users file (settings review.users_file).", no_args_is_help=True
)
review_app.add_typer(users_app, name="users")


def register(app: typer.Typer) -> None:
    app.add_typer(search_app, name="search")
    app.add_typer(kibana_app, name="kibana")
    app.add_typer(review_app, name="review")


@search_app.command("init")
def search_init() -> None:
    """Install the queue's index template and alias (idempotent)."""
    from modpipe.settings import mask_urls
    from review.queue import SearchError, ensure_index

    with known_failures():
        settings = State.settings()
        url = mask_urls(settings.elasticsearch.url)
        try:
            alias = ensure_index(settings)
        except SearchError as exc:
            fail(f"{exc} (setting elasticsearch.url = {url})")
    say(f"queue ready: alias {alias} on {url}")


def _default_review_url(settings: Settings) -> str:
    return f"http://{settings.review.host}:{settings.review.port}"


@kibana_app.command("import")
def kibana_import(
    url: Annotated[str, typer.Option("--url", help="Kibana's base URL, e.g. http://kibana:5601")],
    user: Annotated[str | None, typer.Option("--user", help="Kibana user (basic auth)")] = None,
    password: Annotated[
        str | None, typer.Option("--password", envvar="MODPIPE_KIBANA_PASSWORD", help="or env MODPIPE_KIBANA_PASSWORD")
    ] = None,
    space: Annotated[str | None, typer.Option("--space", help="a Kibana space id (default space if omitted)")] = None,
    review_url: Annotated[
        str | None, typer.Option("--review-url", help="the review page as moderators reach it (item links)")
    ] = None,
    objects_dir: Annotated[
        Path | None, typer.Option("--objects", help="folder of *.ndjson (default: config/kibana)")
    ] = None,
) -> None:
    """Import the data view, saved searches and dashboard (overwrite); fails when Kibana reports any error."""
    import asyncio

    from modpipe.settings.loader import default_config_dir
    from review.desk.kibana import KibanaImportError, customise, import_objects, load_objects, to_ndjson

    with known_failures():
        settings = State.settings()
    folder = objects_dir or (State.config_dir or default_config_dir()) / "kibana"
    if user and password is None:
        if not sys.stdin.isatty():
            fail("--user needs --password or env MODPIPE_KIBANA_PASSWORD when there is no terminal to ask on")
        password = getpass.getpass(f"Kibana password for {user}: ")
    try:
        objects = customise(
            load_objects(folder), settings.elasticsearch.index, review_url or _default_review_url(settings)
        )
        result = asyncio.run(import_objects(url, to_ndjson(objects), user=user, password=password, space=space))
    except KibanaImportError as exc:
        fail(str(exc))
    say(f"imported {result.success_count} saved objects into {url}")


FIRST_ADMIN_ENV = "MODPIPE_REVIEW_ADMIN_PASSWORD"


def _password_for(name: str, from_stdin: bool, env_var: str | None = None) -> str:
    """From the environment variable, stdin, or asked twice on the terminal."""
    import os

    if env_var and os.environ.get(env_var):
        return os.environ[env_var]
    if from_stdin or not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    password = getpass.getpass(f"password for {name}: ")
    if getpass.getpass("again: ") != password:
        fail("the two passwords differ")
    return password


@review_app.command("serve")
def review_serve(
    host: Annotated[str | None, typer.Option("--host", help="default: setting review.host")] = None,
    port: Annotated[int | None, typer.Option("--port", help="default: setting review.port")] = None,
    create_admin: Annotated[
        str | None,
        typer.Option(
            "--create-admin",
            metavar="NAME",
            help=f"first run: add this admin account; password from env {FIRST_ADMIN_ENV}, stdin or a prompt",
        ),
    ] = None,
) -> None:
    """Serve the review page and its JSON API until interrupted. Creates the users file on first start."""
    from review.desk import users
    from review.desk.app import serve, users_path
    from review.desk.exceptions import PortBusy, UsersFileError
    from review.desk.roles import Role

    with known_failures():
        settings = State.settings()
    try:
        path = users_path(settings)
        if users.create_empty(path):
            say(f"created the users file {path} (no accounts yet)")
        if create_admin:
            password = _password_for(create_admin, False, FIRST_ADMIN_ENV)
            new = users.set_password(path, create_admin, password, Role.ADMIN)
            say(f"{'added' if new else 'updated'} admin {create_admin} in {path}")
        if not users.read(path):
            say(
                "nobody can sign in yet: add the first admin with `modpipe review users add NAME --role admin` "
                "(or restart with --create-admin NAME)"
            )
    except UsersFileError as exc:
        fail(str(exc), EXIT_CONFIG)
    say(f"review page on http://{host or settings.review.host}:{port or settings.review.port}/")
    try:
        serve(settings, host, port)
    except UsersFileError as exc:
        fail(str(exc), EXIT_CONFIG)
    except PortBusy as exc:
        fail(str(exc), EXIT_CONFIG)


def _users_file() -> Path:
    from review.desk.app import users_path
    from review.desk.exceptions import UsersFileError

    with known_failures():
        settings = State.settings()
    try:
        return users_path(settings)
    except UsersFileError as exc:
        fail(str(exc), EXIT_CONFIG)


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="account name")],
    role: Annotated[
        str | None,
        typer.Option("--role", help="moderator | senior | auditor | admin (new accounts: moderator; else unchanged)"),
    ] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="read the password from stdin")] = False,
) -> None:
    """Add an account or set a new password (stored as an argon2id hash) and, with --role, its role."""
    from review.desk import users
    from review.desk.exceptions import UsersFileError
    from review.desk.roles import parse_role

    try:
        chosen = parse_role(role) if role is not None else None
    except ValueError as exc:
        fail(f"--role: {exc}", EXIT_CONFIG)
    path = _users_file()
    password = _password_for(name, password_stdin)
    try:
        new = users.set_password(path, name, password, chosen)
        given = users.read(path)[name].role.value
    except UsersFileError as exc:
        fail(str(exc))
    say(f"{'added' if new else 'changed the password of'} {name} ({given}) in {path}")


@users_app.command("remove")
def users_remove(name: Annotated[str, typer.Argument(help="account name")]) -> None:
    """Remove a moderator; their sessions end at their next request."""
    from review.desk import users

    path = _users_file()
    if not users.remove(path, name):
        fail(f"no account {name} in {path}")
    say(f"removed {name} from {path}")


@users_app.command("list")
def users_list() -> None:
    """List the accounts and their roles."""
    from review.desk import users
    from review.desk.exceptions import UsersFileError

    try:
        accounts = users.read(_users_file())
    except UsersFileError as exc:
        fail(str(exc))
    for name, account in sorted(accounts.items()):
        say(f"{name} {account.role.value}")
