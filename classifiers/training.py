"""What the default model learns from: the corpus's splits and the registry's sets named in
`classifier.default_training`, each split into train and dev by the same stable hash as the corpus."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from classifiers.corpus import CORPUS_DIR, load_corpus, split_of
from classifiers.data import Example
from classifiers.datasets import datasets_dir, load_dataset, sha256_file
from classifiers.exceptions import DataError
from modpipe.settings import Settings


@dataclass
class TrainingSet:
    train: list[Example] = field(default_factory=list)
    dev: list[Example] = field(default_factory=list)
    weights: list[float] = field(default_factory=list)  # one per train row
    sources: list[dict[str, Any]] = field(default_factory=list)  # provenance, kept in the model's metadata

    def add(self, name: str, examples: list[Example], weight: float = 1.0, **provenance: Any) -> None:
        train = [e for e in examples if split_of(e.text) == "train"]
        dev = [e for e in examples if split_of(e.text) == "dev"]
        self.train.extend(train)
        self.weights.extend([weight] * len(train))
        self.dev.extend(dev)
        self.sources.append({"name": name, **provenance, "rows": len(examples), "train": len(train), "dev": len(dev)})


def default_training(settings: Settings, download: bool = True) -> TrainingSet:
    """The sets of `classifier.default_training`; a missing file stops with its name and where to put it."""
    out = TrainingSet()
    folder = datasets_dir(settings)
    for name in settings.classifier.default_training:
        if name == "corpus":
            rows = load_corpus()
            digest = "".join(sorted(sha256_file(p) for p in CORPUS_DIR.glob("*.jsonl")))
            out.add(
                "corpus",
                [r.example() for r in rows],
                weight=settings.classifier.corpus_weight,
                licence="Apache-2.0 (the project's own)",
                files=digest,
            )
            continue
        spec = settings.datasets[name]
        if not spec.may_train:
            raise DataError(f"dataset {name}: its licence ({spec.licence}) does not allow training the default model")
        out.add(name, load_dataset(spec, folder, download), licence=spec.licence, sha256=spec.sha256, file=spec.file)
    return out
