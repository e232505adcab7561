"""The desk's languages (issue 16, "Chinese first"): every marked string has its zh-CN translation, the pages
speak the configured language with the matching <html lang>, and every time is shown in the one configured zone
with its offset."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from modpipe.settings import REVIEW_LANGUAGES, Settings, SettingsError, load_settings
from review.desk import render
from review.desk.catalogue import found_in, messages
from review.desk.filters import parse_filter
from review.desk.i18n import CATALOGUES, SOURCE, catalogue, local_time, speaking, speech_for, t
from review.desk.shown import te, when
from review.queue import Item, Page

FIELD = re.compile(r"\{(\w*)\}")


def settings(**review: str) -> Settings:
    return load_settings(environ={}, overrides={f"review.{k}": v for k, v in review.items()})


def test_every_marked_string_of_the_desk_has_a_chinese_translation() -> None:
    found = messages()
    assert len(found) > 100  # the scan really read the desk's modules, f-strings included
    built = [f"{f.path}:{f.line}" for f in found if f.built]
    assert built == [], "t() of an f-string or a concatenation: pass the fields as t(message, name=value)"
    zh = catalogue("zh-CN")
    missing = sorted({f.message for f in found if f.message is not None and f.message not in zh})
    assert missing == [], f"untranslated in review/desk/locale/zh_CN (docs/review.md, Languages): {missing}"


def test_translations_keep_every_field_of_their_source() -> None:
    for source, chinese in catalogue("zh-CN").items():
        assert sorted(FIELD.findall(chinese)) == sorted(FIELD.findall(source)), source


def test_the_scan_finds_strings_inside_f_strings_and_flags_built_ones() -> None:
    source = 'x = f"<b>{t(\'Sign in\')}</b>"\ny = t(f"No {z}")\nw = N_("pending")\nv = t(name)\n'
    found = [(f.line, f.message, f.built) for f in found_in(source, "x.py")]
    assert found == [(1, "Sign in", False), (2, None, True), (3, "pending", False), (4, None, False)]


def test_each_language_setting_has_a_catalogue() -> None:
    assert set(CATALOGUES) | {SOURCE} == set(REVIEW_LANGUAGES)


def test_the_default_is_chinese_in_shanghai_time() -> None:
    review = settings().review
    assert (review.language, review.time_zone) == ("zh-CN", "Asia/Shanghai")


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [("language", "fr", "one of zh-CN, en"), ("language", "zh", "one of zh-CN, en"),
     ("time_zone", "Beijing", "an IANA time zone name"), ("time_zone", "", "at least 1 character")],
)  # fmt: skip
def test_a_wrong_language_or_zone_stops_with_the_setting_and_what_was_expected(
    name: str, value: str, expected: str
) -> None:
    with pytest.raises(SettingsError) as err:
        settings(**{name: value})
    assert f"review.{name}" in str(err.value)
    assert expected in str(err.value)


def test_a_page_in_the_default_language_is_chinese_with_its_lang() -> None:
    with speaking(speech_for(settings())):
        page = render.login_page("token", error=t("Wrong account or password."))
    assert '<html lang="zh-CN">' in page
    assert "<h1>登录</h1>" in page
    assert "账号或密码错误。" in page
    assert "Sign in" not in page


def test_the_english_setting_gives_the_english_source() -> None:
    with speaking(speech_for(settings(language="en"))):
        page = render.login_page("token")
    assert '<html lang="en">' in page
    assert "<h1>Sign in</h1>" in page


def test_outside_a_request_t_is_the_english_source() -> None:
    assert t("Sign in") == "Sign in"
    assert t("Item {id}", id="m1") == "Item m1"


def test_times_are_shown_in_the_configured_zone_with_its_offset() -> None:
    with speaking(speech_for(settings())):
        assert local_time("2026-11-23T08:00:05Z") == "2026-11-23 16:00:05 +08:00"
        assert local_time("2026-11-23T23:30:00+00:00") == "2026-11-24 07:30:00 +08:00"
        assert when("2026-11-23T08:00:05Z") == (
            '<time datetime="2026-11-23T08:00:05Z">2026-11-23 16:00:05 +08:00</time>'
        )
        assert local_time("not a time") is None
        assert when("-") == "<time>-</time>"
    with speaking(speech_for(settings(time_zone="Europe/Berlin"))):
        assert local_time("2026-07-01T08:00:00Z") == "2026-07-01 10:00:00 +02:00"  # summer time
        assert local_time("2026-11-23T08:00:00Z") == "2026-11-23 09:00:00 +01:00"


def test_the_dense_list_shows_the_minute_formatted_from_the_time_itself() -> None:
    with speaking(speech_for(settings())):
        assert local_time("2026-11-23T08:00:05Z", "minutes") == "2026-11-23 16:00 +08:00"
        assert local_time(datetime(2026, 11, 23, 23, 59, 59, tzinfo=UTC), "minutes") == "2026-11-24 07:59 +08:00"
        assert local_time("not a time", "minutes") is None
    with speaking(speech_for(settings(time_zone="Europe/Berlin"))):
        # An offset with seconds (local mean time before 1893) is shown whole, not cut as a fixed-width string.
        assert local_time("1890-01-01T12:00:00Z", "minutes") == "1890-01-01 12:53 +00:53:28"


def test_filter_times_without_an_offset_are_read_in_the_zone_the_page_shows() -> None:
    now = datetime(2026, 11, 23, 12, tzinfo=UTC)
    flt = parse_filter({"since": "2026-11-23T16:00"}, now, settings().review.zone)
    assert flt.since == datetime(2026, 11, 23, 8, tzinfo=UTC)
    with speaking(speech_for(settings())):
        form = render.queue_page(settings(), _empty_page(), flt, {"since": "2026-11-23T16:00"}, "alice", "c", now)
    assert "开始时间 (Asia/Shanghai +08:00)" in form
    assert "结束时间 (Asia/Shanghai +08:00)" in form


def test_category_and_service_names_in_the_pages_language() -> None:
    config = settings()
    with speaking(speech_for(config)):
        page = render.queue_page(config, _empty_page(), parse_filter({}, datetime.now(UTC)), {}, "alice", "c")
    assert f'<option value="C7">C7 {config.categories["C7"].name_zh}</option>' in page
    assert f'<option value="group">{config.services["group"].name_zh}</option>' in page
    with speaking(speech_for(settings(language="en"))):
        page = render.queue_page(config, _empty_page(), parse_filter({}, datetime.now(UTC)), {}, "alice", "c")
    assert f'<option value="C7">C7 {config.categories["C7"].id}</option>' in page


def test_fields_given_as_markup_are_not_escaped_but_the_translation_is() -> None:
    with speaking(speech_for(settings())):
        assert te("open {id}", id="<code>m1</code>") == "打开 <code>m1</code>"


def _empty_page() -> Page:
    return Page(items=[], total=0)


def test_the_list_and_the_item_show_names_words_and_zoned_times_in_chinese() -> None:
    config = settings()
    decided = {"status": "confirmed", "outcome": "confirmed", "decided_by": "bob", "decision_id": "d1",
               "decided_at": "2026-11-23T09:00:00+00:00", "due_at": "2026-11-23T10:00:00+00:00",
               "verdict_id": "v1", "model_version": "m-3",
               "lexicon_version": "l-2", "policy_version": "p-1"}  # fmt: skip
    item = Item("m1", {
        "@timestamp": "2026-11-23T08:00:00+00:00", "message": "出售枪支", "service": {"type": "bbs"},
        "event": {"action": "review"}, "rule": {"category": ["C9"]}, "user": {"id": "author-1"},
        "moderation": {"scores": {"C9": 0.8}, "hits": [{"term": "枪支", "category": "C9", "start": 2, "end": 4}],
                       **decided},
    })  # fmt: skip
    now = datetime(2026, 11, 23, 12, tzinfo=UTC)
    with speaking(speech_for(config)):
        listing = render.queue_page(config, Page([item], 1), parse_filter({}, now), {}, "alice", "c", now)
        page = render.item_page(config, item, None, [], "alice", "c", can_decide=True, show_ip=False, now=now)
    name = config.categories["C9"].name_zh
    assert '<time datetime="2026-11-23T10:00:00+00:00">2026-11-23 18:00 +08:00</time>' in listing  # due, to the minute
    assert f'<span class="cat" title="C9">{name}</span>' in listing
    assert config.services["bbs"].name_zh in listing
    assert ">待复核</span>" in listing
    assert ">已确认</span>" in listing
    assert "处理人 bob" in listing
    assert "<h1>内容 m1" in page
    assert "<h2>处理结果</h2>" in page
    assert "2026-11-23 17:00:00 +08:00" in page
    assert "2026-11-23 16:00:00 +08:00" in page
    assert name in page
    assert re.search(r"[A-Za-z]{4,}", _visible(page).replace("modpipe", "").replace("author", "")) is None


def _visible(page: str) -> str:
    """The page's text as a reader sees it (tags, the stored id, the head and the author's id left out; key names
    such as Enter on the shortcuts overlay are the keyboard's, not words to translate)."""
    body = re.sub(r"<kbd>[^<]*</kbd>", " ", page.split("<body>", 1)[1])
    return re.sub(r"<[^>]+>|m1|bob|alice|author-1|v1|m-3|l-2|p-1", " ", body)
