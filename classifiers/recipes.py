"""What the CLI verbs do, as functions: train a model folder with its metadata, evaluate a tagger on labelled data."""

from __future__ import annotations

import platform
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from classifiers.data import Example, file_hash, load_examples
from classifiers.exceptions import DataError
from classifiers.lexicon import load_lexicons
from classifiers.metrics import confusion, offensive_vs_safe, score_labels
from classifiers.model import FORMAT
from classifiers.tagger import Tagger, lexicon_folders, policy_version
from classifiers.train import train
from classifiers.training import TrainingSet, default_training
from modpipe.clock import Clock
from modpipe.settings import Action, Settings


@dataclass(frozen=True)
class DataSpec:
    path: Path
    text_column: str = "text"
    label_column: str = "label"
    label_map: Mapping[str, Sequence[str]] | None = None

    def load(self) -> list[Example]:
        return load_examples(self.path, self.text_column, self.label_column, self.label_map)


@dataclass
class TrainReport:
    version: str
    folder: Path
    seconds: float
    examples: int
    meta: dict[str, Any] = field(default_factory=dict)


def train_folder(
    settings: Settings,
    data: Sequence[DataSpec],
    out: Path,
    clock: Clock,
    with_defaults: bool = True,
    progress: Callable[[str], None] | None = None,
    c: float = 6.0,
    refit: bool = False,
) -> TrainReport:
    """Train into `out` on the default training sets (unless `with_defaults` is off) plus `data`, with thresholds
    placed on the dev split for the configured target precision."""
    t0 = time.monotonic()
    sets = default_training(settings) if with_defaults else TrainingSet()
    for spec in data:
        sets.add(str(spec.path), spec.load(), sha256=file_hash(spec.path), file=str(spec.path))
    if not sets.train:
        raise DataError("nothing to train on: no default training sets and no --data")
    lexicons = load_lexicons(lexicon_folders(settings), settings.categories)
    review = {code: cat.thresholds.review for code, cat in settings.categories.items()}
    targets = {
        code: cat.target_precision or settings.classifier.target_precision for code, cat in settings.categories.items()
    }
    result = train(
        sets.train, lexicons, sorted(settings.categories), review, progress=progress, c=c, refit=refit,
        dev=sets.dev or None, target_precision=targets, weights=sets.weights,
    )  # fmt: skip
    counts: dict[str, int] = {}
    for e in [*sets.train, *sets.dev]:
        for label in sorted(e.labels) or ["benign"]:
            counts[label] = counts.get(label, 0) + 1
    result.model.meta.update(
        {
            "trained_at": clock.now().isoformat(),
            "training_seconds": round(time.monotonic() - t0, 2),
            "format": FORMAT,
            "data": sets.sources,
            "trained_on": [s["name"] for s in sets.sources],
            "examples": len(sets.train) + len(sets.dev),
            "label_counts": counts,
            "settings": {
                "lexicon_version": lexicons.version,
                "policy_version": policy_version(settings.categories),
                "thresholds": {
                    code: {"review": cat.thresholds.review, "block": cat.thresholds.block, "action": cat.action.value}
                    for code, cat in settings.categories.items()
                },
                "c": c,
                "refit": refit,
                "target_precision": targets,
                "corpus_weight": settings.classifier.corpus_weight,
            },
            "python": platform.python_version(),
        }
    )
    version = result.model.save(out)
    seconds = time.monotonic() - t0
    return TrainReport(version, out, seconds, len(sets.train) + len(sets.dev), result.model.meta)


def evaluate(tagger: Tagger, examples: Sequence[Example], batch: int = 1024) -> dict[str, Any]:
    """Per-category P/R/F1 on `flagged`, their macro average, the confusion between categories, and the COLD
    measure: macro-F1 of offensive (any label) vs safe, where the tagger says offensive when its action is not pass.
    """
    texts = [e.text for e in examples]
    results = []
    for i in range(0, len(texts), batch):
        results.extend(tagger.classify_batch(texts[i : i + batch]))
    codes = tagger.codes
    truth = {code: np.array([code in e.labels for e in examples], dtype=bool) for code in codes}
    pred = {code: np.array([code in r.flagged for r in results], dtype=bool) for code in codes}
    per_category = score_labels(truth, pred)
    offensive = offensive_vs_safe(
        np.array([bool(e.labels) for e in examples]), np.array([r.action is not Action.PASS for r in results])
    )
    return {
        "examples": len(examples),
        "model_version": tagger.model_version,
        "lexicon_version": tagger.lexicon_version,
        "policy_version": tagger.policy_version,
        "categories": {k: v.as_dict() for k, v in per_category.items()},
        "offensive_vs_safe": offensive.as_dict(),
        "confusion": confusion([e.labels for e in examples], [r.flagged for r in results], codes),
    }
