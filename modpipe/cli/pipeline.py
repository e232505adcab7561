"""Sub-commands for the stream workers: worker, simulate, demo."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Annotated, cast

import typer

from modpipe.cli.common import State, fail, known_failures, say

if TYPE_CHECKING:
    from modpipe.settings.models import AgentName


def __getattr__(name: str) -> object:
    # ALL_AGENTS stays importable from here without the settings models (pydantic) loading with the CLI.
    if name == "ALL_AGENTS":
        from modpipe.settings.models import AGENT_NAMES

        return AGENT_NAMES
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _agents(value: str | None, default: tuple[AgentName, ...]) -> tuple[AgentName, ...]:
    if not value:
        return default
    from modpipe.settings.models import AGENT_NAMES

    names = tuple(a.strip() for a in value.split(",") if a.strip())
    unknown = [n for n in names if n not in AGENT_NAMES]
    if unknown:
        fail(f"--agents: unknown agent(s) {unknown}; expected some of {list(AGENT_NAMES)}", code=2)
    return cast("tuple[AgentName, ...]", names)


def _check_rate(rate: float) -> None:
    if rate < 0 or math.isnan(rate):
        fail(f"--rate {rate}: messages per second, 0 or more (0 = as fast as possible)", code=2)


def worker(
    agents: Annotated[str | None, typer.Option(help="Comma-separated: moderation,decisions,records,queue.")] = None,
    web_port: Annotated[int | None, typer.Option(help="Port of /healthz and /metrics (one per worker).")] = None,
    worker_id: Annotated[str | None, typer.Option(help="Name of this worker (object keys, client ids).")] = None,
) -> None:
    """Run a stream worker with the chosen agents until stopped (SIGTERM/SIGINT)."""
    from pipeline.exceptions import StartupError
    from pipeline.runner import run_worker

    settings = State.settings("pipeline")
    chosen = _agents(agents, settings.worker.agents)
    try:
        run_worker(settings, chosen, worker_id or settings.worker.id, web_port or settings.worker.web_port)
    except StartupError as exc:
        fail(str(exc))


def simulate(
    rate: Annotated[float, typer.Option(help="Messages per second; 0 = as fast as possible.")] = 100.0,
    count: Annotated[int, typer.Option(help="How many messages to publish.")] = 1000,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed publishes the same messages.")] = 1,
    malformed: Annotated[float, typer.Option(help="Share of deliberately malformed messages.")] = 0.03,
    run: Annotated[str, typer.Option(help="Tag in message ids (default: the seed).")] = "",
    reports: Annotated[
        float, typer.Option(help="Share of violating messages honest users report (0-1) on the reports topic.")
    ] = 0.0,
    campaign: Annotated[
        bool, typer.Option(help="Also a lawful post and a campaign of 30 reports from fresh accounts against it.")
    ] = False,
) -> None:
    """Publish a realistic mix of messages of every service type and kind, and print what was sent."""
    from kafka.errors import KafkaError

    from pipeline.simulate import simulate as run_simulation

    _check_rate(rate)
    if not 0 <= reports <= 1:
        fail(f"--reports {reports}: a share of the violating messages, between 0 and 1", code=2)
    settings = State.settings()
    try:
        report = run_simulation(
            settings, rate, count, seed=seed, run=run, malformed_share=malformed, report_share=reports,
            campaign=campaign,
        )  # fmt: skip
    except KafkaError as exc:
        fail(f"cannot publish to {settings.kafka.bootstrap} (setting kafka.bootstrap): {exc}")
    say(f"sent {report.sent} messages in {report.seconds:.1f}s ({report.sent / max(report.seconds, 1e-9):.0f}/s)")
    say(f"  valid {report.valid}, malformed {report.malformed}")
    for title, counter in (
        ("by label", report.by_label),
        ("by service", report.by_service),
        ("by kind", report.by_kind),
    ):
        say(f"  {title}: " + ", ".join(f"{k}={v}" for k, v in sorted(counter.items())))
    if report.reports or report.campaign_reports:
        say(f"  user reports: {report.reports} honest, {report.campaign_reports} in a campaign against one lawful post")


def demo(
    count: Annotated[int, typer.Option(help="Messages in the demo stream.")] = 5000,
    rate: Annotated[
        float, typer.Option(help="Messages per second of the demo stream; 0 = as fast as possible.")
    ] = 1000.0,
    down: Annotated[bool, typer.Option(help="Stop the local stack at the end too.")] = False,
) -> None:
    """The main job: local stack, topics, storage, index, model, workers, a demo stream and a live summary."""
    from modpipe.cli.demo import run_demo

    _check_rate(rate)
    with known_failures():
        settings = State.settings()
        run_demo(settings, State.config_dir, count=count, rate=rate, stop_stack=down)
