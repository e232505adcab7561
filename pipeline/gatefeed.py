"""The moderation agent's follower of the measures and credit-levels topics: every partition, from the start,
outside any consumer group, folded into a GateView (measures.gateview). Each worker holds the whole view: any
author may write to any partition of the inputs.

Until the follower has read to the end offsets it saw at start, `ready` is unset and the moderation agent waits:
a restarted worker must not let a blacklisted author through while it catches up."""

from __future__ import annotations

import asyncio
import logging
import time

from aiokafka import AIOKafkaConsumer, TopicPartition
from pydantic import ValidationError

from measures.gateview import Gate, GateView
from measures.levels import CreditLevels
from measures.model import MeasureCommand
from modpipe.settings import Settings

log = logging.getLogger("modpipe.worker")
_FETCH_WAIT_MS = 500


class GateFeed:
    def __init__(self, settings: Settings, client_id: str) -> None:
        self.settings = settings
        self.client_id = client_id
        self.view = GateView()
        self.ready = asyncio.Event()
        self.applied = 0
        self._levels_topic = settings.kafka.topics.credit_levels.name

    def gate(self) -> Gate:
        return self.view.snapshot()

    async def run(self) -> None:
        kafka = self.settings.kafka
        specs = (kafka.topics.measures, kafka.topics.credit_levels)
        consumer = AIOKafkaConsumer(
            bootstrap_servers=kafka.servers,
            client_id=self.client_id,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            # Bars change seldom, and every empty fetch costs the broker: no need for the inputs' short wait.
            fetch_max_wait_ms=max(kafka.fetch_max_wait_ms, _FETCH_WAIT_MS),
            request_timeout_ms=kafka.request_timeout_ms,
        )
        await consumer.start()
        try:
            # `modpipe topics ensure` creates the topic with its configured partitions.
            partitions = [TopicPartition(spec.name, p) for spec in specs for p in range(spec.partitions)]
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            ends = await consumer.end_offsets(partitions)
            started = time.monotonic()
            while True:
                wait_ms = 1000 if self.ready.is_set() else 200
                fetched = await consumer.getmany(timeout_ms=wait_ms, max_records=1000)
                for records in fetched.values():
                    for record in records:
                        self._apply(record.topic, record.value)
                await asyncio.sleep(0)  # catching up on a long topic must not starve the consumer's heartbeats
                if not self.ready.is_set():
                    positions = {tp: await consumer.position(tp) for tp in partitions}
                    if not fetched and all(positions[tp] >= ends[tp] for tp in partitions):
                        took = time.monotonic() - started
                        barred, rated = self.view.counts
                        log.info("gate view ready: %d records, %d subjects barred, %d accounts rated, read in %.1fs",
                                 self.applied, barred, rated, took)  # fmt: skip
                        self.ready.set()
        finally:
            await consumer.stop()

    def _apply(self, topic: str, value: bytes | None) -> None:
        if not value:
            return
        try:
            if topic == self._levels_topic:
                self.view.apply_levels(CreditLevels.model_validate_json(value))
            else:
                self.view.apply(MeasureCommand.model_validate_json(value))
        except ValidationError:
            log.exception("%s: not a measure command or credit levels; skipped", topic)
            return
        self.applied += 1
