"""The checks `bundle.verify` makes of a bundle's parts: a record line against its hash, a record's place in its
object's chain, the objects an unfiltered export must hold whole, the version histories of what was read, and the
access log lines (docs/retention.md, The auditor's export)."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path
from typing import Any

from retention.codec import canonical, genesis, record_hash
from retention.dates import parse_time
from retention.exceptions import IntegrityError
from retention.history import History, histories, manifest_history, object_tamper
from retention.hold_history import hold_history
from retention.layout import hour_of
from retention.store import Store


def hash_matches(line: bytes, record: dict[str, Any]) -> bool:
    """A record line of an export is the stored line with `stored_in` spliced in before its closing brace: take
    it out again and check the stored bytes' hash; a line in any other form is re-serialised and checked by
    content."""
    digest = str(record.get("hash"))
    suffix = b',"stored_in":' + canonical(record.get("stored_in") or {}) + b"}"
    stripped = line.rstrip(b"\r\n")
    if stripped.endswith(suffix):
        stored = stripped[: -len(suffix)] + b"}"
        body = stored.replace(b'"hash":"' + digest.encode() + b'",', b"", 1)
        if body != stored and hashlib.sha256(body).hexdigest() == digest:
            return True
    return digest == record_hash(record)


def position(key: str, line_no: int, record: dict[str, Any], read: dict[str, Any]) -> tuple[int, str]:
    """A record's place in its object: a sequence number the object has, the genesis link at 0, and the object's
    first and last hash where the bundle holds its first or last record (a last record altered with its hash
    recomputed has no successor whose link would break)."""
    seq, prev = record.get("seq"), str(record.get("prev"))
    where = f"records.jsonl line {line_no}"
    if not isinstance(seq, int) or isinstance(seq, bool) or not 0 <= seq < read["records"]:
        raise IntegrityError(key, f"{where}: sequence number {seq!r} outside the object's {read['records']} records")
    if seq == 0 and (prev != genesis(key) or record.get("hash") != read["first_hash"]):
        raise IntegrityError(key, f"{where}: first record does not start the key's chain or the object's first hash")
    if seq == read["records"] - 1 and record.get("hash") != read["last_hash"]:
        raise IntegrityError(key, f"{where}: last record's hash differs from the object's last hash in manifest.json")
    return seq, prev


def whole_objects(manifest: dict[str, Any]) -> list[str]:
    """The objects an export must hold completely: in an export without --author/--group, an object whose hour
    lies wholly inside the window has every record in the window, so each is in the bundle or a listed copy."""
    query = manifest.get("query") or {}
    if query.get("command") != "audit export" or query.get("author") or query.get("group"):
        return []
    start, end = parse_time(query.get("from")), parse_time(query.get("to"))
    if start is None or end is None:
        return []
    whole = []
    for read in manifest["objects_read"]:
        place = hour_of(str(read["key"]))
        if place is not None and start <= place[1] and place[1] + timedelta(hours=1) <= end:
            whole.append(str(read["key"]))
    return whole


def short(hex_hash: str) -> int:
    try:
        return int(hex_hash[:16], 16)
    except ValueError:
        return -1


def check_histories(store: Store, manifest: dict[str, Any]) -> None:
    """The version history of every object and manifest the bundle read: no version of an object that differs
    in content, no manifest version that is not an append-only extension of the one before."""
    folders: dict[str, dict[str, History]] = {}

    def history(key: str) -> History | None:
        folder = key.rsplit("/", 1)[0] + "/"
        if folder not in folders:
            folders[folder] = histories(store, folder)
        return folders[folder].get(key)

    for entry in manifest.get("manifests_read") or []:
        found = history(str(entry["key"]))
        tamper = manifest_history(store, found).tamper if found is not None else None
        if tamper is not None:
            raise IntegrityError(tamper.object, "; ".join([tamper.problem, *tamper.differs]))
    for entry in manifest.get("holds_read") or []:  # the hold records listing the copies read
        found = history(str(entry["key"]))
        tamper = hold_history(store, found).tamper if found is not None else None
        if tamper is not None:
            raise IntegrityError(tamper.object, "; ".join([tamper.problem, *tamper.differs]))
    for read in manifest["objects_read"]:
        found = history(str(read["key"]))
        tamper = object_tamper(store, found)[0] if found is not None else None
        if tamper is not None:
            raise IntegrityError(tamper.object, "; ".join([tamper.problem, *tamper.differs]))


def access_lines(out: Path, manifest: dict[str, Any]) -> int:
    """access.jsonl: line i holds the stored bytes of access_read[i] (its file digest is checked with the rest)."""
    read = manifest.get("access_read")
    if read is None:
        return 0
    if "access.jsonl" not in manifest["files"]:
        raise IntegrityError(str(out / "manifest.json"), "access_read without access.jsonl in files")
    body = (out / "access.jsonl").read_bytes()
    lines = body.split(b"\n")
    if lines[-1] != b"" or len(lines) - 1 != len(read):
        raise IntegrityError(str(out / "access.jsonl"), f"{len(lines) - 1} lines, access_read has {len(read)}")
    for i, (line, entry) in enumerate(zip(lines, read, strict=False), 1):
        if hashlib.sha256(line).hexdigest() != entry["sha256"]:
            raise IntegrityError(str(entry["key"]), f"access.jsonl line {i}: SHA-256 differs from access_read")
    return len(read)
