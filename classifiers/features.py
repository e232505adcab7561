"""Batch feature extraction: hashed character n-grams, vocabulary words, lexicon hits.

Everything here works on a whole batch at once. Character n-grams are hashed with numpy over the code points of
the joined batch (no per-message Python); words are the jieba vocabulary of the training data, found in one
Aho-Corasick pass over the batch, so jieba's dictionary and segmenter stay out of the hot path. The same code runs
at training and at inference time, so there is no train/serve skew.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import ahocorasick
import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

NGRAM_MAX = 3
CHAR_BITS = 18
_MULT = (
    np.uint64(0x9E3779B97F4A7C15),
    np.uint64(0xC2B2AE3D27D4EB4F),
    np.uint64(0x165667B19E3779F9),
    np.uint64(0xD6E8FEB86659FD93),
)
_SALT = np.uint64(0x27D4EB2F165667C5)

FloatArray = npt.NDArray[np.float32]


def _codepoints(texts: Sequence[str]) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.int64]]:
    joined = "\x00".join(texts) + "\x00"
    cps = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    doc = np.cumsum(cps == 0, dtype=np.int64)
    doc = np.concatenate(([0], doc[:-1]))  # the separator after a text still belongs to it (and is masked)
    return cps, doc


def char_ngram_counts(texts: Sequence[str], bits: int = CHAR_BITS, nmax: int = NGRAM_MAX) -> sp.csr_matrix:
    """Counts of hashed character 1..nmax-grams, one row per text (texts must not contain \\x00)."""
    cps, doc = _codepoints(texts)
    size = np.uint64((1 << bits) - 1)
    rows: list[npt.NDArray[np.int64]] = []
    cols: list[npt.NDArray[np.uint64]] = []
    n_total = len(cps)
    with np.errstate(over="ignore"):
        acc = np.zeros(n_total, dtype=np.uint64)
        valid = np.ones(n_total, dtype=bool)
        for n in range(1, nmax + 1):
            length = n_total - n + 1
            if length <= 0:
                break
            part = cps[n - 1 : n - 1 + length]
            acc = acc[:length] + part * _MULT[n - 1]
            valid = valid[:length] & (part != 0)
            hashed = ((acc ^ (_SALT * np.uint64(n))) * _MULT[3]) >> np.uint64(64 - bits)
            idx = np.flatnonzero(valid)
            rows.append(doc[idx])
            cols.append(hashed[idx] & size)
    r = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    c = np.concatenate(cols).astype(np.int64) if cols else np.zeros(0, dtype=np.int64)
    data = np.ones(len(r), dtype=np.float32)
    m = sp.csr_matrix((data, (r, c)), shape=(len(texts), 1 << bits), dtype=np.float32)
    m.sum_duplicates()
    return m


class WordMatcher:
    """Every vocabulary word occurring in a text (overlaps included), in one automaton pass per batch."""

    def __init__(self, vocabulary: Sequence[str]) -> None:
        self.vocabulary = tuple(vocabulary)
        self._automaton = ahocorasick.Automaton(ahocorasick.STORE_INTS)
        for i, word in enumerate(self.vocabulary):
            self._automaton.add_word(word, i)
        if self.vocabulary:
            self._automaton.make_automaton()

    def counts(self, texts: Sequence[str]) -> sp.csr_matrix:
        shape = (len(texts), max(len(self.vocabulary), 1))
        if not self.vocabulary or not texts:
            return sp.csr_matrix(shape, dtype=np.float32)
        joined = "\x00".join(texts)
        found = list(self._automaton.iter(joined))
        if not found:
            return sp.csr_matrix(shape, dtype=np.float32)
        arr = np.asarray(found, dtype=np.int64)
        bounds = np.cumsum([len(t) + 1 for t in texts])
        rows = np.searchsorted(bounds, arr[:, 0], side="right")
        m = sp.csr_matrix((np.ones(len(arr), dtype=np.float32), (rows, arr[:, 1])), shape=shape, dtype=np.float32)
        m.sum_duplicates()
        return m


def tfidf(counts: sp.csr_matrix, idf: FloatArray) -> sp.csr_matrix:
    """Sublinear tf times idf, rows scaled to unit length."""
    out = counts.copy()
    np.log1p(out.data, out=out.data)
    out = out.multiply(idf.reshape(1, -1)).tocsr()
    norms = np.sqrt(np.asarray(out.multiply(out).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    inv = sp.diags((1.0 / norms).astype(np.float32))
    return (inv @ out).astype(np.float32).tocsr()


def fit_idf(counts: sp.csr_matrix) -> FloatArray:
    df = np.bincount(counts.indices, minlength=counts.shape[1]).astype(np.float64)
    n = counts.shape[0]
    idf: FloatArray = (np.log((1 + n) / (1 + df)) + 1).astype(np.float32)
    return idf


@dataclass(frozen=True)
class FeatureSpace:
    """Column layout: [char n-grams | vocabulary words | one column per lexicon category]."""

    char_idf: FloatArray
    word_idf: FloatArray
    words: WordMatcher
    lexicon_codes: tuple[str, ...]

    @property
    def width(self) -> int:
        return len(self.char_idf) + len(self.word_idf) + len(self.lexicon_codes)

    def transform(self, model_views: Sequence[str], lexicon_hits: Iterable[frozenset[str]]) -> sp.csr_matrix:
        chars = tfidf(char_ngram_counts(model_views, bits=int(np.log2(len(self.char_idf)))), self.char_idf)
        words = tfidf(self.words.counts(model_views), self.word_idf)
        return sp.hstack([chars, words, lexicon_matrix(lexicon_hits, self.lexicon_codes)], format="csr")


def lexicon_matrix(hits: Iterable[frozenset[str]], codes: Sequence[str]) -> sp.csr_matrix:
    index = {c: i for i, c in enumerate(codes)}
    rows: list[int] = []
    cols: list[int] = []
    n = 0
    for n, cats in enumerate(hits, 1):
        for cat in cats:
            if cat in index:
                rows.append(n - 1)
                cols.append(index[cat])
    return sp.csr_matrix(
        (np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(n, max(len(codes), 1)), dtype=np.float32
    )[:, : len(codes)]
