"""The stored form of records: canonical JSON lines, chained by SHA-256, compressed with zstd.

The hash chain's stream is one batch object: the records of one (service, hour, source kind, partition) run of
offsets written by one worker, in offset order. The first record's `prev` is a genesis hash derived from the
object's key, so a record moved into another object breaks the chain; every later record's `prev` is the hash of
the record before it. A record's `hash` is the SHA-256 of its canonical JSON without the `hash` field (and without
the `stored_in` field an export adds), so it covers `prev`, its content, its position and its retention date.
Objects are linked into an hour by the hour's manifest (see manifests.py).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Sequence
from typing import Any

import zstandard

from retention.exceptions import IntegrityError

CHAIN_VERSION = "modpipe-chain-v1"
# Fields an export adds around a stored record; they are not part of what the hash covers.
EXPORT_FIELDS = frozenset({"hash", "stored_in"})


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def genesis(key: str) -> str:
    return hashlib.sha256(f"{CHAIN_VERSION}\x00{key}".encode()).hexdigest()


def record_hash(record: dict[str, Any]) -> str:
    return hashlib.sha256(canonical({k: v for k, v in record.items() if k not in EXPORT_FIELDS})).hexdigest()


def seal(records: Sequence[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    """Number and chain the records of one object (their order is the chain's order)."""
    prev = genesis(key)
    sealed = []
    for seq, record in enumerate(records):
        linked = {**record, "seq": seq, "prev": prev}
        linked["hash"] = prev = record_hash(linked)
        sealed.append(linked)
    return sealed


_DATA_SLOT = b'"data":null'


def seal_lines(records: Sequence[tuple[dict[str, Any], bytes]], key: str) -> tuple[list[bytes], str, str]:
    """seal() for the write path, where each value's canonical JSON is already known: the line bytes, the first
    and the last hash. The result is byte for byte what canonical(seal(...)) gives (the data is spliced into the
    slot a null leaves: a top-level key's quotes cannot occur unescaped inside any JSON string)."""
    prev = first = genesis(key)
    lines = []
    for seq, (fields, data_json) in enumerate(records):
        linked = {**fields, "data": None, "seq": seq, "prev": prev}
        body = canonical(linked)
        splice = body.count(_DATA_SLOT) == 1
        if splice:
            body = body.replace(_DATA_SLOT, b'"data":' + data_json, 1)
        else:
            # a field before `data` holds an object with a null `data` of its own (an odd message's author_id):
            # the slot is ambiguous, so this record takes the generic path
            linked["data"] = json.loads(data_json)
            body = canonical(linked)
        digest = hashlib.sha256(body).hexdigest()
        linked["hash"] = digest
        line = canonical(linked)
        lines.append(line.replace(_DATA_SLOT, b'"data":' + data_json, 1) if splice else line)
        if seq == 0:
            first = digest
        prev = digest
    return lines, first, prev


def encode_lines(lines: Iterable[bytes], compressor: zstandard.ZstdCompressor) -> bytes:
    data: bytes = compressor.compress(b"\n".join(lines) + b"\n")
    return data


def encode(records: Iterable[dict[str, Any]], compressor: zstandard.ZstdCompressor) -> bytes:
    body = b"".join(canonical(r) + b"\n" for r in records)
    data: bytes = compressor.compress(body)
    return data


def decode(key: str, data: bytes) -> list[dict[str, Any]]:
    return decode_lines(key, data)[0]


_DECODER = json.JSONDecoder()


def _parse_lines(body: bytes, count: int) -> list[Any] | None:
    """The JSON value of each line, read from the text in one pass, each line exactly one value (None: something
    else, which the line-by-line parse then names). Half the cost of json.loads per line, whose wrappers decode
    the bytes and look for whitespace again for every line."""
    text = body.decode("utf-8")
    values = []
    pos, end = 0, len(text)
    raw_decode = _DECODER.raw_decode
    while pos < end:
        value, stop = raw_decode(text, pos)
        if stop < end and text[stop] != "\n":
            return None
        values.append(value)
        pos = stop + 1
        while pos < end and text[pos] == "\n":  # the empty lines the split skips
            pos += 1
    return values if len(values) == count else None


def decode_lines(key: str, data: bytes) -> tuple[list[dict[str, Any]], list[bytes]]:
    """The records of an object and their lines as stored."""
    try:
        body = zstandard.ZstdDecompressor().decompress(data, max_output_size=1 << 31)
        lines = [line for line in body.split(b"\n") if line]
        try:
            fast = _parse_lines(body, len(lines))
        except ValueError:
            fast = None
        records = fast if fast is not None else [json.loads(line) for line in lines]
    except (zstandard.ZstdError, ValueError) as exc:
        raise IntegrityError(key, f"not a readable zstd JSON Lines object ({exc})") from exc
    if not all(isinstance(r, dict) for r in records):
        raise IntegrityError(key, "a line that is not a JSON object")
    return records, lines


def verify_lines(key: str, records: Sequence[dict[str, Any]], lines: Sequence[bytes]) -> None:
    """verify_chain() on the stored bytes: a record's hash is the SHA-256 of its line without the `hash` field,
    which is what the writer hashed when the line is canonical; a line that is not canonical (re-serialised by
    anyone else) fails, as it should."""
    prev = genesis(key)
    for seq, (record, line) in enumerate(zip(records, lines, strict=True)):
        if record.get("seq") != seq:
            raise IntegrityError(key, f"record {seq}: sequence number {record.get('seq')!r}, expected {seq}")
        if record.get("prev") != prev:
            raise IntegrityError(key, f"record {seq}: chain broken (prev does not match the record before it)")
        digest = str(record.get("hash"))
        body = line.replace(b'"hash":"' + digest.encode() + b'",', b"", 1)
        if body == line or hashlib.sha256(body).hexdigest() != digest:
            raise IntegrityError(key, f"record {seq}: content does not match its hash (altered)")
        prev = digest


def verify_chain(key: str, records: Sequence[dict[str, Any]]) -> None:
    """Every record's hash recomputes and links to the one before it, starting at the key's genesis."""
    prev = genesis(key)
    for seq, record in enumerate(records):
        if record.get("seq") != seq:
            raise IntegrityError(key, f"record {seq}: sequence number {record.get('seq')!r}, expected {seq}")
        if record.get("prev") != prev:
            raise IntegrityError(key, f"record {seq}: chain broken (prev does not match the record before it)")
        if record.get("hash") != record_hash(record):
            raise IntegrityError(key, f"record {seq}: content does not match its hash (altered)")
        prev = record["hash"]


def sha256_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()
