"""Signed checkpoints of the record store: an RFC 6962 Merkle tree head over every manifest version written so far.

A leaf is one version of an hourly manifest or of a hold record (the manifest of a hold's copies,
retention.hold_history): canonical({"key", "sha256", "version_id"}) with the SHA-256 (hex) of that version's
bytes. Leaves are appended, never reordered: each checkpoint adds the versions no earlier checkpoint holds, sorted
by key and, within a key, oldest version first. So the tree of an older checkpoint is a prefix of every later one,
and an auditor who kept it gets a consistency proof to any later checkpoint, and an inclusion proof for every
manifest and hold record version a bundle names.

checkpoints/<seq, 10 digits>.json          the checkpoint: canonical JSON of its body plus `signature`
checkpoints/<seq, 10 digits>.leaves.jsonl  the leaves it added, one canonical line each, in tree order

Both are locked like a record of the longest retention period, counted from the time they are written. The
byte-exact form is in docs/retention.md, "Signed checkpoints".
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from minio.datatypes import Object

from modpipe.clock import Clock
from modpipe.settings import Settings
from retention import merkle
from retention.checkpoint_keys import SETTING, SigningKey, key_id, verify
from retention.codec import canonical
from retention.dates import iso, longest
from retention.exceptions import CheckpointKeyError, IntegrityError
from retention.hold_history import is_hold_record
from retention.layout import HOLDS, MANIFESTS
from retention.scan import latest_keys
from retention.store import Store

FORMAT = "modpipe-checkpoint/1"
SIGNING_CONTEXT = b"modpipe-checkpoint-v1\x00"
PREFIX = "checkpoints/"
_NAME = re.compile(r"^checkpoints/(\d{10})\.json$")


@dataclass(frozen=True)
class Leaf:
    key: str
    version_id: str | None
    sha256: str  # hex SHA-256 of the manifest version's bytes

    @property
    def line(self) -> bytes:
        return canonical({"key": self.key, "sha256": self.sha256, "version_id": self.version_id})

    @property
    def hash(self) -> bytes:
        return merkle.leaf_hash(self.line)


def checkpoint_key(seq: int) -> str:
    return f"{PREFIX}{seq:010d}.json"


def leaves_key(seq: int) -> str:
    return f"{PREFIX}{seq:010d}.leaves.jsonl"


def body_of(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k != "signature"}


def signed_message(doc: dict[str, Any]) -> bytes:
    return SIGNING_CONTEXT + canonical(body_of(doc))


def digest(doc: dict[str, Any]) -> str:
    """What the next checkpoint's `prev` holds: the SHA-256 (hex) of the stored object, canonical(doc)."""
    return hashlib.sha256(canonical(doc)).hexdigest()


def check_signature(doc: dict[str, Any], public: Ed25519PublicKey, where: str) -> None:
    if doc.get("format") != FORMAT:
        raise IntegrityError(where, f"not a checkpoint of format {FORMAT} (format {doc.get('format')!r})")
    if doc.get("key_id") != key_id(public):
        raise IntegrityError(
            where, f"signed by key {doc.get('key_id')}, not by the public key given ({key_id(public)})"
        )
    try:
        signature = bytes.fromhex(str(doc.get("signature")))
    except ValueError:
        signature = b""
    if not verify(public, signature, signed_message(doc)):
        raise IntegrityError(where, "the Ed25519 signature does not verify (the checkpoint was altered or forged)")


