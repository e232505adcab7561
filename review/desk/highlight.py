"""The item's text as HTML with the lexicon hits marked at their character spans (pure, unit-tested).

Spans index the original text (Python code points, end exclusive). The text is cut at span boundaries first and
each piece escaped on its own, so an escape never splits a span and no user text ever reaches the page unescaped.
"""

from __future__ import annotations

import itertools
from html import escape
from typing import Any


def valid_spans(text: str, hits: list[dict[str, Any]]) -> list[tuple[int, int, str]]:
    """Hits that fit the text: in range, non-empty, and (when given) matching the characters they claim."""
    spans = []
    for hit in hits:
        try:
            start, end = int(hit["start"]), int(hit["end"])
        except (KeyError, TypeError, ValueError):
            continue
        if not 0 <= start < end <= len(text):
            continue
        matched = hit.get("matched")
        if isinstance(matched, str) and matched and text[start:end] != matched:
            continue
        spans.append((start, end, f"{hit.get('category', '')} {hit.get('term', '')}".strip()))
    return spans


def pieces(text: str, hits: list[dict[str, Any]]) -> list[tuple[str, tuple[str, ...]]]:
    """The text cut at every span boundary; each piece with the labels of the hits covering it (overlaps too)."""
    spans = valid_spans(text, hits)
    cuts = sorted({0, len(text), *(s for s, _, _ in spans), *(e for _, e, _ in spans)})
    out: list[tuple[str, tuple[str, ...]]] = []
    for a, b in itertools.pairwise(cuts):
        labels = tuple(sorted({label for s, e, label in spans if s <= a and b <= e}))
        if out and out[-1][1] == labels:
            out[-1] = (out[-1][0] + text[a:b], labels)
        else:
            out.append((text[a:b], labels))
    return out


def highlight(text: str, hits: list[dict[str, Any]]) -> str:
    html = []
    for piece, labels in pieces(text, hits):
        if labels:
            cats = " ".join(sorted({"cat-" + label.split(" ", 1)[0] for label in labels}))
            title = escape("; ".join(labels), quote=True)
            html.append(f'<mark class="hit {escape(cats, quote=True)}" title="{title}">{escape(piece)}</mark>')
        else:
            html.append(escape(piece))
    return "".join(html)
