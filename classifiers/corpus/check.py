"""Checks that keep the corpus honest: counts per category and sub-label, no near-duplicates, no placeholders.

Near-duplicates are found exactly, not estimated: texts are indexed by their character 5-grams, and only pairs
that share a 5-gram have their Jaccard similarity computed (most pairs share none).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from classifiers.corpus import CorpusRow

SHINGLE = 5
NEAR_DUPLICATE = 0.6
MIN_PER_CATEGORY = 600
MIN_PER_SUB_LABEL = 80
REQUIRED_SUB_LABELS = {
    "C7": ("porn", "gambling", "violence", "terror", "crime_instigation"),
    "C9": ("fraud", "drugs", "weapons", "id_trade", "fake_certificates", "black_market"),
}
SHIPPED_CATEGORIES = ("C4", "C5", "C6", "C7", "C8", "C9")
MIN_BENIGN = 4000
MIN_HARD = 2000
# Slots a template would leave behind: {name}, {{x}}, ${x}, <PHONE>, [CONTACT], %s, XXX, ___.
PLACEHOLDER = re.compile(r"\{[^{}\s]{0,20}\}|\$\{|<[A-Z_]{2,}>|\[[A-Z_]{3,}\]|%[sd]\b|XXX|___")


@dataclass(frozen=True)
class Pair:
    a: int
    b: int
    jaccard: float


def shingles(text: str) -> frozenset[str]:
    compact = "".join(text.split())
    if len(compact) <= SHINGLE:
        return frozenset([compact])
    return frozenset(compact[i : i + SHINGLE] for i in range(len(compact) - SHINGLE + 1))


def near_duplicates(texts: Sequence[str], threshold: float = NEAR_DUPLICATE) -> list[Pair]:
    sets = [shingles(t) for t in texts]
    index: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(sets):
        for g in s:
            index[g].append(i)
    shared: Counter[tuple[int, int]] = Counter()
    for ids in index.values():
        if len(ids) > 1:
            for x in range(len(ids)):
                for y in range(x + 1, len(ids)):
                    shared[(ids[x], ids[y])] += 1
    out = []
    for (a, b), common in shared.items():
        jaccard = common / (len(sets[a]) + len(sets[b]) - common)
        if jaccard >= threshold:
            out.append(Pair(a, b, round(jaccard, 3)))
    return sorted(out, key=lambda p: -p.jaccard)


def count_problems(rows: Sequence[CorpusRow]) -> list[str]:
    """Every shortfall against the corpus's minimum counts, as readable lines (empty when all are met)."""
    problems: list[str] = []
    per_code = Counter(code for r in rows for code in r.labels)
    for code in SHIPPED_CATEGORIES:
        if per_code[code] < MIN_PER_CATEGORY:
            problems.append(f"{code}: {per_code[code]} messages, at least {MIN_PER_CATEGORY} expected")
    per_sub = Counter((code, r.sub_label) for r in rows for code in r.labels)
    for code, subs in REQUIRED_SUB_LABELS.items():
        for sub in subs:
            if per_sub[(code, sub)] < MIN_PER_SUB_LABEL:
                problems.append(f"{code}/{sub}: {per_sub[(code, sub)]}, at least {MIN_PER_SUB_LABEL} expected")
    benign = [r for r in rows if not r.labels]
    hard = sum(1 for r in benign if r.benign == "hard")
    if len(benign) < MIN_BENIGN:
        problems.append(f"benign: {len(benign)}, at least {MIN_BENIGN} expected")
    if hard < MIN_HARD:
        problems.append(f"hard negatives: {hard}, at least {MIN_HARD} expected")
    return problems
