"""The words of the review page in the operator's language, and its times in the operator's zone.

Every user-visible string of the desk is written in English in the code and passed through `t()`; the
catalogue of another language is a gettext `.po` file under review/desk/locale (maintained with Babel's `pybabel`,
docs/review.md) that is read at first use, so a fresh clone needs no build step and there is no compiled file to
fall out of step with its source. What language and zone a request speaks is set per request by
review.desk.speaking from settings review.language and review.time_zone; outside a request (unit tests, the CLI)
`t()` returns the English source and times are shown in UTC.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from functools import cache
from pathlib import Path
from typing import Literal

from babel.messages.pofile import read_po

from modpipe.settings import Settings
from retention.dates import parse_time

LOCALE_DIR = Path(__file__).with_name("locale")
DOMAIN = "desk"
SOURCE = "en"
# review.language (an HTML lang tag) -> the catalogue's folder (a gettext locale name); the source has none.
CATALOGUES: Mapping[str, str] = {"zh-CN": "zh_CN"}


@dataclass(frozen=True)
class Speech:
    """How one request speaks: its language, its time zone and the display names of configured codes."""

    language: str = SOURCE
    zone: tzinfo = UTC
    names: Mapping[str, str] = field(default_factory=dict)


_speech: ContextVar[Speech] = ContextVar("review_speech")
_SOURCE = Speech()


def _now() -> Speech:
    return _speech.get(_SOURCE)


def N_(message: str, /) -> str:
    """Marks a string for the catalogue where it is defined (a table built at import, before any request
    speaks); it is translated where it is shown, with `t(value)`."""
    return message


def t(message: str, /, **values: object) -> str:
    """The message in the request's language; `{name}` fields are filled from `values` after translation, so a
    translator may move them."""
    text = catalogue(_now().language).get(message) or message
    return text.format(**values) if values else text


def language() -> str:
    return _now().language


def name_of(code: str) -> str:
    """The display name of a category code or service type in the request's language, else the code itself."""
    return _now().names.get(code, code)


def zone_label(now: datetime | None = None) -> str:
    """The zone times are shown in, with its offset now, e.g. `Asia/Shanghai +08:00`."""
    zone = _now().zone
    return f"{zone} {_offset((now or datetime.now(UTC)).astimezone(zone))}"


def local_time(value: object, timespec: Literal["seconds", "minutes"] = "seconds") -> str | None:
    """An RFC 3339 time as the request's zone shows it, offset included (`2026-11-23 16:00:05 +08:00`, or
    `2026-11-23 16:00 +08:00` to the minute); None for anything that is not such a time (the caller shows the value
    as it is)."""
    parsed = value if isinstance(value, datetime) and value.tzinfo else parse_time(value)
    if parsed is None:
        return None
    moment = parsed.astimezone(_now().zone)
    # isoformat, not strftime: a 1000-row page shows 1000 times, and strftime costs ten times as much here.
    return f"{moment.replace(tzinfo=None).isoformat(' ', timespec)} {_offset(moment)}"


def _offset(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")[19:]


def speech_for(settings: Settings) -> Speech:
    chinese = settings.review.language == "zh-CN"
    names = {code: cat.name_zh if chinese else cat.id for code, cat in settings.categories.items()}
    names |= {key: svc.name_zh if chinese else svc.name for key, svc in settings.services.items()}
    catalogue(settings.review.language)  # a missing or broken catalogue stops start-up, not the first page
    return Speech(settings.review.language, settings.review.zone, names)


@contextmanager
def speaking(speech: Speech) -> Iterator[None]:
    token = _speech.set(speech)
    try:
        yield
    finally:
        _speech.reset(token)


@cache
def catalogue(lang: str) -> Mapping[str, str]:
    """msgid -> msgstr of the language's `.po` (fuzzy and empty entries left out: they fall back to English)."""
    if lang == SOURCE:
        return {}
    path = LOCALE_DIR / CATALOGUES[lang] / "LC_MESSAGES" / f"{DOMAIN}.po"
    with path.open("rb") as po:
        messages = read_po(po, locale=CATALOGUES[lang], domain=DOMAIN)
    return {
        str(m.id): str(m.string) for m in messages if m.id and isinstance(m.string, str) and m.string and not m.fuzzy
    }
