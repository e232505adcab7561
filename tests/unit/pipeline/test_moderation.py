"""The moderation step on a batch, in the worker's thread and in classifying child processes (real ones)."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiokafka.partitioner import DefaultPartitioner

from classifiers.loading import load_tagger
from classifiers.tagger import Tagger
from modpipe.clock import FixedClock
from modpipe.contracts.intake import RawMessage
from modpipe.settings import Settings, load_settings
from pipeline.moderation import Encoded, ModerationProcessor
from pipeline.moderator import Moderator
from pipeline.simulate import MessageFactory
from tests.support import REPO

AT = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


class TickingClock:
    """Moves one millisecond every time it is read, to show how often a batch reads it."""

    def __init__(self) -> None:
        self.at = AT
        self.reads = 0

    def now(self) -> datetime:
        self.reads += 1
        self.at += timedelta(milliseconds=1)
        return self.at


@pytest.fixture(scope="module")
def mod_settings(default_model_dir: Path) -> Settings:
    return load_settings(environ={}, overrides={"classifier.model_dir": str(default_model_dir)})


@pytest.fixture(scope="module")
def tagger(mod_settings: Settings) -> Tagger:
    return load_tagger(mod_settings)


@pytest.fixture(scope="module")
def batch(mod_settings: Settings) -> tuple[list[RawMessage], Counter[str]]:
    topics = mod_settings.kafka.topics
    factory = MessageFactory(5, FixedClock(AT), mod_settings.message.max_text_chars, malformed_share=0.1, run="t")
    raws: list[RawMessage] = []
    labels: Counter[str] = Counter()
    for offset, m in enumerate(factory.messages(400)):
        raws.append(RawMessage(getattr(topics, m.topic_key).name, offset % 4, offset, m.key, m.value))
        labels["malformed" if m.label.startswith("malformed:") else "valid"] += 1
    return raws, labels


def by_topic(enc: Encoded) -> dict[str, list[tuple[bytes | None, dict[str, object]]]]:
    out: dict[str, list[tuple[bytes | None, dict[str, object]]]] = {}
    for topic, key, value in enc.outgoing:
        out.setdefault(topic, []).append((key, json.loads(value)))
    return out


@pytest.mark.obligation("L1", "L2")
def test_one_verdict_per_valid_message_a_takedown_per_block_and_the_rest_dead_lettered(
    mod_settings: Settings, batch: tuple[list[RawMessage], Counter[str]], tagger: Tagger
) -> None:
    raws, labels = batch
    topics = mod_settings.kafka.topics
    enc = ModerationProcessor(mod_settings, tagger, FixedClock(AT)).process_encoded(raws)
    out = by_topic(enc)
    verdicts, takedowns, letters = out[topics.verdicts.name], out[topics.takedowns.name], out[topics.dead_letters.name]

    assert len(verdicts) == labels["valid"]
    assert len(letters) == labels["malformed"] > 0
    assert all(key == v["message_id"].encode() for key, v in verdicts)  # type: ignore[union-attr]
    assert len({key for key, _ in verdicts}) == len(verdicts)
    blocked = {key for key, v in verdicts if v["action"] == "block"}
    assert blocked
    assert {key for key, _ in takedowns} == blocked
    # A dead letter carries the original bytes and where they were read.
    originals = {(r.topic, r.partition, r.offset): r.value for r in raws}
    for _, letter in letters:
        where = (letter["topic"], letter["partition"], letter["offset"])
        assert base64.b64decode(str(letter["value_b64"])) == originals[where]
    # The counts the worker turns into metrics agree with what is published.
    assert enc.actions == Counter(str(v["action"]) for _, v in verdicts)
    assert sum(enc.commands.values()) == len(takedowns)
    assert sum(enc.dead_letters.values()) == len(letters)


def test_a_batch_reads_the_clock_once(mod_settings: Settings, tagger: Tagger) -> None:
    clock = TickingClock()
    factory = MessageFactory(6, FixedClock(AT), mod_settings.message.max_text_chars, malformed_share=0.2, run="c")
    raws = [RawMessage("posts", 0, i, m.key, m.value) for i, m in enumerate(factory.messages(50))]
    out = ModerationProcessor(mod_settings, tagger, clock).process(raws)
    stamps = {v.decided_at for v in out.verdicts} | {d.received_at for d in out.dead_letters}
    stamps |= {t.issued_at for t in out.takedowns}
    assert clock.reads == 1
    assert len(stamps) == 1


def test_child_processes_give_exactly_what_the_worker_thread_gives(
    mod_settings: Settings, batch: tuple[list[RawMessage], Counter[str]]
) -> None:
    raws, _ = batch
    topics = mod_settings.kafka.topics
    clock = FixedClock(AT)  # pickled into the children: the same instant on both sides
    thread = ThreadPoolExecutor(1)
    local = Moderator(mod_settings, clock, 0, thread)
    children = Moderator(mod_settings, clock, 2, thread)
    try:
        expected = asyncio.run(local.process(raws))
        got = asyncio.run(children.process(raws))
        small = asyncio.run(children.process(raws[:3]))  # below the split size: one child takes it whole
        counts = {t.name: 4 for t in (topics.verdicts, topics.takedowns, topics.dead_letters)}
        routed_enc = asyncio.run(children.process(raws, partitions=counts))
    finally:
        children.close()
        local.close()
        thread.shutdown()
    # Each child's share comes back whole and in order, so every topic sees the records in input order.
    assert by_topic(got) == by_topic(expected)
    assert (got.actions, got.flagged, got.commands, got.dead_letters) == (
        expected.actions,
        expected.flagged,
        expected.commands,
        expected.dead_letters,
    )
    assert len(small.outgoing) >= 3
    # Partitioned in the children (worker.partition: classifier): each keyed record where the producer's own
    # partitioner puts it, every partition's records in input order, nothing lost or added.
    routed = routed_enc.routed
    assert routed is not None
    assert routed_enc.outgoing == []
    flat = routed.flat()
    assert sorted(flat, key=repr) == sorted(expected.outgoing, key=repr)
    choose = DefaultPartitioner()
    for (topic, partition), records in routed.records.items():
        assert 0 <= partition < 4
        for key, _ in records:
            if key is not None:
                assert choose(key, [0, 1, 2, 3], [0, 1, 2, 3]) == partition
        in_order = [(k, v) for t, k, v in expected.outgoing if t == topic and (k, v) in set(records)]
        assert records == in_order


def test_a_dead_classifying_process_is_replaced_and_the_batch_retried(
    mod_settings: Settings, batch: tuple[list[RawMessage], Counter[str]], caplog: pytest.LogCaptureFixture
) -> None:
    raws, labels = batch
    thread = ThreadPoolExecutor(1)
    children = Moderator(mod_settings, FixedClock(AT), 1, thread)
    try:
        pid = children._executor.submit(os.getpid).result()
        os.kill(pid, signal.SIGKILL)
        got = asyncio.run(children.process(raws))
    finally:
        children.close()
        thread.shutdown()
    assert "classifying process died" in caplog.text
    verdicts = by_topic(got)[mod_settings.kafka.topics.verdicts.name]
    assert len(verdicts) == labels["valid"]


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except OSError:
        return False
    return state != "Z"  # exited, waiting for whoever adopted it to reap it


def test_classifying_processes_die_with_a_worker_killed_outright(mod_settings: Settings, tmp_path: Path) -> None:
    script = (
        "import sys; from concurrent.futures import ThreadPoolExecutor; from modpipe.clock import SystemClock; "
        "from modpipe.settings import load_settings; from pipeline.moderator import Moderator; "
        "m = Moderator(load_settings(), SystemClock(), 1, ThreadPoolExecutor(1)); "
        "print(m._executor.submit(__import__('os').getpid).result(), flush=True); sys.stdin.read()"
    )
    env = {**os.environ, "MODPIPE__CLASSIFIER__MODEL_DIR": str(mod_settings.classifier.model_dir)}
    worker = subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, cwd=REPO
    )
    try:
        assert worker.stdout is not None
        child = int(worker.stdout.readline())
        worker.kill()
        worker.wait()
        deadline = time.monotonic() + 10
        while alive(child) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not alive(child), "the classifying process outlived its worker"
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
        for stream in (worker.stdin, worker.stdout):
            if stream is not None:
                stream.close()
