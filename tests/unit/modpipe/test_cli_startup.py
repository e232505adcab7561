"""The command line starts fast because each command imports only what it uses (issue 17: `modpipe --help` took
1.5 s). Checked by what a fresh interpreter has imported, not by timing: timings on a shared machine are noise."""

from __future__ import annotations

from pathlib import Path

from tests.support import imported_after, loaded

# The layers below the CLI and the libraries that take tenths of a second to import.
HEAVY = (
    "pipeline", "classifiers", "retention", "review", "measures", "reports", "faust", "mode", "aiokafka", "kafka",
    "elasticsearch", "elastic_transport", "minio", "urllib3", "sklearn", "numpy", "scipy", "jieba", "ahocorasick",
    "opencc", "pypinyin", "zstandard", "aiohttp", "prometheus_client", "argon2", "asyncio",
)  # fmt: skip
# Needed to run a command, never to list them.
FOR_COMMANDS = ("pydantic", "yaml", "rich", "modpipe.settings", "modpipe.stack", "modpipe.topics")


def run_cli(*args: str) -> str:
    return (
        "import contextlib, io\n"
        "from modpipe.cli.main import app\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    try: app({list(args)!r})\n"
        "    except SystemExit: pass"
    )


def test_importing_the_cli_imports_no_layer_below_it_and_no_heavy_library(tmp_path: Path) -> None:
    modules = imported_after("import modpipe.cli.main", tmp_path)
    assert loaded(modules, (*HEAVY, *FOR_COMMANDS)) == []


def test_help_imports_no_layer_below_the_cli(tmp_path: Path) -> None:
    modules = imported_after(run_cli("--help"), tmp_path)
    assert "typer.rich_utils" in modules  # the help really was rendered
    assert loaded(modules, (*HEAVY, "pydantic", "yaml", "modpipe.settings", "modpipe.stack")) == []


def test_config_check_imports_the_settings_only(tmp_path: Path) -> None:
    modules = imported_after(run_cli("config", "check"), tmp_path)
    assert "modpipe.settings.loader" in modules
    assert loaded(modules, (*HEAVY, "rich", "modpipe.stack", "modpipe.topics")) == []
