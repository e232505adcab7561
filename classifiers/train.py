"""Training: vocabulary from jieba, features, one calibrated logistic regression per category, held-out metrics."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression

from classifiers.data import Example
from classifiers.evidence import gather
from classifiers.features import (
    WORD_MAX,
    FeatureSpace,
    FloatArray,
    WordMatcher,
    assemble,
    char_ngram_counts,
    fit_idf,
    lexicon_matrix,
    tfidf,
)
from classifiers.lexicon import Lexicons, Matcher
from classifiers.metrics import CategoryScores, score_labels
from classifiers.model import CategoryModel, SubLabelModel, tempered
from classifiers.normalize import model_view
from classifiers.signals import KINDS

MIN_POSITIVES = 5
HELD_OUT = 0.15
MAX_VOCABULARY = 60_000
_TUNE_MIN_POSITIVES = 40  # below this the held-out slice is too small to move a threshold on
_MAX_SHIFT = 3.0  # logit units a tuned threshold may move the calibrated score
STANCE_GAMMA = 1.0  # on the suite 1.0 ranked better than 0.5 on every real set (classifiers.model)
_STANCE_C = 4.0

_jieba_lock = threading.Lock()
_jieba_words: set[str] = set()

Progress = Callable[[str], None]


def setup_jieba(terms: Sequence[str]) -> None:
    """Load jieba's dictionary once per process and add the lexicon terms to its user dictionary."""
    import jieba

    with _jieba_lock:
        if not _jieba_words:
            jieba.setLogLevel(logging.WARNING)
            jieba.initialize()
        for term in terms:
            word = model_view(term)
            if word and word not in _jieba_words:
                jieba.add_word(word, freq=1000)
                _jieba_words.add(word)


def build_vocabulary(views: Sequence[str], limit: int = MAX_VOCABULARY) -> list[str]:
    """Words of 2..WORD_MAX characters that jieba finds in at least two training texts."""
    import jieba

    df: Counter[str] = Counter()
    for text in views:
        df.update({w for w in jieba.lcut(text) if 1 < len(w) <= WORD_MAX and any(c.isalnum() for c in w)})
    common = [w for w, n in df.most_common(limit) if n >= 2]
    return sorted(common)


@dataclass
class TrainResult:
    model: CategoryModel
    held_out: dict[str, CategoryScores]
    thresholds_tuned: dict[str, float] = field(default_factory=dict)


def _platt(decision: FloatArray, y: np.ndarray[Any, Any]) -> tuple[float, float]:
    if y.sum() < 3 or (len(y) - y.sum()) < 3:
        return 1.0, 0.0
    lr = LogisticRegression(C=1.0, max_iter=1000).fit(decision.reshape(-1, 1), y)
    return float(lr.coef_[0, 0]), float(lr.intercept_[0])


def _best_threshold(prob: FloatArray, y: np.ndarray[Any, Any]) -> float:
    best, best_f1 = 0.5, -1.0
    for t in np.arange(0.2, 0.81, 0.01):
        pred = prob >= t
        f1 = _macro_binary_f1(y.astype(bool), pred)
        if f1 > best_f1 + 1e-9:
            best, best_f1 = float(t), f1
    return best


def _macro_binary_f1(y: np.ndarray[Any, Any], pred: np.ndarray[Any, Any]) -> float:
    total = 0.0
    for positive in (True, False):
        tp = float(np.sum((pred == positive) & (y == positive)))
        fp = float(np.sum((pred == positive) & (y != positive)))
        fn = float(np.sum((pred != positive) & (y == positive)))
        total += 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    return total / 2


class _Builder:
    def __init__(self, examples: Sequence[Example], lexicons: Lexicons, vocabulary: Sequence[str]) -> None:
        self.views = [model_view(e.text) for e in examples]
        evidence = gather(Matcher(lexicons), [e.text for e in examples])
        self.hits = evidence.lexicon_pairs()
        self.signals = evidence.signal_features()
        self.chars = char_ngram_counts(self.views)
        self.words = WordMatcher(vocabulary)
        self.word_counts = self.words.counts(self.views)
        self.lexicon_codes = tuple(sorted(lexicons.categories()))

    def space(self, rows: np.ndarray[Any, Any]) -> tuple[FeatureSpace, sp.csr_matrix]:
        space = FeatureSpace(
            fit_idf(self.chars[rows]), fit_idf(self.word_counts[rows]), self.words, self.lexicon_codes, KINDS
        )
        return space, self.matrix(space, rows)

    def matrix(self, space: FeatureSpace, rows: np.ndarray[Any, Any]) -> sp.csr_matrix:
        lex = lexicon_matrix([self.hits[i] for i in rows], self.lexicon_codes)
        return assemble(
            tfidf(self.chars[rows], space.char_idf),
            tfidf(self.word_counts[rows], space.word_idf),
            lex,
            self.signals[rows],
        )


