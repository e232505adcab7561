"""Event-loop CPU per output of BatchPublisher.send, partitioning on the loop (worker.partition: loop) against
outputs already partitioned in the classifying process (classifier). Nothing is sent: batches are built with a real
aiokafka producer's builder and dropped. CPU time (time.process_time), both ways in one run, alternated.

    python bench/publish_cpu.py [N_OUTPUTS] [ROUNDS]
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.moderation import Outgoing, Routed
from pipeline.publish import BatchPublisher


class Dropping:
    """The producer calls BatchPublisher makes, with a real batch builder; sending resolves at once."""

    def __init__(self, producer: AIOKafkaProducer) -> None:
        self._producer = producer

    async def partitions_for(self, topic: str) -> set[int]:
        return {0, 1, 2, 3}

    def create_batch(self) -> Any:
        return self._producer.create_batch()

    async def send_batch(self, batch: Any, topic: str, *, partition: int) -> asyncio.Future[None]:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        fut.set_result(None)
        return fut


async def main(n: int, rounds: int) -> None:
    real = AIOKafkaProducer(bootstrap_servers="127.0.0.1:1", max_batch_size=1_048_576)
    producer = Dropping(real)
    publisher = BatchPublisher(lambda: producer)
    value = os.urandom(1536)
    outgoing: list[Outgoing] = [("verdicts", f"msg-{i:08d}".encode(), value) for i in range(n)]
    t0 = time.process_time()
    routed = Routed({"verdicts": 4})
    for _, key, v in outgoing:
        routed.add("verdicts", key, v)
    child = (time.process_time() - t0) / n * 1e6  # what the classifying process takes on instead
    cpu = {"loop": 0.0, "classifier": 0.0}
    for _ in range(rounds):
        for mode, what in (("loop", outgoing), ("classifier", routed)):
            t0 = time.process_time()
            await publisher.send(what)
            cpu[mode] += time.process_time() - t0
    per = {mode: cpu[mode] / (n * rounds) * 1e6 for mode in cpu}
    await real.stop()
    print(f"event-loop CPU per output: partitioned on the loop {per['loop']:.1f} µs, in the classifying process "
          f"{per['classifier']:.1f} µs ({per['classifier'] / per['loop']:.2f} x); partitioning costs the classifying "
          f"process {child:.1f} µs per output")  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000, int(sys.argv[2]) if len(sys.argv) > 2 else 5))
