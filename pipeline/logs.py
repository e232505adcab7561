"""Structured JSON logs on stderr, for the worker's own events and for faust's and the libraries' logging."""

from __future__ import annotations

import logging
import sys

import structlog


def json_handler(level: int = logging.INFO) -> logging.Handler:
    shared: list[structlog.typing.Processor] = [
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    formatter = structlog.stdlib.ProcessorFormatter(
        # `extra={"classifier_reload": {...}}` of a log call becomes a field of its JSON line.
        foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder(allow=("classifier_reload",))],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    handler.setLevel(level)
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )
    return handler
