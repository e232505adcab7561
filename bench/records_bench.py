"""Records benchmark (issue 5). Prints figures; asserts nothing.

In one run, on a fresh S3 server (SeaweedFS, object lock, as in the local stack):
  1. write: records per second through one RecordSink, the way the records agent drives it (add a take-batch of
     settings.records.batch_max_records values, then flush), with verdicts spread over 4 services and 4 partitions;
  2. storage: stored bytes per record against the raw JSON of the verdicts;
  3. read: `audit export` of the whole window (the version history of every manifest and object checked, every
     object verified against its manifest, every chain recomputed, records.jsonl written) against a plain read of
     the same objects (GET + zstd decompress + json.loads per line), and the version-history checks on their own;
  4. checkpoints: a signed checkpoint over every manifest version of the run, a second one with nothing new, and
     the proof of the exported bundle against the first (`audit verify --checkpoint`).

    .venv/bin/python bench/records_bench.py [--count 200000] [--keep]

The issue asks for a 1,000,000-record window: `--count 1000000` runs it (about 5-10 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import copy
import cProfile
import json
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import zstandard

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from modpipe.clock import FixedClock
from modpipe.settings import Settings, load_settings
from modpipe.stack import s3access
from modpipe.stack.environment import stack_overrides
from modpipe.stack.health import free_port
from modpipe.stack.manager import LocalStack
from retention import RecordSink
from retention.checkpoint import write_checkpoint
from retention.exports import export
from retention.scan import latest_keys
from retention.store import Store, init_bucket

SERVICES = ("bbs", "comment", "group", "public_account")
TEXTS = (
    "今天的新闻评论区很热闹，大家都在讨论天气和交通。",
    "群里有人转发了一条未经证实的消息，请大家注意辨别。",
    "这篇公众号文章介绍了本地的美食和旅游景点，值得一看。",
    "Forum thread about the new metro line, with photos and a map link.",
)


def template() -> dict[str, Any]:
    return {
        "verdict_id": "0" * 32, "message_id": "", "action": "pass", "categories": {"C6": 0.02, "C7": 0.01},
        "flagged": [], "hits": [], "sub_labels": {}, "model_version": "tfidf-lr-2026.11", "lexicon_version":
        "seed-2026.11", "policy_version": "p-2026.11", "decided_by": "machine", "decided_at": "", "service_type": "",
        "source": {"topic": "posts", "partition": 0, "offset": 0},
        "message": {"message_id": "", "service_type": "", "kind": "post", "text": "", "published_at": "",
                    "author_id": "", "source_ip": "203.0.113.7", "platform": "bench"},
    }  # fmt: skip


def make(base: dict[str, Any], i: int, at: datetime) -> dict[str, Any]:
    v = copy.deepcopy(base)
    service = SERVICES[i % 4]
    mid = f"bench-{i:09d}"
    v["message_id"] = v["message"]["message_id"] = mid
    v["service_type"] = v["message"]["service_type"] = service
    v["message"]["text"] = f"{TEXTS[i % 4]} #{i}"
    v["message"]["published_at"] = at.isoformat()
    v["message"]["author_id"] = f"user-{i % 5000}"
    if service == "group":
        v["message"]["group_id"] = f"group-{i % 300}"
    v["decided_at"] = (at + timedelta(milliseconds=40)).isoformat()
    v["source"]["offset"] = i
    return v


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=200_000, help="records to write and export")
    parser.add_argument("--hours", type=int, default=6, help="the window the records' published_at spans")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (S3 data, export)")
    parser.add_argument("--profile", type=Path, help="write a cProfile of the export to this file (pstats)")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="records-bench-"))
    stack = LocalStack(home / "stack", free_port(), free_port(), free_port(), broker_storage="memory")
    # only the S3 server is needed here: start just that one (the stack's own start-up, minus Kafka and ES)
    creds = stack.credentials()
    # what `stack up` prepares before weed starts: its identities file and the JWT keys of its internal ports
    s3access.owner_only(stack.home)
    s3access.write_s3_config(stack.home, creds, s3access.identities(stack.home))
    s3access.ensure_security(stack.home)
    stack._ensure_weed_ports()
    stack._save_ports()
    stack._start_if_needed("s3", creds, print)
    stack._wait("s3", creds)
    try:
        run(args, stack, home)
    finally:
        stack.down()
        if not args.keep:
            import shutil

            shutil.rmtree(home, ignore_errors=True)


def run(args: argparse.Namespace, stack: LocalStack, home: Path) -> None:
    info = stack.info()
    settings = load_settings(environ={}, overrides=stack_overrides(info, **{"s3.records_bucket": "bench-records"}))
    with Store(settings) as store:
        init_bucket(store)
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=args.hours)
    step = timedelta(hours=args.hours) / args.count
    batch = settings.records.batch_max_records
    base = template()
    topic = settings.kafka.topics.verdicts.name
    print(f"records: {args.count} over {args.hours} h, take-batch {batch}, 4 services, 4 partitions")

    raw_bytes = 0
    objects = 0
    write_s = 0.0
    with RecordSink(settings, clock=FixedClock(datetime.now(UTC)), worker_id="bench-1") as sink:
        for first in range(0, args.count, batch):
            values = [make(base, i, start + step * i) for i in range(first, min(first + batch, args.count))]
            raw_bytes += sum(len(json.dumps(v, ensure_ascii=False).encode()) for v in values)
            began = time.perf_counter()
            for i, v in enumerate(values, first):
                sink.add(v, topic=topic, partition=i % 4, offset=i)
            objects += len(sink.flush())
            write_s += time.perf_counter() - began
    print(f"write:  {args.count / write_s:,.0f} records/s through one sink ({write_s:.1f} s, {objects} objects, "
          f"{args.count / objects:,.0f} records per object)")  # fmt: skip

    with Store(settings) as store:
        keys = latest_keys(store, "records/")
        began, cpu_began = time.perf_counter(), time.process_time()
        stored = 0
        lines = 0
        decompressor = zstandard.ZstdDecompressor()
        for key in keys:
            data, _ = store.get(key)
            stored += len(data)
            for line in decompressor.decompress(data).splitlines():
                json.loads(line)
                lines += 1
        plain_s, plain_cpu = time.perf_counter() - began, time.process_time() - cpu_began
        listed = list(store.client.list_objects(store.bucket, "manifests/", recursive=True, include_version=True))
        manifest_bytes = sum(o.size or 0 for o in listed)
        print(f"storage: {stored / args.count:,.0f} bytes stored per record (envelope and hash chain included) vs "
              f"{raw_bytes / args.count:,.0f} bytes of raw JSON: {raw_bytes / stored:.1f}x smaller; manifests: "
              f"{len(listed)} versions, {manifest_bytes / args.count:,.1f} bytes per record more")  # fmt: skip
        out = home / "export"
        profiler = cProfile.Profile() if args.profile else None
        rss_before = peak_rss_gb()
        began, cpu_began = time.perf_counter(), time.process_time()
        if profiler is not None:
            profiler.enable()
        manifest = export(settings, store, start, start + timedelta(hours=args.hours), out)
        export_s, export_cpu = time.perf_counter() - began, time.process_time() - cpu_began
        rss_after = peak_rss_gb()
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(args.profile)
        history_s, manifest_versions = history_checks(store, start, args.hours)
        checkpoints(settings, store, home, args.hours, out)
    exported = manifest["counts"]["records"]
    print(f"read:   plain read of {len(keys)} objects ({lines} records, GET + decompress + parse): {plain_s:.1f} s, "
          f"{lines / plain_s:,.0f} records/s")  # fmt: skip
    print(f"        audit export of the same window ({exported} records, verified, written to records.jsonl "
          f"{manifest['files']['records.jsonl']['bytes'] / 1e6:,.0f} MB): {export_s:.1f} s, "
          f"{exported / export_s:,.0f} records/s, {export_s / plain_s:.1f}x the plain read; CPU time of this "
          f"process {export_cpu:.1f} s vs {plain_cpu:.1f} s: {export_cpu / plain_cpu:.1f}x (steadier than wall "
          "time when others share the cores)")  # fmt: skip
    print(f"        of which the version-history checks (listings of every hour, {manifest_versions} manifest "
          f"versions read and compared, object versions by ETag): {history_s:.2f} s")  # fmt: skip
    # the peak only grows: a higher peak after the export is the export's own, an equal one means it stayed below
    print(f"        peak RSS of this process: {rss_before:.2f} GB before the export, {rss_after:.2f} GB after it")


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux


def history_checks(store: Store, start: datetime, hours: int) -> tuple[float, int]:
    """The version-history part of the export on its own: what reading histories adds to a plain verified read."""
    from retention.audit import services_in
    from retention.history import histories, manifest_history, object_tamper
    from retention.layout import MANIFESTS, RECORDS, hour_path
    from retention.layout import hours as hours_of

    began = time.perf_counter()
    read = 0
    for hour in hours_of(start, start + timedelta(hours=hours)):
        for service in services_in(store):
            path = hour_path(service, hour)
            for history in histories(store, MANIFESTS + path).values():
                read += len(manifest_history(store, history).versions)
            for history in histories(store, RECORDS + path).values():
                assert object_tamper(store, history)[0] is None
    return time.perf_counter() - began, read


def checkpoints(settings: Settings, store: Store, home: Path, hours: int, out: Path) -> None:
    from retention.checkpoint_keys import generate, load_public_key, load_signing_key
    from retention.checkpoint_verify import prove_bundle

    pub, _key_id = generate(home / "checkpoint.key")
    key = load_signing_key(settings.model_copy(update={"records": settings.records.model_copy(
        update={"checkpoint_key_file": home / "checkpoint.key"})}))  # fmt: skip
    clock = FixedClock(datetime.now(UTC))
    began = time.perf_counter()
    first = write_checkpoint(settings, store, clock, key)
    first_s = time.perf_counter() - began
    began = time.perf_counter()
    write_checkpoint(settings, store, clock, key)
    again_s = time.perf_counter() - began
    began = time.perf_counter()
    proof = prove_bundle(out, store, first, load_public_key(pub, "--public-key"), "bench")
    prove_s = time.perf_counter() - began
    print(f"checkpoint: first over {first['tree_size']} manifest versions ({hours} h of records): {first_s:.2f} s "
          f"({first_s / hours:.2f} s per hour of records); the next, nothing new: {again_s:.2f} s; proving the "
          f"export ({proof.manifests} manifests, {proof.objects} objects) against it: {prove_s:.2f} s")  # fmt: skip


if __name__ == "__main__":
    main()
