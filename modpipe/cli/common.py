"""What every sub-command shares: loading settings once, and turning known failures into exit codes.

Nothing heavy is imported here at module level (not even the settings models or rich): `modpipe --help` and every
command's start-up pay only for what that command uses.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from modpipe.settings import Role, Settings, SettingsError

EXIT_CONFIG = 2
EXIT_FAILURE = 1


@cache
def err_console() -> Console:
    from rich.console import Console

    return Console(stderr=True, soft_wrap=True)


@cache
def out_console() -> Console:
    from rich.console import Console

    return Console(soft_wrap=True)


class State:
    config_dir: Path | None = None
    overrides: dict[str, Any] = {}  # noqa: RUF012 - one process-wide holder, set once by the root callback

    @classmethod
    def settings(cls, role: Role = "admin") -> Settings:
        """The settings, with `role`'s S3 keys (least privilege: docs/retention.md, "Identities")."""
        from modpipe.settings import SettingsError, load_settings

        try:
            return load_settings(cls.config_dir, overrides=cls.overrides).acting_as(role)
        except SettingsError as exc:
            fail_config(exc)


def fail_config(exc: SettingsError) -> NoReturn:
    # The problems come masked from the loader (a URL setting's password never reaches them).
    err_console().print("[bold red]invalid configuration[/]")
    for problem in exc.problems:
        err_console().print(f"  {problem}", markup=False, highlight=False)
    raise typer.Exit(EXIT_CONFIG)


def fail(message: str, code: int = EXIT_FAILURE) -> NoReturn:
    from modpipe.settings import mask_urls

    # Error texts quote settings and server answers; a URL in them may carry a password (user:password@host).
    err_console().print(f"[bold red]error:[/] {mask_urls(message)}", highlight=False)
    raise typer.Exit(code)


@contextmanager
def known_failures() -> Iterator[None]:
    """Expected failures print one clear message; anything else keeps its traceback."""
    from modpipe.settings import SettingsError
    from modpipe.stack.errors import StackError

    try:
        yield
    except SettingsError as exc:
        fail_config(exc)
    except StackError as exc:
        fail(str(exc))


# What rich would change in a line: markup in brackets, :emoji: codes, tabs, the control codes it strips. Most lines
# have none of these, and printing them directly spares a short command (config check) ~0.1 s of importing rich.
_RICH_SYNTAX = re.compile(r"[\[\t\a\b\v\f\r]|:\S*:")


def say(message: str) -> None:
    if _RICH_SYNTAX.search(message):
        out_console().print(message, highlight=False)
    else:
        print(message)


def is_tty() -> bool:
    return sys.stderr.isatty()
