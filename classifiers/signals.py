"""Signals that spam carries whatever it sells: contact handles, phone numbers, links, money, earnings promises.

Each signal is found with its span in the original text (evidence for the moderator) and counted as a model
feature. None of them is a violation: a lawful shop ad has a phone number and a price too. The patterns read a
case-folded NFKC copy of the text, so full-width ｖｘ and ＱＱ count, and cover the usual disguises (薇信, V信, 加v,
扣扣, 飞机, numbers with separators or Chinese numerals, `点com`, spaced links).
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

_SEP = r"[\s\-_.·•,，:：/|丨()（）]*"
_CN_DIGIT = "零〇一二三四五六七八九幺两壹贰叁肆伍陆柒捌玖"
_DIGIT = rf"[0-9{_CN_DIGIT}]"

PATTERNS: dict[str, re.Pattern[str]] = {
    # An app named, or its disguises, then usually an id
    "contact_wechat": re.compile(
        r"(?:加vx|加wx|加微信|加薇信|vx号|微信号|微信|薇信|威信|徽信|維信|微芯|v信|vx|wx|wechat|weixin|加v|\+v|➕v|加微|加薇|➕微|扣v"
        r"|绿泡泡)"
        r"(?:[\s:：号]*[a-z][a-z0-9_-]{4,19})?"
    ),
    "contact_qq": re.compile(
        rf"(?:qq|扣扣|企鹅号|q号|q群|球球|扣群)(?:[\s:：号群]*{_DIGIT}(?:{_SEP}{_DIGIT}){{4,11}})?"
    ),
    "contact_telegram": re.compile(r"(?:纸飞机|飞机号|飞机|telegram|tg|电报)(?:[\s:：@号]*@?[a-z][a-z0-9_]{3,31})?"),
    "phone": re.compile(
        rf"(?<![0-9])1[3-9][0-9](?:{_SEP}[0-9]){{8}}(?![0-9])"
        rf"|[一幺][三四五六七八九](?:{_SEP}[{_CN_DIGIT}]){{9}}"
    ),
    "url": re.compile(
        r"https?://[^\s，。]+|www(?:\s*[.。点]\s*|\s+)[a-z0-9-]+"
        r"|[a-z0-9][a-z0-9-]{1,30}\s*(?:\.|。|点|dot)\s*(?:com|cn|net|top|xyz|vip|cc|me|io|app|club|site|info)\b"
        r"|\b(?:t\.cn|dwz\.cn|url\.cn|bit\.ly)/\S+"
    ),
    "money": re.compile(
        rf"[¥￥$]\s*[0-9]+(?:\.[0-9]+)?|[0-9]+(?:\.[0-9]+)?\s*(?:元|块|米|rmb|usdt|u\b|w\b|万|k\b|个点)"
        rf"|[{_CN_DIGIT}十百千]+\s*(?:元|块)"
    ),
    "earnings": re.compile(
        r"日赚|日入|日结|月入|躺赚|稳赚|稳赢|包赢|返利|返水|返现|回本|佣金|提现|秒到账?|首充|充值送|包赔|高回报|零风险"
        r"|无风险|一单一结|带你赚|轻松赚|兼职赚|收益翻倍"
    ),
    "solicit": re.compile(r"私聊|私信我|私我|dd我|滴滴我|加我|联系我|找我|咨询|扫码|进群|拉你进群|速加|名额有限|限时"),
}
KINDS = tuple(PATTERNS)


@dataclass(frozen=True, slots=True)
class Signal:
    kind: str
    start: int  # character offsets into the original text, end exclusive
    end: int


def _reading(text: str) -> str:
    # Spans are read off this copy, so it must keep the text's positions: NFKC rarely changes the length, and
    # lowering rarely does (İ becomes two characters); where one does, the text is read without it.
    normal = text if unicodedata.is_normalized("NFKC", text) else unicodedata.normalize("NFKC", text)
    folded = normal.lower()
    if len(folded) == len(text):
        return folded
    lowered = text.lower()
    return lowered if len(lowered) == len(text) else text


def find_signals(text: str) -> list[Signal]:
    return find_signals_batch([text])[0]


def find_signals_batch(texts: Sequence[str]) -> list[list[Signal]]:
    """Signals of every text: each pattern runs once over the joined batch (a pattern alone scans at C speed from its
    first characters; one alternation of all of them would not)."""
    out: list[list[Signal]] = [[] for _ in texts]
    if not texts:
        return out
    starts = [0]
    for t in texts[:-1]:
        starts.append(starts[-1] + len(t) + 1)
    joined = "\x00".join(_reading(t) for t in texts)  # no pattern matches \x00, so none spans two texts
    for kind, pattern in PATTERNS.items():
        for m in pattern.finditer(joined):
            if m.end() > m.start():
                doc = bisect.bisect_right(starts, m.start()) - 1
                out[doc].append(Signal(kind, m.start() - starts[doc], m.end() - starts[doc]))
    for signals in out:
        signals.sort(key=lambda s: (s.start, -s.end, s.kind))
    return out


def signal_matrix(found: Sequence[Sequence[Signal]]) -> sp.csr_matrix:
    """One column per signal kind: log(1 + count), so one phone number counts and ten do not count ten times."""
    counts = np.zeros((len(found), len(KINDS)), dtype=np.float32)
    index = {k: i for i, k in enumerate(KINDS)}
    for row, signals in enumerate(found):
        for s in signals:
            counts[row, index[s.kind]] += 1
    return sp.csr_matrix(np.log1p(counts))
