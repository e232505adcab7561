"""The review area's integration fixtures: a queue index and a decisions topic of its own per test, on the
session's real stack, and moderator accounts in a users file."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch
from kafka import KafkaConsumer, TopicPartition

from modpipe.settings import Settings, load_settings
from modpipe.stack.manager import StackInfo
from modpipe.topics import ensure_topics
from review.desk import users
from tests.support import stack_overrides

PASSWORD = "correct horse battery"
TOPIC_KEYS = ("posts", "comments", "group_messages", "verdicts", "takedowns", "decisions", "dead_letters")


@pytest.fixture(scope="session")
def users_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("review") / "users"
    for name in ("alice", "bob"):
        users.set_password(path, name, PASSWORD)
    return path


def review_overrides(stack: StackInfo, unique: str, users_file: Path) -> dict[str, Any]:
    overrides: dict[str, Any] = stack_overrides(stack)
    for key in TOPIC_KEYS:
        overrides[f"kafka.topics.{key}.name"] = f"rv-{key.replace('_', '-')}-{unique}"
        overrides[f"kafka.topics.{key}.partitions"] = 1
    overrides["elasticsearch.index"] = f"rq-{unique}"
    overrides["review.users_file"] = str(users_file)
    overrides["review.session_ttl_s"] = 600
    return overrides


@pytest.fixture
def rsettings(stack: StackInfo, unique: str, users_file: Path) -> Iterator[Settings]:
    settings = load_settings(environ={}, overrides=review_overrides(stack, unique, users_file))
    ensure_topics(settings)
    try:
        yield settings
    finally:
        drop_queue(settings)


def drop_queue(settings: Settings) -> None:
    es = Elasticsearch(settings.elasticsearch.url, request_timeout=30)
    try:
        alias = settings.elasticsearch.index
        if es.indices.exists_alias(name=alias):
            for index in es.indices.get_alias(name=alias):
                es.indices.delete(index=index)
        es.options(ignore_status=404).indices.delete_index_template(name=f"{alias}-template")
    finally:
        es.close()


def read_topic(settings: Settings, topic: str, want: int | None = None, idle_s: float = 2.0) -> list[tuple[bytes, Any]]:
    """Every record of a topic from the start (Tansu under-reports end offsets, so read until idle)."""
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka.servers, enable_auto_commit=False)
    try:
        parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        consumer.assign(parts)
        consumer.seek_to_beginning()
        found: list[tuple[bytes, Any]] = []
        last_new = time.monotonic()
        while time.monotonic() - last_new < idle_s and (want is None or len(found) < want):
            for records in consumer.poll(timeout_ms=200).values():
                found.extend((r.key, json.loads(r.value)) for r in records)
                last_new = time.monotonic()
        return found
    finally:
        consumer.close()
