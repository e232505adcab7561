"""Hiding credentials in what is printed: settings shown to a user, and error messages that quote them."""

from __future__ import annotations

import re

# Greedy up to the last `@` of the URL, across `/`, `?` and `#` too: a mistyped password may hold an unescaped `@`
# or `/`, and masking a little too much of a URL is better than showing a password. Whitespace and quotes end a URL
# inside a message or a repr().
_USERINFO = re.compile(r"""(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)[^\s'"<>]*@""")

MASK = "***"


def mask_urls(text: str) -> str:
    """Replace the userinfo (`user:password@`) of every URL in the text by `***@`; the rest is kept as it is."""
    return _USERINFO.sub(lambda m: f"{m.group('scheme')}{MASK}@", text)
