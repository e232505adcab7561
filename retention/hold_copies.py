"""Hold copies: a hold keeps the held subject's records, not the whole objects they were stored in.

Records objects hold a whole (service, hour, partition) batch, so many users' records share one object. Placing a
hold on an author, a group or a message copies only the records it selects into objects of their own,

    holds/copies/service=<s>/date=YYYY-MM-DD/hour=HH/<hold id>/<original object name>

one per original object, each locked until the latest retention date of the records in it and under an S3 legal
hold until the hold is released. The originals carry no legal hold and expire on their date, with every other
user's records in them.

A copied record is the stored record with its `seq`, `prev` and `hash` moved into `held_from` (with the original
object's key and version), chained anew under the copy's key (retention.codec.seal): the copy verifies on its own
as any object does, and the original record is rebuilt exactly from the copy (drop `held_from`, `seq`, `prev`,
`hash`; put back those of `held_from`), whose SHA-256 is `held_from.hash`. The record's identity
(retention.identity) is that of the original, so an export that finds both counts it once.

The hold record is the copies' manifest: it lists an entry per copy (retention.manifests.Entry: version id,
SHA-256, record count, first and last hash, ...), its versions may only add to what the version before listed
(retention.hold_history), and signed checkpoints take its versions in as leaves, as they take the hourly manifests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import zstandard

from modpipe.clock import Clock
from retention.codec import canonical, decode, seal
from retention.dates import iso, parse_time
from retention.exceptions import StorageError
from retention.layout import HOLDS, RECORDS
from retention.manifests import Entry
from retention.scan import latest_keys, state, versions
from retention.store import Store

COPIES = HOLDS + "copies/"
CHAIN_FIELDS = ("seq", "prev", "hash")

Matches = Callable[[dict[str, Any], set[str]], bool]


@dataclass(frozen=True)
class Selected:
    """The records of one original object (at one version) that a hold selects."""

    key: str
    version_id: str | None
    records: list[dict[str, Any]]


def copy_key(hold_id: str, original: str) -> str:
    folder, name = original.removeprefix(RECORDS).rsplit("/", 1)
    return f"{COPIES}{folder}/{hold_id}/{name}"


def is_copy(key: str) -> bool:
    return key.startswith(COPIES)


def select(store: Store, prefix: str, matches: Matches, is_message: Matches) -> list[Selected]:
    """Every records object under `prefix` (latest versions) with the records `matches` selects. `is_message` picks
    the records whose message ids the decisions follow (a decision carries no author or group)."""
    read: list[tuple[str, str | None, list[dict[str, Any]]]] = []
    for key in latest_keys(store, prefix):
        data, version_id = store.get(key)
        read.append((key, version_id, decode(key, data)))
    ids = {str(r["message_id"]) for _k, _v, records in read for r in records if is_message(r, set())}
    found = []
    for key, version_id, records in read:
        chosen = [r for r in records if matches(r, ids)]
        if chosen:
            found.append(Selected(key, version_id, chosen))
    return found


def as_copied(record: dict[str, Any], original: str, version_id: str | None) -> dict[str, Any]:
    held_from = {"key": original, "version_id": version_id, **{f: record.get(f) for f in CHAIN_FIELDS}}
    return {**{k: v for k, v in record.items() if k not in CHAIN_FIELDS}, "held_from": held_from}


def original_of(copied: dict[str, Any]) -> dict[str, Any]:
    """The record as first stored, rebuilt from its copy (its hash is held_from.hash)."""
    held_from = copied["held_from"]
    rebuilt = {k: v for k, v in copied.items() if k not in (*CHAIN_FIELDS, "held_from", "stored_in")}
    return {**rebuilt, **{f: held_from[f] for f in CHAIN_FIELDS}}


def _latest_date(records: list[dict[str, Any]]) -> datetime | None:
    dates = [d for r in records if (d := parse_time(r.get("retain_until"))) is not None]
    return max(dates) if dates else None


def _entry(key: str, version_id: str | None, sha256: str, sealed: list[dict[str, Any]], sizes: tuple[int, int],
           until: datetime | None) -> Entry:  # fmt: skip
    """A copy's entry in its hold record, as a manifest lists a records object (offsets: the copied records')."""
    first, last = sealed[0], sealed[-1]
    source, end = first.get("source") or {}, last.get("source") or {}
    return Entry(
        key=key, version_id=version_id, kind=str(first.get("kind")), topic=str(source.get("topic")),
        partition=int(source.get("partition") or 0), first_offset=int(source.get("offset") or 0),
        last_offset=int(end.get("offset") or 0), records=len(sealed), bytes=sizes[0], raw_bytes=sizes[1],
        sha256=sha256, first_hash=str(first["hash"]), last_hash=str(last["hash"]),
        retain_until=iso(until) if until is not None else "",
    )  # fmt: skip


def write(store: Store, clock: Clock, hold_id: str, selected: list[Selected]) -> list[Entry]:
    """One locked, legally held copy per original object; the entries of the copies written."""
    compressor = zstandard.ZstdCompressor(level=3)
    written = []
    for item in selected:
        key = copy_key(hold_id, item.key)
        sealed = seal([as_copied(r, item.key, item.version_id) for r in item.records], key)
        body = b"".join(canonical(r) + b"\n" for r in sealed)
        data: bytes = compressor.compress(body)
        until = _latest_date(item.records)
        # locked as long as the latest record in it: once the hold is released, it expires with its records
        stored = store.put(key, data, until, clock, "application/zstd")
        store.call(store.client.enable_object_legal_hold, store.bucket, key, version_id=stored.version_id)
        written.append(_entry(key, stored.version_id, stored.sha256, sealed, (len(data), len(body)), until))
    return written


def set_legal_hold(store: Store, key: str, on: bool) -> None:
    for v in versions(store, key):
        if v.key != key or v.is_delete_marker:
            continue
        action = store.client.enable_object_legal_hold if on else store.client.disable_object_legal_hold
        store.call(action, store.bucket, key, version_id=v.version_id)


def expire(store: Store, keys: list[str], now: datetime) -> list[str]:
    """Delete the versions of released holds' copies whose date has passed (the copies' sweep: the records
    worker's identity may not touch holds/). Versions still under a legal hold or locked stay."""
    deleted = []
    for key in keys:
        for v in versions(store, key):
            if v.key != key or v.is_delete_marker:
                continue
            st = state(store, key, v.version_id)
            if st.legal_hold or (st.retain_until is not None and st.retain_until > now):
                continue
            try:
                store.call(store.client.remove_object, store.bucket, key, version_id=v.version_id)
            except StorageError as exc:
                if exc.code != "AccessDenied":
                    raise
                continue  # the server's lock outlasts our date: a later release or hold tries again
            deleted.append(key)
    return deleted
