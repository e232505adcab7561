"""Stream worker benchmark (issue 4). Prints figures; asserts nothing.

In one run, on a fresh local stack:
  1. ceilings: a bare kafka-python consumer reading a pre-published backlog of N messages from the input topics
     (it only reads), and an aiokafka pass-through (bench/aiokafka_passthrough.py: it reads, writes a 1.5 KB
     record per message with acks=all and commits after the acks, as the worker does, without faust);
  2. a faust worker that does nothing but take batches (faust's own cost), then one worker (moderation agent)
     working through the same kind of backlog, end to end: verdicts acknowledged; with --levers, both once per
     combination of the levers of issue 13 (worker.drain, worker.event_loop, worker.take, worker.commit,
     worker.partition, worker.batch_size 500 or 2000: "bigbatch", worker.batches_ahead: "ahead"), then latency of
     every combination at half the first one's rate;
  3. publish-to-verdict latency (p50, p99) at half the rate measured in 2 (and at --latency-rate), beside the
     publish-to-read latency of a bare consumer reading the inputs at the same rate (the broker's floor);
  4. two workers sharing a backlog twice as long.
With several --broker-storage values, all of it once per storage engine, each on a fresh stack.

    .venv/bin/python bench/pipeline_bench.py [--count 20000] [--broker-storage s3 memory] [--latency-rate 1000]
        [--levers none drain+uvloop+noack drain+uvloop+noack+commit drain+uvloop+noack+partition
                  drain+uvloop+noack+commit+partition]
"""

from __future__ import annotations

import argparse
import itertools
import json
import multiprocessing
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer, TopicPartition

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_workers import (
    bare_ceiling,
    consume,
    done,
    launch,
    outputs,
    settings_for,
    start_passthrough,
    start_worker,
    wait_assigned,
)

from modpipe.settings import load_settings
from modpipe.stack.environment import modpipe_environ, stack_overrides
from modpipe.stack.health import free_port, free_ports
from modpipe.stack.manager import start_on_free_ports
from pipeline.simulate import simulate


