"""Housekeeping of the embedded broker's S3 storage: delete record batches every consumer group is past.

Tansu 0.6.0 on `s3://BUCKET/` keeps one object per produced batch and never deletes any, and every fetch lists
all the objects of its partition, so a partition's fetch latency grows with its history (docs/performance.md, "The
long run"). Its layout in the bucket (seen on the local stack, docs/performance.md):

    clusters/<cluster>/meta.json                                        topics, producers (never touched here)
    clusters/<cluster>/topics/<topic>/partitions/<p:010>/watermark.json  high watermark (never touched)
    clusters/<cluster>/topics/<topic>/partitions/<p:010>/records/<base offset:020>.batch    one record batch
    clusters/<cluster>/groups/consumers/<group>.json                    group state (never touched)
    clusters/<cluster>/groups/consumers/<group>/offsets/<topic>/partitions/<p:010>.json   {"offset": N, ...}

Tansu answers ListOffsets(earliest) with the first batch left and serves a fetch below it from that batch, so
deleting a prefix of a partition's batches is its retention. A batch is deleted only when it ends at or below the
committed offset of every group that commits on its topic (its end is the next batch's base offset, so the last
batch of a partition is never deleted) and it is older than the retention; only a contiguous prefix goes, so the
log left is always whole from its first batch on. A topic no group commits on keeps everything, and so does one
matching a keep pattern: a group's commit does not say that nobody replays the topic from the start outside any
group (the moderation worker rebuilds its blacklist and credit levels that way, pipeline.gatefeed).
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise
from urllib.parse import urlsplit

import urllib3
from minio import Minio
from minio.datatypes import Object
from minio.deleteobjects import DeleteObject
from minio.error import MinioException

from modpipe.clock import Clock, SystemClock
from modpipe.errors import TransientError
from modpipe.stack.errors import HousekeepingFailed, StackError
from modpipe.stack.s3access import Credentials

# Topic names are [A-Za-z0-9._-] in Kafka; a group id may hold any character, "/" included.
_BATCH = re.compile(r"^clusters/[^/]+/topics/([A-Za-z0-9._-]+)/partitions/(\d+)/records/(\d+)\.batch$")
_OFFSET = re.compile(r"^clusters/[^/]+/groups/consumers/(.+)/offsets/([A-Za-z0-9._-]+)/partitions/(\d+)\.json$")

Partition = tuple[str, int]


@dataclass(frozen=True)
class Batch:
    key: str
    topic: str
    partition: int
    base_offset: int
    modified: datetime  # the S3 server's LastModified: when the broker wrote the batch


@dataclass(frozen=True)
class Committed:
    group: str
    topic: str
    partition: int
    offset: int


@dataclass(frozen=True)
class Pruned:
    topic: str
    partition: int
    deleted: int
    kept: int
    floor: int | None  # the lowest committed offset of the partition's groups; None: no group commits there


def parse_batch(key: str, modified: datetime) -> Batch | None:
    match = _BATCH.match(key)
    if match is None:
        return None
    return Batch(key, match[1], int(match[2]), int(match[3]), modified)


def parse_offset_key(key: str) -> tuple[str, str, int] | None:
    match = _OFFSET.match(key)
    return None if match is None else (match[1], match[2], int(match[3]))


def floors(committed: Iterable[Committed], partitions: Iterable[Partition]) -> dict[Partition, int]:
    """The offset below which no group of a partition's topic needs anything. A group that commits on a topic but
    not (yet) on one of its partitions pins that partition at 0: it will read it from the start or its reset."""
    by_topic: dict[str, set[str]] = {}
    offsets: dict[tuple[str, str, int], int] = {}
    for c in committed:
        by_topic.setdefault(c.topic, set()).add(c.group)
        offsets[(c.group, c.topic, c.partition)] = max(0, c.offset)  # Kafka's -1 (no offset) counts as 0
    result = {}
    for topic, partition in partitions:
        groups = by_topic.get(topic)
        if groups:
            result[(topic, partition)] = min(offsets.get((g, topic, partition), 0) for g in groups)
    return result


def select(batches: Iterable[Batch], floor: int | None, cutoff: datetime) -> list[Batch]:
    """The batches of one partition to delete: the longest prefix (by base offset) of batches that end at or below
    `floor` and were written at or before `cutoff`. The last batch is never chosen (its end is unknown here)."""
    if cutoff.tzinfo is None:
        raise ValueError("cutoff must be timezone-aware")
    if floor is None:
        return []
    ordered = sorted(batches, key=lambda b: b.base_offset)
    chosen = []
    for batch, following in pairwise(ordered):
        if following.base_offset > floor or batch.modified > cutoff:
            break  # a prefix only: a hole below a kept batch would be served as if it were the log's start
        chosen.append(batch)
    return chosen


def plan(
    batches: Iterable[Batch], committed: Iterable[Committed], cutoff: datetime, keep: Iterable[str] = ()
) -> dict[Partition, tuple[list[Batch], int, int | None]]:
    """Per partition: the batches to delete, how many it has, and its floor (None: kept whole, no group or a topic
    matching one of the `keep` patterns)."""
    grouped: dict[Partition, list[Batch]] = {}
    for b in batches:
        grouped.setdefault((b.topic, b.partition), []).append(b)
    patterns = tuple(keep)
    lows = floors(
        (c for c in committed if not any(fnmatch.fnmatchcase(c.topic, pattern) for pattern in patterns)), grouped
    )
    return {tp: (select(found, lows.get(tp), cutoff), len(found), lows.get(tp)) for tp, found in grouped.items()}


class Housekeeper:
    """One pass over the broker's bucket per `run_once`; an S3 failure raises HousekeepingFailed (transient)."""

    def __init__(
        self, client: Minio, bucket: str, retention_s: float, clock: Clock | None = None, keep: Iterable[str] = ()
    ) -> None:
        if retention_s <= 0:
            raise StackError(f"broker retention must be > 0 seconds, got {retention_s}")
        self.client = client
        self.bucket = bucket
        self.retention = timedelta(seconds=retention_s)
        self.clock = clock or SystemClock()
        self.keep = tuple(keep)

    def run_once(self) -> list[Pruned]:
        try:
            # The offsets first: they only grow, so batches listed after them are judged by floors no higher
            # than the true ones.
            committed = list(self._committed())
            batches = list(self._batches())
            cutoff = self.clock.now() - self.retention
            result = []
            for (topic, partition), (doomed, total, floor) in sorted(
                plan(batches, committed, cutoff, self.keep).items()
            ):
                self._delete(doomed)
                result.append(Pruned(topic, partition, len(doomed), total - len(doomed), floor))
            return result
        except (MinioException, urllib3.exceptions.HTTPError, OSError, ValueError, KeyError, TypeError) as exc:
            raise HousekeepingFailed(f"broker housekeeping on bucket {self.bucket}: {exc}") from exc

    def _clusters(self) -> list[str]:
        found = self.client.list_objects(self.bucket, prefix="clusters/")
        return [obj.object_name for obj in found if obj.is_dir and obj.object_name]

    def _committed(self) -> Iterable[Committed]:
        for obj in self._listing("groups/consumers/"):
            found = parse_offset_key(obj.object_name or "")
            if found is None:
                continue
            group, topic, partition = found
            response = self.client.get_object(self.bucket, obj.object_name or "")
            try:
                offset = int(json.loads(response.read())["offset"])
            finally:
                response.close()
                response.release_conn()
            yield Committed(group, topic, partition, offset)

    def _batches(self) -> Iterable[Batch]:
        for obj in self._listing("topics/"):
            if obj.last_modified is None:
                continue  # without a time it cannot be shown old enough
            batch = parse_batch(obj.object_name or "", obj.last_modified)
            if batch is not None:
                yield batch

    def _listing(self, under: str) -> Iterable[Object]:
        for cluster in self._clusters():
            yield from self.client.list_objects(self.bucket, prefix=cluster + under, recursive=True)

    def _delete(self, doomed: list[Batch]) -> None:
        if not doomed:
            return
        errors = list(self.client.remove_objects(self.bucket, [DeleteObject(b.key) for b in doomed]))
        if errors:
            raise HousekeepingFailed(f"{len(errors)} of {len(doomed)} deletes refused, first: {errors[0]}")


