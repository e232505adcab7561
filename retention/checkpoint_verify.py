"""Proving a bundle against a checkpoint an auditor kept from earlier (`modpipe audit verify DIR --checkpoint FILE`).

1. The kept checkpoint's signature verifies with the operator's public key, and it is a checkpoint of this bucket.
2. The store's checkpoints from the kept one's seq to the latest form a chain: each signed by the same key, each
   `prev` the digest of the one before, the first byte-identical to the kept one.
3. The latest tree is consistent with the kept one (RFC 6962 consistency proof): the history the auditor's
   checkpoint covered was not rewritten.
4. Every manifest and hold record version the bundle read is a leaf of that tree (inclusion proof against the kept
   head when the kept tree holds it, else against the latest head), and its bytes in S3 match the leaf's SHA-256.
5. A manifest version written after the kept checkpoint, of a manifest whose earlier version the kept tree holds,
   must list every object of that earlier version unchanged: a manifest replaced by a consistent forgery is named.
   The same for a hold record and the copies it lists.
6. Every object the bundle read is the version and the bytes its proved manifest (for a hold copy: its proved
   hold record) lists.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from modpipe.settings import Settings
from retention import hold_history, manifests, merkle
from retention.checkpoint import (
    PREFIX,
    Leaf,
    check_signature,
    checkpoint_key,
    digest,
    latest,
    load,
    parse,
    read_leaves,
)
from retention.checkpoint_keys import load_public_key, public_path
from retention.exceptions import CheckpointKeyError, IntegrityError
from retention.hold_copies import is_copy
from retention.hold_history import is_hold_record
from retention.manifests import Entry
from retention.store import Store


@dataclass(frozen=True)
class CheckpointProof:
    kept_seq: int
    kept_tree_size: int
    latest_seq: int
    latest_tree_size: int
    manifests: int  # manifest versions of the bundle proved to be leaves
    written_after: int  # of those, written after the kept checkpoint (each checked as an append-only extension)
    objects: int  # objects of the bundle tied to a proved manifest


def as_hex(value: object) -> str:
    """A digest from a bundle of format /2 (hex) or /1 and the S3 manifests (base64), as hex."""
    text = str(value)
    if len(text) == 64 and all(c in "0123456789abcdef" for c in text):
        return text
    try:
        return base64.b64decode(text, validate=True).hex()
    except (binascii.Error, ValueError):
        return text


def _chain(store: Store, kept: dict[str, Any], public: Ed25519PublicKey, where: str) -> dict[str, Any]:
    newest = latest(store)
    if newest is None:
        raise IntegrityError(PREFIX, "no checkpoint is stored in this bucket")
    if newest["seq"] < kept["seq"]:
        raise IntegrityError(
            checkpoint_key(int(newest["seq"])),
            f"the latest stored checkpoint is older than the kept one ({kept['seq']}): checkpoints were removed",
        )
    previous = load(store, int(kept["seq"]))
    if digest(previous) != digest(kept):
        raise IntegrityError(
            checkpoint_key(int(kept["seq"])),
            f"the stored checkpoint differs from the kept one ({where}): forked history",
        )
    for seq in range(int(kept["seq"]) + 1, int(newest["seq"]) + 1):
        doc = newest if seq == newest["seq"] else load(store, seq)
        key = checkpoint_key(seq)
        check_signature(doc, public, key)
        if doc.get("prev") != digest(previous) or doc["tree_size"] < previous["tree_size"]:
            raise IntegrityError(key, f"does not follow checkpoint {seq - 1} (prev digest or tree size)")
        previous = doc
    return newest


def _entries(store: Store, leaf: Leaf) -> dict[str, Entry]:
    data, _ = store.get(leaf.key, leaf.version_id)
    if hashlib.sha256(data).hexdigest() != leaf.sha256:
        raise IntegrityError(leaf.key, f"version {leaf.version_id}: stored bytes differ from its checkpoint leaf")
    if is_hold_record(leaf.key):  # the manifest of a hold's copies
        return hold_history.parse(leaf.key, data)[1]
    return manifests.parse(leaf.key, data)


def _extends(later: dict[str, Entry], earlier: dict[str, Entry]) -> str | None:
    """What an earlier manifest version lists that the later one lost or changed (None: append-only)."""
    for key, entry in sorted(earlier.items()):
        now = later.get(key)
        if now is None:
            return f"object {key} is no longer listed"
        if now != entry:
            changed = [f for f in Entry.__dataclass_fields__ if getattr(now, f) != getattr(entry, f)]
            return f"object {key} changed ({', '.join(changed)}: version {entry.version_id} -> {now.version_id})"
    return None


def prove_bundle(
    folder: Path, store: Store, kept: dict[str, Any], public: Ed25519PublicKey, where: str
) -> CheckpointProof:
    """Raises IntegrityError naming the checkpoint, manifest or object that fails; `where` names the kept file."""
    check_signature(kept, public, where)
    if kept.get("bucket") != store.bucket:
        raise IntegrityError(where, f"a checkpoint of bucket {kept.get('bucket')!r}, not of {store.bucket!r}")
    newest = _chain(store, kept, public, where)
    leaves = read_leaves(store, newest)
    hashes = [leaf.hash for leaf in leaves]
    old_size, new_size = int(kept["tree_size"]), int(newest["tree_size"])
    old_root, new_root = bytes.fromhex(str(kept["root"])), bytes.fromhex(str(newest["root"]))
    if not merkle.verify_consistency(
        old_size, new_size, old_root, new_root, merkle.consistency_proof(old_size, hashes)
    ):
        raise IntegrityError(
            checkpoint_key(int(newest["seq"])),
            f"its tree is not consistent with the kept checkpoint {kept['seq']}: the history it covered was rewritten",
        )
    index = {leaf.line: i for i, leaf in enumerate(leaves)}
    covered = {leaf.key: leaf for leaf in leaves[:old_size]}  # each manifest's latest version the kept tree holds
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    proved: dict[str, dict[str, Entry]] = {}
    after = 0
    for read in [*manifest.get("manifests_read", []), *manifest.get("holds_read", [])]:
        leaf = Leaf(str(read["key"]), read.get("version_id"), as_hex(read.get("sha256")))
        i = index.get(leaf.line)
        if i is None:
            raise IntegrityError(
                leaf.key,
                f"version {leaf.version_id} with that SHA-256 is in no checkpoint up to {newest['seq']} (written "
                "after the latest checkpoint, or not the version stored): write a checkpoint and verify again",
            )
        tree, head = (hashes[:old_size], old_root) if i < old_size else (hashes, new_root)
        if not merkle.verify_inclusion(i, len(tree), hashes[i], merkle.inclusion_proof(i, tree), head):
            raise IntegrityError(leaf.key, f"version {leaf.version_id}: inclusion proof fails")
        entries = _entries(store, leaf)
        if i >= old_size:
            after += 1
            earlier = covered.get(leaf.key)
            if earlier is not None:
                lost = _extends(entries, _entries(store, earlier))
                if lost is not None:
                    raise IntegrityError(
                        leaf.key,
                        f"version {leaf.version_id}, written after checkpoint {kept['seq']}, is not an append-only "
                        f"extension of version {earlier.version_id} that checkpoint covers: {lost}",
                    )
        proved[leaf.key] = entries
    for obj in manifest.get("objects_read", []):
        key, listing = str(obj["key"]), obj.get("manifest")
        entry = proved.get(str(listing), {}).get(key) if listing is not None else None
        if entry is None and is_copy(key) and listing is None:
            raise IntegrityError(
                key, "a hold copy its hold record does not list (a hold placed before hold records listed their "
                "copies, or a copy written around the hold): it cannot be proved against a checkpoint",
            )  # fmt: skip
        if entry is None:
            raise IntegrityError(key, f"not listed by a manifest the checkpoint proves (manifest {listing})")
        if entry.version_id != obj.get("version_id") or as_hex(entry.sha256) != as_hex(obj.get("sha256")):
            raise IntegrityError(key, f"not the version and bytes that manifest {listing} lists")
    return CheckpointProof(
        int(kept["seq"]), old_size, int(newest["seq"]), new_size, len(proved), after,
        len(manifest.get("objects_read", [])),
    )  # fmt: skip


def prove_file(
    settings: Settings, store: Store, folder: Path, kept_file: Path, public_key_file: Path | None
) -> CheckpointProof:
    """prove_bundle for `audit verify DIR --checkpoint FILE [--public-key FILE]`; the public key defaults to the
    .pub next to records.checkpoint_key_file."""
    try:
        data = kept_file.read_bytes()
    except OSError as exc:
        raise CheckpointKeyError("--checkpoint", f"{kept_file}: cannot be read ({exc.strerror})") from None
    try:
        kept = parse(str(kept_file), data)
    except IntegrityError:
        raise CheckpointKeyError(
            "--checkpoint", f"{kept_file}: not a checkpoint (the JSON `modpipe audit checkpoint` prints)"
        ) from None
    if public_key_file is not None:
        public = load_public_key(public_key_file, "--public-key")
    elif settings.records.checkpoint_key_file is not None:
        public = load_public_key(
            public_path(settings.records.checkpoint_key_file), "--public-key (default: records.checkpoint_key_file.pub)"
        )
    else:
        raise CheckpointKeyError("--public-key", "required: the operator's checkpoint public key (FILE.pub of keygen)")
    return prove_bundle(folder, store, kept, public, str(kept_file))