def parse(where: str, data: bytes) -> dict[str, Any]:
    try:
        doc = json.loads(data)
    except ValueError as exc:
        raise IntegrityError(where, f"not JSON ({exc})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("seq"), int) or not isinstance(doc.get("tree_size"), int):
        raise IntegrityError(where, "not a checkpoint (no integer seq and tree_size)")
    return doc


def sequence_numbers(store: Store) -> list[int]:
    return sorted(int(m.group(1)) for k in latest_keys(store, PREFIX) if (m := _NAME.match(k)))


def load(store: Store, seq: int) -> dict[str, Any]:
    key = checkpoint_key(seq)
    found = store.get_if_exists(key)
    if found is None:
        raise IntegrityError(key, "missing (deleted or never written)")
    doc = parse(key, found[0])
    if doc["seq"] != seq:
        raise IntegrityError(key, f"holds the checkpoint of seq {doc['seq']}")
    return doc


def latest(store: Store) -> dict[str, Any] | None:
    seqs = sequence_numbers(store)
    return load(store, seqs[-1]) if seqs else None


def read_leaves(store: Store, upto: dict[str, Any] | None) -> list[Leaf]:
    """Every leaf of the tree of checkpoint `upto` (none without one), rebuilt from the leaf logs and checked
    against its signed tree size and root, so a leaf log altered or missing is named here."""
    if upto is None:
        return []
    leaves: list[Leaf] = []
    for seq in range(1, int(upto["seq"]) + 1):
        key = leaves_key(seq)
        found = store.get_if_exists(key)
        if found is None:
            raise IntegrityError(key, "leaf log missing: the tree cannot be rebuilt")
        leaves.extend(parse_leaf_log(key, found[0]))
    where = checkpoint_key(int(upto["seq"]))
    if len(leaves) != upto["tree_size"]:
        raise IntegrityError(where, f"its leaf logs hold {len(leaves)} leaves, it says tree_size {upto['tree_size']}")
    if merkle.root([leaf.hash for leaf in leaves]).hex() != upto.get("root"):
        raise IntegrityError(where, "its leaf logs do not rebuild its root (a leaf log was altered)")
    return leaves


def parse_leaf_log(key: str, data: bytes) -> list[Leaf]:
    leaves = []
    for n, line in enumerate(data.splitlines(), 1):
        try:
            item = json.loads(line)
            leaf = Leaf(str(item["key"]), item["version_id"], str(item["sha256"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise IntegrityError(key, f"line {n}: not a leaf ({exc})") from None
        if leaf.line != line:
            raise IntegrityError(key, f"line {n}: not in canonical form")
        leaves.append(leaf)
    return leaves


def leaf_versions(store: Store) -> list[tuple[str, str | None]]:
    """Every stored version (delete markers aside) of every hourly manifest and every hold record (the manifest
    of a hold's copies), by key, oldest version first."""
    listed: list[Object] = []
    for prefix in (HOLDS, MANIFESTS):
        found = store.call(
            lambda p=prefix: list(
                store.client.list_objects(store.bucket, prefix=p, recursive=True, include_version=True)
            )
        )
        # holds/ also holds the copies: their hold records list them, so they are not leaves themselves
        listed.extend(o for o in found if prefix == MANIFESTS or is_hold_record(str(o.object_name)))
    by_key: dict[str, list[tuple[int, str | None]]] = {}
    for order, o in enumerate(listed):
        if not o.is_delete_marker and o.object_name is not None:
            by_key.setdefault(o.object_name, []).append((order, o.version_id))
    # S3 lists the versions of a key newest first (ListObjectVersions)
    return [(key, v) for key in sorted(by_key) for _order, v in reversed(by_key[key])]


def _short(key: str, version_id: str | None) -> int:
    return int.from_bytes(hashlib.sha256(f"{key}\0{version_id}".encode()).digest()[:8], "big")


def write_checkpoint(settings: Settings, store: Store, clock: Clock, key: SigningKey) -> dict[str, Any]:
    """Append the manifest versions written since the previous checkpoint, sign the new tree head, store it."""
    prev = latest(store)
    if prev is not None:
        if prev.get("key_id") != key.key_id:
            raise CheckpointKeyError(
                SETTING,
                f"checkpoint {prev['seq']} was signed by key {prev.get('key_id')}, this key is {key.key_id}; "
                "the chain needs the key that signed it (key rotation is not supported)",
            )
        check_signature(prev, key.public, checkpoint_key(int(prev["seq"])))
    known = read_leaves(store, prev)
    # 64-bit digests of (key, version): memory stays small over months of manifest versions
    seen = {_short(leaf.key, leaf.version_id) for leaf in known}
    added = []
    for mkey, version_id in leaf_versions(store):
        if _short(mkey, version_id) in seen:
            continue
        data, _ = store.get(mkey, version_id)
        added.append(Leaf(mkey, version_id, hashlib.sha256(data).hexdigest()))
    seq = int(prev["seq"]) + 1 if prev is not None else 1
    log = b"".join(leaf.line + b"\n" for leaf in added)
    now = clock.now()
    until = longest([s.retention for s in settings.services.values()], now)
    body = {
        "format": FORMAT,
        "bucket": store.bucket,
        "seq": seq,
        "time": iso(now),
        "tree_size": len(known) + len(added),
        "root": merkle.root([leaf.hash for leaf in [*known, *added]]).hex(),
        "prev": digest(prev) if prev is not None else None,
        "leaves": {
            "key": leaves_key(seq),
            "first": len(known),
            "count": len(added),
            "sha256": hashlib.sha256(log).hexdigest(),
        },
        "key_id": key.key_id,
    }
    doc = {**body, "signature": key.sign(SIGNING_CONTEXT + canonical(body)).hex()}
    # the leaves first: a checkpoint never names a leaf log that is not there
    store.put(leaves_key(seq), log, until, clock, "application/jsonl")
    store.put(checkpoint_key(seq), canonical(doc), until, clock, "application/json")
    return doc
