"""What every sub-command shares: loading settings once, and turning known failures into exit codes."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import typer
from rich.console import Console

from modpipe.settings import Settings, SettingsError, load_settings
from modpipe.stack.errors import StackError

err = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)

EXIT_CONFIG = 2
EXIT_FAILURE = 1


class State:
    config_dir: Path | None = None
    overrides: dict[str, Any] = {}  # noqa: RUF012 - one process-wide holder, set once by the root callback

    @classmethod
    def settings(cls) -> Settings:
        try:
            return load_settings(cls.config_dir, overrides=cls.overrides)
        except SettingsError as exc:
            fail_config(exc)


def fail_config(exc: SettingsError) -> NoReturn:
    err.print("[bold red]invalid configuration[/]")
    for problem in exc.problems:
        err.print(f"  {problem}", markup=False, highlight=False)
    raise typer.Exit(EXIT_CONFIG)


def fail(message: str, code: int = EXIT_FAILURE) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


@contextmanager
def known_failures() -> Iterator[None]:
    """Expected failures print one clear message; anything else keeps its traceback."""
    try:
        yield
    except SettingsError as exc:
        fail_config(exc)
    except StackError as exc:
        fail(str(exc))


def say(message: str) -> None:
    out.print(message, highlight=False)


def is_tty() -> bool:
    return sys.stderr.isatty()


Command = Callable[..., Any]
