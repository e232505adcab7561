"""The demo's stream loop and its --rate flag (issue 17: `--rate 0` divided by zero, and a failed publishing thread
surfaced as IndexError). The loop runs without servers here: the output topics' watcher is a stand-in that reports
what a test tells it, and no worker is running (their counters read as zero)."""

from __future__ import annotations

import time

import pytest
from typer.testing import CliRunner

from modpipe.cli import demo
from modpipe.cli.main import app
from pipeline.simulate import SimulationReport


class Watcher:
    """What the loop reads of demo.RunWatcher: the outcomes seen so far on the output topics."""

    def __init__(self, dead_after_polls: int | None = None) -> None:
        self.verdicts: dict[bytes, tuple[str, tuple[str, ...]]] = {}
        self.takedowns: set[bytes] = set()
        self.dead: dict[bytes, str] = {}
        self.polls = 0
        self.dead_after_polls = dead_after_polls

    def poll(self) -> None:
        self.polls += 1
        if self.dead_after_polls is not None and self.polls >= self.dead_after_polls:
            self.dead[b"sim-1-0"] = "invalid_json"
        time.sleep(0.02)


class BrokerGone(Exception):
    pass


def test_a_failed_publish_raises_its_own_exception_at_once() -> None:
    def publish() -> SimulationReport:
        time.sleep(0.2)  # the loop is already watching when publishing fails
        raise BrokerGone("cannot publish: the broker is gone")

    t0 = time.monotonic()
    with pytest.raises(BrokerGone, match="the broker is gone"):
        demo._stream_and_watch(publish, Watcher(), [], count=100, rate=1000)  # type: ignore[arg-type]
    # It stops watching when the publisher failed instead of waiting out the time limit (60 s and more).
    assert time.monotonic() - t0 < 10


def test_rate_zero_streams_as_fast_as_possible() -> None:
    sent = SimulationReport(sent=1)

    def publish() -> SimulationReport:
        time.sleep(0.3)  # still publishing at the loop's first checks, where the time limit divided by the rate
        return sent

    watcher = Watcher(dead_after_polls=3)
    assert demo._stream_and_watch(publish, watcher, [], count=1, rate=0) is sent  # type: ignore[arg-type]
    assert watcher.polls >= 3


def test_the_time_limit_allows_for_the_rate_and_is_finite_at_full_speed() -> None:
    assert demo.time_limit_s(1000, 100) == 60 + 50
    assert demo.time_limit_s(1000, 0) == demo.time_limit_s(1000, 100)


@pytest.mark.parametrize("command", ["demo", "simulate"])
@pytest.mark.parametrize("rate", ["-1", "nan"])
def test_a_negative_rate_is_a_flag_error(command: str, rate: str) -> None:
    result = CliRunner().invoke(app, [command, "--rate", rate])
    assert result.exit_code == 2, result.output
    assert "--rate" in result.output
    assert "0 or more (0 = as fast as possible)" in result.output
