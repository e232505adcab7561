"""Text normalisation with a map back to the original characters.

Two views of a text, both built from per-character translation tables so the hot path is `str.translate` and one
regex substitution per message (C speed), never a Python loop over characters:

* the *match* view, for lexicon matching: NFKC, case, look-alike letters and digits, traditional -> simplified,
  separators / punctuation / symbols / emoji / zero-width characters removed, runs of one character collapsed.
* the *model* view, for features: the same character mapping, but punctuation and spacing are kept (they carry
  tone), only invisible characters are removed and nothing is collapsed.

The index map (normalised position -> original position) is only needed for texts with a lexicon hit, so it is
built on demand by `match_view_with_map`, which replays the same table character by character; a test checks that
both paths agree.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import Path

import opencc

# Characters that render as nothing or as a space: used to split a term without looking like a split.
_INVISIBLE = frozenset("\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff\u180e\u00ad\u034f")

# Latin look-alikes from other scripts that NFKC leaves alone.
_CONFUSABLES = {
    "а": "a", "в": "b", "е": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c", "т": "t",
    "у": "y", "х": "x", "і": "i", "ј": "j", "ѕ": "s", "ԁ": "d", "ɡ": "g", "α": "a", "β": "b", "ε": "e",
    "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "ω": "w", "〇": "0",
}  # fmt: skip

# Pictographs that stand for a character in evasive spelling (🐴的 = 妈的 by sound, 💊 = 药, 🔫 = 枪). Only the match
# view reads them so; the model view keeps the emoji, which carry tone of their own.
_EMOJI_CHARS = {
    "🐔": "鸡", "🐴": "马", "🐎": "马", "🐮": "牛", "🐄": "牛", "🐷": "猪", "🐖": "猪", "🐶": "狗", "🐕": "狗",
    "🐍": "蛇", "🐉": "龙", "🐲": "龙", "🐯": "虎", "🐅": "虎", "🐭": "鼠", "🐀": "鼠", "🐰": "兔", "🐇": "兔",
    "🐑": "羊", "🐐": "羊", "🐒": "猴", "🐵": "猴", "🐟": "鱼", "🐠": "鱼", "🐸": "蛙", "🐢": "龟", "🦆": "鸭",
    "🐘": "象", "🐻": "熊", "🐼": "熊", "🦅": "鹰", "🐝": "蜂", "🐜": "蚁", "🌸": "花", "🌼": "花", "🍃": "叶",
    "🌿": "草", "🔥": "火", "💧": "水", "🌙": "月", "☀": "日", "⭐": "星", "💰": "钱", "💴": "钱", "💵": "钱",
    "💊": "药", "🔫": "枪", "🔪": "刀", "💣": "弹", "🀄": "中", "👁": "目", "👄": "口", "✋": "手", "🍑": "桃",
    "🍆": "茄", "🥚": "蛋", "🍵": "茶", "🍺": "酒", "🍷": "酒", "❤": "心", "💗": "心", "🏠": "家", "🚗": "车",
    "✈": "机", "🛫": "机", "🐛": "虫", "🦟": "蚊", "⛽": "油", "🎲": "骰", "🃏": "牌", "🎰": "机", "🚬": "烟",
    "💉": "针", "🍚": "饭", "🍜": "面", "🥛": "奶", "🧂": "盐", "🌾": "稻", "🌳": "树", "⚡": "电", "☁": "云",
    "⛰": "山", "🌊": "浪", "🔔": "铃", "🔑": "钥", "🔒": "锁", "📱": "机", "☎": "话", "📞": "话", "🚪": "门",
}  # fmt: skip

# Code point ranges whose characters may need mapping. Everything else is left as it is by `str.translate`.
_RANGES = (
    (0x0000, 0x3000),  # Latin, Greek, Cyrillic, general punctuation, letter-like symbols, enclosed alphanumerics
    (0x3000, 0x3100),  # CJK symbols and punctuation, kana
    (0x3200, 0x3400),  # enclosed CJK letters, CJK compatibility
    (0x3400, 0xA000),  # CJK ideographs (traditional -> simplified)
    (0xF900, 0x10000),  # compatibility ideographs, presentation forms, full-width forms, specials
    (0x1D400, 0x1D800),  # mathematical alphanumeric symbols (𝐚 𝒂 𝔞 …)
    (0x1F100, 0x1F200),  # enclosed alphanumeric supplement (🄰 🅐 …)
    (0x1F000, 0x1FB00),  # emoji and pictographs
)

_DROP_CATEGORIES = ("P", "S", "Z", "C", "M")  # punctuation, symbols, separators, controls/format, combining marks
_REPEATS = re.compile(r"(.)\1+", re.DOTALL)


def _t2s_chars() -> dict[str, str]:
    path = Path(opencc.__file__).parent / "dictionary" / "TSCharacters.txt"
    table: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) == 2 and len(parts[0]) == 1:
            target = parts[1].split(" ")[0]
            if len(target) == 1:
                table[parts[0]] = target
    return table


def _fold(ch: str, t2s: dict[str, str]) -> str:
    """The canonical form of one character before the view-specific drop rules."""
    if ch in _INVISIBLE:
        return ""
    out = unicodedata.normalize("NFKC", ch)
    # ⑴ -> "(1)", ⒈ -> "1.": keep only the letters and digits the decoration surrounds.
    if len(out) > 1 and any(c.isalnum() for c in out):
        out = "".join(c for c in out if c.isalnum())
    out = out.lower()
    return "".join(_CONFUSABLES.get(c, t2s.get(c, c)) for c in out)


def _dropped(ch: str) -> bool:
    return unicodedata.category(ch).startswith(_DROP_CATEGORIES)


@lru_cache(maxsize=1)
def tables() -> tuple[dict[int, str], dict[int, str]]:
    """(match table, model table) for `str.translate`; built once per process (about 0.2 s)."""
    t2s = _t2s_chars()
    match: dict[int, str] = {}
    model: dict[int, str] = {}
    for lo, hi in _RANGES:
        for cp in range(lo, hi):
            if 0xD800 <= cp < 0xE000:
                continue
            ch = chr(cp)
            folded = _fold(ch, t2s)
            kept = _EMOJI_CHARS.get(ch) or "".join(c for c in folded if not _dropped(c))
            if kept != ch:
                match[cp] = kept
            if ch in "\n\t\r":
                visible = " "
            elif ch in _INVISIBLE or unicodedata.category(ch) in ("Cf", "Cc"):
                visible = ""
            else:
                visible = folded
            if visible != ch:
                model[cp] = visible
    return match, model


def match_view(text: str) -> str:
    return _REPEATS.sub(r"\1", text.translate(tables()[0]))


def model_view(text: str) -> str:
    return text.translate(tables()[1])


def match_view_with_map(text: str) -> tuple[str, list[int]]:
    """The match view plus, for each of its characters, the index of the original character it came from."""
    get = _char_table().get
    out: list[str] = []
    origin: list[int] = []
    last = None
    for i, ch in enumerate(text):
        mapped = get(ch)
        if mapped is None:  # most characters stand as they are: the shortest path first
            if ch != last:
                out.append(ch)
                origin.append(i)
                last = ch
            continue
        for c in mapped:
            if c != last:
                out.append(c)
                origin.append(i)
                last = c
    return "".join(out), origin


@lru_cache(maxsize=1)
def _char_table() -> dict[str, str]:
    """The match table keyed by character: the loop above looks each one up without `ord`."""
    return {chr(cp): kept for cp, kept in tables()[0].items()}


def original_span(origin: list[int], start: int, end: int, text: str) -> tuple[int, int]:
    """Span [start, end) of the match view -> span in the original text, widened to whole repeated characters."""
    table = tables()[0]
    first = origin[start]
    last = origin[end - 1] + 1
    tail = table.get(ord(text[last - 1]), text[last - 1])[-1:]
    # A collapsed run maps to its first character; the evidence is the whole run, so extend over the repeats.
    # A collapsed run may have separators inside (猩 猩, 鼠\u200b鼠): the run goes on across dropped characters.
    probe = last
    while tail and probe < len(text):
        mapped = table.get(ord(text[probe]), text[probe])
        if mapped == tail:
            probe += 1
            last = probe
        elif mapped == "":
            probe += 1
        else:
            break
    return first, last
