"""The Tagger: lexicons + model + per-category policy, applied to a batch of texts."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from classifiers.data import SEED_CORPUS, load_examples
from classifiers.lexicon import Lexicons, Match, Matcher, load_lexicons, shipped_lexicon_dir
from classifiers.model import CategoryModel, load_model
from classifiers.normalize import match_view, match_view_with_map, model_view, original_span
from modpipe.contracts import Hit
from modpipe.settings import Action, Settings
from modpipe.settings.models import Category

log = logging.getLogger(__name__)

DEFAULT_MODEL = Path("models") / "default"
LEXICON_VETO = 0.05  # a trained category's model score below this overrides a lexicon hit's floor
_RANK = {Action.PASS: 0, Action.REVIEW: 1, Action.BLOCK: 2}
_default_lock = threading.Lock()


@dataclass(frozen=True)
class TagResult:
    action: Action
    categories: dict[str, float]  # every configured category code -> calibrated score 0..1
    flagged: tuple[str, ...]  # sorted codes whose score reached their review threshold
    hits: tuple[Hit, ...]
    sub_labels: dict[str, str]  # code -> sub-label (C7, C9) when known


def lexicon_floor(category: Category) -> float:
    """The least score a lexicon hit gives its category: enough for review, never a block on its own."""
    return min(max(category.thresholds.review, 0.6), category.thresholds.block - 1e-6)


def policy_version(categories: Mapping[str, Category]) -> str:
    policy = {
        code: [cat.thresholds.review, cat.thresholds.block, cat.action.value, lexicon_floor(cat), LEXICON_VETO]
        for code, cat in sorted(categories.items())
    }
    return hashlib.sha256(json.dumps(policy, sort_keys=True).encode()).hexdigest()[:16]


def decide(scores: Mapping[str, float], categories: Mapping[str, Category]) -> tuple[Action, tuple[str, ...]]:
    """Per category: block/review by threshold, capped by the category's action; the strongest wins."""
    action = Action.PASS
    flagged: list[str] = []
    for code, score in scores.items():
        cat = categories[code]
        if score >= cat.thresholds.block:
            wanted = Action.BLOCK
        elif score >= cat.thresholds.review:
            wanted = Action.REVIEW
        else:
            continue
        flagged.append(code)
        capped = wanted if _RANK[wanted] <= _RANK[cat.action] else cat.action
        if _RANK[capped] > _RANK[action]:
            action = capped
    return action, tuple(sorted(flagged))


