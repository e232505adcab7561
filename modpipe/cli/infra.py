"""Sub-commands for the infrastructure: config, stack and topics."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from modpipe.cli.common import State, fail, fail_config, known_failures, out_console, say

if TYPE_CHECKING:
    from modpipe.settings import Settings

config_app = typer.Typer(help="Show or check the effective configuration.", no_args_is_help=True)
stack_app = typer.Typer(help="Run the local stack of real servers (Kafka protocol, S3, Elasticsearch API).")
topics_app = typer.Typer(help="Manage the pipeline's Kafka topics.", no_args_is_help=True)


def masked(settings: Settings) -> dict[str, Any]:
    from pydantic import SecretStr

    from modpipe.settings import mask_urls

    def walk(value: Any) -> Any:
        if isinstance(value, SecretStr):
            return "***" if value.get_secret_value() else ""
        if isinstance(value, str):
            return mask_urls(value)
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [walk(v) for v in value]
        return value

    dumped = settings.model_dump(mode="python")
    result: dict[str, Any] = json.loads(json.dumps(walk(dumped), default=str))
    return result


@config_app.command("show")
def config_show(
    fmt: Annotated[str, typer.Option("--format", help="yaml or json")] = "yaml",
) -> None:
    """Print the effective configuration, secrets masked."""
    data = masked(State.settings())
    if fmt == "json":
        out_console().print_json(data=data)
    else:
        import yaml

        print(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), end="")


@config_app.command("check")
def config_check() -> None:
    """Validate the configuration; exit 2 naming every bad setting."""
    from modpipe.settings import SettingsError, load_settings

    try:
        settings = load_settings(State.config_dir, overrides=State.overrides)
    except SettingsError as exc:
        fail_config(exc)
    say(
        f"configuration ok: {len(settings.categories)} categories, {len(settings.services)} service types, "
        f"{len(settings.kafka.topics.all())} topics"
    )


@stack_app.command("up")
def stack_up() -> None:
    """Start the three servers (idempotent) and wait until each answers."""
    from modpipe.stack.manager import LocalStack

    with known_failures():
        settings = State.settings()
        info = LocalStack.from_settings(settings).up(say)
    say(f"kafka          {info.kafka_bootstrap}")
    say(f"s3             http://{info.s3_endpoint}  (credentials in {info.home / 'credentials.json'})")
    say(f"               keys of the {', '.join(info.identities)} identities in {info.home / 'identities.json'}")
    say(f"elasticsearch  {info.elasticsearch_url}")


@stack_app.command("status")
def stack_status() -> None:
    """Show each server's health and address; exit 1 when any is down."""
    from rich.table import Table

    from modpipe.stack.manager import LocalStack

    with known_failures():
        statuses = LocalStack.from_settings(State.settings()).status()
    table = Table("server", "address", "pid", "state", "detail")
    for st in statuses:
        state = "[green]healthy[/]" if st.healthy else ("[yellow]unhealthy[/]" if st.running else "[red]stopped[/]")
        table.add_row(st.name, st.address, str(st.pid or "-"), state, st.detail)
    out_console().print(table)
    if not all(st.healthy for st in statuses):
        raise typer.Exit(1)


@stack_app.command("down")
def stack_down() -> None:
    """Stop exactly the processes `up` started; their data stays."""
    from modpipe.stack.manager import LocalStack

    with known_failures():
        stopped = LocalStack.from_settings(State.settings()).down(say)
    say("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))


@topics_app.command("ensure")
def topics_ensure() -> None:
    """Create the configured topics with their partition counts."""
    from modpipe.topics import BrokerUnreachable, ensure_topics

    settings = State.settings()
    try:
        states = ensure_topics(settings)
    except BrokerUnreachable as exc:
        fail(str(exc))
    for st in states:
        note = "created" if st.created else "exists"
        if st.partitions != st.wanted_partitions:
            note += f" with {st.partitions} partitions (configured {st.wanted_partitions}; the broker cannot change it)"
        say(f"{st.name:28} {st.wanted_partitions:3} partitions  {note}")
