"""The strings the desk's catalogues must translate, found in its source: every literal passed to `t()` or
`N_()` (review.desk.i18n), including those inside f-strings, which Babel's own Python extractor (a tokenizer)
does not look into before Python 3.12. `pybabel extract` uses `extract` through review/desk/locale/babel.cfg;
the unit tests use `messages` to prove every one has a zh_CN translation."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

KEYWORDS = ("t", "te", "N_")
DESK = Path(__file__).parent


@dataclass(frozen=True)
class Found:
    path: str
    line: int
    message: str | None  # None: not a literal; a variable is fine when its values are marked with N_()
    built: bool = False  # an f-string, a concatenation or a .format(): a text no catalogue can hold


def _calls(tree: ast.AST, keywords: tuple[str, ...]) -> Iterator[tuple[int, ast.expr | None]]:
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
        if name in keywords:
            yield node.lineno, node.args[0] if node.args else None


def found_in(source: str, path: str, keywords: tuple[str, ...] = KEYWORDS) -> list[Found]:
    out = []
    for line, arg in _calls(ast.parse(source, path), keywords):
        literal = isinstance(arg, ast.Constant) and isinstance(arg.value, str)
        built = isinstance(arg, ast.JoinedStr | ast.BinOp | ast.Call)
        out.append(Found(path, line, arg.value if literal else None, built))  # type: ignore[union-attr]
    return sorted(out, key=lambda f: (f.path, f.line))


def messages(root: Path = DESK) -> list[Found]:
    """Every call of t() or N_() in the desk's Python (the catalogue's own module defines them, so it is left out)."""
    found = []
    for path in sorted(root.rglob("*.py")):
        if path.name in ("i18n.py", "catalogue.py"):
            continue
        found += found_in(path.read_text(encoding="utf-8"), str(path.relative_to(root.parent.parent)))
    return found


def extract(
    fileobj: IO[bytes], keywords: Any, comment_tags: Any, options: Any
) -> Iterator[tuple[int, str, str, list[str]]]:
    """A Babel extraction method (see babel.messages.extract): the literal messages of one file."""
    for f in found_in(fileobj.read().decode("utf-8"), getattr(fileobj, "name", "<desk>")):
        if f.message is not None:
            yield f.line, "t", f.message, []
