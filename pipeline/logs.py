"""Structured JSON logs on stderr, for the worker's own events and for faust's and the libraries' logging.

A repeating warning or error is written once per interval: aiokafka logs every reconnect attempt, and a 20 s
broker outage wrote 1,569 error lines from one single-agent worker (measured), which buries whatever else
happened. `RepeatFilter` lets the first line of each (logger, message template) through, counts its repeats for
`worker.log_repeat_interval_s`, then writes one line "repeated N times in the last Xs: <the last one>".
"""

from __future__ import annotations

import logging
import sys
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog

from modpipe.clock import Clock

# Fields a log call may add with `extra={...}`: they become fields of its JSON line.
_EXTRA_FIELDS = ("classifier_reload", "repeated", "repeat_window_s")
# Past this many distinct templates in one interval, new ones pass unfiltered rather than growing the table.
_MAX_TRACKED = 10_000


@dataclass
class _Repeats:
    since: datetime
    count: int
    last: logging.LogRecord


class RepeatFilter(logging.Filter):
    """Lets the first record of a (logger, template) through, suppresses its repeats for `interval_s` and then
    hands one summary record to `target` (the handler it filters for). Only records at `min_level` or above are
    filtered: an info line repeats on purpose (a rebalance, a reload), a warning repeats because something is down.
    Thread-safe: aiokafka's consumer logs from faust's consumer thread."""

    def __init__(self, interval_s: float, clock: Clock, min_level: int = logging.WARNING) -> None:
        super().__init__()
        if interval_s <= 0:
            raise ValueError(f"worker.log_repeat_interval_s must be > 0 seconds, got {interval_s}")
        self.interval = timedelta(seconds=interval_s)
        self.min_level = min_level
        self.target: logging.Handler | None = None
        self._clock = clock
        self._lock = threading.Lock()
        self._seen: dict[tuple[str, str], _Repeats] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < self.min_level or getattr(record, "repeated", None) is not None:
            return True
        now = self._clock.now()
        key = (record.name, str(record.msg))
        with self._lock:
            due = self._due(now)
            seen = self._seen.get(key)
            if seen is None:
                if len(self._seen) < _MAX_TRACKED:
                    self._seen[key] = _Repeats(now, 0, record)
                passes = True
            else:
                seen.count += 1
                seen.last = record
                passes = False
        self._emit(due)
        return passes

    def flush(self) -> None:
        """Write the summaries whose interval is over (a timer calls this, so a burst that stopped is summed up
        too)."""
        with self._lock:
            due = self._due(self._clock.now())
        self._emit(due)

    def _due(self, now: datetime) -> list[logging.LogRecord]:
        summaries = []
        for key, seen in list(self._seen.items()):
            window = now - seen.since
            if window < self.interval:
                continue
            if seen.count == 0:
                del self._seen[key]  # quiet for a whole interval: its next line is a first one again
                continue
            summaries.append(_summary(seen, window.total_seconds()))
            self._seen[key] = _Repeats(now, 0, seen.last)
        return summaries

    def _emit(self, summaries: list[logging.LogRecord]) -> None:
        if self.target is not None:
            for summary in summaries:
                self.target.handle(summary)


def _summary(seen: _Repeats, window_s: float) -> logging.LogRecord:
    last = seen.last
    record = logging.LogRecord(
        last.name,
        last.levelno,
        last.pathname,
        last.lineno,
        "repeated %d times in the last %.0fs: %s",
        (seen.count, window_s, last.getMessage()),
        None,
    )
    record.repeated = seen.count
    record.repeat_window_s = round(window_s, 1)
    return record


def json_handler(level: int = logging.INFO, repeats: RepeatFilter | None = None) -> logging.Handler:
    shared: list[structlog.typing.Processor] = [
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder(allow=_EXTRA_FIELDS)],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    handler.setLevel(level)
    if repeats is not None:
        handler.addFilter(repeats)
        repeats.target = handler
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )
    return handler
