"""What a text shows before any model looks at it: lexicon hits (exact or by sound) and spam signals."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

import scipy.sparse as sp

from classifiers.lexicon import Level, Match, Matcher
from classifiers.normalize import match_view, match_view_with_map
from classifiers.signals import Signal, find_signals_batch, signal_matrix


@dataclass(frozen=True)
class Evidence:
    matches: list[list[Match]]
    signals: list[list[Signal]]
    # Match view -> original positions, per text that needed them (built once, used again for the hits' spans).
    origins: dict[int, list[int]] = field(default_factory=dict)

    def origin(self, i: int, text: str) -> list[int]:
        if i not in self.origins:
            self.origins[i] = match_view_with_map(text)[1]
        return self.origins[i]

    def lexicon_pairs(self) -> list[list[tuple[str, str]]]:
        """(category, level) of every hit, per text: the lexicon's model features."""
        return [[(m.term.category, m.level.value) for m in ms] for ms in self.matches]

    def signal_features(self) -> sp.csr_matrix:
        return signal_matrix(self.signals)


def gather(matcher: Matcher, texts: Sequence[str]) -> Evidence:
    evidence = Evidence(matcher.find_batch([match_view(t) for t in texts]), find_signals_batch(texts))
    for i, text in enumerate(texts):
        if any(m.homophone for m in evidence.matches[i]):
            evidence.matches[i] = _within_words(text, evidence.matches[i], evidence.origin(i, text))
        if any(m.level is Level.REVIEW for m in evidence.matches[i]):
            if any(q in text for q in _OPEN_QUOTES):
                evidence.matches[i] = _mentions(text, evidence.matches[i], evidence.origin(i, text))
            if _warns(text, evidence.signals[i]):
                evidence.matches[i] = [_as_signal(m) if m.level is Level.REVIEW else m for m in evidence.matches[i]]
    return evidence


# Words of the texts that talk about a violation rather than commit it: police notices, court reports, debunks,
# anti-fraud campaigns. In the corpus's dev split a quarter of the lawful look-alikes it flagged were such texts
# sent to review by one review-level term (警方提示：...“刷单返利”都是诈骗).
_WARNING = re.compile(
    "警方|民警|公安|派出所|提醒|提示|谨防|警惕|辟谣|谣言|不实|举报|违法|依法|判处|判决|通报|报道|科普|普法|别信|不要信"
    "|千万别|是骗局|骗子|诈骗|上当|打击|查处|抓获|拘留|犯罪|严禁|曝光|反诈|防范"
)
# An ad that sprinkles a warning word (谨防假冒) still carries its contact: that text keeps its review-level hits.
_CONTACT = frozenset({"contact_wechat", "contact_qq", "contact_telegram", "phone", "url", "solicit"})


def _warns(text: str, signals: Sequence[Signal]) -> bool:
    return _WARNING.search(text) is not None and not any(s.kind in _CONTACT for s in signals)


def _as_signal(m: Match) -> Match:
    return Match(m.term, m.start, m.end, Level.SIGNAL, m.homophone)


_OPEN_QUOTES = "“「『\"'‘《"
_CLOSE_QUOTES = "”」』\"'’》"


def _mentions(text: str, matches: list[Match], origin: list[int]) -> list[Match]:
    """A review-level term in quotation marks is mentioned, not used (网上卖的“开光貔貅”, 禁止发布“代考”广告): news,
    warnings and debunks quote what they warn about. It stays a model signal. Block-level terms are not softened."""
    out = []
    for m in matches:
        if m.level is Level.REVIEW:
            start, end = origin[m.start], origin[m.end - 1] + 1
            before = text[:start].rstrip()[-1:]
            after = text[end:].lstrip()[:1]
            if before and after and before in _OPEN_QUOTES and after in _CLOSE_QUOTES:
                out.append(_as_signal(m))
                continue
        out.append(m)
    return out


def _within_words(text: str, matches: list[Match], origin: list[int]) -> list[Match]:
    """Sound hits inside one run of writing only: 错误，麻烦 reads wu-ma across the comma, which is chance, not 无码.
    (Exact hits may span separators: 博.彩 is an evasion; a disguise by sound needs no separator as well.)"""
    kept = []
    for m in matches:
        if m.homophone:
            start, end = origin[m.start], origin[m.end - 1] + 1
            if any(unicodedata.category(c)[0] in "PZ" or c.isspace() for c in text[start:end]):
                continue
        kept.append(m)
    return kept