def summary(pruned: Iterable[Pruned]) -> str:
    parts = [f"{p.topic}/{p.partition} deleted {p.deleted} kept {p.kept}" for p in pruned if p.deleted]
    return "broker housekeeping: " + ("; ".join(parts) if parts else "nothing to delete")


def run_forever(
    housekeeper: Housekeeper,
    interval_s: float,
    log: Callable[[str], None],
    sleep: Callable[[float], None] = time.sleep,
    passes: int | None = None,
) -> None:
    """A pass every `interval_s` until stopped (or `passes` passes): a failed pass is logged, never fatal."""
    done = 0
    while passes is None or done < passes:
        try:
            log(summary(housekeeper.run_once()))
        except TransientError as exc:
            log(f"broker housekeeping failed, trying again in {interval_s:.0f}s: {exc}")
        done += 1
        if passes is None or done < passes:
            sleep(interval_s)


@contextmanager
def admin_client(endpoint: str, credentials: Credentials) -> Iterator[Minio]:
    """An S3 client at `endpoint` (host:port) with the stack's admin identity (the broker uses the same one); its
    connections are closed on leaving."""
    http = urllib3.PoolManager(timeout=urllib3.Timeout(total=30), retries=urllib3.Retry(2, backoff_factor=0.5))
    try:
        yield Minio(
            endpoint, access_key=credentials.access_key, secret_key=credentials.secret_key, secure=False,
            http_client=http,
        )  # fmt: skip
    finally:
        http.clear()


def main(argv: list[str] | None = None) -> None:
    """The stack's housekeeper process (manager.LocalStack starts it next to the broker)."""
    parser = argparse.ArgumentParser(prog="python -m modpipe.stack.housekeeping")
    parser.add_argument("--bucket", required=True)
    parser.add_argument("--retention-s", type=float, required=True)
    parser.add_argument("--interval-s", type=float, required=True)
    parser.add_argument("--keep", action="append", default=[], help="topics never pruned (fnmatch patterns)")
    args = parser.parse_args(argv)
    clock = SystemClock()

    def log(line: str) -> None:
        print(f"{clock.now().isoformat(timespec='seconds')} {line}", flush=True)

    log(f"broker housekeeping of bucket {args.bucket}: every {args.interval_s:.0f}s, retention "
        f"{args.retention_s:.0f}s, never pruned: {', '.join(args.keep) or 'none'}")  # fmt: skip
    # The S3 server and identity the manager hands the broker as well (LocalStack._env): one source, not its files.
    endpoint = urlsplit(os.environ["AWS_ENDPOINT"]).netloc
    credentials = Credentials(os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"])
    with admin_client(endpoint, credentials) as client:
        run_forever(Housekeeper(client, args.bucket, args.retention_s, clock, args.keep), args.interval_s, log)


if __name__ == "__main__":
    main()
