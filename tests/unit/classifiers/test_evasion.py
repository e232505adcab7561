"""Every lexicon term, in every normalisation form, is caught with its span in the original text; allow-list words
keep the terms inside them quiet. The variants are generated from the shipped lexicon files, not hand-picked."""

from __future__ import annotations

from collections.abc import Callable

import opencc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pypinyin import Style, lazy_pinyin

from classifiers.lexicon import Lexicons, Matcher, Term, load_lexicons, shipped_lexicon_dir
from classifiers.normalize import match_view
from classifiers.tagger import Tagger
from modpipe.settings import load_settings

LEXICONS = load_lexicons([shipped_lexicon_dir()], load_settings(environ={}).categories)
TERMS = LEXICONS.terms
PRE, POST = "甲乙", "丙丁"  # context characters that occur in no term or allow-list word
SEPARATORS = [" ", "\u200b", "\u200d", "\ufeff", "😀", "*", "·", "|", "　", "-", "/", "。", "~", "\u00ad"]
_S2T = opencc.OpenCC("s2t")

FULLWIDTH = {c: chr(ord(c) + 0xFEE0) for c in map(chr, range(0x21, 0x7F))}
MATH_BOLD = {chr(0x61 + i): chr(0x1D41A + i) for i in range(26)} | {chr(0x41 + i): chr(0x1D400 + i) for i in range(26)}
CIRCLED = {chr(0x61 + i): chr(0x24D0 + i) for i in range(26)} | {chr(0x31 + i): chr(0x2460 + i) for i in range(9)}


def _han(c: str) -> bool:
    return "\u3400" <= c <= "\u9fff"


def _pinyin(term: str, style: Style) -> str:
    return "".join(p if _han(c) else c for c, p in zip(term, lazy_pinyin(list(term), style=style), strict=True))


FORMS: dict[str, Callable[[str], list[str]]] = {
    "plain": lambda t: [t],
    "fullwidth_upper": lambda t: ["".join(FULLWIDTH.get(c, c) for c in t.upper())],
    "math_bold": lambda t: ["".join(MATH_BOLD.get(c, c) for c in t)],
    "circled": lambda t: ["".join(CIRCLED.get(c.lower(), c) for c in t)],
    "traditional": lambda t: [_S2T.convert(t)],
    "separators": lambda t: [s.join(t) for s in SEPARATORS],
    "mixed_separators": lambda t: ["".join(c + SEPARATORS[i % len(SEPARATORS)] for i, c in enumerate(t))[:-1]],
    "repeated": lambda t: ["".join(c * 2 for c in t), "".join(c * (1 + i % 3) for i, c in enumerate(t))],
    "pinyin": lambda t: [_pinyin(t, Style.NORMAL), _pinyin(t, Style.NORMAL).upper()],
    "pinyin_spaced": lambda t: [" ".join(lazy_pinyin(t))],
    "one_char_pinyin": lambda t: [
        t[:i] + _pinyin(t[i], Style.NORMAL) + t[i + 1 :] for i in range(len(t)) if _han(t[i])
    ],
    "one_char_initial": lambda t: [
        t[:i] + _pinyin(t[i], Style.FIRST_LETTER) + t[i + 1 :] for i in range(len(t)) if _han(t[i])
    ],
    "initials": lambda t: [_pinyin(t, Style.FIRST_LETTER)],
}


def _expected(term: str, form: str, variant: str) -> bool:
    """Forms that the design leaves out on purpose: all-Latin spellings shorter than three letters (yp, cs ...)."""
    if form in ("pinyin", "initials", "pinyin_spaced", "one_char_initial", "one_char_pinyin"):
        key = match_view(variant)
        if key.isascii() and len(key) < 3 and key != match_view(term):
            return False
    return variant != ""


def _hit_spans(tagger_matcher: Matcher, text: str, category: str) -> list[tuple[int, int]]:
    hits = Tagger._hits(text, tagger_matcher.find(match_view(text)), [])
    return [(h.start, h.end) for h in hits if h.category == category]


