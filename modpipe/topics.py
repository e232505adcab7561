"""Create the configured topics explicitly: the local broker would auto-create them with 4 partitions."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from modpipe.errors import TransientError
from modpipe.settings import Settings


@dataclass(frozen=True)
class TopicState:
    name: str
    wanted_partitions: int
    partitions: int
    created: bool


class BrokerUnreachable(TransientError):
    """No broker answered at the configured bootstrap servers."""


def admin_client(settings: Settings) -> KafkaAdminClient:
    try:
        return KafkaAdminClient(
            bootstrap_servers=settings.kafka.servers,
            client_id=f"{settings.kafka.client_id}-admin",
            request_timeout_ms=settings.kafka.request_timeout_ms,
        )
    except KafkaError as exc:
        raise BrokerUnreachable(
            f"no Kafka broker answers at {settings.kafka.bootstrap} (setting kafka.bootstrap): {exc}"
        ) from exc


# Room beyond the input in one output record: a verdict's scores, hits and versions; a dead letter's reason and
# position. Hits are bounded by the text, which is bounded by message.max_text_chars.
_VERDICT_ROOM = 256 * 1024
_DEAD_LETTER_ROOM = 64 * 1024


def output_limits(settings: Settings) -> dict[str, int]:
    """The largest record each output topic must take, by topic name."""
    topics = settings.kafka.topics
    return {
        topics.verdicts.name: settings.message.max_message_bytes + _VERDICT_ROOM,
        topics.dead_letters.name: -(-settings.kafka.max_input_bytes * 4 // 3) + _DEAD_LETTER_ROOM,
    }


def ensure_topics(settings: Settings) -> list[TopicState]:
    admin = admin_client(settings)
    try:
        existing = set(admin.list_topics())
        specs = settings.kafka.topics.all()
        replicas = settings.kafka.replication_factor
        limits = output_limits(settings)
        missing = [
            NewTopic(
                t.name,
                t.partitions,
                replicas,
                topic_configs={"max.message.bytes": str(limits[t.name])} if t.name in limits else {},
            )
            for t in specs
            if t.name not in existing
        ]
        if missing:
            # Another worker may create one between our list and create: the outcome we want anyway.
            with contextlib.suppress(TopicAlreadyExistsError):
                admin.create_topics(missing)
        described = {d["name"]: len(d["partitions"]) for d in admin.describe_topics([t.name for t in specs])}
        created = {t.name for t in missing}
        return [TopicState(t.name, t.partitions, described.get(t.name, 0), t.name in created) for t in specs]
    finally:
        admin.close()
