"""docs/record-format.md against the code: the independent Node.js verifier, which re-serialises every record by
the text's rules, accepts records built to stress them (floats JavaScript writes differently, every escape, key
order by code point, integers beyond a double) and rejects a line that is not in canonical form."""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import struct
import subprocess
from pathlib import Path
from typing import Any

import pytest

from retention import bundle
from retention.audit import Collected, ObjectRead
from retention.codec import canonical, seal
from tests.support import REPO

VERIFIER = REPO / "retention" / "verifier" / "verify-bundle.mjs"
KEY = "records/service=bbs/date=2026-11-23/hour=08/w-v-0-0.jsonl.zst"
EDGES = [0.0, -0.0, 1.0, 100.0, 0.1, 2.5, 1e15, 1e16, 1e-4, 1e-5, 5e-324, 1.7976931348623157e308, 0.1 + 0.2,
         123456789012345678.0, float("inf"), float("-inf"), float("nan")]  # fmt: skip


def _node(folder: Path) -> subprocess.CompletedProcess[str]:
    found = shutil.which("node")
    if found is None:
        pytest.fail("node is not installed: the independent bundle verifier needs Node.js (>= 20) on PATH")
    return subprocess.run([found, str(VERIFIER), str(folder)], check=False, capture_output=True, text=True, timeout=60)


def _float(rng: random.Random) -> float:
    pick = rng.random()
    if pick < 0.4:
        return rng.random()
    if pick < 0.8:  # any bit pattern: subnormals, huge exponents, NaN payloads
        return float(struct.unpack("<d", struct.pack("<Q", rng.getrandbits(64)))[0])
    return rng.choice(EDGES)


def _bundle(tmp_path: Path, n: int = 1000) -> Path:
    rng = random.Random(12)
    records: list[dict[str, Any]] = [
        {"kind": "other", "message_id": f"m{i}", "source": {"topic": "t", "partition": 0, "offset": i},
         "data": {"f": [_float(rng) for _ in range(5)], "i": rng.getrandbits(80) - (1 << 79),
                  "s": '"\\/\b\f\n\r\t\x00\x1f\x7f\u0080\u2028\U0001f600é文', "\uffff": 1, "\U0001f600": 2,
                  "A": None, "a": [True, False, {}, []]}}
        for i in range(n)
    ]  # fmt: skip
    sealed = seal(records, KEY)
    for r in sealed:
        r["stored_in"] = {"key": KEY, "version_id": "v1"}
    read = ObjectRead(KEY, "v1", "x", n, sealed[0]["hash"], sealed[-1]["hash"], "m")
    bundle.write(tmp_path, Collected(records=sealed, objects=[read]), {"command": "test"}, with_csv=False)
    return tmp_path


def test_the_independent_verifier_recomputes_every_hash(tmp_path: Path) -> None:
    done = _node(_bundle(tmp_path))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("OK: 1000 records from 1 objects verified")


def test_a_line_not_in_canonical_form_fails(tmp_path: Path) -> None:
    out = _bundle(tmp_path, 3)
    lines = (out / "records.jsonl").read_bytes().splitlines()
    record = json.loads(lines[1])
    record["data"]["f"][0] = 1  # the float 1.0 written as an integer: another value to the canonical form
    lines[1] = json.dumps(record, ensure_ascii=False).encode()
    (out / "records.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    body = (out / "records.jsonl").read_bytes()
    manifest["files"]["records.jsonl"] = {"sha256": hashlib.sha256(body).hexdigest(), "bytes": len(body)}
    (out / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    done = _node(out)
    assert done.returncode == 1
    assert "records.jsonl line 2" in done.stderr
    assert "does not match its hash" in done.stderr
    assert canonical(1) != canonical(1.0)
