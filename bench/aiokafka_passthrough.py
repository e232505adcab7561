"""The ceiling of a Python worker: an aiokafka pass-through doing the moderation worker's Kafka work and no more.

Reads the input topics in a consumer group with `getmany`, sends one ~1.5 KB record per message (a verdict's size)
to the verdicts topic as one record batch per partition (acks=all), awaits the acknowledgements, and only then
commits the batch's offsets: what the worker does around its classifier, without faust. Plain asyncio, the
worker's fetch wait and producer batch size. Writes {"messages": n, "seconds": s} to OUT once `count` messages
were committed, timed from the first non-empty fetch. Each record it writes carries the input message as a verdict
does (`{"decided_at": …, "message": <the input>, "pad": …}`, padded to 1.5 KB), so the benchmark's latency probe
reads it like a verdict; with READY, it creates that file once its group has given it partitions.

    python bench/aiokafka_passthrough.py OUT COUNT [READY]   (settings from MODPIPE__ environment variables)
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from modpipe.settings import Settings, load_settings

VERDICT_BYTES = 1536


def as_verdict(value: bytes, decided_at: bytes) -> bytes:
    """The input inside a verdict-like record of VERDICT_BYTES or more, without parsing it (the worker's parse
    and serialise are the classifier's side, not Kafka's)."""
    head = b'{"decided_at":"' + decided_at + b'","message":' + value + b',"pad":"'
    return head + b"x" * max(0, VERDICT_BYTES - len(head) - 2) + b'"}'


async def pass_through(settings: Settings, count: int, ready: Path | None = None) -> dict[str, float]:
    kafka = settings.kafka
    topics = kafka.topics
    consumer = AIOKafkaConsumer(
        *(t.name for t in topics.inputs()), bootstrap_servers=kafka.servers, group_id="bench-passthrough",
        enable_auto_commit=False, auto_offset_reset="earliest", fetch_max_wait_ms=kafka.fetch_max_wait_ms,
        session_timeout_ms=kafka.session_timeout_ms, heartbeat_interval_ms=1000,
    )  # fmt: skip
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka.servers, acks="all", max_batch_size=1_048_576, max_request_size=8_388_608
    )
    await consumer.start()
    await producer.start()
    out = topics.verdicts.name
    try:
        partitions = sorted(await producer.partitions_for(out))
        done, first = 0, 0.0
        while done < count:
            fetched = await consumer.getmany(timeout_ms=100)
            if ready is not None and consumer.assignment():
                await asyncio.to_thread(ready.touch)
                ready = None
            if not fetched:
                continue
            first = first or time.monotonic()
            decided_at = datetime.now(UTC).isoformat().encode()
            acks: list[Any] = []
            for tp, records in fetched.items():
                partition = partitions[tp.partition % len(partitions)]
                batch = producer.create_batch()
                for r in records:
                    verdict = as_verdict(r.value, decided_at)
                    if batch.append(key=r.key, value=verdict, timestamp=None) is None:
                        acks.append(await producer.send_batch(batch, out, partition=partition))
                        batch = producer.create_batch()
                        batch.append(key=r.key, value=verdict, timestamp=None)
                acks.append(await producer.send_batch(batch, out, partition=partition))
            await asyncio.gather(*acks)
            await consumer.commit({tp: records[-1].offset + 1 for tp, records in fetched.items()})
            done += sum(len(records) for records in fetched.values())
        return {"messages": done, "seconds": time.monotonic() - first}
    finally:
        await producer.stop()
        await consumer.stop()


def main() -> None:
    out, count = Path(sys.argv[1]), int(sys.argv[2])
    ready = Path(sys.argv[3]) if len(sys.argv) > 3 else None
    result = asyncio.run(pass_through(load_settings(), count, ready))
    out.write_text(json.dumps(result))


if __name__ == "__main__":
    main()
