"""RepeatFilter: a repeating warning is written once, counted, and summed up in one line per interval."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from modpipe.clock import FixedClock
from pipeline.logs import RepeatFilter, json_handler


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def lines(self) -> list[str]:
        return [r.getMessage() for r in self.records]


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2025, 3, 1, 12, 0, tzinfo=UTC))


@pytest.fixture
def setup(clock: FixedClock) -> Iterator[tuple[logging.Logger, Capture, RepeatFilter]]:
    logger = logging.getLogger("test.repeats")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    capture = Capture()
    repeats = RepeatFilter(30, clock)
    capture.addFilter(repeats)
    repeats.target = capture
    logger.addHandler(capture)
    try:
        yield logger, capture, repeats
    finally:
        logger.removeHandler(capture)
        logger.propagate = True


def test_the_first_line_passes_and_repeats_are_summed_up_after_the_interval(
    setup: tuple[logging.Logger, Capture, RepeatFilter], clock: FixedClock
) -> None:
    logger, capture, repeats = setup
    for port in range(100):
        logger.error("Unable connect to node with id %s: %s", 1, f"refused on {port}")
        clock.advance(timedelta(seconds=0.2))  # 100 lines in 20 s
    assert capture.lines() == ["Unable connect to node with id 1: refused on 0"]
    repeats.flush()  # 20 s: the interval (30 s) is not over
    assert len(capture.records) == 1
    clock.advance(timedelta(seconds=10))
    repeats.flush()
    summary = capture.records[1]
    assert summary.getMessage() == "repeated 99 times in the last 30s: Unable connect to node with id 1: refused on 99"
    assert (summary.levelno, summary.name) == (logging.ERROR, "test.repeats")
    assert (summary.repeated, summary.repeat_window_s) == (99, 30.0)  # type: ignore[attr-defined]


def test_a_repeat_that_goes_on_gets_one_summary_per_interval_and_one_that_stopped_starts_over(
    setup: tuple[logging.Logger, Capture, RepeatFilter], clock: FixedClock
) -> None:
    logger, capture, repeats = setup
    for _ in range(90):  # 90 s of one line a second
        logger.warning("broker down")
        clock.advance(timedelta(seconds=1))
    repeats.flush()
    # 0 s passes; 1..29 s are summed up at 30 s; 30..59 s at 60 s; 60..89 s by the flush at 90 s.
    assert (
        capture.lines()
        == ["broker down", "repeated 29 times in the last 30s: broker down"]
        + ["repeated 30 times in the last 30s: broker down"] * 2
    )
    clock.advance(timedelta(seconds=30))
    repeats.flush()  # a whole interval without a repeat: nothing to say, and the template is forgotten
    logger.warning("broker down")
    assert capture.lines()[-1] == "broker down"
    assert len(capture.records) == 5


def test_templates_loggers_and_levels_are_told_apart(
    setup: tuple[logging.Logger, Capture, RepeatFilter], clock: FixedClock
) -> None:
    logger, capture, _ = setup
    other = logging.getLogger("test.repeats.other")
    for i in range(3):
        logger.error("fetch failed: %s", i)
        logger.error("metadata failed: %s", i)
        other.error("fetch failed: %s", i)
        logger.info("rebalance %s", i)  # below WARNING: never filtered
    assert capture.lines() == [
        "fetch failed: 0",
        "metadata failed: 0",
        "fetch failed: 0",
        "rebalance 0",
        "rebalance 1",
        "rebalance 2",
    ]


def test_summaries_are_json_lines_with_the_count() -> None:
    clock = FixedClock(datetime(2025, 3, 1, tzinfo=UTC))
    repeats = RepeatFilter(5, clock)
    handler = json_handler(logging.INFO, repeats)
    out = io.StringIO()
    handler.setStream(out)  # type: ignore[attr-defined]
    logger = logging.getLogger("test.repeats.json")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        for _ in range(4):
            logger.error("Unable to update metadata from %s", [0])
        clock.advance(timedelta(seconds=6))
        repeats.flush()
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["event"] for line in lines] == [
        "Unable to update metadata from [0]",
        "repeated 3 times in the last 6s: Unable to update metadata from [0]",
    ]
    assert (lines[1]["level"], lines[1]["logger"], lines[1]["repeated"]) == ("error", "test.repeats.json", 3)


def test_a_non_positive_interval_names_the_setting() -> None:
    with pytest.raises(ValueError, match=r"worker\.log_repeat_interval_s"):
        RepeatFilter(0, FixedClock(datetime(2025, 3, 1, tzinfo=UTC)))
