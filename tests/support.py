"""Helpers shared by test modules (importable as tests.support; fixtures live in tests/fixtures/)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from modpipe.settings import Settings

# The one builder of a stack's settings, shared with the benchmarks and the demo; re-exported for the tests.
from modpipe.stack.environment import (
    modpipe_environ,
    stack_overrides,
    topic_overrides,
    worker_command,
    workspace_datasets_dir,
)

__all__ = [
    "COLD_DIR",
    "DATASETS",
    "PACKAGES",
    "REPO",
    "modpipe_environ",
    "read_topic",
    "recent_mid_hour",
    "stack_overrides",
    "topic_overrides",
    "worker_command",
]

REPO = Path(__file__).resolve().parents[1]
DATASETS = workspace_datasets_dir()
COLD_DIR = DATASETS / "cold"
# The project's packages as the wheel ships them: every test that walks "all packages" walks these.
_WHEEL = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["hatch"]["build"]["targets"]
PACKAGES: tuple[str, ...] = tuple(_WHEEL["wheel"]["packages"])


def read_topic(
    settings: Settings, topic: str, want: int | None = None, idle_s: float = 2.0
) -> list[tuple[bytes, dict[str, Any]]]:
    """Every record of a topic from the start, as (key, JSON value): until `want` records, or none came for
    idle_s (Tansu under-reports end offsets, so the end is when nothing more comes)."""
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka.servers, enable_auto_commit=False)
    try:
        parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        consumer.assign(parts)
        consumer.seek_to_beginning()
        found: list[tuple[bytes, dict[str, Any]]] = []
        last_new = time.monotonic()
        while time.monotonic() - last_new < idle_s and (want is None or len(found) < want):
            for records in consumer.poll(timeout_ms=300, max_records=5000).values():
                found.extend((r.key, json.loads(r.value)) for r in records)
                last_new = time.monotonic()
        return found
    finally:
        consumer.close()


def recent_mid_hour() -> datetime:
    """Half past the hour, at most an hour ago: records dated a few minutes before it stay in one hour's folder.

    A test that took the wall clock at import and stored records minutes apart split them over two folders
    whenever CI started it in the first minutes of an hour."""
    return (datetime.now(UTC) - timedelta(minutes=30)).replace(minute=30, second=0, microsecond=0)


_PROBE = """
import json, sys
{body}
print(json.dumps(sorted(sys.modules)))
"""


def imported_after(body: str, home: Path) -> set[str]:
    """The modules a fresh interpreter has imported after running `body` (with the stack home `home`)."""
    env = modpipe_environ({"stack.home": home}) | {"COLUMNS": "200"}
    done = subprocess.run(
        [sys.executable, "-c", _PROBE.format(body=body)],
        cwd=REPO,
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def loaded(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == n or m.startswith(n + ".") for n in names))
