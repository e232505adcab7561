"""Helpers shared by test modules (importable as tests.support; fixtures live in tests/fixtures/)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from modpipe.settings import Settings

# The one builder of a stack's settings, shared with the benchmarks and the demo; re-exported for the tests.
from modpipe.stack.environment import (
    modpipe_environ,
    stack_overrides,
    topic_overrides,
    worker_command,
    workspace_datasets_dir,
)

if TYPE_CHECKING:
    from modpipe.contracts import Verdict

__all__ = [
    "COLD_DIR",
    "DATASETS",
    "PACKAGES",
    "REPO",
    "imported_after",
    "loaded",
    "modpipe_environ",
    "read_topic",
    "recent_mid_hour",
    "run_python",
    "send_verdicts",
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


def send_verdicts(settings: Settings, verdicts: Iterable[Verdict]) -> None:
    """Publish verdicts to the verdicts topic, keyed by message id as the moderation agent does, acks=all."""
    producer = KafkaProducer(bootstrap_servers=settings.kafka.servers, acks="all")
    try:
        for v in verdicts:
            producer.send(
                settings.kafka.topics.verdicts.name, key=v.message_id.encode(), value=v.model_dump_json().encode()
            )
        producer.flush()
    finally:
        producer.close()


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


def run_python(*args: str, home: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """A fresh interpreter in the repository with `args`, in a clean environment of the stack home `home` (wide
    columns, plus `env`), its output captured."""
    clean = modpipe_environ({"stack.home": home}) | {"COLUMNS": "200", **env}
    return subprocess.run(
        [sys.executable, *args], cwd=REPO, env=clean, check=False, capture_output=True, text=True, timeout=60
    )


def imported_after(body: str, home: Path) -> set[str]:
    """The modules a fresh interpreter has imported after running `body` (with the stack home `home`)."""
    done = run_python("-c", _PROBE.format(body=body), home=home)
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def loaded(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == n or m.startswith(n + ".") for n in names))
