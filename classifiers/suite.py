"""The evaluation suite: one model scored on every set of the datasets folder and on the corpus dev split.

Figures per set: recall (a violating row is flagged at all), recall with the right category, precision of the
flags, the false-positive rate on the set's benign rows, and category macro-F1; per category recall and precision.
A set the model was trained on is scored on its dev split only (the rows its stable hash kept out of training).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from classifiers.corpus import load_corpus, split_of
from classifiers.data import Example
from classifiers.datasets import dataset_path, datasets_dir, load_dataset
from classifiers.metrics import score_labels
from classifiers.tagger import Tagger, TagResult
from modpipe.settings import Settings

_BATCH = 2048


@dataclass
class SetScore:
    name: str
    rows: int
    positives: int
    benign: int
    recall: float | None
    recall_category: float | None
    precision: float | None
    fpr: float | None
    macro_f1: float | None
    trained_on: bool = False
    note: str = ""
    categories: dict[str, dict[str, float | int]] = field(default_factory=dict)


def classify_all(tagger: Tagger, texts: Sequence[str]) -> list[TagResult]:
    out: list[TagResult] = []
    for i in range(0, len(texts), _BATCH):
        out.extend(tagger.classify_batch(texts[i : i + _BATCH]))
    return out


def _share(values: Sequence[bool]) -> float | None:
    return round(float(np.mean(values)), 4) if len(values) else None


def score_set(name: str, tagger: Tagger, examples: Sequence[Example], **extra: Any) -> SetScore:
    results = classify_all(tagger, [e.text for e in examples])
    positive = [bool(e.labels) for e in examples]
    flagged = [bool(r.flagged) for r in results]
    pos_flags = [f for f, p in zip(flagged, positive, strict=True) if p]
    right = [bool(set(r.flagged) & e.labels) for e, r in zip(examples, results, strict=True) if e.labels]
    neg_flags = [f for f, p in zip(flagged, positive, strict=True) if not p]
    tp = sum(pos_flags)
    codes = tagger.codes
    per = score_labels(
        {c: np.array([c in e.labels for e in examples], dtype=bool) for c in codes},
        {c: np.array([c in r.flagged for r in results], dtype=bool) for c in codes},
    )
    present = [c for c in codes if any(c in e.labels for e in examples)]
    macro = round(float(np.mean([per[c].f1 for c in present])), 4) if present else None
    return SetScore(
        name=name,
        rows=len(examples),
        positives=len(pos_flags),
        benign=len(neg_flags),
        recall=_share(pos_flags),
        recall_category=_share(right),
        precision=round(tp / sum(flagged), 4) if sum(flagged) else None,
        fpr=_share(neg_flags),
        macro_f1=macro,
        categories={c: per[c].as_dict() for c in present},
        **extra,
    )


def run_suite(settings: Settings, tagger: Tagger, download: bool = False) -> list[SetScore]:
    trained_on = set(tagger.model.meta.get("trained_on", []))
    folder = datasets_dir(settings)
    scores: list[SetScore] = []
    for name, spec in settings.datasets.items():
        path = dataset_path(spec, folder)
        if not path.is_file() and not (download and spec.url):
            scores.append(SetScore(name, 0, 0, 0, None, None, None, None, None, note=f"missing: {path}"))
            continue
        examples = load_dataset(spec, folder, download)
        if name in trained_on:
            dev = [e for e in examples if split_of(e.text) == "dev"]
            scores.append(score_set(f"{name} (dev split)", tagger, dev, trained_on=True))
        else:
            scores.append(score_set(name, tagger, examples))
    dev_rows = [r for r in load_corpus() if r.split == "dev"]
    scores.append(score_set("corpus dev", tagger, [r.example() for r in dev_rows], trained_on="corpus" in trained_on))
    for kind in ("hard", "ordinary"):
        rows = [r.example() for r in dev_rows if r.benign == kind]
        scores.append(score_set(f"corpus dev: {kind} negatives", tagger, rows))
    return scores


def as_json(scores: Sequence[SetScore], tagger: Tagger) -> dict[str, Any]:
    return {
        "model_version": tagger.model_version,
        "lexicon_version": tagger.lexicon_version,
        "policy_version": tagger.policy_version,
        "sets": [asdict(s) for s in scores],
    }


def table(scores: Sequence[SetScore]) -> list[str]:
    """The suite as plain-text lines: one row per set, then recall/precision per category."""

    def pct(v: float | None) -> str:
        return "    -" if v is None else f"{100 * v:5.1f}"

    lines = [f"{'set':34} {'rows':>6} {'pos':>6}  recall  r(cat)  prec    FPR  macroF1"]
    for s in scores:
        if s.note:
            lines.append(f"{s.name:34} {s.note}")
            continue
        lines.append(
            f"{s.name:34} {s.rows:6d} {s.positives:6d}  {pct(s.recall)}   {pct(s.recall_category)}  {pct(s.precision)}"
            f"  {pct(s.fpr)}  {pct(s.macro_f1)}"
        )
    lines.append("")
    lines.append(f"{'per category (recall / precision)':34} " + " ".join(f"{c:>13}" for c in _codes(scores)))
    for s in scores:
        if s.categories:
            cells = [
                f"{pct(float(s.categories[c]['recall']))} / {pct(float(s.categories[c]['precision']))}"
                if c in s.categories else f"{'':13}"
                for c in _codes(scores)
            ]  # fmt: skip
            lines.append(f"{s.name:34} " + " ".join(cells))
    return lines


def _codes(scores: Sequence[SetScore]) -> list[str]:
    return sorted({c for s in scores for c in s.categories}, key=lambda c: int(c[1:]))
