"""The project's own corpus: messages written by people briefed on one category or one kind of lawful look-alike
(see README.md here), one JSON object per line in `written/*.jsonl`.

A stable hash of each text puts it in the train or the dev split, so the split never changes when lines are added
or reordered, and a text can never sit in both.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from classifiers.data import Example, jsonl_rows
from classifiers.exceptions import DataError

CORPUS_DIR = Path(__file__).resolve().parent / "written"
DEV_SHARE = 5  # one text in five is in the dev split
SERVICE_KINDS = {
    "bbs": ("post", "comment"),
    "comment": ("comment",),
    "group": ("group_message",),
    "public_account": ("post", "comment"),
}
FIELDS = ("text", "labels", "sub_label", "service_type", "kind", "benign", "topic", "brief")

Split = Literal["train", "dev"]


@dataclass(frozen=True, slots=True)
class CorpusRow:
    text: str
    labels: frozenset[str]
    sub_label: str | None
    service_type: str
    kind: str
    benign: str | None  # None for a violating message, "hard" for a lawful look-alike, "ordinary" for chatter
    topic: str
    brief: str

    @property
    def split(self) -> Split:
        return split_of(self.text)

    def example(self) -> Example:
        return Example(self.text, self.labels, self.sub_label)


def split_of(text: str) -> Split:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "dev" if int.from_bytes(digest[:8], "big") % DEV_SHARE == 0 else "train"


def corpus_files(folder: Path = CORPUS_DIR) -> list[Path]:
    return sorted(folder.glob("*.jsonl"))


def load_corpus(folder: Path = CORPUS_DIR) -> list[CorpusRow]:
    files = corpus_files(folder)
    if not files:
        raise DataError(f"no corpus files (*.jsonl) in {folder}")
    return [row for path in files for row in _read(path)]


def _read(path: Path) -> Iterable[CorpusRow]:
    for number, raw in jsonl_rows(path):
        yield _row(raw, path, number)


def _row(raw: object, path: Path, number: int) -> CorpusRow:
    where = f"{path.name}:{number}"
    if not isinstance(raw, dict) or set(raw) != set(FIELDS):
        keys = sorted(raw) if isinstance(raw, dict) else type(raw).__name__
        raise DataError(f"{where}: an object with exactly the fields {', '.join(FIELDS)}; got {keys}")
    text, labels, service, kind = raw["text"], raw["labels"], raw["service_type"], raw["kind"]
    if not isinstance(text, str) or not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
        raise DataError(f"{where}: `text` a string and `labels` a list of category codes")
    if kind not in SERVICE_KINDS.get(service, ()):
        raise DataError(f"{where}: service_type {service!r} with kind {kind!r} is not a pair a platform sends")
    benign = raw["benign"]
    if (benign is None) == (not labels) or benign not in (None, "hard", "ordinary"):
        raise DataError(f"{where}: `benign` null for a labelled message, `hard` or `ordinary` for an unlabelled one")
    return CorpusRow(
        text=text,
        labels=frozenset(labels),
        sub_label=raw["sub_label"] or None,
        service_type=service,
        kind=kind,
        benign=benign,
        topic=str(raw["topic"]),
        brief=str(raw["brief"]),
    )


def examples(rows: Iterable[CorpusRow], split: Split | None = None) -> list[Example]:
    return [r.example() for r in rows if split is None or r.split == split]