def train(
    examples: Sequence[Example],
    lexicons: Lexicons,
    codes: Sequence[str],
    review_thresholds: Mapping[str, float],
    progress: Progress | None = None,
    c: float = 6.0,
    seed: int = 13,
    refit: bool = True,
    dev: Sequence[Example] | None = None,
    target_precision: float | Mapping[str, float] | None = None,
    weights: Sequence[float] | None = None,
    stance_gamma: float = STANCE_GAMMA,
) -> TrainResult:
    """Fit on the training rows, calibrate and place thresholds on the dev rows (given, or a held-out share of the
    examples), measure there, then refit on everything with the same calibration.

    With `target_precision` (one for all, or per category code), each category's review threshold sits where its dev
    precision first reaches the target
    (the most recall at that precision); otherwise where its dev F1 is best. `weights`: one per training example
    (dev rows count 1), how much it counts in the fit. `stance_gamma` 0 trains no stance model."""
    step = progress or (lambda _msg: None)
    step("jieba")
    setup_jieba([t.term for t in lexicons.terms])
    everything = [*examples, *(dev or ())]
    step("vocabulary")
    vocabulary = build_vocabulary([model_view(e.text) for e in everything])
    step("features")
    builder = _Builder(everything, lexicons, vocabulary)
    if dev:
        fit_rows = np.arange(len(examples))
        held_rows = np.arange(len(examples), len(everything))
    else:
        order = np.random.default_rng(seed).permutation(len(examples))
        cut = int(len(examples) * (1 - HELD_OUT))
        fit_rows, held_rows = np.sort(order[:cut]), np.sort(order[cut:])
    labels = {code: np.array([code in e.labels for e in everything], dtype=np.int8) for code in codes}
    violating = np.array([bool(e.labels) for e in everything], dtype=bool)
    trained = [code for code in codes if labels[code][fit_rows].sum() >= MIN_POSITIVES]
    if weights is not None and len(weights) != len(examples):
        raise ValueError(f"weights: one per training example expected, got {len(weights)} for {len(examples)}")
    weight = np.ones(len(everything), dtype=np.float64)
    if weights is not None:
        weight[: len(examples)] = weights

    space, x_fit = builder.space(fit_rows)
    x_held = builder.matrix(space, held_rows)
    stance = _stance(x_fit, violating, weight, fit_rows, stance_gamma, step)
    stance_held = None if stance is None else np.asarray(x_held @ stance[0]).ravel() + stance[1]
    platt = np.zeros((len(trained), 2), dtype=np.float32)
    tuned: dict[str, float] = {}
    held_scores: dict[str, FloatArray] = {}
    coef = np.zeros((space.width, len(trained)), dtype=np.float32)
    intercept = np.zeros(len(trained), dtype=np.float32)
    for j, code in enumerate(trained):
        step(f"fit {code}")
        clf = _fit_column(c, labels[code], fit_rows, x_fit, coef, intercept, j, weight)
        decision = clf.decision_function(x_held).astype(np.float32)
        if stance_held is not None:
            decision = tempered(decision.reshape(-1, 1), stance_held, stance_gamma).ravel()
        y_held = labels[code][held_rows]
        a, b = _platt(decision, y_held)
        prob = 1 / (1 + np.exp(-(a * decision + b)))
        if y_held.sum() >= _TUNE_MIN_POSITIVES:
            target = target_precision.get(code) if isinstance(target_precision, Mapping) else target_precision
            t = _threshold(prob, y_held, violating[held_rows], target)
            r = review_thresholds.get(code, 0.5)
            b += float(np.clip(np.log(r / (1 - r)) - np.log(t / (1 - t)), -_MAX_SHIFT, _MAX_SHIFT))
            tuned[code] = t
            prob = 1 / (1 + np.exp(-(a * decision + b)))
        platt[j] = (a, b)
        held_scores[code] = prob.astype(np.float32)

    held_out = score_labels(
        {code: labels[code][held_rows].astype(bool) for code in codes},
        {
            code: _flagged(held_scores.get(code), [builder.hits[i] for i in held_rows], code, review_thresholds)
            for code in codes
        },
    )
    final_rows = np.arange(len(everything)) if refit else fit_rows
    if refit:
        step("refit")
        space, x_fit = builder.space(final_rows)
        coef = np.zeros((space.width, len(trained)), dtype=np.float32)
        for j, code in enumerate(trained):
            step(f"final {code}")
            _fit_column(c, labels[code], final_rows, x_fit, coef, intercept, j, weight)
        stance = _stance(x_fit, violating, weight, final_rows, stance_gamma, step)
    subs = _sub_label_models(everything, x_fit, final_rows, codes, c)
    model = CategoryModel(
        version="",
        features=space,
        codes=tuple(trained),
        coef=coef,
        intercept=intercept,
        platt=platt,
        sub_labels=subs,
        meta={"held_out": {k: v.as_dict() for k, v in held_out.items()}, "thresholds_tuned": tuned},
        stance_coef=None if stance is None else stance[0],
        stance_intercept=0.0 if stance is None else stance[1],
        stance_gamma=stance_gamma if stance is not None else 0.0,
    )
    return TrainResult(model, held_out, tuned)


