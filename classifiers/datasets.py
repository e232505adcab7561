"""The public data sets of config/datasets.yaml: found in the datasets folder, or downloaded there, and read as
labelled examples with the set's own label rules."""

from __future__ import annotations

import csv
import hashlib
import os
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from classifiers.data import Example, jsonl_rows
from classifiers.exceptions import DataError, DatasetMissingError
from modpipe.settings import Settings
from modpipe.settings.datasets import DatasetSpec

DOWNLOAD_TIMEOUT_S = 60


def datasets_dir(settings: Settings) -> Path:
    configured = settings.classifier.datasets_dir
    return Path(configured) if configured else settings.stack.home / "datasets"


def dataset_path(spec: DatasetSpec, folder: Path) -> Path:
    return folder / spec.file


def missing_message(spec: DatasetSpec, path: Path) -> str:
    return (
        f"dataset {spec.name}: {path} is missing. Put the file there ({spec.upstream_path} from {spec.source} "
        f"at commit {spec.commit}, prepared as the registry says; sha256 {spec.sha256}), or set "
        f"classifier.datasets_dir (MODPIPE__CLASSIFIER__DATASETS_DIR) to a folder that holds {spec.file}"
    )


def ensure_file(spec: DatasetSpec, folder: Path, download: bool = True) -> Path:
    """The set's file, downloaded first when it is missing and the set has a URL; its sha256 is always checked."""
    path = dataset_path(spec, folder)
    if not path.is_file():
        if not (download and spec.url):
            raise DatasetMissingError(missing_message(spec, path))
        fetch(spec, path)
    digest = sha256_file(path)
    if digest != spec.sha256:
        raise DataError(f"dataset {spec.name}: {path} has sha256 {digest}, the registry pins {spec.sha256}")
    return path


def fetch(spec: DatasetSpec, path: Path) -> None:
    """Download to a temporary name, check the digest, then move into place: a broken download leaves no file."""
    if not spec.url.startswith(("https://", "http://")):
        raise DataError(f"dataset {spec.name}: url {spec.url!r} is not an http(s) URL")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        with urllib.request.urlopen(spec.url, timeout=DOWNLOAD_TIMEOUT_S) as response, tmp.open("wb") as out:  # noqa: S310 - scheme checked above
            while chunk := response.read(1 << 16):
                out.write(chunk)
        digest = sha256_file(tmp)
        if digest != spec.sha256:
            raise DataError(
                f"dataset {spec.name}: download from {spec.url} has sha256 {digest}, expected {spec.sha256}"
            )
        tmp.replace(path)
    except OSError as exc:
        raise DatasetMissingError(f"{missing_message(spec, path)}; downloading {spec.url} failed: {exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def load_dataset(spec: DatasetSpec, folder: Path, download: bool = True) -> list[Example]:
    path = ensure_file(spec, folder, download)
    try:
        return _csv(spec, path) if spec.format == "csv" else _jsonl(spec, path)
    except OSError as exc:
        raise DataError(f"dataset {spec.name}: cannot read {path}: {exc}") from exc


def _jsonl(spec: DatasetSpec, path: Path) -> list[Example]:
    out: list[Example] = []
    for number, row in jsonl_rows(path):
        text = row.get(spec.text_field) if isinstance(row, dict) else None
        labels = row.get("labels") if isinstance(row, dict) else None
        if not isinstance(text, str) or not isinstance(labels, list):
            raise DataError(f"{path}:{number}: an object with a string `{spec.text_field}` and a list `labels`")
        # A set's own sub-types (JADE's 诈骗, SWSR's MA) are not the categories' sub-labels: they are left out.
        out.append(Example(text, frozenset(_apply(spec, row, labels, path, number)), None))
    return out


def _csv(spec: DatasetSpec, path: Path) -> list[Example]:
    out: list[Example] = []
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        if spec.text_field not in (reader.fieldnames or []):
            raise DataError(f"{path}: no column {spec.text_field!r} (columns: {', '.join(reader.fieldnames or [])})")
        for number, row in enumerate(reader, 2):
            out.append(Example(row[spec.text_field] or "", frozenset(_apply(spec, row, None, path, number))))
    return out


def _apply(
    spec: DatasetSpec, row: dict[str, object], own: Sequence[object] | None, path: Path, number: int
) -> list[str]:
    for rule in spec.rules:
        if all(str(row.get(k, "")) == v for k, v in rule.when.items()):
            return list(rule.labels)
    if own is not None:
        return [str(x) for x in own]
    raise DataError(f"{path}:{number}: no label rule of dataset {spec.name} matches this row")