def run_script(script: str, overrides: dict[str, Any], args: list[str], name: str, logs: Path) -> float:
    """Run a bench script that writes {"messages": n, "seconds": s} to the file it is given; returns n / s."""
    out = logs / f"{name}.json"
    argv = [sys.executable, str(Path(__file__).with_name(script)), str(out), *args]
    with (logs / f"{name}.log").open("ab") as log:
        proc = subprocess.Popen(argv, env=modpipe_environ(overrides), stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 300
        while not out.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        proc.terminate()
        proc.wait(30)
    if not out.exists():
        raise SystemExit(f"{script} did not finish; see {logs / name}.log")
    result = json.loads(out.read_text())
    return float(result["messages"]) / float(result["seconds"])


def faust_noop(base: dict[str, Any], tag: str, count: int, logs: Path) -> float:
    """faust's own rate on this machine: a worker whose agent only takes batches (bench/faust_noop.py)."""
    settings, overrides = settings_for(base, tag)
    simulate(settings, rate=0, count=count, seed=7, run=tag)
    return run_script("faust_noop.py", overrides, [str(count), str(free_port())], tag, logs)


def passthrough(base: dict[str, Any], count: int, logs: Path) -> float:
    """A Python worker's ceiling: the aiokafka pass-through (bench/aiokafka_passthrough.py)."""
    settings, overrides = settings_for(base, "pass")
    simulate(settings, rate=0, count=count, seed=7, run="pass")
    return run_script("aiokafka_passthrough.py", overrides, [str(count)], "pass", logs)


# The per-event levers of issue 13, each off (faust's own way) or on; a combination is named "drain+uvloop", …
LEVERS: dict[str, tuple[str, str, str]] = {
    "drain": ("worker.drain", "message", "batch"),
    "uvloop": ("worker.event_loop", "asyncio", "uvloop"),
    "noack": ("worker.take", "events", "noack"),
    # only with the batch drain: faust's own drain loop always commits inline
    "commit": ("worker.commit", "inline", "background"),
    "partition": ("worker.partition", "loop", "classifier"),
    # larger take batches, hence larger produce requests per partition (each one a storage write on the broker)
    "bigbatch": ("worker.batch_size", "500", "2000"),
    # the next batch taken only while a classifying process is free for it (off: the default, bounded by
    # worker.max_in_flight_batches alone with one classifying process)
    "ahead": ("worker.batches_ahead", "3", "1"),
}


def lever_overrides(combination: str) -> dict[str, str]:
    on = set() if combination == "none" else set(combination.split("+"))
    unknown = on - set(LEVERS)
    if unknown:
        raise SystemExit(f"--levers: unknown lever(s) {sorted(unknown)} in {combination!r}; expected 'none' or "
                         f"a '+'-joined combination of {sorted(LEVERS)}")  # fmt: skip
    return {key: (yes if name in on else no) for name, (key, no, yes) in LEVERS.items()}


def end_to_end(
    base: dict[str, Any], tag: str, count: int, workers: int, logs: Path, ready_line: str | None = None
) -> float:
    """A backlog of `count`, then the workers, started together. Timed from the moment the group has settled
    (every worker holds partitions, together all of them) until every message's outputs are acknowledged, as the
    workers' own counters tell: reading the outputs while timing would put a second consumer on the same cores.
    What a worker finished before the group settled is left out of the rate. The outputs are counted afterwards."""
    settings, overrides = settings_for(base, tag)
    simulate(settings, rate=0, count=count, seed=7, run=tag)
    started = time.monotonic()
    launched = [launch(overrides, f"{tag}-{i}", logs, port) for i, port in enumerate(free_ports(workers))]
    ports = [port for _, port in launched]
    try:
        wait_assigned(ports, sum(t.partitions for t in settings.kafka.topics.inputs()), logs)
        if ready_line is not None:  # e.g. the gate view read to its end: start-up, not throughput
            while not all(ready_line in (logs / f"{tag}-{i}.log").read_text(errors="replace") for i in range(workers)):
                time.sleep(0.05)
        ready = time.monotonic()
        before = done(ports)
        deadline = ready + 600
        while (finished := done(ports)) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        elapsed = time.monotonic() - ready
        _, got = consume(settings, outputs(settings), count)
    finally:
        for proc, _ in launched:
            proc.terminate()
            proc.wait(30)
    print(
        f"  {workers} worker(s): {finished - before} acknowledged in {elapsed:.2f}s after the group settled "
        f"({before} before, {ready - started:.1f}s start-up); {len(got)} outputs on the topics"
    )
    return (finished - before) / elapsed


_PROBES = itertools.count(1)


def latency(
    base: dict[str, Any], rate: float, seconds: float, logs: Path, *, through: str
) -> tuple[list[float], dict[str, list[float]]]:
    """Publish at a steady rate; a reader stamps each arrival against the publish time the message carries.
    `through` "worker" or "pass" (the aiokafka pass-through): the reader reads the verdicts (two trips through the
    broker); "bare": the inputs themselves (one trip: the floor the broker and the reader set, in the same
    conditions). Through a worker or the pass-through also the stages of each trip (seconds): publish to the
    verdict's decided_at (fetch, the take buffer, the hand-over to the classifying process: the start of its
    batch), decided_at to the verdict record's timestamp (the batch's work, the way back, the publisher's batch
    append) and that timestamp to the reader (produce, ack, the reader's fetch)."""
    worker = through != "bare"
    # Topics of its own for every probe: a reader from the beginning must see only this probe's records.
    settings, overrides = settings_for(base, f"latency-{next(_PROBES)}-{rate:.0f}-{through}")
    proc = None
    if through == "worker":
        proc = start_worker(overrides, "latency", logs)[0]
    elif through == "pass":
        proc = start_passthrough(overrides, logs)
    count = int(rate * seconds)
    lat: list[float] = []
    stages: dict[str, list[float]] = {"to decided": [], "to appended": [], "to read": []}
    # The reader's own fetch wait is part of what it measures: the local broker holds every fetch that long.
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka.servers, enable_auto_commit=False, fetch_max_wait_ms=25)
    topics = settings.kafka.topics
    names = [topics.verdicts.name] if worker else [t.name for t in topics.inputs()]
    try:
        consumer.assign([TopicPartition(n, p) for n in names for p in consumer.partitions_for_topic(n) or ()])
        consumer.seek_to_beginning()
        # A process of its own: a publishing thread would hold the reader's GIL and delay its timestamps.
        publisher = multiprocessing.get_context("spawn").Process(
            target=simulate, args=(settings, rate, count), kwargs={"seed": 9, "run": "lat", "malformed_share": 0.0}
        )
        publisher.start()
        deadline = time.monotonic() + seconds + 60
        while len(lat) < count and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=50).values():
                now = time.time()
                for r in records:
                    value = json.loads(r.value)
                    sent = (value["message"] if worker else value)["sim_sent_at"]
                    lat.append(now - sent)
                    if worker:
                        decided = datetime.fromisoformat(value["decided_at"]).timestamp()
                        stages["to decided"].append(decided - sent)
                        stages["to appended"].append(r.timestamp / 1000 - decided)
                        stages["to read"].append(now - r.timestamp / 1000)
        publisher.join()
    finally:
        consumer.close()
        if proc is not None:
            proc.terminate()
            proc.wait(30)
    return lat, stages