def _stance(
    x: sp.csr_matrix,
    violating: np.ndarray[Any, Any],
    weight: np.ndarray[Any, Any],
    rows: np.ndarray[Any, Any],
    gamma: float,
    step: Progress,
) -> tuple[FloatArray, float] | None:
    """Violating (any category) vs lawful, over `rows` (`x` holds them, in order); None when there is nothing to
    learn (no gamma, or one class only)."""
    y = violating[rows].astype(np.int8)
    if gamma == 0 or y.sum() < MIN_POSITIVES or (len(y) - y.sum()) < MIN_POSITIVES:
        return None
    step("fit stance")
    clf = _liblinear(_STANCE_C).fit(x, y, sample_weight=weight[rows])
    return clf.coef_[0].astype(np.float32), float(clf.intercept_[0])


def _threshold(
    prob: FloatArray, y: np.ndarray[Any, Any], violating: np.ndarray[Any, Any], target_precision: float | None
) -> float:
    """Precision here is the platform's: a flag on a row that violates another category still goes to a human for
    a reason (COLD calls an insult about a region C4, the C8 model flags it too); only a flag on a lawful row is a
    false alarm."""
    if target_precision is None:
        return _best_threshold(prob, y)
    for t in np.arange(0.05, 0.96, 0.01):
        pred = prob >= t
        if pred.sum() >= 5 and float((pred & violating).sum()) / float(pred.sum()) >= target_precision:
            return float(t)
    return _best_threshold(prob, y)


def _fit_column(
    c: float,
    y: np.ndarray[Any, Any],
    rows: np.ndarray[Any, Any],
    x: Any,
    coef: FloatArray,
    intercept: FloatArray,
    j: int,
    weight: np.ndarray[Any, Any],
) -> LogisticRegression:
    """Fit one category's classifier on `rows` of x (each row counting its `weight`) and keep its weights as
    column j of the model."""
    clf = _classifier(c, y, rows)
    clf.fit(x, y[rows], sample_weight=weight[rows])
    coef[:, j] = clf.coef_[0]
    intercept[j] = clf.intercept_[0]
    return clf


def _classifier(c: float, y: np.ndarray[Any, Any], rows: np.ndarray[Any, Any]) -> LogisticRegression:
    share = float(y[rows].mean()) if len(rows) else 0.0
    # Rare categories (seed data against a large benign set) need balancing to be learned at all.
    weight = "balanced" if share < 0.2 else None
    return _liblinear(c, weight)


def _liblinear(c: float, class_weight: str | None = None) -> LogisticRegression:
    """L2 logistic regression solved in the dual: with far more columns than rows (300,000 against 50,000) it
    reaches the same weights as the primal (decisions equal to 1e-3) in a third of the time."""
    return LogisticRegression(C=c, solver="liblinear", dual=True, class_weight=class_weight, max_iter=1000)


def _flagged(
    prob: FloatArray | None, hits: Sequence[Sequence[tuple[str, str]]], code: str, review: Mapping[str, float]
) -> np.ndarray[Any, Any]:
    from_lexicon = np.array([any(c == code and level != "signal" for c, level in h) for h in hits], dtype=bool)
    if prob is None:
        return from_lexicon
    flagged: np.ndarray[Any, Any] = (prob >= review.get(code, 0.5)) | from_lexicon
    return flagged


def _sub_label_models(
    examples: Sequence[Example], x: sp.csr_matrix, rows: np.ndarray[Any, Any], codes: Sequence[str], c: float
) -> dict[str, SubLabelModel]:
    out: dict[str, SubLabelModel] = {}
    for code in codes:
        # (row of x, example index) for the positives of this category that carry a sub-label
        picked = [(r, int(i)) for r, i in enumerate(rows) if code in examples[i].labels and examples[i].sub_label]
        names = sorted({examples[i].sub_label or "" for _, i in picked})
        if not names:
            continue
        if len(names) == 1:
            out[code] = SubLabelModel(tuple(names), np.zeros((x.shape[1], 1), np.float32), np.zeros(1, np.float32))
            continue
        y = np.array([names.index(examples[i].sub_label or "") for _, i in picked])
        xs = x[[r for r, _ in picked]]
        if len(names) == 2:  # binary: one column for the second class; make it a two-column argmax
            clf = _liblinear(c).fit(xs, y)
            half, b = clf.coef_[0] / 2, float(clf.intercept_[0]) / 2
            coef = np.column_stack([-half, half]).astype(np.float32)
            intercept = np.array([-b, b], dtype=np.float32)
        else:
            # One against the rest per sub-label: a multinomial fit took 3-15 s per category (a minute of every
            # training) for the same held-out accuracy (within a point either way on C4, C6, C7, C8, C9).
            fits = [_liblinear(c).fit(xs, (y == k).astype(np.int8)) for k in range(len(names))]
            coef = np.column_stack([f.coef_[0] for f in fits]).astype(np.float32)
            intercept = np.array([f.intercept_[0] for f in fits], dtype=np.float32)
        out[code] = SubLabelModel(tuple(names), np.ascontiguousarray(coef), intercept)
    return out
