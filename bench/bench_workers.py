"""The benchmarks' side of a running local stack: topics of a run, `modpipe worker` processes and their health and
metrics pages, and a bare kafka-python consumer as the ceiling. Used by pipeline_bench.py and long_run.py."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer, TopicPartition

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from modpipe.settings import Settings, load_settings
from modpipe.stack.environment import modpipe_environ, topic_overrides, worker_command
from modpipe.stack.health import free_port
from modpipe.topics import ensure_topics
from pipeline.simulate import simulate


def settings_for(base: dict[str, Any], tag: str) -> tuple[Settings, dict[str, Any]]:
    overrides = {**base, **topic_overrides(f"bench-{tag}-{{topic}}")}
    settings = load_settings(environ={}, overrides=overrides)
    ensure_topics(settings)
    return settings, overrides


def launch(
    overrides: dict[str, Any], name: str, logs: Path, port: int | None = None
) -> tuple[subprocess.Popen[bytes], int]:
    """Start a `modpipe worker` running the moderation agent, its web pages on `port` (else a free one); returns at
    once. Workers started together take their ports from one free_ports call: ports taken one by one can repeat."""
    env = modpipe_environ(overrides)
    port = port or free_port()
    with (logs / f"{name}.log").open("ab") as out:
        proc = subprocess.Popen(worker_command("moderation", port, name), env=env, stdout=out, stderr=subprocess.STDOUT)
    return proc, port


def assigned(port: int) -> set[str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as resp:
            return set(json.loads(resp.read())["assigned"])
    except OSError:
        return set()


def wait_assigned(ports: list[int], partitions: int, logs: Path, timeout_s: float = 120) -> None:
    """Until every worker holds partitions and together they hold all of them (the group has settled)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        held = [assigned(port) for port in ports]
        if all(held) and len(set().union(*held)) == partitions:
            return
        time.sleep(0.2)
    raise SystemExit(f"workers did not settle on {partitions} partitions; see the logs in {logs}")


def start_worker(
    overrides: dict[str, Any], name: str, logs: Path, attempts: int = 3
) -> tuple[subprocess.Popen[bytes], int]:
    """A `modpipe worker` running the moderation agent; returns once it has partitions. A worker whose web port
    another program took between the choice and the bind is started again on another one."""
    for attempt in range(1, attempts + 1):
        log = logs / f"{name}.log"
        skip = log.stat().st_size if log.exists() else 0
        proc, port = launch(overrides, name, logs)
        deadline = time.monotonic() + 120
        while not assigned(port):
            if proc.poll() is not None and attempt < attempts and port_lost(log, skip):
                break
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise SystemExit(f"worker {name} did not start; see {log}")
            time.sleep(0.2)
        else:
            return proc, port
    raise SystemExit(f"worker {name} did not start; see {logs / name}.log")


def port_lost(log: Path, skip: int) -> bool:
    """Whether the log, from byte `skip` on, says a port was already in use."""
    with log.open("rb") as f:
        f.seek(skip)
        return b"address already in use" in f.read().lower()


def consume(
    settings: Settings, topic_names: list[str], n: int, group: str | None = None, fetch_max_wait_ms: int = 500
) -> tuple[float, list[Any]]:
    """Read n records; returns seconds from the first poll and the records (assign-all when no group).
    Short fetch waits make the S3-backed local broker answer empty fetches all the time, slowing everyone: the
    ceiling uses the client's default (500 ms)."""
    consumer = KafkaConsumer(
        bootstrap_servers=settings.kafka.servers, group_id=group, enable_auto_commit=False,
        auto_offset_reset="earliest", fetch_max_wait_ms=fetch_max_wait_ms, session_timeout_ms=6000,
        heartbeat_interval_ms=1000, max_poll_records=5000,
    )  # fmt: skip
    if group is None:
        consumer.assign([TopicPartition(t, p) for t in topic_names for p in consumer.partitions_for_topic(t) or ()])
        consumer.seek_to_beginning()
    else:
        consumer.subscribe(topic_names)
    got: list[Any] = []
    started = None
    try:
        deadline = time.monotonic() + 600
        while len(got) < n and time.monotonic() < deadline:
            batch = consumer.poll(timeout_ms=100)
            if batch and started is None:
                started = time.monotonic()
            for records in batch.values():
                got.extend(records)
        return time.monotonic() - (started or time.monotonic()), got
    finally:
        consumer.close()


def bare_ceiling(base: dict[str, Any], count: int) -> tuple[int, float]:
    """The ceiling every worker rate is compared with: `count` simulated messages read by a bare kafka-python
    consumer. Returns how many it read and in how many seconds."""
    settings, _ = settings_for(base, "ceiling")
    simulate(settings, rate=0, count=count, seed=7, run="ceiling")
    inputs = [t.name for t in settings.kafka.topics.inputs()]
    seconds, got = consume(settings, inputs, count, group="bench-bare")
    return len(got), seconds


def outputs(settings: Settings) -> list[str]:
    return [settings.kafka.topics.verdicts.name, settings.kafka.topics.dead_letters.name]


def done(ports: list[int]) -> int:
    """Messages whose outputs the workers' broker acknowledged (modpipe_messages_done_total), summed."""
    total = 0
    for port in ports:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
            for line in resp.read().decode().splitlines():
                if line.startswith('modpipe_messages_done_total{agent="moderation"}'):
                    total += int(float(line.split()[-1]))
    return total


def start_passthrough(overrides: dict[str, Any], logs: Path) -> subprocess.Popen[bytes]:
    """The aiokafka pass-through on the latency topics, running until stopped; returns once it has partitions."""
    ready = logs / "pass-latency.ready"
    argv = [sys.executable, str(Path(__file__).with_name("aiokafka_passthrough.py")), str(logs / "pass-latency.json"),
            str(10**9), str(ready)]  # fmt: skip
    with (logs / "pass-latency.log").open("ab") as log:
        proc = subprocess.Popen(argv, env=modpipe_environ(overrides), stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while not ready.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise SystemExit(f"the pass-through did not start; see {logs / 'pass-latency.log'}")
        time.sleep(0.1)
    ready.unlink()
    return proc
