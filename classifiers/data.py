"""Labelled data: JSONL ({"text", "labels", "sub_label"}) and CSV with a column for text and one for the label."""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from classifiers.exceptions import DataError


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    labels: frozenset[str]
    sub_label: str | None = None


def parse_label_map(spec: str) -> dict[str, tuple[str, ...]]:
    """`1=C8,0=` -> {"1": ("C8",), "0": ()}; several codes for one value are joined with `+` (`2=C7+C8`)."""
    mapping: dict[str, tuple[str, ...]] = {}
    for part in spec.split(","):
        if not part.strip():
            continue
        value, sep, codes = part.partition("=")
        if not sep:
            raise DataError(f"label map entry {part!r} is not VALUE=CODES (e.g. 1=C8,0=)")
        mapping[value.strip()] = tuple(c.strip() for c in codes.split("+") if c.strip())
    return mapping


def file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_examples(
    path: Path,
    text_column: str = "text",
    label_column: str = "label",
    label_map: Mapping[str, Sequence[str]] | None = None,
) -> list[Example]:
    """A .csv/.tsv is read with the column options; anything else is read as JSONL."""
    try:
        if path.suffix.lower() in (".csv", ".tsv"):
            return _load_csv(path, text_column, label_column, label_map)
        return _load_jsonl(path)
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc}") from exc


def jsonl_rows(path: Path) -> Iterator[tuple[int, Any]]:
    """(line number, parsed value) of every non-blank line; a line that is not JSON stops with its position."""
    with path.open(encoding="utf-8-sig") as fh:
        for number, line in enumerate(fh, 1):
            if line.strip():
                try:
                    yield number, json.loads(line)
                except ValueError as exc:
                    raise DataError(f"{path}:{number}: not JSON: {exc}") from exc


def _load_jsonl(path: Path) -> list[Example]:
    out: list[Example] = []
    for number, row in jsonl_rows(path):
        text = row.get("text") if isinstance(row, dict) else None
        labels = row.get("labels", []) if isinstance(row, dict) else None
        if not isinstance(text, str) or not isinstance(labels, list):
            raise DataError(f"{path}:{number}: an object with a string `text` and a list `labels`")
        out.append(Example(text, frozenset(str(x) for x in labels), row.get("sub_label") or None))
    return out


def _load_csv(
    path: Path, text_column: str, label_column: str, label_map: Mapping[str, Sequence[str]] | None
) -> list[Example]:
    out: list[Example] = []
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh, delimiter="\t" if path.suffix.lower() == ".tsv" else ",")
        fields = reader.fieldnames or []
        for column in (text_column, label_column):
            if column not in fields:
                raise DataError(f"{path}: no column {column!r} (columns: {', '.join(fields)})")
        for number, row in enumerate(reader, 2):
            raw = (row[label_column] or "").strip()
            if label_map is not None:
                if raw not in label_map:
                    raise DataError(f"{path}:{number}: label {raw!r} is not in the label map")
                labels = frozenset(label_map[raw])
            else:
                labels = frozenset(x.strip() for x in raw.split("+") if x.strip())
            out.append(Example(row[text_column] or "", labels))
    return out
