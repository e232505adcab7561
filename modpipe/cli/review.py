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
users_app = typer.Typer(help="Moderator accounts in the users file (settings review.users_file).", no_args_is_help=True)
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


@review_app.command("serve")
def review_serve(
    host: Annotated[str | None, typer.Option("--host", help="default: setting review.host")] = None,
    port: Annotated[int | None, typer.Option("--port", help="default: setting review.port")] = None,
) -> None:
    """Serve the review page and its JSON API until interrupted."""
    from review.desk.app import serve
    from review.desk.exceptions import UsersFileError

    with known_failures():
        settings = State.settings()
    say(f"review page on http://{host or settings.review.host}:{port or settings.review.port}/")
    try:
        serve(settings, host, port)
    except UsersFileError as exc:
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
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="read the password from stdin")] = False,
) -> None:
    """Add a moderator or set a new password (stored as an argon2id hash)."""
    from review.desk import users
    from review.desk.exceptions import UsersFileError

    path = _users_file()
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass(f"password for {name}: ")
        if getpass.getpass("again: ") != password:
            fail("the two passwords differ")
    try:
        new = users.set_password(path, name, password)
    except UsersFileError as exc:
        fail(str(exc))
    say(f"{'added' if new else 'changed the password of'} {name} in {path}")


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
    """List the moderator accounts."""
    from review.desk import users
    from review.desk.exceptions import UsersFileError

    try:
        names = sorted(users.read(_users_file()))
    except UsersFileError as exc:
        fail(str(exc))
    for name in names:
        say(name)