@pytest.fixture(scope="module")
def lexicon_matcher() -> Matcher:
    return Matcher(LEXICONS)


@pytest.mark.parametrize("form", sorted(FORMS))
def test_every_term_is_caught_in_every_form(lexicon_matcher: Matcher, form: str) -> None:
    missed: list[str] = []
    checked = 0
    for term in TERMS:
        for variant in FORMS[form](term.term):
            if not _expected(term.term, form, variant):
                continue
            checked += 1
            text = PRE + variant + POST
            span = (len(PRE), len(PRE) + len(variant))
            if span not in _hit_spans(lexicon_matcher, text, term.category):
                missed.append(f"{term.term}: {variant!r}")
    assert checked >= len(TERMS) // 2
    assert not missed, f"{len(missed)} of {checked} variants missed: {missed[:20]}"


@given(
    term=st.sampled_from(TERMS),
    prefix=st.text(alphabet="今天我们看到这个消息觉得很好的事情，。！ 123abc", max_size=8),
    suffix=st.text(alphabet="今天我们看到这个消息觉得很好的事情，。！ 123abc", max_size=8),
    seps=st.lists(st.sampled_from(SEPARATORS), min_size=0, max_size=6),
    repeat=st.integers(min_value=1, max_value=3),
)
@settings(max_examples=400, deadline=None)
def test_random_context_and_evasions(term: Term, prefix: str, suffix: str, seps: list[str], repeat: int) -> None:
    matcher = _MATCHER
    chars = [c * repeat for c in term.term]
    variant = "".join(c + (seps[i] if i < len(seps) and i < len(chars) - 1 else "") for i, c in enumerate(chars))
    if any(c.isascii() and c.isalnum() for c in (term.term[0], term.term[-1])):
        # a term with a Latin edge glued to Latin context is another word (sb in "usb"), by design
        prefix, suffix = prefix + "说", "了" + suffix
    text = prefix + variant + suffix
    spans = _hit_spans(matcher, text, term.category)
    start = len(prefix)
    assert any(a <= start and len(prefix) + len(variant) <= b + 1 for a, b in spans), (text, spans)


_MATCHER = Matcher(LEXICONS)


_BARE = Matcher(Lexicons(LEXICONS.terms, (), "bare"))


def _terms_inside(word: str) -> list[Term]:
    return [m.term for m in _BARE.find(match_view(word))]


ALLOWED = [w for w in LEXICONS.allow if _terms_inside(w)]


def test_allow_list_entries_hold_terms() -> None:
    assert len(ALLOWED) == len(LEXICONS.allow), [w for w in LEXICONS.allow if w not in ALLOWED]


@pytest.mark.parametrize("word", ALLOWED)
def test_allow_list_word_keeps_its_terms_quiet(lexicon_matcher: Matcher, word: str) -> None:
    variants = [word, _S2T.convert(word), " ".join(word), "".join(c * 2 for c in word), "\u200b".join(word)]
    for variant in variants:
        text = PRE + variant + POST
        inside = [
            (a, b) for a, b in _all_spans(lexicon_matcher, text) if len(PRE) <= a and b <= len(PRE) + len(variant)
        ]
        assert not inside, (variant, inside)


@pytest.mark.parametrize("word", ALLOWED)
def test_terms_of_an_allow_list_word_still_hit_on_their_own(lexicon_matcher: Matcher, word: str) -> None:
    for term in _terms_inside(word):
        assert _hit_spans(lexicon_matcher, PRE + term.term + POST, term.category)


def _all_spans(matcher: Matcher, text: str) -> list[tuple[int, int]]:
    return [(h.start, h.end) for h in Tagger._hits(text, matcher.find(match_view(text)), [])]


def test_latin_spellings_need_word_boundaries(lexicon_matcher: Matcher) -> None:
    latin = {k for t in TERMS for k in [match_view(t.term)] if k.isascii()}
    for key in latin:
        assert not lexicon_matcher.find(match_view("x" + key + "y")), key
        assert lexicon_matcher.find(match_view("说" + key + "了")), key
