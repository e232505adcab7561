"""The sound view: every Chinese character of the match view replaced by a stand-in for its toneless syllable.

Spammers swap characters for others that read the same (菠菜 for 博彩, 大湿 for 大师, 🐴的 for 妈的). Two texts
with equal sound views read alike, so a term's sound key found in a text's sound view is a homophone hit. The view
is a `str.translate` over the match view with one private-use character per syllable: it has the same length as
the match view, so its positions are the match view's and the evidence spans map back the same way.

A homophone that is itself a common word (大妈 for 大麻, 菠菜 in a recipe) is no disguise on its own: `common_words`
lists the dictionary words of jieba that share a term's sound, and such a hit only counts as a model signal.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from pypinyin.pinyin_dict import pinyin_dict

_HAN_RANGES = ((0x3400, 0x4DC0), (0x4E00, 0xA000))
_PUA = 0xE000  # stand-ins live in the private-use block; private-use characters of the input become U+FFFD
_PUA_END = 0xF900
COMMON_WORD_FREQ = 30  # jieba dictionary frequency from which a word counts as everyday language


@lru_cache(maxsize=1)
def sound_table() -> dict[int, str]:
    """Han character -> private-use character of its first (most common) toneless reading (built once, ~0.1 s)."""
    syllables: dict[str, str] = {}
    table: dict[int, str] = dict.fromkeys(range(_PUA, _PUA_END), "\ufffd")
    for lo, hi in _HAN_RANGES:
        for cp in range(lo, hi):
            readings = pinyin_dict.get(cp)
            if not readings:
                continue
            first = readings.split(",", 1)[0]
            plain = "".join(c for c in unicodedata.normalize("NFD", first) if c.isascii()).lower()
            if plain.isalpha():
                table[cp] = syllables.setdefault(plain, chr(_PUA + len(syllables)))
    return table


def sound_view(match_view: str) -> str:
    return match_view.translate(sound_table())


def sound_key(term_view: str) -> str | None:
    """The key a term is matched under by sound, or None when it has fewer than two readable characters."""
    key = sound_view(term_view)
    sounded = sum(1 for c in key if _PUA <= ord(c) < _PUA_END)
    return key if sounded >= 2 and sounded == len(key) else None


def _jieba_dictionary() -> Path:
    import jieba

    return Path(jieba.__file__).parent / "dict.txt"


@lru_cache(maxsize=1)
def _common_by_sound() -> dict[str, frozenset[str]]:
    out: dict[str, set[str]] = {}
    with _jieba_dictionary().open(encoding="utf-8") as fh:
        for line in fh:
            parts = line.split(" ")
            if len(parts) < 2 or not 1 < len(parts[0]) <= 8 or int(parts[1]) < COMMON_WORD_FREQ:
                continue
            key = sound_key(parts[0])
            if key is not None:
                out.setdefault(key, set()).add(parts[0])
    return {k: frozenset(v) for k, v in out.items()}


@lru_cache(maxsize=1)
def two_character_words() -> frozenset[str]:
    """Everyday words of two characters (jieba's dictionary, frequency >= COMMON_WORD_FREQ)."""
    return frozenset(w for words in _common_by_sound().values() for w in words if len(w) == 2)


def common_words(keys: Iterable[str]) -> frozenset[str]:
    """The everyday words that sound like one of `keys` (a lexicon's sound keys)."""
    table = _common_by_sound()
    found: set[str] = set()
    for key in keys:
        found.update(table.get(key, ()))
    return frozenset(found)
