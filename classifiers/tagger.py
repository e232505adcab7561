"""The Tagger: lexicons + model + per-category policy, applied to a batch of texts."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from classifiers.evidence import gather
from classifiers.lexicon import Level, Lexicons, Match, Matcher, shipped_lexicon_dir
from classifiers.model import CategoryModel
from classifiers.normalize import match_view_with_map, model_view, original_span
from classifiers.policy import decide
from classifiers.signals import Signal
from modpipe.contracts import Hit
from modpipe.settings import Action, Settings
from modpipe.settings.models import Category, Thresholds

log = logging.getLogger(__name__)

LEXICON_VETO = 0.2  # a trained category's model score below this overrides a review-level hit's floor
POLICY_RULES = "levels-2"  # how hit levels act on scores (see Tagger._apply_levels); part of the policy version


@dataclass(frozen=True)
class TagResult:
    action: Action
    categories: dict[str, float]  # every configured category code -> calibrated score 0..1
    flagged: tuple[str, ...]  # sorted codes whose score reached their review threshold
    hits: tuple[Hit, ...]
    sub_labels: dict[str, str]  # code -> sub-label (C7, C9) when known


def lexicon_floor(thresholds: Thresholds) -> float:
    """The least score a review-level hit gives its category: enough for review, never a block on its own."""
    return min(max(thresholds.review, 0.6), thresholds.block - 1e-6)


def policy_version(categories: Mapping[str, Category]) -> str:
    policy = {
        code: [
            cat.thresholds.review, cat.thresholds.block, cat.action.value, lexicon_floor(cat.thresholds), LEXICON_VETO,
            {svc: [t.review, t.block] for svc, t in sorted(cat.service_thresholds.items())}, POLICY_RULES,
        ]
        for code, cat in sorted(categories.items())
    }  # fmt: skip
    return hashlib.sha256(json.dumps(policy, sort_keys=True).encode()).hexdigest()[:16]


class Tagger:
    def __init__(self, categories: Mapping[str, Category], lexicons: Lexicons, model: CategoryModel) -> None:
        self.categories = dict(categories)
        self.codes = tuple(sorted(self.categories, key=lambda c: int(c[1:])))
        self._index = {c: j for j, c in enumerate(self.codes)}
        self.lexicons = lexicons
        self.matcher = Matcher(lexicons)
        self.model = model
        self.model_version = model.version
        self.lexicon_version = lexicons.version
        self.policy_version = policy_version(self.categories)
        self._model_cols = [self._index[c] for c in model.codes if c in self.categories]
        self._model_keep = [j for j, c in enumerate(model.codes) if c in self.categories]
        self._model_set = frozenset(self._model_cols)

    def classify(self, text: str, service_type: str | None = None) -> TagResult:
        return self.classify_batch([text], None if service_type is None else [service_type])[0]

    def classify_batch(self, texts: Sequence[str], service_types: Sequence[str] | None = None) -> list[TagResult]:
        if not texts:
            return []
        evidence = gather(self.matcher, texts)
        x = self.model.features.transform(
            [model_view(t) for t in texts], evidence.lexicon_pairs(), evidence.signal_features()
        )
        scores = np.zeros((len(texts), len(self.codes)), dtype=np.float32)
        if self._model_cols:
            scores[:, self._model_cols] = self.model.scores(x)[:, self._model_keep]
        services = list(service_types) if service_types is not None else [None] * len(texts)
        for i, matches in enumerate(evidence.matches):
            self._apply_levels(scores[i], matches, services[i])
        rounded = np.round(scores.astype(np.float64), 4).tolist()
        sub_by_code = self._model_sub_labels(x, rounded)
        out: list[TagResult] = []
        for i, text in enumerate(texts):
            cats = dict(zip(self.codes, rounded[i], strict=True))
            action, flagged = decide(cats, self.categories, services[i])
            origin = evidence.origin(i, text) if evidence.matches[i] else []
            hits = self._hits(text, evidence.matches[i], evidence.signals[i], origin)
            subs: dict[str, str] = {}
            for h in hits:
                if h.kind != "signal" and h.sub_label and h.category not in subs and h.level != "signal":
                    subs[h.category] = h.sub_label
            for code, labels in sub_by_code.items():
                if code in flagged and code not in subs and labels[i]:
                    subs[code] = labels[i]
            out.append(TagResult(action, cats, flagged, hits, subs))
        return out

    def _apply_levels(self, row: npt.NDArray[np.float32], matches: Sequence[Match], service: str | None) -> None:
        """A block-level hit lifts its category to the block threshold; a review-level one to the review floor
        unless a trained model is sure the text is benign (news about a gambling case, an anti-drug campaign);
        a signal-level hit is only a model feature."""
        for m in matches:
            if m.level is Level.SIGNAL:
                continue
            j = self._index.get(m.term.category)
            if j is None:
                continue
            thresholds = self.categories[m.term.category].thresholds_for(service)
            if m.level is Level.BLOCK:
                row[j] = max(row[j], thresholds.block)
            elif j not in self._model_set or row[j] >= LEXICON_VETO:
                row[j] = max(row[j], lexicon_floor(thresholds))

    def _model_sub_labels(self, x: sp.csr_matrix, rounded: list[list[float]]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for code in self.model.sub_labels:
            if code not in self.categories:
                continue
            j = self._index[code]
            review = self.categories[code].thresholds.review
            rows = [i for i, r in enumerate(rounded) if r[j] >= review]
            labels = [""] * len(rounded)
            if rows:
                for i, label in zip(rows, self.model.sub_label(code, x[rows]), strict=True):
                    labels[i] = label
            out[code] = labels
        return out

    @staticmethod
    def _hits(
        text: str, matches: Sequence[Match], signals: Sequence[Signal], origin: list[int] | None = None
    ) -> tuple[Hit, ...]:
        hits: list[Hit] = []
        if matches:
            if origin is None:
                origin = match_view_with_map(text)[1]
            for m in matches:
                start, end = original_span(origin, m.start, m.end, text)
                hits.append(Hit(term=m.term.term, category=m.term.category, sub_label=m.term.sub_label, start=start,
                                end=end, matched=text[start:end], kind="homophone" if m.homophone else "term",
                                level=m.level.value))  # fmt: skip
        for sig in signals:
            hits.append(Hit(term=sig.kind, category="signal", start=sig.start, end=sig.end,
                            matched=text[sig.start:sig.end], kind="signal"))  # fmt: skip
        return tuple(hits)


def lexicon_folders(settings: Settings) -> list[Path]:
    """The base lexicons (the config folder's, else the shipped ones), then every `classifier.extra_lexicons`."""
    base = Path(settings.classifier.lexicon_dir) if settings.classifier.lexicon_dir else shipped_lexicon_dir()
    return [base, *settings.classifier.extra_lexicons]
