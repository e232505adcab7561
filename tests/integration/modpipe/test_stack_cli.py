"""`modpipe stack up | status | down` and `topics ensure` as a user runs them, on a stack of this module's own.

The servers run in a temporary home on free ports set through MODPIPE__STACK__* variables, never the shared session
stack, so stopping and restarting them here disturbs no other test.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition

from modpipe.settings import Settings, load_settings
from modpipe.stack.health import free_port
from tests.support import REPO

SERVERS = ("s3", "elasticsearch", "kafka", "housekeeper")  # the broker's housekeeper runs with S3 storage


@dataclass
class Stack:
    home: Path
    env: dict[str, str]
    startup_s: float = 0.0

    def run(self, *args: str, timeout: float = 180, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "modpipe", *args],
            check=False,
            cwd=REPO,
            env={**self.env, **extra},
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def pids(self) -> dict[str, int]:
        found = {}
        for name in SERVERS:
            pidfile = self.home / "run" / f"{name}.pid"
            if pidfile.is_file():
                found[name] = int(pidfile.read_text(encoding="ascii"))
        return found

    def settings(self) -> Settings:
        return load_settings(environ={k: v for k, v in self.env.items() if k.startswith("MODPIPE__")})


def make_env(home: Path, kafka_port: int, s3_port: int, es_port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODPIPE", "AWS_"))}
    env.update(
        MODPIPE__STACK__HOME=str(home),
        MODPIPE__STACK__KAFKA_PORT=str(kafka_port),
        MODPIPE__STACK__S3_PORT=str(s3_port),
        MODPIPE__STACK__ELASTICSEARCH_PORT=str(es_port),
        MODPIPE__STACK__START_TIMEOUT_S="90",
        COLUMNS="200",
        NO_COLOR="1",
    )
    return env


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


def processes_in(home: Path) -> list[int]:
    """Every live process whose working directory is home (the servers run there)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cwd = os.readlink(entry / "cwd")
            except OSError:
                continue
            if Path(cwd) == home.resolve() and alive(int(entry.name)):
                found.append(int(entry.name))
    return found


def stop_everything(stack: Stack) -> list[int]:
    """`stack down` when anything runs in the home, then kill what it missed; returns what had to be killed."""
    if not processes_in(stack.home):
        return []
    stack.run("stack", "down", timeout=120)
    leftovers = processes_in(stack.home)
    for pid in leftovers:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    return leftovers


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    home = tmp_path_factory.mktemp("own-stack")
    stack = Stack(home, make_env(home, free_port(), free_port(), free_port()))
    try:
        started = time.monotonic()
        done = stack.run("stack", "up")
        stack.startup_s = time.monotonic() - started
        assert done.returncode == 0, done.stdout + done.stderr
        print(f"\nstack start-up (cold, `modpipe stack up` wall time): {stack.startup_s:.1f}s")
        yield stack
    finally:
        leftovers = stop_everything(stack)
        assert not leftovers, f"`stack down` left processes running: {leftovers}"


def test_up_then_status_shows_all_healthy(local: Stack) -> None:
    done = local.run("stack", "status")
    assert done.returncode == 0, done.stdout + done.stderr
    for name in SERVERS:
        line = next(ln for ln in done.stdout.splitlines() if ln.split("│")[1:2] and name in ln.split("│")[1])
        assert "healthy" in line
        assert "unhealthy" not in line
    assert done.stdout.count("healthy") == len(SERVERS)
    assert set(local.pids()) == set(SERVERS)
    assert all(alive(pid) for pid in local.pids().values())


def test_up_twice_is_harmless(local: Stack) -> None:
    before = local.pids()
    started = time.monotonic()
    done = local.run("stack", "up")
    print(f"\nstack up when already running: {time.monotonic() - started:.1f}s")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "already running" in done.stdout
    assert local.pids() == before
    assert all(alive(pid) for pid in before.values())


