"""The verifiable bundle an export or a report writes, and the check that re-verifies one on its own.

DIR/records.jsonl   one stored record per line (as stored, plus `stored_in`: the object key and version read)
DIR/records.csv     on request: a flat view for spreadsheets (not covered by record hashes; its file hash is)
DIR/README.md       what the files and fields are and how to verify them by hand (Chinese and English)
DIR/manifest.json   the query, counts, the manifests and object versions read, and the SHA-256 of every file

Every digest in a bundle is lowercase hex; the byte-exact format is docs/record-format.md.
"""

from __future__ import annotations

import base64
import binascii
import csv
import hashlib
import json
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from retention import bundle_checks as checks
from retention.audit import Collected
from retention.bundle_files import CSV_HEADER, Names, csv_row, prepare, readme
from retention.codec import canonical, decode, sha256_b64
from retention.exceptions import IntegrityError, TamperDetected
from retention.identity import record_identity
from retention.store import Store

FORMAT = "modpipe-audit-bundle/2"
TAMPER_REPORT = "tamper-report.json"
TAMPERED = "tampered"
# /1 kept the objects' and manifests' SHA-256 in base64 (as S3 does); /2 writes every digest in hex
FORMATS = frozenset({"modpipe-audit-bundle/1", FORMAT})
WINDOW_NOTE = (
    "[from, to): `from` inclusive, `to` exclusive; a verdict counts at its message's published_at, a decision at "
    "its decided_at (UTC)"
)


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _hex(b64_digest: str) -> str:
    """An S3-native (base64) SHA-256 in the bundle's one encoding, lowercase hex."""
    try:
        return base64.b64decode(b64_digest, validate=True).hex()
    except (binascii.Error, ValueError):
        return b64_digest  # not base64: kept as it was read, so a check against it fails visibly


