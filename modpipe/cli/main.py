"""Entry point of the `modpipe` command. Sub-command groups live in their own modules."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from modpipe import __version__
from modpipe.cli import access, checkpoints, classify, compliance, infra, pipeline
from modpipe.cli import decisions as decisions_cli
from modpipe.cli import measures as measures_cli
from modpipe.cli import retention as retention_cli
from modpipe.cli import review as review_cli
from modpipe.cli.common import State

app = typer.Typer(
    name="modpipe",
    help="Content moderation and log retention pipeline (Order 292 Art. 14-16; group and public-account rules).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(infra.config_app, name="config")
app.add_typer(infra.stack_app, name="stack")
app.add_typer(infra.topics_app, name="topics")
review_cli.register(app)  # search, kibana, review
retention_cli.register(app)  # storage, retention, audit, report
decisions_cli.register(app)  # decisions export
checkpoints.register(retention_cli.audit_app)  # audit keygen, audit checkpoint
measures_cli.register(app)  # measures list | show | lift | blacklist add | blacklist remove
access.register(retention_cli.audit_app)  # audit access


@app.callback()
def root(
    config_dir: Annotated[
        Path | None,
        typer.Option("--config-dir", help="Folder with modpipe.yaml, categories.yaml, services.yaml."),
    ] = None,
) -> None:
    State.config_dir = config_dir


app.command("worker")(pipeline.worker)
app.command("simulate")(pipeline.simulate)
app.command("demo")(pipeline.demo)
app.command("train")(classify.train)
app.command("evaluate")(classify.evaluate)
app.command("classify")(classify.classify)
app.command("compliance")(compliance.compliance)


@app.command("version")
def version() -> None:
    """Print the version."""
    print(__version__)


def main() -> None:
    app()
