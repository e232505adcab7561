"""What a text shows before any model looks at it: lexicon hits (exact or by sound) and spam signals."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import scipy.sparse as sp

from classifiers.lexicon import Match, Matcher
from classifiers.normalize import match_view, match_view_with_map
from classifiers.signals import Signal, find_signals_batch, signal_matrix


@dataclass(frozen=True)
class Evidence:
    matches: list[list[Match]]
    signals: list[list[Signal]]

    def lexicon_pairs(self) -> list[list[tuple[str, str]]]:
        """(category, level) of every hit, per text: the lexicon's model features."""
        return [[(m.term.category, m.level.value) for m in ms] for ms in self.matches]

    def signal_features(self) -> sp.csr_matrix:
        return signal_matrix(self.signals)


def gather(matcher: Matcher, texts: Sequence[str]) -> Evidence:
    matches = matcher.find_batch([match_view(t) for t in texts])
    for i, ms in enumerate(matches):
        if any(m.homophone for m in ms):
            matches[i] = _within_words(texts[i], ms)
    return Evidence(matches, find_signals_batch(texts))


def _within_words(text: str, matches: list[Match]) -> list[Match]:
    """Sound hits inside one run of writing only: 错误，麻烦 reads wu-ma across the comma, which is chance, not 无码.
    (Exact hits may span separators: 博.彩 is an evasion; a disguise by sound needs no separator as well.)"""
    _view, origin = match_view_with_map(text)
    kept = []
    for m in matches:
        if m.homophone:
            start, end = origin[m.start], origin[m.end - 1] + 1
            if any(unicodedata.category(c)[0] in "PZ" or c.isspace() for c in text[start:end]):
                continue
        kept.append(m)
    return kept
