"""The long run of issue 13: one moderation worker streaming N messages (1,000,000 on a quiet machine) through the
local broker. Prints figures; asserts nothing.

In one run, on a fresh local stack:
  1. the ceiling: a bare kafka-python consumer reading a fresh backlog of --ceiling-count messages;
  2. a `modpipe worker --agents moderation` started on empty topics, then a publisher process streaming N messages
     to them (--rate msg/s, 0 = as fast as it can), in chunks so its own memory stays flat;
  3. every --interval seconds: messages done (outputs acknowledged, the worker's counter), the rate over the
     interval and since the start as ratios to the bare consumer, the worker's memory (RSS of the worker and its
     classifier processes) and its consumer lag (modpipe_consumer_lag summed over the input partitions);
  4. once all N are done: the final lag, then the bare consumer again, reading --ceiling-count messages from the
     tail of the now long partitions (fetch cost after N messages of history against the fresh broker's);
  5. a probe before the stream (empty topics) and after it (N messages of history), on the same topics and worker:
     --probe-rate msg/s for --probe-seconds, a reader stamping each arrival against the publish time the message
     carries: publish-to-read of the inputs (one fetch: the broker's own cost) and publish-to-verdict, p50 and p99;
  The moderation outputs (verdicts, takedowns, dead letters) are read and committed throughout by a bare consumer
  group standing in for the pipeline's downstream agents (records, queue, reports): without any group on them the
  broker's housekeeping keeps their whole history, and a fetch that includes one of their partitions lists it all.
  6. on S3 storage, the record-batch objects per partition left in the broker's bucket at the end, with the stack's
     broker housekeeping at --broker-retention / --housekeeping-interval seconds (modpipe.stack.housekeeping).

    .venv/bin/python bench/long_run.py [--count 1000000] [--rate 0] [--interval 10] [--broker-storage s3]
        [--broker-retention 60] [--housekeeping-interval 10]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer, TopicPartition

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_workers import bare_ceiling, launch, settings_for, wait_assigned

from modpipe.settings import Settings, load_settings
from modpipe.stack.environment import stack_overrides
from modpipe.stack.housekeeping import admin_client, parse_batch
from modpipe.stack.manager import BROKER_BUCKET, StackInfo, start_on_free_ports
from pipeline.simulate import simulate

CHUNK = 50_000


def publish(settings: Settings, count: int, rate: float) -> None:
    """`count` messages at `rate` overall, as chunks of distinct message ids (simulate keeps a note per message)."""
    started = time.monotonic()
    sent = 0
    for i in range((count + CHUNK - 1) // CHUNK):
        n = min(CHUNK, count - sent)
        if rate > 0:
            time.sleep(max(0.0, started + sent / rate - time.monotonic()))
        simulate(settings, rate=rate, count=n, seed=100 + i, run=f"long{i}")
        sent += n


def metric(port: int, prefix: str) -> tuple[float, int]:
    """The sum of the metric lines that start with `prefix`, and how many there were."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        lines = [ln for ln in resp.read().decode().splitlines() if ln.startswith(prefix)]
    return sum(float(ln.rsplit(" ", 1)[-1]) for ln in lines), len(lines)