class BundleWriter:
    """Writes records as they come (an export streams hour by hour), then manifest.json with the files' hashes."""

    def __init__(self, out: Path, *, with_csv: bool, names: Names | None = None, force: bool = False) -> None:
        prepare(out, force=force)
        self.out = out
        self.names = names or Names()
        self.files = {"records.jsonl": out / "records.jsonl"}
        self._jsonl = self.files["records.jsonl"].open("wb")
        self._csv_file: TextIO | None = None
        self._csv: Any = None
        if with_csv:
            self.files["records.csv"] = out / "records.csv"
            # with a BOM: spreadsheet programs in China read BOM-less CSV in GBK and show the text garbled
            self._csv_file = self.files["records.csv"].open("w", encoding="utf-8-sig", newline="")
            self._csv = csv.writer(self._csv_file)
            self._csv.writerow(CSV_HEADER)
        self.total = 0
        self.by_service: dict[str, Counter[str]] = {}
        self._suffixes: dict[tuple[Any, Any], bytes] = {}
        # records.jsonl is written on a thread of its own: the write of an hour (hundreds of MB in a large window)
        # overlaps the reading of the next one instead of holding it up
        self._writes = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bundle-write")
        self._written: Future[None] | None = None
        self._jsonl_sha256 = hashlib.sha256()  # of what was written, so the file is not read back to hash it

    def hold(self, items: list[tuple[dict[str, Any], bytes]], stored_in: dict[str, Any] | None = None) -> list[Any]:
        """Records with their lines as stored, all from the object version `stored_in` (else each record's own):
        each record's bundle line (the stored line with `stored_in` spliced in before its closing brace; its hash
        does not cover it) and, with CSV, its row, for `write`; counted here."""
        counted = Counter((str(r.get("service_type")), str(r.get("kind"))) for r, _line in items)
        for (service, kind), n in counted.items():
            self.by_service.setdefault(service, Counter())[kind] += n
        self.total += len(items)
        if stored_in is not None:
            suffix = self._suffix(stored_in)
            lines = [line[:-1] + suffix for _r, line in items]
        else:
            lines = [line[:-1] + self._suffix(r.get("stored_in") or {}) for r, line in items]
        if self._csv is None:
            return lines
        return [(line, csv_row(r, self.names)) for line, (r, _line) in zip(lines, items, strict=True)]

    def _suffix(self, stored_in: dict[str, Any]) -> bytes:
        # one per object version: the canonical form of a small dict costs more than the rest of a line
        place = (stored_in.get("key"), stored_in.get("version_id"))
        suffix = self._suffixes.get(place)
        if suffix is None or len(stored_in) != 2:
            suffix = self._suffixes[place] = b',"stored_in":' + canonical(stored_in) + b"}\n"
        return suffix

    def write(self, held: list[Any]) -> None:
        """What `hold` gave, in the order to write; one write per hour of records, not one per record."""
        chunk = b"".join(held) if self._csv is None else b"".join(line for line, _row in held)
        self._wait_written()  # one hour at a time, in order
        self._written = self._writes.submit(self._append, chunk)
        if self._csv is not None:
            self._csv.writerows(row for _line, row in held)

    def _append(self, chunk: bytes) -> None:
        self._jsonl.write(chunk)
        self._jsonl_sha256.update(chunk)

    def _wait_written(self) -> None:
        written, self._written = self._written, None
        if written is not None:
            written.result()  # a failed write raises here

    def close(self) -> None:
        try:
            self._wait_written()
        finally:
            self._writes.shutdown()
            self._jsonl.close()
            if self._csv_file is not None:
                self._csv_file.close()

    def __enter__(self) -> BundleWriter:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def finish(
        self, collected: Collected, query: dict[str, Any], extra: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        self.close()
        by_service = {svc: dict(sorted(c.items())) for svc, c in sorted(self.by_service.items())}
        manifest = {
            "format": FORMAT,
            "query": {**query, "window": WINDOW_NOTE},
            "counts": {"records": self.total, "by_service": by_service},
            # Copies of a record stored more than once (re-deliveries, replays): written and counted once above,
            # listed here with where each copy lies.
            "duplicates_skipped": collected.duplicates_skipped,
            "duplicates": collected.duplicates,
            "manifests_read": [{**m, "sha256": _hex(m["sha256"])} for m in collected.manifests],
            "objects_read": [{**o, "sha256": _hex(o["sha256"])} for o in collected.objects_json()],
            "unlisted_objects": collected.unlisted,
            "stored_bytes_read": collected.stored_bytes,
            # legal-hold copies read because their originals are gone (docs/retention.md, Legal holds), and the hold
            # record versions that list them (the copies' manifests)
            **({"held_copies_read": collected.held_copies} if collected.held_copies else {}),
            **(
                {"holds_read": [{**h, "sha256": _hex(h["sha256"])} for h in collected.holds]} if collected.holds else {}
            ),
            **(extra or {}),
        }
        if collected.access is not None:
            # the access log of the window (L8), each object's stored bytes as one line; access_read ties each line
            # to the object and version it was read from
            path = self.files["access.jsonl"] = self.out / "access.jsonl"
            path.write_bytes(b"".join(o.body + b"\n" for o in collected.access))
            manifest["access_read"] = [
                {"key": o.key, "version_id": o.version_id, "sha256": o.sha256, **({"hidden": True} if o.hidden else {})}
                for o in collected.access
            ]
        if collected.tampers:
            manifest["tampers"] = self._hand_over(collected)
            manifest["tamper_report"] = TAMPER_REPORT
        readme_path = self.out / "README.md"
        readme_path.write_text(readme({**manifest, "files": {**self.files, "README.md": readme_path}}), "utf-8")
        self.files["README.md"] = readme_path
        manifest["files"] = {
            name: {
                "sha256": self._jsonl_sha256.hexdigest() if name == "records.jsonl" else _sha256_file(p),
                "bytes": p.stat().st_size,
            }
            for name, p in self.files.items()
        }
        text = json.dumps(manifest, ensure_ascii=False, indent=2) + "\n"
        (self.out / "manifest.json").write_text(text, encoding="utf-8")
        if collected.tampers:
            first = collected.tampers[0]
            raise TamperDetected(
                str(first["object"]),
                f"{first['problem']} ({'; '.join(first['differs']) or 'see the report'}); {len(collected.tampers)} "
                f"tampered object(s) in all: the bundle in {self.out} is complete, with every stored version of each "
                f"under {TAMPERED}/ and the report in {self.out / TAMPER_REPORT}",
                manifest,
            )
        return manifest

    def _hand_over(self, collected: Collected) -> list[dict[str, Any]]:
        """Every stored version of a tampered object or manifest as a file of its own, and the tamper report."""
        files: dict[str, list[str]] = {}
        for key, version_id, data in collected.handed_over:
            name = f"{TAMPERED}/{key}@{version_id}"
            path = self.out / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            self.files[name] = path
            files.setdefault(key, []).append(name)
        report = [{**t, "files": files.get(str(t["object"]), [])} for t in collected.tampers]
        path = self.files[TAMPER_REPORT] = self.out / TAMPER_REPORT
        path.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        return report


def write(
    out: Path,
    collected: Collected,
    query: dict[str, Any],
    *,
    with_csv: bool,
    extra: dict[str, Any] | None = None,
    names: Names | None = None,
    force: bool = False,
) -> dict[str, Any]:
    """A bundle of records gathered in memory."""
    with BundleWriter(out, with_csv=with_csv, names=names, force=force) as writer:
        items = [(r, canonical({k: v for k, v in r.items() if k != "stored_in"})) for r in collected.records]
        writer.write(writer.hold(items))
        return writer.finish(collected, query, extra)


@dataclass(frozen=True)
class Verified:
    records: int
    objects: int
    checked_against_store: bool
    access_entries: int = 0
    tampers: int = 0  # the tampers the export reported in the bundle (tamper-report.json)


def verify(out: Path, store: Store | None = None) -> Verified:
    """Re-check a bundle: file hashes, every record's hash and chain links, counts; with a store, also that every
    object read is still, today, the same version with the same bytes. Raises IntegrityError naming what failed."""
    manifest_path = out / "manifest.json"
    if not manifest_path.is_file():
        raise IntegrityError(str(manifest_path), "missing")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    if manifest.get("format") not in FORMATS:
        raise IntegrityError(str(manifest_path), f"unknown format {manifest.get('format')!r}")
    for name, expected in manifest["files"].items():
        path = out / name
        if not path.is_file() or _sha256_file(path) != expected["sha256"]:
            raise IntegrityError(str(path), "file missing or its SHA-256 differs from manifest.json")
    access = checks.access_lines(out, manifest)
    objects = {o["key"]: o for o in manifest["objects_read"]}
    # per object: seq -> (prev, hash), as 64-bit prefixes to keep memory small; each record's full hash is
    # recomputed above, the links only have to tie neighbours together
    links: dict[str, dict[int, tuple[int, int]]] = {}
    identities: set[int] = set()  # 64-bit digests of each record's identity: an export writes each one once
    by_service: dict[str, Counter[str]] = {}
    full: dict[str, dict[int, str]] = {}  # with a store: each record's full hash by object and seq, to compare
    total = 0
    with (out / "records.jsonl").open("rb") as fh:
        for line_no, line in enumerate(fh, 1):
            record = json.loads(line)
            key = str((record.get("stored_in") or {}).get("key"))
            if key not in objects:
                raise IntegrityError(
                    str(key), f"records.jsonl line {line_no}: from an object the manifest does not list"
                )
            if not checks.hash_matches(line, record):
                raise IntegrityError(key, f"records.jsonl line {line_no}: record does not match its hash (altered)")
            seq, prev = checks.position(key, line_no, record, objects[key])
            links.setdefault(key, {})[seq] = (checks.short(prev), checks.short(record["hash"]))
            if store is not None:
                full.setdefault(key, {})[seq] = str(record["hash"])
            identity = record_identity(record)
            digest = int.from_bytes(hashlib.sha256(identity.encode()).digest()[:8], "big")
            if digest in identities:
                raise IntegrityError(key, f"records.jsonl line {line_no}: record {identity} appears twice")
            identities.add(digest)
            by_service.setdefault(str(record.get("service_type")), Counter())[str(record.get("kind"))] += 1
            total += 1
    for key, chain in links.items():
        for seq, (prev_short, _hash) in chain.items():
            before = chain.get(seq - 1)
            if before is not None and before[1] != prev_short:
                raise IntegrityError(key, f"record {seq}: chain broken (prev does not match record {seq - 1})")
        read = objects[key]
        if len(chain) == read["records"] and chain[max(chain)][1] != checks.short(str(read["last_hash"])):
            raise IntegrityError(key, "last record's hash differs from the object's last hash in manifest.json")
    if total != manifest["counts"]["records"]:
        raise IntegrityError(
            str(out / "records.jsonl"), f"{total} records, manifest.json says {manifest['counts']['records']}"
        )
    counted = {svc: dict(sorted(c.items())) for svc, c in sorted(by_service.items())}
    if counted != manifest["counts"]["by_service"]:
        raise IntegrityError(str(out / "records.jsonl"), f"counts by service {counted} differ from manifest.json")
    copies = Counter(str(d.get("key")) for d in manifest.get("duplicates", []))
    for key in checks.whole_objects(manifest):
        held, expected = len(links.get(key, {})) + copies[key], objects[key]["records"]
        if held != expected:
            raise IntegrityError(
                key,
                f"{held} of its {expected} records are in the bundle or listed as duplicates, but its hour lies "
                "wholly inside the unfiltered window, so all of them must be (a record was dropped)",
            )
    if store is not None:
        for entry in manifest.get("access_read") or []:
            body, version_id = store.get(str(entry["key"]), entry["version_id"])
            if hashlib.sha256(body).hexdigest() != entry["sha256"]:
                raise IntegrityError(str(entry["key"]), "the stored access log entry differs from access.jsonl")
        checks.check_histories(store, manifest)
        for key, read in objects.items():
            data, version_id = store.get(key, read["version_id"])
            stored = hashlib.sha256(data).hexdigest() if manifest["format"] == FORMAT else sha256_b64(data)
            if version_id != read["version_id"] or stored != read["sha256"]:
                raise IntegrityError(
                    key, f"the stored object changed since the export (version {version_id}, read {read['version_id']})"
                )
            # A bundle rewritten consistently (records, chains and manifest all recomputed) still differs from
            # what is stored: every record must be, byte for byte, the stored record at its position.
            stored_hashes = [r.get("hash") for r in decode(key, data)]
            for seq, record_digest in sorted(full.get(key, {}).items()):
                if seq >= len(stored_hashes) or stored_hashes[seq] != record_digest:
                    raise IntegrityError(
                        key, f"record {seq} of the bundle is not the record stored at that position (altered bundle)"
                    )
    return Verified(total, len(objects), store is not None, access, len(manifest.get("tampers") or []))
