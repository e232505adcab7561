"""The category model: one logistic regression per category over the feature space, Platt-calibrated on a held-out
slice, plus a sub-label model for categories that have sub-labels. Stored as plain arrays (npz + JSON), no pickle.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from classifiers.exceptions import ModelError
from classifiers.features import FeatureSpace, FloatArray, WordMatcher

FORMAT = 2  # 2: lexicon columns per level, spam-signal columns
ARRAYS = "model.npz"
META = "model.json"


@dataclass(frozen=True)
class SubLabelModel:
    labels: tuple[str, ...]
    coef: FloatArray  # (features, labels)
    intercept: FloatArray


@dataclass(frozen=True)
class CategoryModel:
    version: str
    features: FeatureSpace
    codes: tuple[str, ...]  # categories with a trained model, in column order
    coef: FloatArray  # (features, codes)
    intercept: FloatArray
    platt: FloatArray  # (codes, 2): calibrated = sigmoid(a * decision + b)
    sub_labels: dict[str, SubLabelModel]
    meta: dict[str, Any]

    def scores(self, x: sp.csr_matrix) -> FloatArray:
        """Calibrated probability per trained category, shape (rows, codes)."""
        if not self.codes:
            return np.zeros((x.shape[0], 0), dtype=np.float32)
        decision = np.asarray(x @ self.coef) + self.intercept
        z = decision * self.platt[:, 0] + self.platt[:, 1]
        prob: FloatArray = (1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))).astype(np.float32)
        return prob

    def sub_label(self, code: str, x: sp.csr_matrix) -> list[str]:
        model = self.sub_labels.get(code)
        if model is None or x.shape[0] == 0:
            return [""] * x.shape[0]
        if len(model.labels) == 1:
            return [model.labels[0]] * x.shape[0]
        best = np.asarray(np.argmax(np.asarray(x @ model.coef) + model.intercept, axis=1)).ravel()
        return [model.labels[i] for i in best]

    def save(self, folder: Path) -> str:
        """Write the model; its version is a hash of the arrays, so identical training gives an identical version."""
        folder.mkdir(parents=True, exist_ok=True)
        arrays: dict[str, npt.NDArray[Any]] = {
            "char_idf": self.features.char_idf,
            "word_idf": self.features.word_idf,
            "coef": self.coef,
            "intercept": self.intercept,
            "platt": self.platt,
        }
        for code, sub in self.sub_labels.items():
            arrays[f"sub_{code}_coef"] = sub.coef
            arrays[f"sub_{code}_intercept"] = sub.intercept
        tmp = folder / (ARRAYS + ".tmp")
        with tmp.open("wb") as fh:
            np.savez(fh, allow_pickle=False, **arrays)
        tmp.replace(folder / ARRAYS)
        version = model_version(folder / ARRAYS)
        meta = {
            **self.meta,
            "format": FORMAT,
            "version": version,
            "codes": list(self.codes),
            "lexicon_codes": list(self.features.lexicon_codes),
            "signal_kinds": list(self.features.signal_kinds),
            "vocabulary": list(self.features.words.vocabulary),
            "sub_labels": {code: list(sub.labels) for code, sub in self.sub_labels.items()},
        }
        (folder / META).write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
        return version


def model_version(arrays_path: Path) -> str:
    return hashlib.sha256(arrays_path.read_bytes()).hexdigest()[:16]


def load_model(folder: Path) -> CategoryModel:
    meta_path, arrays_path = folder / META, folder / ARRAYS
    if not meta_path.is_file() or not arrays_path.is_file():
        raise ModelError(f"no model in {folder} (expected {META} and {ARRAYS}; train one with `modpipe train`)")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT:
            raise ModelError(f"model in {folder} has format {meta.get('format')}, this version reads {FORMAT}")
        with np.load(arrays_path) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (OSError, ValueError, KeyError) as exc:
        raise ModelError(f"cannot read the model in {folder}: {exc}") from exc
    features = FeatureSpace(
        char_idf=arrays["char_idf"],
        word_idf=arrays["word_idf"],
        words=WordMatcher(meta["vocabulary"]),
        lexicon_codes=tuple(meta["lexicon_codes"]),
        signal_kinds=tuple(meta["signal_kinds"]),
    )
    subs = {
        code: SubLabelModel(tuple(labels), arrays[f"sub_{code}_coef"], arrays[f"sub_{code}_intercept"])
        for code, labels in meta["sub_labels"].items()
    }
    slim = {k: v for k, v in meta.items() if k not in ("vocabulary",)}
    return CategoryModel(
        version=model_version(arrays_path),
        features=features,
        codes=tuple(meta["codes"]),
        coef=np.ascontiguousarray(arrays["coef"], dtype=np.float32),
        intercept=arrays["intercept"].astype(np.float32),
        platt=arrays["platt"].astype(np.float32),
        sub_labels=subs,
        meta=slim,
    )
