"""The words of the review page in the operator's language.

Every user-visible string of the desk is written in English in the code and passed through `t()`, so that one
catalogue per language can translate it. The zh-CN catalogue and the language setting come with issue 16's
"Chinese first" item; until then `t()` returns the English source unchanged, which keeps new screens translatable
from the day they are written.
"""

from __future__ import annotations


def t(message: str, /) -> str:
    """The message in the page's language (the English source until the catalogues exist)."""
    return message