def positions(port: int) -> dict[tuple[str, int], int]:
    """The moderation agent's next offset per input partition (modpipe_consumer_position)."""
    found = {}
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        for line in resp.read().decode().splitlines():
            if line.startswith('modpipe_consumer_position{agent="moderation"'):
                labels = dict(part.split("=", 1) for part in line[line.index("{") + 1 : line.index("}")].split(","))
                key = (labels["topic"].strip('"'), int(labels["partition"].strip('"')))
                found[key] = int(float(line.rsplit(" ", 1)[-1]))
    return found


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants (the worker's classifier processes), in MB."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[-1].split()[1])
            except (OSError, ValueError):
                continue
    family, frontier = {pid}, [pid]
    while frontier:
        parent = frontier.pop()
        for child, ppid in parents.items():
            if ppid == parent and child not in family:
                family.add(child)
                frontier.append(child)
    total_kb = 0
    for member in family:
        try:
            for line in Path(f"/proc/{member}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kb += int(line.split()[1])
        except OSError:
            continue
    return total_kb / 1024


def tail_read(settings: Settings, ends: dict[tuple[str, int], int], count: int) -> float | None:
    """A bare consumer reading the last `count` messages of the partitions in `ends`: msg/s, as `consume` times;
    None when the broker's housekeeping left less than a few batches of them."""
    consumer = KafkaConsumer(
        bootstrap_servers=settings.kafka.servers, enable_auto_commit=False, fetch_max_wait_ms=500,
        max_poll_records=5000,
    )  # fmt: skip
    per_partition = max(1, count // max(1, len(ends)))
    try:
        assigned = [TopicPartition(t, p) for t, p in ends]
        consumer.assign(assigned)
        # The broker's housekeeping may have deleted the start of a partition: read what is left of its tail.
        earliest = consumer.beginning_offsets(assigned)
        end_of = {tp: ends[(tp.topic, tp.partition)] for tp in assigned}
        starts = {tp: min(end_of[tp], max(earliest[tp], end_of[tp] - per_partition)) for tp in assigned}
        want = sum(end_of[tp] - start for tp, start in starts.items())
        if want < min(count, 1000):
            return None
        for tp, start in starts.items():
            consumer.seek(tp, start)
        got, started = 0, None
        deadline = time.monotonic() + 300
        while got < want and time.monotonic() < deadline:
            batch = consumer.poll(timeout_ms=100)
            if batch and started is None:
                started = time.monotonic()
            got += sum(len(records) for records in batch.values())
        return got / (time.monotonic() - (started or time.monotonic()) or 1e-9)
    finally:
        consumer.close()


# The local broker reports end offsets too low after batched writes (design.md), so the reader starts this far
# below them on the verdicts topic and counts only the probe's own messages.
_END_MARGIN = 20_000


def probe(
    settings: Settings, rate: float, seconds: float, run: str, inputs_at: dict[tuple[str, int], int] | None = None
) -> tuple[list[float], list[float]]:
    """Latencies in seconds from publish to a reader's fetch of the input, and from publish to its verdict, for
    messages published at `rate` from now on. The reader starts on the input partitions at `inputs_at` (the
    moderation agent's own positions: exact) or their reported ends, and on the verdicts below their reported ends."""
    topics = settings.kafka.topics
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka.servers, enable_auto_commit=False, fetch_max_wait_ms=25)
    inputs = {t.name for t in topics.inputs()}
    names = [*sorted(inputs), topics.verdicts.name]
    count = int(rate * seconds)
    read: list[float] = []
    verdicts: list[float] = []
    try:
        assigned = [TopicPartition(n, p) for n in names for p in consumer.partitions_for_topic(n) or ()]
        consumer.assign(assigned)
        reported = consumer.end_offsets(assigned)  # resolved now, before the first probe message is published
        for tp in assigned:
            if tp.topic in inputs and inputs_at and (tp.topic, tp.partition) in inputs_at:
                consumer.seek(tp, inputs_at[(tp.topic, tp.partition)])
            else:
                margin = 0 if tp.topic in inputs else _END_MARGIN
                consumer.seek(tp, max(0, reported[tp] - margin))
        own = f"sim-{run}-"
        # A process of its own: a publishing thread would hold the reader's GIL and delay its timestamps.
        publisher = multiprocessing.get_context("spawn").Process(
            target=simulate, args=(settings, rate, count), kwargs={"seed": 11, "run": run, "malformed_share": 0.0}
        )
        publisher.start()
        deadline = time.monotonic() + seconds + 120
        while len(verdicts) < count and time.monotonic() < deadline:
            for tp, records in consumer.poll(timeout_ms=50).items():
                now = time.time()
                for r in records:
                    # The stream before the probe carries malformed messages by design, and the local broker's end
                    # offset can lag its log: the first records read may be some of them, not the probe's.
                    try:
                        value = json.loads(r.value)
                    except ValueError:
                        continue
                    if not isinstance(value, dict):
                        continue
                    message = value if tp.topic in inputs else value.get("message", {})
                    if not str(message.get("message_id", "")).startswith(own) or "sim_sent_at" not in message:
                        continue
                    (read if tp.topic in inputs else verdicts).append(now - message["sim_sent_at"])
        publisher.join()
    finally:
        consumer.close()
    return read, verdicts


def downstream(servers: str, topics: list[str], fetch_max_wait_ms: int) -> None:
    """The pipeline's consumers of the moderation outputs, as one bare group reading and committing (run until
    terminated)."""
    consumer = KafkaConsumer(
        *topics, bootstrap_servers=servers, group_id="bench-long-downstream", auto_offset_reset="earliest",
        enable_auto_commit=True, auto_commit_interval_ms=1000, session_timeout_ms=6000,
        fetch_max_wait_ms=fetch_max_wait_ms, max_poll_records=5000,
    )  # fmt: skip
    while True:
        consumer.poll(timeout_ms=500)


def percentiles(lat: list[float]) -> str:
    if not lat:
        return "n=0"
    ordered = sorted(lat)
    p50 = ordered[len(ordered) // 2] * 1000
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000
    return f"n={len(ordered)} p50={p50:.0f} ms p99={p99:.0f} ms"


def batch_objects(info: StackInfo) -> dict[tuple[str, int], int]:
    """Record-batch objects per partition in the S3 broker's bucket (what each of its fetches lists)."""
    counts: dict[tuple[str, int], int] = {}
    with admin_client(info.s3_endpoint, info.credentials) as client:
        for obj in client.list_objects(BROKER_BUCKET, prefix="clusters/", recursive=True):
            batch = parse_batch(obj.object_name or "", obj.last_modified) if obj.last_modified else None
            if batch is not None:
                counts[(batch.topic, batch.partition)] = counts.get((batch.topic, batch.partition), 0) + 1
    return counts


def long_run(base: dict[str, Any], info: StackInfo, args: argparse.Namespace, ceiling: float, logs: Path) -> None:
    settings, overrides = settings_for(base, "long")
    proc, port = launch(overrides, "long", logs)
    topics = settings.kafka.topics
    readers = multiprocessing.get_context("spawn").Process(
        target=downstream, name="long-downstream", daemon=True,
        args=(settings.kafka.servers, [topics.verdicts.name, topics.takedowns.name, topics.dead_letters.name],
              settings.kafka.fetch_max_wait_ms),
    )  # fmt: skip
    readers.start()
    try:
        # Niced on a loaded machine, the start (the classifying process loads the model, then the group join) has
        # taken over the benches' 120 s.
        wait_assigned([port], sum(t.partitions for t in settings.kafka.topics.inputs()), logs, args.start_timeout)
        idle_mb = tree_rss_mb(proc.pid)
        fresh = probe(settings, args.probe_rate, args.probe_seconds, "probe-start")
        print(f"probe on the fresh broker at {args.probe_rate:,.0f} msg/s: publish-to-read {percentiles(fresh[0])}; "
              f"publish-to-verdict {percentiles(fresh[1])}", flush=True)  # fmt: skip
        time.sleep(2 * settings.kafka.fetch_max_wait_ms / 1000 + 1)  # the probe's last outputs acknowledged
        baseline = int(metric(port, 'modpipe_messages_done_total{agent="moderation"}')[0])
        publisher = multiprocessing.get_context("spawn").Process(
            target=publish, args=(settings, args.count, args.rate), name="long-publisher"
        )
        started = time.monotonic()
        publisher.start()
        print(f"worker ready, idle RSS {idle_mb:.0f} MB; streaming {args.count:,} messages (rate {args.rate or 'max'})")
        print("|   t s |      done | msg/s (interval) | /bare | msg/s (overall) | /bare | RSS MB |   lag |")
        print("|---|---|---|---|---|---|---|---|")
        last_t, last_done, rss = started, 0, [idle_mb]
        deadline = started + args.max_seconds
        finished = 0
        while finished < args.count and time.monotonic() < deadline:
            time.sleep(args.interval)
            now = time.monotonic()
            finished = int(metric(port, 'modpipe_messages_done_total{agent="moderation"}')[0]) - baseline
            lag = int(metric(port, 'modpipe_consumer_lag{agent="moderation"')[0])
            rss.append(tree_rss_mb(proc.pid))
            interval = (finished - last_done) / (now - last_t)
            overall = finished / (now - started)
            row = f"| {now - started:5.0f} | {finished:9,} | {interval:16,.0f} | {interval / ceiling:5.2f} "
            row += f"| {overall:15,.0f} | {overall / ceiling:5.2f} | {rss[-1]:6.0f} | {lag:5} |"
            print(row, flush=True)
            last_t, last_done = now, finished
        elapsed = time.monotonic() - started
        if publisher.is_alive():
            # Out of time (--max-seconds): the stream stops and the worker catches up before the end probe, which
            # is to measure the broker after this much history, not a backlog.
            publisher.terminate()
            publisher.join(30)
            print(f"--max-seconds reached: {finished:,} of {args.count:,} done; stream stopped, draining", flush=True)
            drained = time.monotonic() + 600
            while metric(port, 'modpipe_consumer_lag{agent="moderation"')[0] > 0 and time.monotonic() < drained:
                time.sleep(2)
        publisher.join(60)
        time.sleep(2 * settings.kafka.fetch_max_wait_ms / 1000 + 1)  # the last fetch and the next metrics read
        final_lag, partitions = metric(port, 'modpipe_consumer_lag{agent="moderation"')
        overall = finished / elapsed
        print(f"done {finished:,} of {args.count:,} in {elapsed:.0f}s = {overall:,.0f} msg/s = "
              f"{overall / ceiling:.2f} x the bare consumer; final lag {final_lag:.0f} over {partitions} "
              "partitions")  # fmt: skip
        print(f"worker RSS: idle {idle_mb:.0f} MB, first sample {rss[1]:.0f} MB, peak {max(rss):.0f} MB, "
              f"last {rss[-1]:.0f} MB (last / first = {rss[-1] / rss[1]:.2f})")  # fmt: skip
        ends = positions(port)
        aged = probe(settings, args.probe_rate, args.probe_seconds, "probe-end", inputs_at=ends)
        print(f"probe after {finished:,} messages at {args.probe_rate:,.0f} msg/s: publish-to-read "
              f"{percentiles(aged[0])}; publish-to-verdict {percentiles(aged[1])}")  # fmt: skip
        for what, before, after in (("publish-to-read", fresh[0], aged[0]), ("publish-to-verdict", fresh[1], aged[1])):
            if before and after:
                p99 = [sorted(x)[min(len(x) - 1, int(len(x) * 0.99))] for x in (before, after)]
                print(f"{what} p99 after / fresh: {p99[1] / p99[0]:.2f} (target <= 1.2)")
    finally:
        readers.terminate()
        readers.join(30)
        proc.terminate()
        proc.wait(30)
    tail = tail_read(settings, ends, args.ceiling_count)
    if tail is None:
        print("bare consumer on the tail of the long partitions: nothing left to read (the housekeeping deleted it)")
    else:
        print(f"bare consumer on the tail of the long partitions: {tail:,.0f} msg/s = {tail / ceiling:.2f} x the "
              f"fresh broker's")  # fmt: skip
    if args.broker_storage == "s3":
        counts = batch_objects(info)
        print("record-batch objects per partition at the end (input partitions marked *):")
        for (topic, partition), n in sorted(counts.items()):
            print(f"  {topic}/{partition}{' *' if (topic, partition) in ends else ''}: {n}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--rate", type=float, default=0, help="publish rate, msg/s (0: as fast as possible)")
    parser.add_argument("--interval", type=float, default=10, help="seconds between samples")
    parser.add_argument("--ceiling-count", type=int, default=20_000, help="messages the bare consumer reads")
    parser.add_argument("--max-seconds", type=float, default=6 * 3600, help="give up after this long")
    parser.add_argument("--broker-storage", choices=("s3", "memory"), default="s3")
    parser.add_argument("--probe-rate", type=float, default=200, help="msg/s of the latency probes")
    parser.add_argument("--probe-seconds", type=float, default=20, help="seconds each latency probe publishes")
    parser.add_argument("--broker-retention", type=float, default=60, help="seconds (S3 broker housekeeping)")
    parser.add_argument("--housekeeping-interval", type=float, default=10, help="seconds between its passes")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="more setting overrides")
    parser.add_argument("--start-timeout", type=float, default=600, help="seconds the worker may take to settle")
    args = parser.parse_args()
    positive = ("count", "interval", "broker_retention", "housekeeping_interval", "start_timeout", "ceiling_count",
                "probe_rate", "probe_seconds")  # fmt: skip
    for name in positive:
        if getattr(args, name) <= 0:
            raise SystemExit(f"--{name.replace('_', '-')}: expected a positive number, got {getattr(args, name)}")
    with tempfile.TemporaryDirectory(prefix="modpipe-long-") as tmp:
        home = Path(tmp)
        print(f"broker storage: {args.broker_storage}, {args.count:,} messages")
        print(f"broker housekeeping (S3 only): retention {args.broker_retention:.0f}s, every "
              f"{args.housekeeping_interval:.0f}s")  # fmt: skip
        stack, info = start_on_free_ports(
            home / "stack", broker_storage=args.broker_storage, broker_retention_s=args.broker_retention,
            housekeeping_interval_s=args.housekeeping_interval,
        )  # fmt: skip
        try:
            base = stack_overrides(info)
            base["stack.home"] = str(home / "stack")
            base.update(item.split("=", 1) for item in args.set)
            from classifiers.loading import load_tagger

            load_tagger(load_settings(environ={}, overrides=base))  # trained once here, not inside the timing
            read, seconds = bare_ceiling(base, args.ceiling_count)
            ceiling = read / seconds
            print(f"bare kafka-python consumer, fresh broker: {read} msgs in {seconds:.2f}s = {ceiling:,.0f} msg/s")
            long_run(base, info, args, ceiling, home)
        finally:
            stack.down()


if __name__ == "__main__":
    main()
