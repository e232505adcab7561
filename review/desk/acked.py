"""The desk's way to the broker: one topic, acks=all, and no answer to the moderator before the broker has the
record (a change the page reports as sent must not be lost with the desk)."""

from __future__ import annotations

from kafka import KafkaProducer
from kafka.errors import KafkaError

from modpipe.settings import Settings
from review.desk.exceptions import PublishFailed


class AckedTopic:
    def __init__(self, settings: Settings, topic: str, client: str, named: str) -> None:
        """`client` ends the producer's client id; `named` is how a failure names the topic (and its setting)."""
        self.topic = topic
        self._named = named
        self._timeout_s = settings.kafka.request_timeout_ms / 1000
        self._producer = KafkaProducer(
            bootstrap_servers=settings.kafka.servers, client_id=f"{settings.kafka.client_id}-{client}", acks="all",
            retries=3, request_timeout_ms=settings.kafka.request_timeout_ms,
            max_block_ms=settings.kafka.request_timeout_ms,
        )  # fmt: skip

    def send(self, key: bytes, value: bytes) -> None:
        """Returns once the broker has acknowledged the record; PublishFailed otherwise."""
        try:
            future = self._producer.send(self.topic, key=key, value=value)
            self._producer.flush(timeout=self._timeout_s)
            future.get(timeout=self._timeout_s)
        except KafkaError as exc:
            raise PublishFailed(f"{self._named}: {exc}") from exc

    def close(self) -> None:
        self._producer.close(timeout=5)