class Tagger:
    def __init__(self, categories: Mapping[str, Category], lexicons: Lexicons, model: CategoryModel) -> None:
        self.categories = dict(categories)
        self.codes = tuple(sorted(self.categories, key=lambda c: int(c[1:])))
        self.lexicons = lexicons
        self.matcher = Matcher(lexicons)
        self.model = model
        self.model_version = model.version
        self.lexicon_version = lexicons.version
        self.policy_version = policy_version(self.categories)
        self._model_cols = [self.codes.index(c) for c in model.codes if c in self.categories]
        self._model_keep = [j for j, c in enumerate(model.codes) if c in self.categories]
        self._model_set = frozenset(self._model_cols)
        self._floors = np.array([lexicon_floor(self.categories[c]) for c in self.codes], dtype=np.float32)

    @classmethod
    def from_settings(cls, settings: Settings, model_dir: Path | None = None) -> Tagger:
        lexicons = load_lexicons(lexicon_folders(settings), settings.categories)
        folder = model_dir or default_model_dir(settings)
        if model_dir is None and not settings.classifier.model_dir:
            ensure_default_model(settings, folder, lexicons)
        return cls(settings.categories, lexicons, load_model(folder))

    @classmethod
    def prepare(cls, settings: Settings) -> None:
        """Make sure the model `from_settings` loads exists, training the default one if it is missing, without
        loading it: a worker does this once before its classifying processes each load the model."""
        if not settings.classifier.model_dir:
            lexicons = load_lexicons(lexicon_folders(settings), settings.categories)
            ensure_default_model(settings, default_model_dir(settings), lexicons)

    def classify(self, text: str) -> TagResult:
        return self.classify_batch([text])[0]

    def classify_batch(self, texts: Sequence[str]) -> list[TagResult]:
        if not texts:
            return []
        matches = self.matcher.find_batch([match_view(t) for t in texts])
        hit_codes = [frozenset(m.term.category for m in ms) for ms in matches]
        x = self.model.features.transform([model_view(t) for t in texts], hit_codes)
        scores = np.zeros((len(texts), len(self.codes)), dtype=np.float32)
        if self._model_cols:
            scores[:, self._model_cols] = self.model.scores(x)[:, self._model_keep]
        for i, hit_cats in enumerate(hit_codes):
            for code in hit_cats:
                j = self.codes.index(code)
                # The hit is a model feature too: where a trained model is sure the text is benign (news about a
                # gambling case, an anti-drug campaign) the hit does not force a review on its own.
                if j not in self._model_set or scores[i, j] >= LEXICON_VETO:
                    scores[i, j] = max(scores[i, j], self._floors[j])
        rounded = np.round(scores.astype(np.float64), 4).tolist()
        sub_by_code = self._model_sub_labels(x, rounded)
        out: list[TagResult] = []
        for i, text in enumerate(texts):
            cats = dict(zip(self.codes, rounded[i], strict=True))
            action, flagged = decide(cats, self.categories)
            hits = self._hits(text, matches[i]) if matches[i] else ()
            subs: dict[str, str] = {}
            for h in hits:
                if h.sub_label and h.category not in subs:
                    subs[h.category] = h.sub_label
            for code, labels in sub_by_code.items():
                if code in flagged and code not in subs and labels[i]:
                    subs[code] = labels[i]
            out.append(TagResult(action, cats, flagged, hits, subs))
        return out

    def _model_sub_labels(self, x: object, rounded: list[list[float]]) -> dict[str, list[str]]:
        import scipy.sparse as sp

        assert isinstance(x, sp.csr_matrix)
        out: dict[str, list[str]] = {}
        for code in self.model.sub_labels:
            if code not in self.categories:
                continue
            j = self.codes.index(code)
            review = self.categories[code].thresholds.review
            rows = [i for i, r in enumerate(rounded) if r[j] >= review]
            labels = [""] * len(rounded)
            if rows:
                for i, label in zip(rows, self.model.sub_label(code, x[rows]), strict=True):
                    labels[i] = label
            out[code] = labels
        return out

    @staticmethod
    def _hits(text: str, matches: Sequence[Match]) -> tuple[Hit, ...]:
        _view, origin = match_view_with_map(text)
        hits: list[Hit] = []
        for m in matches:
            start, end = original_span(origin, m.start, m.end, text)
            hits.append(Hit(term=m.term.term, category=m.term.category, sub_label=m.term.sub_label, start=start,
                            end=end, matched=text[start:end]))  # fmt: skip
        return tuple(hits)


def lexicon_folders(settings: Settings) -> list[Path]:
    return [shipped_lexicon_dir(), *settings.classifier.extra_lexicons]


def default_model_dir(settings: Settings) -> Path:
    if settings.classifier.model_dir:
        return Path(settings.classifier.model_dir)
    return settings.stack.home / DEFAULT_MODEL


def ensure_default_model(settings: Settings, folder: Path, lexicons: Lexicons) -> None:
    """Train the default model from the seed corpus when the folder has none (a few seconds)."""
    from classifiers.model import META

    with _default_lock:
        if (folder / META).is_file():
            return
        from classifiers.train import train

        t0 = time.monotonic()
        examples = load_examples(SEED_CORPUS)
        review = {code: cat.thresholds.review for code, cat in settings.categories.items()}
        result = train(examples, lexicons, sorted(settings.categories), review)
        tmp = folder.with_name(folder.name + f".tmp-{os.getpid()}-{threading.get_ident()}")
        result.model.save(tmp)
        folder.parent.mkdir(parents=True, exist_ok=True)
        try:
            tmp.replace(folder)
        except OSError:  # another process finished first: keep its model, drop ours
            shutil.rmtree(tmp, ignore_errors=True)
        log.info("trained the default model in %s (%.1f s)", folder, time.monotonic() - t0)
