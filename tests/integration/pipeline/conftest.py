"""Workers as real subprocesses (`python -m modpipe worker`) against the session's stack, each test with its own
topics, so crash and rebalance tests see exactly the traffic they made."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaConsumer, TopicPartition

from modpipe.settings import Settings, load_settings
from modpipe.stack.health import free_port
from modpipe.stack.manager import StackInfo
from modpipe.topics import ensure_topics
from tests.support import stack_overrides

TOPIC_KEYS = (
    "posts", "comments", "group_messages", "verdicts", "takedowns", "decisions", "dead_letters", "reports",
    "report_outcomes", "measures", "measure_events",
)  # fmt: skip


class OutputWatcher:
    """One consumer kept open on the verdicts and dead-letter topics, counting distinct outcomes as they arrive."""

    def __init__(self, settings: Settings) -> None:
        topics = settings.kafka.topics
        self.verdicts_topic = topics.verdicts.name
        self.consumer = KafkaConsumer(
            bootstrap_servers=settings.kafka.servers, enable_auto_commit=False, fetch_max_wait_ms=100
        )
        names = (topics.verdicts.name, topics.dead_letters.name)
        self.consumer.assign([TopicPartition(n, p) for n in names for p in self.consumer.partitions_for_topic(n) or ()])
        self.consumer.seek_to_beginning()
        self.verdict_keys: set[bytes] = set()
        self.letters: set[tuple[str, int, int]] = set()

    def outcomes(self) -> int:
        for records in self.consumer.poll(timeout_ms=200, max_records=10000).values():
            for r in records:
                if r.topic == self.verdicts_topic:
                    self.verdict_keys.add(r.key)
                else:
                    value = json.loads(r.value)
                    self.letters.add((value["topic"], value["partition"], value["offset"]))
        return len(self.verdict_keys) + len(self.letters)

    def wait(self, n: int, timeout_s: float = 120) -> None:
        deadline = time.monotonic() + timeout_s
        while self.outcomes() < n:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{self.outcomes()} of {n} messages have a verdict or dead letter after {timeout_s}s"
                )

    def close(self) -> None:
        self.consumer.close()


@dataclass
class PipelineEnv:
    settings: Settings
    overrides: dict[str, Any]
    logs: Path
    workers: list[Worker] = field(default_factory=list)
    _watcher: OutputWatcher | None = None

    @property
    def watcher(self) -> OutputWatcher:
        if self._watcher is None:
            self._watcher = OutputWatcher(self.settings)
        return self._watcher

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MODPIPE")}
        for dotted, value in self.overrides.items():
            env["MODPIPE__" + dotted.replace(".", "__").upper()] = str(value)
        return env

    def start_worker(self, agents: str, name: str) -> Worker:
        port = free_port()
        log = self.logs / f"{name}.log"
        argv = [sys.executable, "-m", "modpipe", "worker", "--agents", agents, "--web-port", str(port)]
        argv += ["--worker-id", name]
        with log.open("ab") as out:
            proc = subprocess.Popen(argv, env=self.env(), stdout=out, stderr=subprocess.STDOUT)
        worker = Worker(name, port, proc, log)
        self.workers.append(worker)
        return worker

    def read_all(
        self, topic_key: str, idle_s: float = 3.0, want: int | None = None
    ) -> list[tuple[bytes, dict[str, Any]]]:
        """Every record of a topic from the start. Tansu under-reports end offsets, so read until idle."""
        name = getattr(self.settings.kafka.topics, topic_key).name
        consumer = KafkaConsumer(bootstrap_servers=self.settings.kafka.servers, enable_auto_commit=False)
        try:
            parts = [TopicPartition(name, p) for p in sorted(consumer.partitions_for_topic(name) or ())]
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


@dataclass
class Worker:
    name: str
    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    def health(self) -> dict[str, Any] | None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2) as resp:
                data: dict[str, Any] = json.loads(resp.read())
                return data
        except OSError:
            return None

    def wait_assigned(self, timeout_s: float = 90, predicate: Any = bool) -> list[str]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.name} exited {self.proc.returncode}:\n{self.tail()}")
            health = self.health()
            # Every agent is its own consumer group: ready when each one holds partitions.
            every_group = health is not None and all(g["assigned"] for g in health["groups"].values())
            if health and every_group and predicate(health["assigned"]):
                return list(health["assigned"])
            time.sleep(0.3)
        raise AssertionError(f"{self.name} not assigned in {timeout_s}s:\n{self.tail()}")

    def metrics(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=2) as resp:
            return resp.read().decode()

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = 30) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


@pytest.fixture(scope="session")
def default_model(settings: Settings, default_model_dir: Path) -> str:
    """The session's default model, placed where the stack's workers look for it, so they only load it."""
    from classifiers.loading import default_model_dir as stack_model_dir
    from classifiers.loading import load_tagger

    target = stack_model_dir(settings)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(default_model_dir, target)
    return load_tagger(settings).model_version


@pytest.fixture
def pipeline_env(stack: StackInfo, unique: str, default_model: str, tmp_path: Path) -> Iterator[PipelineEnv]:
    overrides: dict[str, Any] = stack_overrides(stack)
    for key in TOPIC_KEYS:
        overrides[f"kafka.topics.{key}.name"] = f"{key.replace('_', '-')}-{unique}"
    overrides["worker.batch_size"] = 64
    overrides["records.batch_max_age_s"] = 1.0
    overrides["s3.records_bucket"] = f"records-{unique}".lower()[:60]
    overrides["elasticsearch.index"] = f"queue-{unique}".lower()
    settings = load_settings(environ={}, overrides=overrides)
    ensure_topics(settings)
    env = PipelineEnv(settings, overrides, tmp_path)
    try:
        yield env
    finally:
        for worker in env.workers:
            worker.stop(signal.SIGKILL)
        if env._watcher is not None:
            env._watcher.close()
