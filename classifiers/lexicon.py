"""Lexicons: files per category, an allow-list, and one Aho-Corasick automaton that matches them all in one pass.

File format (config/lexicons/ and every folder of `classifier.extra_lexicons`): `C<n>.txt` or `C<n>.<part>.txt` with
one term per line as `term|sub_label|level` (both optional; level `block`, `review` (the default) or `signal`);
`allow.txt` or `allow.<part>.txt` with benign words that contain a term (女儿 holds 儿). `#` starts a comment.

Each term is entered into the automaton under its normalised form plus its pinyin spellings (full syllables,
initials, and for short terms every mix of characters, syllables and initials), so 赌博, dubo, db and 赌bo all hit.
Keys with Latin letters at an edge only count when not glued to other Latin letters or digits (sb in "usb" is no hit).
Terms of two characters or more also hit by sound (see `classifiers.sounds`): such a hit never blocks on its own, and
is only a signal where the matched characters are an everyday word.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

import ahocorasick
import opencc
from pypinyin import Style, lazy_pinyin

from classifiers.exceptions import LexiconError
from classifiers.normalize import match_view
from classifiers.sounds import common_words, sound_key, sound_view, two_character_words

_FILE = re.compile(r"^(C[1-9][0-9]*)(?:\.[A-Za-z0-9_-]+)?\.txt$")
_ALLOW_FILE = re.compile(r"^allow(?:\.[A-Za-z0-9_-]+)?\.txt$")
_HAN = re.compile(r"[\u3400-\u9fff]")
_MIN_LATIN_KEY = 3  # shorter all-Latin spellings (sb) only when the lexicon lists them as terms
_MIX_MAX_CHARS = 4  # 3**4 = 81 spellings per term; longer terms get the uniform spellings only


def shipped_lexicon_dir() -> Path:
    source_tree = Path(__file__).resolve().parents[1] / "config" / "lexicons"
    if source_tree.is_dir():
        return source_tree
    return Path(__file__).resolve().parents[1] / "modpipe" / "_default_config" / "lexicons"


class Level(StrEnum):
    """What a hit of a term may do on its own: block, send to review, or only inform the model."""

    BLOCK = "block"
    REVIEW = "review"
    SIGNAL = "signal"

    def as_homophone(self) -> Level:
        """A sound-alike of a term is evidence of a disguise, but sound collisions happen: it never blocks alone."""
        return Level.REVIEW if self is Level.BLOCK else self


_STRENGTH = {Level.SIGNAL: 0, Level.REVIEW: 1, Level.BLOCK: 2}


@dataclass(frozen=True, slots=True)
class Term:
    term: str
    category: str
    sub_label: str | None
    level: Level = Level.REVIEW


@dataclass(frozen=True)
class Lexicons:
    terms: tuple[Term, ...]
    allow: tuple[str, ...]
    version: str
    files: tuple[Path, ...] = field(default=())

    def categories(self) -> frozenset[str]:
        return frozenset(t.category for t in self.terms)


def _lines(path: Path) -> Iterable[tuple[int, str]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise LexiconError(f"cannot read lexicon {path}: {exc}") from exc
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if line:
            yield number, line


def load_lexicons(folders: Sequence[Path], known_categories: Iterable[str] | None = None) -> Lexicons:
    """Read every lexicon folder in order; the version is a hash over file names and contents."""
    known = frozenset(known_categories) if known_categories is not None else None
    terms: dict[tuple[str, str], Term] = {}
    allow: dict[str, None] = {}
    digest = hashlib.sha256()
    files: list[Path] = []
    for folder in folders:
        if not folder.is_dir():
            raise LexiconError(f"lexicon folder not found: {folder}")
        for path in sorted(folder.iterdir()):
            m = _FILE.match(path.name)
            if not m and not _ALLOW_FILE.match(path.name):
                continue
            files.append(path)
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
            if m is None:
                allow.update((line, None) for _, line in _lines(path))
                continue
            code = m.group(1)
            if known is not None and code not in known:
                raise LexiconError(f"{path}: category {code} is not configured in categories.yaml")
            for number, line in _lines(path):
                new = _term(path, number, line, code)
                old = terms.get((new.term, code))
                # A term listed twice (two files, or a folder of the operator's) keeps its strongest level.
                if old is None or _STRENGTH[new.level] > _STRENGTH[old.level]:
                    terms[(new.term, code)] = new
    return Lexicons(tuple(terms.values()), tuple(allow), digest.hexdigest()[:16], tuple(files))


def _term(path: Path, number: int, line: str, code: str) -> Term:
    parts = [part.strip() for part in line.split("|")]
    if len(parts) > 3:
        raise LexiconError(f"{path}:{number}: expected term|sub_label|level, got {line!r}")
    term, sub, level = [*parts, "", ""][:3]
    if not match_view(term):
        raise LexiconError(f"{path}:{number}: term {term!r} is empty after normalisation")
    try:
        parsed = Level(level) if level else Level.REVIEW
    except ValueError:
        raise LexiconError(f"{path}:{number}: level {level!r}: expected block, review or signal") from None
    return Term(term, code, sub or None, parsed)


@lru_cache(maxsize=65536)
def spellings(term: str) -> frozenset[str]:
    """The normalised keys under which a term is matched: itself and its pinyin forms."""
    base = match_view(term)
    keys = {base}
    if not _HAN.search(term):
        return frozenset(keys)
    chars = list(term)
    full = lazy_pinyin(chars)
    initials = lazy_pinyin(chars, style=Style.FIRST_LETTER)
    if len(full) != len(chars):
        return frozenset(keys)
    options = [
        (c, f, i) if _HAN.match(c) else (c,) for c, f, i in zip(chars, full, initials, strict=True)
    ]  # fmt: skip
    if len(chars) <= _MIX_MAX_CHARS:
        combos: Iterable[tuple[str, ...]] = itertools.product(*options)
    else:
        # Longer terms: the uniform spellings plus every single character swapped for its syllable or initial.
        uniform = [tuple(o[min(k, len(o) - 1)] for o in options) for k in range(3)]
        single = [
            tuple(o[k] if j == i else o[0] for j, o in enumerate(options))
            for i, opts in enumerate(options)
            for k in range(1, len(opts))
        ]
        combos = uniform + single
    phrase = lazy_pinyin(term)  # phrase-aware readings of polyphonic characters (银行 hang, 了 le)
    extra = ["".join(phrase), "".join(p[:1] for p in phrase)] if len(phrase) == len(chars) else []
    for combo in [*combos, *((e,) for e in extra)]:
        key = match_view("".join(combo))
        # All-Latin spellings of short terms (yp, cs, ts ...) are everyday abbreviations: too many false hits.
        if key and not (key.isascii() and len(key) < _MIN_LATIN_KEY):
            keys.add(key)
    return frozenset(keys)


@dataclass(frozen=True, slots=True)
class Entry:
    term: Term | None  # None: an allow-list word
    length: int
    latin_start: bool
    latin_end: bool


Found = tuple[int, int, Entry]  # (start, end, entry) of one automaton hit


@dataclass(frozen=True, slots=True)
class Match:
    """A hit in the match view of one text: [start, end) in match-view characters, with the level it carries."""

    term: Term
    start: int
    end: int
    level: Level
    homophone: bool = False


@lru_cache(maxsize=1)
def _s2t() -> opencc.OpenCC:
    return opencc.OpenCC("s2t")


def _traditional(word: str) -> str:
    return str(_s2t().convert(word))


def _latin(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


def _automaton(table: dict[str, list[Entry]]) -> ahocorasick.Automaton | None:
    if not table:
        return None
    automaton = ahocorasick.Automaton()
    for key, entries in table.items():
        automaton.add_word(key, tuple(entries))
    automaton.make_automaton()
    return automaton


def _entry(term: Term | None, key: str) -> Entry:
    return Entry(term, len(key), _latin(key[0]), _latin(key[-1]))


class Matcher:
    """All lexicon terms and allow-list words in one automaton over the match view, and the terms of two characters
    or more in a second one over the sound view."""

    def __init__(self, lexicons: Lexicons) -> None:
        self.lexicons = lexicons
        table: dict[str, list[Entry]] = {}
        sounds: dict[str, list[Entry]] = {}
        for term in lexicons.terms:
            for key in spellings(term.term):
                table.setdefault(key, []).append(_entry(term, key))
            sound = sound_key(match_view(term.term))
            if sound is not None:
                sounds.setdefault(sound, []).append(_entry(term, sound))
        for word in lexicons.allow:
            # Also under its traditional spelling: 傢俱 folds to 家俱 character by character, not to 家具.
            for key in {match_view(word), match_view(_traditional(word))}:
                if key:
                    table.setdefault(key, []).append(_entry(None, key))
        exact = {match_view(t.term) for t in lexicons.terms}
        # Everyday words that merely sound like a term: their sound hits stay model signals.
        self._everyday = common_words(sounds) - exact
        self._words = two_character_words()
        self._automaton = _automaton(table)
        self._sounds = _automaton(sounds)
        self.empty = self._automaton is None

    def _straddles(self, view: str, start: int, end: int) -> bool:
        """A two-character sound hit whose first character ends a word with the one before it, or whose last
        begins one with the one after (期末|考试 reads 魔考, 操作|太秀 reads 坐台): chance, not a disguise. On the
        corpus's dev split a third of the lawful texts flagged by a sound hit alone were such collisions."""
        if end - start != 2:
            return False
        return view[max(start - 1, 0) : start + 1] in self._words or view[end - 1 : end + 1] in self._words

    def _scan(self, automaton: ahocorasick.Automaton, view: str) -> Iterator[tuple[int, int, Entry]]:
        for end_index, entries in automaton.iter(view):
            end = end_index + 1
            for entry in entries:
                start = end - entry.length
                if entry.latin_start and start > 0 and _latin(view[start - 1]):
                    continue
                if entry.latin_end and end < len(view) and _latin(view[end]):
                    continue
                yield start, end, entry

    def find(self, view: str) -> list[Match]:
        """Hits in one match-view string, allow-listed ones removed, sorted by position."""
        if self._automaton is None:
            return []
        exact = list(self._scan(self._automaton, view))
        sounds = [] if self._sounds is None else list(self._scan(self._sounds, sound_view(view)))
        return self._resolve(view, exact, sounds)

    def _resolve(self, view: str, exact: Sequence[Found], sounds: Sequence[Found]) -> list[Match]:
        """The hits of one text from its raw automaton hits (exact and by sound, offsets into `view`)."""
        found: list[Match] = []
        allowed: list[tuple[int, int]] = []
        for start, end, entry in exact:
            if entry.term is None:
                allowed.append((start, end))
            else:
                found.append(Match(entry.term, start, end, entry.term.level))
        if sounds:
            spans = {(m.start, m.end, m.term.category) for m in found}
            for start, end, entry in sounds:
                assert entry.term is not None
                if (start, end, entry.term.category) in spans:
                    continue
                everyday = view[start:end] in self._everyday or self._straddles(view, start, end)
                level = Level.SIGNAL if everyday else entry.term.level.as_homophone()
                found.append(Match(entry.term, start, end, level, homophone=True))
        if allowed:
            found = [m for m in found if not any(a <= m.start and m.end <= b for a, b in allowed)]
        found.sort(key=lambda m: (m.start, -m.end, m.homophone, -_STRENGTH[m.level], m.term.category, m.term.term))
        unique: list[Match] = []
        seen: set[tuple[int, int, str]] = set()
        for m in found:  # one hit per span and category, even when two terms share a spelling (sb: 傻逼, 煞笔)
            if (m.start, m.end, m.term.category) not in seen:
                seen.add((m.start, m.end, m.term.category))
                unique.append(m)
        return unique

    def find_batch(self, views: Sequence[str]) -> list[list[Match]]:
        """One automaton pass over the whole batch per view, its hits handed to their texts: most texts have no
        hit and cost nothing beyond the pass (the texts with one were scanned a second time, alone, before)."""
        out: list[list[Match]] = [[] for _ in views]
        if self._automaton is None or not views:
            return out
        joined = "\x00".join(views)  # the match view never holds \x00 (a control character), so no term spans two
        starts: list[int] = []
        pos = 0
        for v in views:
            starts.append(pos)
            pos += len(v) + 1
        # A term's Latin-boundary check reads the neighbouring characters; \x00 is no letter, so over the joined
        # batch it decides as it does over one text.
        exact = _by_text(starts, self._scan(self._automaton, joined))
        sounds: dict[int, list[Found]] = {}
        if self._sounds is not None:
            sounds = _by_text(starts, self._scan(self._sounds, sound_view(joined)))
        for doc in sorted(exact.keys() | sounds.keys()):
            out[doc] = self._resolve(views[doc], exact.get(doc, []), sounds.get(doc, []))
        return out


def _by_text(starts: list[int], hits: Iterable[Found]) -> dict[int, list[Found]]:
    """Hits over a joined batch -> per text, offsets made local to it."""
    out: dict[int, list[Found]] = {}
    for start, end, entry in hits:
        doc = _doc_of(starts, start)
        out.setdefault(doc, []).append((start - starts[doc], end - starts[doc], entry))
    return out


def _doc_of(starts: list[int], index: int) -> int:
    return bisect.bisect_right(starts, index) - 1