def test_credentials_are_owner_only(local: Stack) -> None:
    creds = local.home / "credentials.json"
    assert stat.S_IMODE(creds.stat().st_mode) == 0o600
    data = json.loads(creds.read_text(encoding="utf-8"))
    assert data["access_key"]
    assert len(data["secret_key"]) >= 30
    # the role keys and weed's JWT keys are as private, and nobody else may enter the folder of message text and IPs
    for name in ("identities.json", "s3-identities.json", "security.toml"):
        assert stat.S_IMODE((local.home / name).stat().st_mode) == 0o600, name
    assert stat.S_IMODE(local.home.stat().st_mode) == 0o700
    assert set(json.loads((local.home / "identities.json").read_text(encoding="utf-8"))) == {
        "pipeline", "compliance", "auditor",
    }  # fmt: skip


def test_topics_ensure_creates_configured_partitions_idempotently(local: Stack) -> None:
    settings = local.settings()
    first = local.run("topics", "ensure")
    assert first.returncode == 0, first.stdout + first.stderr
    second = local.run("topics", "ensure")
    assert second.returncode == 0, second.stdout + second.stderr
    for spec in settings.kafka.topics.all():
        assert any(ln.split()[0] == spec.name and "created" in ln for ln in first.stdout.splitlines()), spec.name
        assert any(ln.split()[0] == spec.name and "exists" in ln for ln in second.stdout.splitlines()), spec.name
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka.servers, request_timeout_ms=15000)
    try:
        described = {d["name"]: len(d["partitions"]) for d in admin.describe_topics()}
    finally:
        admin.close()
    for spec in settings.kafka.topics.all():
        assert described.get(spec.name) == spec.partitions, spec.name


def produce(settings: Settings, topic: str, value: bytes) -> None:
    producer = KafkaProducer(bootstrap_servers=settings.kafka.servers, acks="all", request_timeout_ms=15000)
    try:
        producer.send(topic, key=b"k", value=value, partition=0).get(timeout=30)
        producer.flush(timeout=30)
    finally:
        producer.close(timeout=10)


def read_partition(settings: Settings, topic: str) -> list[bytes]:
    consumer = KafkaConsumer(
        bootstrap_servers=settings.kafka.servers, enable_auto_commit=False, consumer_timeout_ms=5000
    )
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
        seen: list[bytes] = []
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=1000).values():
                seen.extend(r.value for r in records)
            if seen:
                break
        return seen
    finally:
        consumer.close()


def test_broker_data_survives_down_and_up(local: Stack) -> None:
    settings = local.settings()
    topic = settings.kafka.topics.dead_letters.name
    assert local.run("topics", "ensure").returncode == 0
    value = f"kept across restarts 保留 {uuid.uuid4()}".encode()
    produce(settings, topic, value)
    assert value in read_partition(settings, topic)

    old = local.pids()
    down = local.run("stack", "down")
    assert down.returncode == 0, down.stdout + down.stderr
    assert not any(alive(pid) for pid in old.values())
    up = local.run("stack", "up")
    assert up.returncode == 0, up.stdout + up.stderr
    assert local.pids() != old

    again = local.run("topics", "ensure")
    assert again.returncode == 0
    assert "created" not in again.stdout, "the topics should have survived the restart"
    assert value in read_partition(local.settings(), topic)


def test_port_taken_fails_naming_the_setting(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        # The broker's port: it starts last, so this also shows that no other server was started before the check.
        stack = Stack(tmp_path, make_env(tmp_path, taken, free_port(), free_port()))
        try:
            done = stack.run("stack", "up")
            assert done.returncode == 1, done.stdout + done.stderr
            assert "MODPIPE__STACK__KAFKA_PORT" in done.stderr
            assert str(taken) in done.stderr
            assert "Traceback" not in done.stderr
            assert not processes_in(tmp_path), "a failed `up` left servers running"
        finally:
            assert not stop_everything(stack)


def test_down_leaves_nothing_and_status_says_stopped(local: Stack) -> None:
    pids = local.pids()
    assert pids
    started = time.monotonic()
    done = local.run("stack", "down")
    print(f"\nstack down: {time.monotonic() - started:.1f}s")
    assert done.returncode == 0, done.stdout + done.stderr
    assert not [name for name, pid in pids.items() if alive(pid)]
    assert processes_in(local.home) == []
    status = local.run("stack", "status")
    assert status.returncode != 0
    assert status.stdout.count("stopped") == len(SERVERS)
    again = local.run("stack", "down")
    assert again.returncode == 0
    assert "nothing was running" in again.stdout
