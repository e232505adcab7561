"""The one-pass assembly a tagger uses equals the training assembly, column for column."""

from __future__ import annotations

import numpy as np

from classifiers import features as f
from classifiers.signals import KINDS, find_signals_batch, signal_matrix

TEXTS = [
    "加vx ab8829 日赚500 首充送100，官网 www点abc点com",
    "今天天气不错，我们晚上吃火锅吧",
    "",
    "哈哈哈哈哈哈哈哈！！！",
    "a",
    "扣扣 一三八 零零 二三 电话138-1234 5678 代开发票",
]
CODES = ("C7", "C9")
HITS = [[("C9", "review"), ("C9", "review"), ("C7", "signal")], [], [], [], [("C7", "block")], [("C9", "signal")]]


def test_transform_equals_the_training_assembly() -> None:
    words = f.WordMatcher(["天气", "火锅", "日赚", "发票", "代开发票", "官网"])
    chars = f.char_ngram_counts(TEXTS, bits=12)
    space = f.FeatureSpace(f.fit_idf(chars), f.fit_idf(words.counts(TEXTS)), words, CODES, KINDS[:-1])
    signals = signal_matrix(find_signals_batch(TEXTS))
    assert signals.nnz  # the texts carry signals, and the space leaves the last kind out as an older model would
    trained = f.assemble(
        f.tfidf(chars, space.char_idf),
        f.tfidf(words.counts(TEXTS), space.word_idf),
        f.lexicon_matrix(HITS, CODES),
        signals[:, : len(space.signal_kinds)],
    )
    served = space.transform(TEXTS, HITS, signals)
    assert served.shape == trained.shape
    assert np.abs((served - trained).toarray()).max() < 1e-6
    for i in range(len(TEXTS)):  # the same entries, not merely the same values where both have one
        assert set(served[i].indices) == set(trained[i].indices)
