"""mask_urls: the one place that hides the userinfo of URLs in printed settings and error messages."""

from __future__ import annotations

import pytest

from modpipe.settings import mask_urls


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("http://elastic:pw@127.0.0.1:9200", "http://***@127.0.0.1:9200"),
        ("https://token@es.example:443/", "https://***@es.example:443/"),
        # An unescaped `@` or `/` in a password still ends masked.
        ("http://u:p@ss@h:1", "http://***@h:1"),
        ("http://u:p/w@h:1", "http://***@h:1"),
        ("got 'http://u:p@h:1/x y'; expected", "got 'http://***@h:1/x y'; expected"),
        ("a http://u:p@h1 and b http://v:q@h2", "a http://***@h1 and b http://***@h2"),
    ],
)
def test_userinfo_is_masked(text: str, shown: str) -> None:
    assert mask_urls(text) == shown


@pytest.mark.parametrize(
    "text", ["http://127.0.0.1:9200", "127.0.0.1:9092", "write to ops@example.org", "https://h/x?q=1", ""]
)
def test_text_without_userinfo_is_unchanged(text: str) -> None:
    assert mask_urls(text) == text