def bar_subjects(base: dict[str, Any], tag: str, barred: int) -> None:
    """Blacklist `barred` accounts that never post, on the measures topic the gate follows; and rate every author
    the simulator posts as (user-0001..0400) at the worst level, on the credit-levels topic, so each message pays
    for its level lookup and the stricter thresholds' second decision."""
    from datetime import UTC, datetime

    from kafka import KafkaProducer

    from measures.levels import CreditLevels, LevelSpan
    from measures.model import CommandAction, MeasureCommand, SubjectRef
    from modpipe.settings.measures import MeasureKind, SubjectType

    settings, _ = settings_for(base, tag)
    producer = KafkaProducer(bootstrap_servers=settings.kafka.servers, acks="all", linger_ms=20)
    now = datetime.now(UTC)
    for i in range(barred):
        subject = SubjectRef(type=SubjectType.ACCOUNT, id=f"barred-{i:06d}")
        command = MeasureCommand(
            key=f"{subject.key}:b{i}", action=CommandAction.APPLY, subject=subject, measure=MeasureKind.BLACKLIST,
            measure_id=f"b{i}", starts_at=now, ends_at=None, reason="bench", decided_by="bench", issued_at=now,
        )  # fmt: skip
        producer.send(settings.kafka.topics.measures.name, command.model_dump_json().encode(), command.key.encode())
    worst = settings.measures.credit.levels[-1].level
    for i in range(1, 401):
        subject = SubjectRef(type=SubjectType.ACCOUNT, id=f"user-{i:04d}")
        rated = CreditLevels(subject=subject, as_of=now, score=0, spans=(LevelSpan(level=worst, starts_at=now),))
        producer.send(settings.kafka.topics.credit_levels.name, rated.model_dump_json().encode(), rated.key)
    producer.flush()
    producer.close()


def gate_runs(base: dict[str, Any], count: int, barred: int, logs: Path) -> None:
    """The moderation agent with the measures gate off, then on, alternated in one run on one stack."""
    rates: dict[str, list[float]] = {"off": [], "on": []}
    for i in range(3):
        for mode in ("off", "on"):
            tag = f"gate-{mode}-{i}"
            if mode == "on":
                bar_subjects(base, tag, barred)
            ready = "gate view ready" if mode == "on" else None
            rate = end_to_end(base | {"measures.gate": mode == "on"}, tag, count, 1, logs, ready)
            rates[mode].append(rate)
            print(f"  gate {mode} (run {i + 1}): {rate:,.0f} msg/s")
    off, on = statistics.median(rates["off"]), statistics.median(rates["on"])
    print(f"moderation agent, median of 3: gate off {off:,.0f} msg/s, gate on ({barred} barred, every author at "
          f"the worst level) {on:,.0f} msg/s "
          f"= {on / off:.3f} x")  # fmt: skip


def latencies(
    base: dict[str, Any], rates: list[float], args: argparse.Namespace, logs: Path, *, passthrough: bool = False
) -> None:
    """Publish-to-verdict through one worker at each rate, beside the bare consumer's publish-to-read (and, with
    `passthrough`, publish-to-record through the aiokafka pass-through) at the same rate."""
    for rate in rates:
        lat, stages = latency(base, rate, args.latency_seconds, logs, through="worker")
        floor, _ = latency(base, rate, args.latency_seconds, logs, through="bare")
        if lat and floor:
            (p50, p99), (f50, f99) = percentiles(lat), percentiles(floor)
            print(
                f"publish-to-verdict at {rate:,.0f} msg/s: n={len(lat)} p50={p50:.0f} ms p99={p99:.0f} ms; "
                f"publish-to-read of the inputs by a bare consumer: p50={f50:.0f} ms p99={f99:.0f} ms"
            )
            print(f"  stages: {stage_line(stages)}")
        if passthrough and lat:
            passed, pass_stages = latency(base, rate, args.latency_seconds, logs, through="pass")
            if passed:
                q50, q99 = percentiles(passed)
                print(f"publish-to-record through the aiokafka pass-through at {rate:,.0f} msg/s: n={len(passed)} "
                      f"p50={q50:.0f} ms p99={q99:.0f} ms; the worker's p99 = {percentiles(lat)[1] / q99:.2f} x "
                      f"the pass-through's (target <= 1.5)")  # fmt: skip
                print(f"  stages: {stage_line(pass_stages)}")


def stage_line(stages: dict[str, list[float]]) -> str:
    return "; ".join(f"{k} p50={a:.0f} ms p99={b:.0f} ms" for k, (a, b) in ((k, percentiles(v)) for k, v in
                                                                            stages.items() if v))  # fmt: skip


def percentiles(lat: list[float]) -> tuple[float, float]:
    ordered = sorted(lat)
    return statistics.median(ordered) * 1000, ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=20000)
    parser.add_argument("--latency-seconds", type=float, default=10)
    parser.add_argument("--latency-rate", type=float, nargs="*", default=[], help="more rates to measure latency at")
    parser.add_argument("--broker-storage", choices=("s3", "memory"), nargs="+", default=["s3"])
    parser.add_argument("--processes", type=int, help="worker.processes (default: the configured value)")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="more setting overrides")
    parser.add_argument("--throughput-only", action="store_true", help="skip the latency and two-worker parts")
    parser.add_argument(
        "--gate", type=int, metavar="BARRED", help="only the moderation agent with its measures gate off and on (with "
        "BARRED subjects blacklisted, none of them posting), alternated, three runs each; then stop",
    )  # fmt: skip
    parser.add_argument(
        "--levers", nargs="*", default=[], metavar="COMBINATION",
        help=f"measure the no-op and the one worker once per combination: 'none' or '+'-joined {sorted(LEVERS)}",
    )  # fmt: skip
    args = parser.parse_args()
    for combination in args.levers:
        lever_overrides(combination)  # a wrong name stops before any stack starts
    for storage in args.broker_storage:
        run(args, storage)


def run(args: argparse.Namespace, storage: str) -> None:
    with tempfile.TemporaryDirectory(prefix="modpipe-bench-") as tmp:
        home = Path(tmp)
        print(f"broker storage: {storage}, {args.count} messages")
        stack, info = start_on_free_ports(home / "stack", broker_storage=storage)
        try:
            base = stack_overrides(info)  # the shipped worker settings
            base["stack.home"] = str(home / "stack")
            if args.processes is not None:
                base["worker.processes"] = args.processes
            base.update(item.split("=", 1) for item in args.set)
            from classifiers.loading import load_tagger

            t0 = time.monotonic()
            load_tagger(load_settings(environ={}, overrides=base))
            print(f"default model ready in {time.monotonic() - t0:.1f}s")

            read, seconds = bare_ceiling(base, args.count)
            ceiling = read / seconds
            print(f"bare kafka-python consumer: {read} msgs in {seconds:.2f}s = {ceiling:,.0f} msg/s")
            ceiling2 = passthrough(base, args.count, home)
            print(
                f"aiokafka pass-through (1.5 KB out per message, acks=all, commit after the acks): "
                f"{ceiling2:,.0f} msg/s = {ceiling2 / ceiling:.2f} x the bare consumer"
            )

            def ratios(rate: float) -> str:
                return f"{rate / ceiling:.2f} x the bare consumer, {rate / ceiling2:.2f} x the pass-through"

            if args.gate is not None:
                gate_runs(base, args.count, args.gate, home)
                return
            if args.levers:
                print(f"levers ({storage}): msg/s, then the ratio to the bare consumer and to the pass-through")
                rows = []
                for combination in args.levers:
                    levers = base | lever_overrides(combination)
                    tag = combination.replace("+", "-")
                    noop = faust_noop(levers, f"noop-{tag}", args.count, home)
                    one = end_to_end(levers, f"one-{tag}", args.count, 1, home)
                    rows.append((combination, noop, one))
                    print(f"  {combination}: no-op faust worker {noop:,.0f} msg/s ({ratios(noop)}); "
                          f"one worker {one:,.0f} msg/s ({ratios(one)})")  # fmt: skip
                print(f"| levers ({storage}) | no-op msg/s | /bare | /pass | worker msg/s | /bare | /pass |")
                print("|---|---|---|---|---|---|---|")
                for combination, noop, one in rows:
                    print(f"| {combination} | {noop:,.0f} | {noop / ceiling:.2f} | {noop / ceiling2:.2f} "
                          f"| {one:,.0f} | {one / ceiling:.2f} | {one / ceiling2:.2f} |")  # fmt: skip
                if not args.throughput_only:
                    # every combination's latency at one rate: half the first one's (list the "before" first)
                    rates = [rows[0][2] / 2, *args.latency_rate]
                    for combination, _, _ in rows:
                        print(f"latency, {combination}:")
                        latencies(base | lever_overrides(combination), rates, args, home)
                return

            noop = faust_noop(base, "noop", args.count, home)
            print(f"faust worker that only takes batches: {noop:,.0f} msg/s = {ratios(noop)}")

            one = end_to_end(base, "one", args.count, 1, home)
            print(f"one worker end to end: {one:,.0f} msg/s = {ratios(one)}, {one / noop:.2f} x the no-op faust worker")

            if args.throughput_only:
                return
            latencies(base, [one / 2, *args.latency_rate], args, home, passthrough=True)

            two = end_to_end(base, "two", 2 * args.count, 2, home)
            print(f"two workers end to end: {two:,.0f} msg/s = {two / one:.2f} x one worker")
        finally:
            stack.down()


if __name__ == "__main__":
    main()
